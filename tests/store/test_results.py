"""Inspection results: stored once per resultId, acknowledged ids, queries by mission,
point, sensor and time."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from fleet.bench.ingest import make_results
from fleet.errors import StoreError
from fleet.protocol.codec import decode, decode_json, encode
from fleet.protocol.header import Header
from fleet.protocol.inspection import Finding, InspectionResult, Reading, Severity
from fleet.protocol.keys import Topic
from fleet.protocol.state import AgvPosition
from fleet.store import InspectionResultRow, ReadingRow, Store
from fleet.store.database import transaction
from fleet.store.results import result_rows

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def ids(results: list[dict[str, Any]]) -> list[str]:
    return [r["resultId"] for r in results]


def counts(store: Store) -> tuple[int, int]:
    """(results, readings) stored, read in one transaction."""
    with transaction(store.engine, write=False) as connection:
        return (
            int(connection.execute(select(func.count()).select_from(InspectionResultRow))
                .scalar_one()),
            int(connection.execute(select(func.count()).select_from(ReadingRow)).scalar_one()))


def model_result(result_id: str = "9b2f6a52-3c1e-4d7a-9a55-0d2f4b8e7c11") -> InspectionResult:
    return InspectionResult(
        header=Header("acme", "R7", 12, "2025-05-01T10:00:00.123Z"),
        result_id=result_id, order_id="order-9", action_id="inspect-3",
        inspection_point_id="P-CH4-12", node_id="N12",
        agv_position=AgvPosition(12.5, -3.25, 1.5708, "level-1", True, 0.93),
        readings=(Reading("ch4", 1.25, "%vol"), Reading("co", 17.0, "ppm"),
                  Reading("ch4", 1.3, "%vol")),
        findings=(Finding("gas", Severity.WARNING, "methane above 1 %", 0.9),),
    )


def test_a_model_round_trips(store: Store) -> None:
    result = model_result()
    assert store.record_results([result], order_missions={"order-9": "m" * 32}) == [
        result.result_id]
    [got] = store.results()
    assert (got.result_id, got.mission_id, got.order_id, got.action_id) == (
        result.result_id, "m" * 32, "order-9", "inspect-3")
    assert (got.manufacturer, got.serial_number, got.inspection_point_id, got.node_id) == (
        "acme", "R7", "P-CH4-12", "N12")
    assert got.measured_at == datetime(2025, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert got.received_at.tzinfo is not None
    assert got.position == result.agv_position.to_json()
    assert got.findings == [f.to_json() for f in result.findings or ()]
    assert got.readings == result.readings  # order kept, repeated sensors kept
    assert got.reading("co") == Reading("co", 17.0, "ppm")


def test_wire_objects_and_models_are_the_same_result(store: Store) -> None:
    payload = encode(model_result())
    wire = decode(Topic.INSPECTION, payload)
    assert isinstance(wire, InspectionResult)
    as_json = decode_json(Topic.INSPECTION, payload)  # the manager's fast path
    assert store.record_results([as_json]) == [wire.result_id]
    assert store.record_results([wire]) == [wire.result_id]  # same id: already stored
    assert counts(store) == (1, 3)
    assert store.results()[0].findings == as_json["findings"]


def test_the_same_batch_twice_is_stored_once(store: Store) -> None:
    batch = make_results(40)
    assert store.record_results(batch) == ids(batch)
    assert store.record_results(batch) == ids(batch)
    assert counts(store) == (40, 120)


def test_overlapping_batches(store: Store) -> None:
    data = make_results(100)
    assert store.record_results(data[:60]) == ids(data[:60])
    assert store.record_results(data[30:100]) == ids(data[30:100])
    assert store.record_results(data[10:20] + data[90:]) == ids(data[10:20] + data[90:])
    assert counts(store) == (100, 300)
    assert {r.result_id for r in store.results()} == set(ids(data))


def test_duplicates_within_a_batch(store: Store) -> None:
    data = make_results(10)
    batch = [data[0], data[1], data[0], data[2], data[1], data[1]]
    assert store.record_results(batch) == ids(data[:3])
    assert counts(store) == (3, 9)


def test_a_resent_result_keeps_its_first_copy(store: Store) -> None:
    [first] = make_results(1)
    changed = {**first, "nodeId": "elsewhere",
               "readings": [{"sensor": "h2s", "value": 99.0, "unit": "ppm"}]}
    store.record_results([first])
    assert store.record_results([changed]) == [first["resultId"]]
    [got] = store.results()
    assert got.node_id == first["nodeId"]
    assert [r.sensor for r in got.readings] == ["ch4", "co", "o2"]


def test_empty_batch(store: Store) -> None:
    assert store.record_results([]) == []
    assert counts(store) == (0, 0)


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda d: d.pop("nodeId"), "missing field 'nodeId'"),
    (lambda d: d.update(timestamp="yesterday"), "yesterday"),
    (lambda d: d.update(readings=[{"sensor": "ch4", "value": "high", "unit": "%"}]), "number"),
    (lambda d: d.update(inspectionPointId=""), "inspectionPointId"),
    (lambda d: d.update(readings=[{"sensor": "ch4", "value": 10**400, "unit": "%"}]), "too large"),
    (lambda d: d.update(agvPosition=[1, 2]), "agvPosition"),
])
def test_a_malformed_result_writes_nothing(store: Store, mutate: Any, reason: str) -> None:
    good, bad = make_results(2)
    mutate(bad)
    with pytest.raises(StoreError, match=reason) as info:
        store.record_results([good, bad])
    assert bad["resultId"] in str(info.value)
    assert counts(store) == (0, 0)


def test_not_a_result(store: Store) -> None:
    with pytest.raises(StoreError, match="not an inspection result"):
        store.record_results([42])  # type: ignore[list-item]


def test_mission_of_a_result(store: Store) -> None:
    a = make_results(3, order_id="order-a", seed=1)
    b = make_results(2, order_id="order-b", seed=2)
    c = [{**make_results(1, seed=3)[0], "missionId": "c" * 32}]
    store.record_results(a + b + c, order_missions={"order-a": "a" * 32})
    assert {r.result_id for r in store.results(mission_id="a" * 32)} == set(ids(a))
    assert {r.result_id for r in store.results(mission_id="c" * 32)} == set(ids(c))
    assert all(r.mission_id is None for r in store.results() if r.order_id == "order-b")
    assert store.count_results("a" * 32) == 3 and store.count_results() == 6


def test_results_by_point_time_limit_and_order(store: Store) -> None:
    data = make_results(30, points=3, start=T0)  # one second apart, points P0 P1 P2 P0 ...
    random.Random(4).shuffle(data)
    store.record_results(data)
    at_p1 = store.results(point="P1")
    assert [r.measured_at for r in at_p1] == [T0 + timedelta(seconds=s) for s in range(1, 30, 3)]
    assert all(r.inspection_point_id == "P1" for r in at_p1)

    since = T0 + timedelta(seconds=20)
    assert [r.measured_at for r in store.results(since=since)] == [
        T0 + timedelta(seconds=s) for s in range(20, 30)]
    # The same instant written in another zone, and naive (taken as UTC).
    plus2 = since.astimezone(timezone(timedelta(hours=2)))
    assert len(store.results(since=plus2)) == 10
    assert len(store.results(since=since.replace(tzinfo=None))) == 10

    latest = store.results(point="P0", newest_first=True, limit=2)
    assert [r.measured_at for r in latest] == [T0 + timedelta(seconds=27),
                                               T0 + timedelta(seconds=24)]
    assert all(len(r.readings) == 3 for r in latest)
    assert store.results(point="nowhere") == []


def test_readings_per_point_and_sensor(store: Store) -> None:
    data = make_results(20, points=2, start=T0)
    store.record_results(data)
    ch4 = store.readings("P1", "ch4")
    expected = [r["readings"][0]["value"] for r in data if r["inspectionPointId"] == "P1"]
    assert [r.value for r in ch4] == expected
    assert all(r.unit == "%vol" and r.sensor == "ch4" for r in ch4)
    last3 = store.readings("P1", "ch4", newest_first=True, limit=3)
    assert [r.value for r in last3] == expected[::-1][:3]
    assert last3[0].measured_at == T0 + timedelta(seconds=19)
    late = store.readings("P0", "o2", since=T0 + timedelta(seconds=10))
    assert len(late) == 5 and all(r.measured_at >= T0 + timedelta(seconds=10) for r in late)
    assert store.readings("P0", "h2s") == []


def test_stored(store: Store) -> None:
    data = make_results(5)
    store.record_results(data[:3])
    assert store.stored(ids(data)) == set(ids(data[:3]))
    assert store.stored([]) == set()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 14), max_size=40),
       cuts=st.lists(st.integers(0, 40), max_size=6), seed=st.integers(0, 2**32))
def test_any_sequence_of_batches_stores_each_result_once(
        store: Store, picks: list[int], cuts: list[int], seed: int) -> None:
    """Whatever the resends, overlaps and repeats: each distinct result stored once, and each
    call acknowledges exactly the distinct ids of its batch."""
    pool = make_results(15, seed=seed)
    before = counts(store)
    already = store.stored(ids(pool))  # the store lives across examples; seeds may repeat
    sent = [pool[i] for i in picks]
    bounds = sorted({0, len(sent), *(c for c in cuts if c <= len(sent))})
    for lo, hi in itertools.pairwise(bounds):
        batch = sent[lo:hi]
        assert store.record_results(batch) == list(dict.fromkeys(ids(batch)))
    distinct = len({pool[i]["resultId"] for i in picks} - already)
    assert counts(store) == (before[0] + distinct, before[1] + 3 * distinct)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6)
FIELDS = ["resultId", "orderId", "actionId", "manufacturer", "serialNumber", "timestamp",
          "inspectionPointId", "nodeId", "agvPosition", "readings", "findings", "missionId"]


@settings(max_examples=300, deadline=None)
@given(edits=st.lists(st.tuples(st.sampled_from(FIELDS), st.none() | JSON_VALUES),
                      min_size=1, max_size=4),
       in_reading=st.tuples(st.sampled_from(["sensor", "value", "unit"]), JSON_VALUES))
def test_any_malformed_object_is_a_store_error_or_a_row(
        edits: list[tuple[str, Any]], in_reading: tuple[str, Any]) -> None:
    """Whatever JSON a caller hands over, result_rows answers rows or a StoreError."""
    [obj] = make_results(1)
    for field, value in edits:
        if value is None and field != "missionId":
            obj.pop(field, None)
        else:
            obj[field] = value
    if isinstance(obj.get("readings"), list) and obj["readings"] and isinstance(
            obj["readings"][0], dict):
        obj["readings"][0][in_reading[0]] = in_reading[1]
    try:
        rows, readings = result_rows([obj], received_at=T0)
    except StoreError as exc:
        assert "\n" not in str(exc)
        return
    [row] = rows
    assert isinstance(row["result_id"], str) and row["result_id"]
    assert all(isinstance(r["value"], float) for r in readings)
