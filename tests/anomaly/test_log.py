"""The anomaly log on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.anomaly.alerts import AlertSettings
from fleet.anomaly.lifecycle import AlertEvent
from fleet.anomaly.limits import DEFAULT_LIMITS, Severity
from fleet.anomaly.log import AnomalyLog, summary
from fleet.anomaly.rules import evaluate
from fleet.clock import ManualClock
from fleet.errors import FleetError
from fleet.facility import formats
from fleet.facility.formats.yaml_map import parse_yaml
from fleet.planning.mission import MissionSpec, mission_from_document
from fleet.protocol.inspection import Reading
from fleet.store import Store, StoredResult
from tests.anomaly.factories import T0, ch4, result

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "maps" / "tiny.yaml"
NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def make_log(store: Store, **kw: Any) -> AnomalyLog:
    return AnomalyLog(store, clock=ManualClock(date=NOW), **kw)


def ingest(log: AnomalyLog, *results: dict[str, Any]) -> list[tuple[Any, AlertEvent]]:
    """What the manager does: store the batch, then the rules on what was new."""
    return log.observe(log.store.record_batch(list(results)).new)


def test_the_same_alarm_sent_five_times_is_one_anomaly(store: Store) -> None:
    log = make_log(store)
    alarm = ch4(1.8)
    raised = [ingest(log, alarm) for _ in range(5)]
    assert [len(r) for r in raised] == [1, 0, 0, 0, 0]
    [a] = store.anomalies()
    assert (a.inspection_point_id, a.sensor, a.severity, a.status, a.count) == (
        "p1", "ch4", "alarm", "open", 1)
    assert (a.rule, a.threshold, a.unit, a.peak) == ("above", 1.5, "%vol", 1.8)
    assert (a.x, a.y, a.level) == (40.0, 0.0, "L1")  # no map known: the robot's position
    assert store.count_unchecked() == 0
    [o] = store.observations(a.id)
    assert (o.result_id, o.seq, o.value, o.severity) == (alarm["resultId"], 0, 1.8, "alarm")


def test_repeats_count_and_keep_the_peak_other_places_are_other_anomalies(
        store: Store) -> None:
    log = make_log(store)
    ingest(log, ch4(1.1, at=0), ch4(1.4, at=60), ch4(0.2, at=90), ch4(1.2, at=120),
           ch4(1.0, "p2", at=30))
    p1, p2 = sorted(store.anomalies(), key=lambda a: a.inspection_point_id)
    assert (p1.count, p1.peak, p1.last_value, p1.severity) == (3, 1.4, 1.2, "warning")
    assert (p1.first_seen, p1.last_seen) == (T0, T0.replace(minute=2))
    assert (p2.inspection_point_id, p2.count) == ("p2", 1)
    # later batches go on counting the same row
    ingest(log, ch4(1.7, at=300))
    p1 = store.anomaly(p1.id or 0)
    assert p1 is not None and (p1.count, p1.severity, p1.peak) == (4, "alarm", 1.7)
    assert [h["event"] for h in p1.history] == ["opened", "escalated"]


def test_a_batch_announces_each_anomaly_once_with_its_final_severity(store: Store) -> None:
    log = make_log(store)
    raised = ingest(log, ch4(1.1, at=0), ch4(1.8, at=10))
    assert [(a.sensor, e, a.severity) for a, e in raised] == [("ch4", AlertEvent.OPENED,
                                                             "alarm")]


def test_robot_findings_are_kept_as_they_come(store: Store) -> None:
    log = make_log(store)
    ingest(log, result(findings=[{"type": "gasLeak", "severity": "CRITICAL",
                                  "description": "hissing valve", "confidence": 0.8}]))
    [a] = store.anomalies()
    assert (a.sensor, a.severity, a.rule, a.peak) == ("finding:gasLeak", "critical",
                                                      "finding", 0.8)
    assert a.detail["description"] == "hissing valve"
    [o] = store.observations(a.id)
    assert o.seq is None
    assert summary(a) == "CRITICAL at p1: finding:gasLeak 0.8 (rule finding)"


def test_lifecycle_through_the_log(store: Store) -> None:
    log = make_log(store)
    ingest(log, ch4(1.8))
    [a] = store.anomalies()
    assert a.id is not None
    acked = log.acknowledge(a.id, by="ann", note="evacuated the face")
    assert (acked.status, acked.acknowledged_by, acked.acknowledged_at) == (
        "acknowledged", "ann", NOW)
    with pytest.raises(FleetError, match="already acknowledged"):
        log.acknowledge(a.id, by="bob")
    log.resolve(a.id, by="bob", note="fan fixed")
    stored = store.anomaly(a.id)
    assert stored is not None and (stored.status, stored.resolve_note) == ("resolved",
                                                                           "fan fixed")
    with pytest.raises(FleetError, match="no anomaly 999"):
        log.resolve(999, by="bob")
    # it comes back later: the same row reopens
    raised = ingest(log, ch4(1.2, at=7200))
    assert [(e, r.id) for r, e in raised] == [(AlertEvent.REOPENED, a.id)]
    assert len(store.anomalies()) == 1
    assert store.anomalies(status=["open"])[0].reopened == 1


def test_filters(store: Store) -> None:
    log = make_log(store)
    ingest(log, ch4(0.8, "p1", at=0, mission_id="a" * 32), ch4(1.2, "p2", at=10),
           ch4(1.9, "p3", at=20))
    assert [a.inspection_point_id for a in store.anomalies()] == ["p3", "p2", "p1"]
    assert [a.inspection_point_id for a in store.anomalies(newest_first=False)] == [
        "p1", "p2", "p3"]
    assert [a.severity for a in store.anomalies(
        severity=Severity.WARNING.at_least())] == ["alarm", "warning"]
    assert [a.inspection_point_id for a in store.anomalies(mission_id="a" * 32)] == ["p1"]
    assert [a.inspection_point_id for a in store.anomalies(
        since=T0.replace(second=10))] == ["p3", "p2"]
    assert len(store.anomalies(limit=1, point="p2")) == 1


def test_rate_rule_reads_the_previous_visit_from_the_store(store: Store) -> None:
    ingest(make_log(store), ch4(0.1, at=0))
    fresh = make_log(store)  # a restarted manager: nothing in memory
    ingest(fresh, ch4(0.7, at=600))
    [a] = store.anomalies()
    assert (a.rule, a.severity) == ("rate", "warning")
    assert a.detail["previous"] == pytest.approx(0.1)
    # an older result arriving late is judged against the visit before it
    ingest(fresh, ch4(0.65, at=300))
    assert store.anomaly(a.id or 0).count == 2  # type: ignore[union-attr]


def test_results_stored_but_never_checked_are_checked_once_at_start(store: Store) -> None:
    # the manager was killed between the results' commit and the rules' commit
    store.record_batch([ch4(1.8, at=0), ch4(1.9, at=10), ch4(0.2, "p2", at=20)])
    assert store.count_unchecked() == 3
    log = make_log(store)
    log.start()
    try:
        assert log.checked == 3 and store.count_unchecked() == 0
        [a] = store.anomalies()
        assert (a.count, a.peak) == (2, 1.9)
        assert log.check_pending() == 0
        assert store.anomaly(a.id or 0).count == 2  # type: ignore[union-attr]
    finally:
        log.stop()


def tiny_mission(limits: str) -> MissionSpec:
    text = f"name: t\ntasks:\n  - points: [p1, p2]\n    sensors: [ch4]\n{limits}"
    return mission_from_document(parse_yaml(text), facility=formats.load(TINY))


def test_mission_overrides_and_map_coordinates(store: Store) -> None:
    spec = tiny_mission("limits:\n  zones:\n    face-gas: {ch4: {warning: 2.0, alarm: 2.5}}\n")
    log = make_log(store, mission_spec=lambda mid: spec if mid == "m" * 32 else None)
    ingest(log, ch4(1.8, "p1", mission_id="m" * 32), ch4(1.8, "p2", mission_id="m" * 32,
                                                           x=999.0))
    # p1 is in face-gas (relaxed: 1.8 is only info there); p2 keeps the defaults
    by_point = {a.inspection_point_id: a for a in store.anomalies()}
    assert by_point["p1"].severity == "info" and by_point["p2"].severity == "alarm"
    assert (by_point["p2"].x, by_point["p2"].y, by_point["p2"].level) == (80.0, 20.0, "L2")
    assert log.limits_for("m" * 32).at("p1")["ch4"].above[Severity.ALARM] == 2.5


def test_alert_deliveries_are_written_with_the_change(store: Store) -> None:
    sent: list[tuple[str, bytes]] = []
    log = make_log(store, publish=lambda key, body: sent.append((key, body)),
                   alerts=AlertSettings(webhooks=("http://127.0.0.1:9/hook",), secret=b"s",
                                        min_severity=Severity.WARNING))
    ingest(log, ch4(0.8, "p1"), ch4(1.8, "p2"))  # info at p1: logged, no alert
    deliveries = store.deliveries()
    assert [(d.channel, d.target, d.event, d.status) for d in deliveries] == [
        ("zenoh", "uagv/manager/alerts", "opened", "pending"),
        ("webhook", "http://127.0.0.1:9/hook", "opened", "pending")]
    payload = deliveries[0].payload
    assert payload["type"] == "anomaly.opened" and payload["anomaly"]["inspection_point_id"] \
        == "p2"
    assert payload["summary"] == "ALARM at p2: ch4 1.8 %vol (limit 1.5, rule above), opened"
    # the zenoh delivery goes out on the next dispatcher round
    log.dispatcher.run_once()
    assert [key for key, _ in sent] == ["uagv/manager/alerts"]
    assert store.deliveries(status="delivered")[0].channel == "zenoh"
    # the escalation of p1 raises the next alert
    ingest(log, ch4(1.2, "p1", at=60))
    assert [d.event for d in store.deliveries()][-2:] == ["escalated", "escalated"]


_reading = st.tuples(
    st.sampled_from(["ch4", "CH4", "o2", "co", "lel", "noise"]),
    st.one_of(st.floats(-1, 30), st.sampled_from([0.75, 1.0, 1.5, 19.5, 20.0, 23.5, 24.0,
                                                  float("nan")])),
    st.sampled_from(["%vol", "%", "ppm", "%LEL", "dB"]),
    st.integers(1, 4000))  # seconds since the previous reading


@pytest.fixture(scope="module")
def quiet_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """An empty SQLite store shared by the examples of a property test."""
    s = Store.open(path=tmp_path_factory.mktemp("fast-path"))
    yield s
    s.close()


@settings(max_examples=150, deadline=None)
@given(st.lists(_reading, min_size=1, max_size=12))
def test_the_fast_path_agrees_with_evaluate(quiet_store: Store,
                                            readings: list[tuple[str, float, str, int]]) -> None:
    """What the log's busy loop finds equals evaluate() on each reading with its previous
    one (the loop skips evaluate for readings it can tell are normal)."""
    log = make_log(quiet_store)
    point = f"pt-{uuid.uuid4().hex[:8]}"
    at = T0
    last: dict[str, tuple[datetime, float, str]] = {}
    for sensor, value, unit, step in readings:
        at = at + timedelta(seconds=step)
        stored = StoredResult(
            result_id=str(uuid.uuid4()), mission_id=None, order_id="o", action_id="a",
            manufacturer="acme", serial_number="R1", inspection_point_id=point, node_id=point,
            measured_at=at, received_at=at, position={}, findings=None,
            readings=(Reading(sensor, value, unit),))
        found = [s.verdict for s in log._sightings(stored)]
        key = sensor.lower()
        limits = DEFAULT_LIMITS.get(key)
        expected = (evaluate(limits, value, unit, at=at, previous=last.get(key))
                    if limits is not None else None)
        assert found == ([expected] if expected is not None else [])
        last[key] = (at, value, unit)


def test_remembering_written_anomalies_changes_nothing(tmp_path: Path) -> None:
    """The in-memory copy (on by default on SQLite) gives the same log as reading every
    batch's anomalies back from the table."""
    dumps = []
    for remember in (True, False):
        with Store.open(path=tmp_path / str(remember)) as store:
            log = make_log(store, remember=remember)

            def at(value: float, point: str, t: int) -> dict[str, Any]:
                return ch4(value, point, at=t, result_id=f"r-{point}-{t}")

            ingest(log, at(1.1, "p1", 0), at(0.8, "p2", 5))
            ingest(log, at(1.2, "p1", 10), at(1.6, "p2", 15))
            first = store.anomalies(point="p1")[0]
            log.acknowledge(first.id or 0, by="ann")
            ingest(log, at(1.7, "p1", 20))           # escalates the acknowledged one
            log.resolve(first.id or 0, by="bob")
            ingest(log, at(1.3, "p1", 4000), at(0.2, "p2", 4005))  # after the resolution: reopens
            dumps.append([{k: v for k, v in a.model_dump().items()
                           if k not in ("created_at", "updated_at")}
                          for a in store.anomalies(newest_first=False)])
    assert dumps[0] == dumps[1]
    p1 = next(a for a in dumps[0] if a["inspection_point_id"] == "p1")
    assert (p1["status"], p1["reopened"], p1["count"]) == ("open", 1, 1)
