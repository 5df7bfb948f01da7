"""The mission record: the ``report`` answer round-trips through JSON, keeps the wire shape
the API has always had, and a malformed answer is one ProtocolError line."""

from __future__ import annotations

import json
import types
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.anomaly.record import (
    AnomalyRecord,
    ClosureRecord,
    LockoutRecord,
    MissionRecord,
    ObservationRecord,
    RouteRecord,
)
from fleet.errors import ProtocolError
from fleet.store import AnomalyObservationRow, AnomalyRow, ClosureRow, LockoutRow

_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6)


def strategy(tp: Any) -> st.SearchStrategy[Any]:
    """Values of a record's field type (the types :mod:`fleet.anomaly.record` decodes)."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        [inner] = [a for a in get_args(tp) if a is not type(None)]
        return st.none() | strategy(inner)
    if origin is tuple:
        return st.lists(strategy(get_args(tp)[0]), max_size=3).map(tuple)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        Any: _JSON, str: st.text(max_size=8), int: st.integers(-2**53, 2**53),
        float: st.floats(allow_nan=False, allow_infinity=False),
        datetime: st.datetimes(timezones=st.just(UTC))}
    if tp in simple:
        return simple[tp]
    assert isinstance(tp, type) and is_dataclass(tp), tp
    hints = get_type_hints(tp)
    return st.builds(tp, **{f.name: strategy(hints[f.name]) for f in fields(tp)})


def _records() -> st.SearchStrategy[MissionRecord]:
    # serials are the keys of "routes": one route per serial
    routes = st.lists(strategy(RouteRecord), max_size=3, unique_by=lambda r: r.serial)
    return st.builds(lambda r, rs: replace(r, routes=tuple(rs)), strategy(MissionRecord),
                     routes)


@settings(max_examples=60, deadline=None)
@given(_records())
def test_a_record_survives_the_wire(record: MissionRecord) -> None:
    wire = json.loads(json.dumps(record.to_json()))
    assert MissionRecord.from_json(wire) == record


def _minimal() -> dict[str, Any]:
    return {"mission": {"mission_id": "m1", "name": "round", "status": "completed"},
            "generated_at": "2025-03-01T09:00:00Z"}


def test_the_wire_shape_is_the_one_older_clis_read() -> None:
    wire = {**_minimal(), "routes": {"R1": {"planned": ["d", "a"], "driven": ["d"]}}}
    out = MissionRecord.from_json(wire).to_json()
    assert set(out) == {"mission", "map", "routes", "anomalies", "observations", "results",
                        "lockouts", "closures", "generated_at"}
    # an older manager's answer has no lockouts and closures: a mission without any
    assert (out["lockouts"], out["closures"]) == ([], [])
    assert out["routes"] == {"R1": {"manufacturer": None, "planned": ["d", "a"],
                                    "driven": ["d"]}}
    assert out["generated_at"] == "2025-03-01T09:00:00Z"
    assert set(out["mission"]) == {"mission_id", "name", "status", "reason", "created_at",
                                   "updated_at", "inspections"}


def test_anomalies_and_observations_keep_every_column() -> None:
    # the API's anomaly and observation JSON carries every column of the stored rows
    names = {f.name for f in fields(AnomalyRecord)}
    assert names == set(AnomalyRow.model_fields)
    assert {f.name for f in fields(ObservationRecord)} == set(
        AnomalyObservationRow.model_fields)


@pytest.mark.parametrize(("record", "row"), [(LockoutRecord, LockoutRow),
                                              (ClosureRecord, ClosureRow)])
def test_lockouts_and_closures_keep_every_column(record: type[Any], row: type[Any]) -> None:
    assert {f.name for f in fields(record)} == set(row.model_fields)


def test_a_stored_closure_becomes_a_record_and_survives_the_wire() -> None:
    at = datetime(2025, 3, 1, 8, tzinfo=UTC)
    row = ClosureRow(id=3, site="mine", node_id="tg-12", nodes=["tg-11", "tg-12"],
                     area="within 30 m", source="sensor CH4-7", sensor="ch4", value=1.62,
                     unit="%vol", restore=1.0, opened_at=at)
    lock = LockoutRow(id=1, manufacturer="acme", serial="r1", node_id="tg-12", sensor="ch4",
                      value=1.62, unit="%vol", level=1.5, locked_at=at, reset_at=at,
                      reset_by="ann", note="reset")
    closure = ClosureRecord.from_values(row.model_dump())
    lockout = LockoutRecord.from_values(lock.model_dump())
    assert closure.nodes == ("tg-11", "tg-12") and closure.open and not lockout.open
    record = MissionRecord.from_json({**_minimal(), "closures": [], "lockouts": []})
    record = replace(record, closures=(closure,), lockouts=(lockout,))
    wire = json.loads(json.dumps(record.to_json()))
    assert wire["closures"][0]["opened_at"] == "2025-03-01T08:00:00Z"
    assert MissionRecord.from_json(wire) == record


def test_a_naive_time_is_utc_and_unknown_keys_are_ignored() -> None:
    record = MissionRecord.from_json({**_minimal(), "generated_at": "2025-03-01T09:00:00",
                                      "new_in_a_later_version": [1, 2]})
    assert record.generated_at == datetime(2025, 3, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(("answer", "where"), [
    ([], "the answer must be an object"),
    ({"generated_at": "2025-03-01T09:00:00Z"}, "mission is missing"),
    ({**_minimal(), "mission": {"name": "x", "status": "s"}}, "mission.mission_id is missing"),
    ({**_minimal(), "generated_at": "yesterday"}, "generated_at: input should be a valid datetime"),
    ({**_minimal(), "routes": ["R1"]}, "routes must be an object"),
    ({**_minimal(), "routes": {"R1": {"driven": "dab"}}},
     "routes['R1'].driven: input should be a valid tuple, not 'dab'"),
    ({**_minimal(), "results": [{"result_id": "r", "point": "p", "serial": "R1",
                                 "measured_at": "2025-03-01T09:00:00Z",
                                 "readings": [{"sensor": "ch4", "value": "high",
                                               "unit": "%"}]}]},
     "results[0].readings[0].value: input should be a valid number"),
    ({**_minimal(), "anomalies": [{"id": "seven"}]}, "anomalies[0].id: input should be a valid "
     "integer"),
    ({**_minimal(), "map": {"name": "m.yaml"}}, "map.text is missing"),
])
def test_a_malformed_answer_is_one_line(answer: object, where: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        MissionRecord.from_json(answer)
    message = str(caught.value)
    assert "\n" not in message and where in message, message
    assert message.startswith("the manager's report answer is malformed: ")


def test_a_long_bad_value_is_shortened() -> None:
    with pytest.raises(ProtocolError) as caught:
        MissionRecord.from_json({**_minimal(), "generated_at": ["x\ny"] * 100})
    assert len(str(caught.value)) < 150 and "\n" not in str(caught.value)
