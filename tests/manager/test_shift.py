"""The shift record built from stored rows (a real SQLite file, PostgreSQL too when
FLEET_TEST_POSTGRES_URL is set): which missions belong to the window, the anomalies by
lifecycle step, lockouts and closures, schedule events, robots' availability from a known
sequence of events, and the points that waited longer than their revisit target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from fleet.anomaly.record import InspectionCounts
from fleet.anomaly.shift import LOCKED_OUT, LOST, ShiftRecord
from fleet.errors import FleetError
from fleet.manager.shift import LiveMission, shift_record
from fleet.store import Store
from fleet.store.tables import ScheduleEventRow, ScheduleRow
from tests.anomaly.factories import result
from tests.store.conftest import db, store

__all__ = ["db", "store"]

ROOT = Path(__file__).resolve().parents[2]
TINY_MAP = ROOT / "tests" / "data" / "maps" / "tiny.yaml"
MISSION = ROOT / "tests" / "data" / "missions" / "tiny_patrol.yaml"

SINCE = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)  # 08:00-16:00 in Europe/Berlin
UNTIL = SINCE + timedelta(hours=8)
NOW = UNTIL + timedelta(minutes=30)


def h(hours: float) -> datetime:
    """``hours`` after 08:00 Berlin (negative: before the shift)."""
    return SINCE + timedelta(hours=hours)


def snapshot(done: Sequence[str], failed: Sequence[str] = ()) -> dict[str, Any]:
    return {"map": {"name": "tiny.yaml", "suffix": ".yaml",
                    "text": TINY_MAP.read_text(encoding="utf-8")},
            "assignments": [], "pool": [], "done": {p: "r" for p in done},
            "failed": list(failed), "dropped": {}, "driven_before": {}, "blocked": {}}


def mission(store: Store, mid: str, created: float, *, ended: float | None = None,
            status: str = "completed", reason: str | None = None,
            done: list[str] | None = None) -> None:
    doc = MISSION.read_text(encoding="utf-8")
    store.add_mission(mid, doc, mission_id=mid, at=h(created))
    store.save_plan(mid, snapshot(done or []), at=h(created))
    store.set_mission_status(mid, "running", at=h(created) + timedelta(minutes=1))
    if ended is not None:
        store.set_mission_status(mid, status, reason, at=h(ended))


def anomaly(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "inspection_point_id": "p1", "sensor": "ch4", "status": "open", "severity": "alarm",
        "rule": "above", "threshold": 1.0, "unit": "%vol", "peak": 1.2, "count": 1,
        "reopened": 0}
    return {**base, **values}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def shift_store(store: Store) -> Store:
    """A day of a small site around the shift 08:00-16:00 Berlin (07:00-15:00 UTC)."""
    mission(store, "before", -2, ended=-0.5)                       # over before the shift
    mission(store, "carried", -1, ended=1, done=["p1", "p2"])      # carried into it
    mission(store, "failed", 2, ended=3, status="failed", reason="no robot left",
            done=["p1"])
    mission(store, "running", 5)                                   # still going
    mission(store, "after", 8.5)                                   # after the shift
    mission(store, "patrol", -48)                                  # a patrol for 2 days
    # r1 finishes its round of "carried" 50 minutes into the shift
    store.add_event("carried", "dispatched", {}, robot_serial="r1", at=h(-0.8))
    store.add_event("carried", "robot_finished", {}, robot_serial="r1", at=h(50 / 60))
    # r2: a round of "failed", lost for a quarter of an hour, then a methane lockout
    store.add_event("failed", "dispatched", {}, robot_serial="r2", at=h(2 + 5 / 60))
    store.add_event("failed", "robot_lost", {}, robot_serial="r2", at=h(2.5))
    store.add_event("failed", "robot_back", {}, robot_serial="r2", at=h(2.75))
    store.add_lockout(manufacturer="acme", serial="r2", node_id="p1", sensor="ch4",
                      value=1.6, unit="%vol", level=1.5, at=h(3))
    store.reset_lockouts("acme", "r2", by="ann", note="ventilated", at=h(4))
    store.add_lockout(manufacturer="acme", serial="r2", node_id="p1", sensor="ch4",
                      value=1.7, unit="%vol", level=1.5, at=h(7))      # open at the end
    store.add_lockout(manufacturer="acme", serial="r9", node_id="p1", sensor="ch4",
                      value=1.7, unit="%vol", level=1.5, at=h(-5))
    store.reset_lockouts("acme", "r9", by="ann", note="old", at=h(-4))
    store.add_closure(site="Tiny test mine", node_id="p1", nodes=["p1"], area="zone face-gas",
                      source="robot acme/r2", sensor="ch4", value=1.7, unit="%vol",
                      restore=1.0, at=h(7))
    # anomalies: acknowledged in the shift (open before it), opened and resolved in it,
    # over before it, and first seen after it
    with store.anomaly_transaction() as tx:
        tx.insert([
            anomaly(inspection_point_id="p1", first_seen=h(-1), last_seen=h(-1),
                    opened_at=h(-1), status="acknowledged", acknowledged_by="ann",
                    acknowledged_at=h(1), ack_note="on it",
                    history=[{"event": "opened", "at": iso(h(-1)), "severity": "alarm"},
                             {"event": "acknowledged", "at": iso(h(1)), "by": "ann",
                              "note": "on it"}]),
            anomaly(inspection_point_id="p2", sensor="o2", severity="warning",
                    first_seen=h(2), last_seen=h(2.2), opened_at=h(2), status="resolved",
                    resolved_by="bob", resolved_at=h(3), resolve_note="sensor swapped",
                    history=[{"event": "opened", "at": iso(h(2)), "severity": "warning"},
                             {"event": "resolved", "at": iso(h(3)), "by": "bob",
                              "note": "sensor swapped"}]),
            anomaly(inspection_point_id="p3", first_seen=h(-6), last_seen=h(-6),
                    opened_at=h(-6), status="resolved", resolved_by="bob",
                    resolved_at=h(-5)),
            anomaly(inspection_point_id="p4", first_seen=h(9), last_seen=h(9),
                    opened_at=h(9)),
        ])
    # schedule runs: one launched the "failed" mission, one skipped, one missed
    sched = store.add_schedule(ScheduleRow(
        name="face patrol", mission_name="Tiny patrol", document="x", tz="Europe/Berlin",
        cron="0 */2 * * *", overlap="skip", catch_up="none", checked_until=h(-24)),
        at=h(-24))
    assert sched.id is not None
    store.add_schedule_events([
        ScheduleEventRow(schedule_id=sched.id, at=h(-1), kind="launched", due=h(-1),
                         mission_id="carried"),
        ScheduleEventRow(schedule_id=sched.id, at=h(2), kind="launched", due=h(2),
                         mission_id="failed"),
        ScheduleEventRow(schedule_id=sched.id, at=h(4), kind="skipped", due=h(4),
                         detail={"reason": "previous run still going"}),
        ScheduleEventRow(schedule_id=sched.id, at=h(6.01), kind="missed", due=h(6),
                         detail={"reason": "the manager was down"}),
        ScheduleEventRow(schedule_id=sched.id, at=h(9), kind="launched", due=h(9)),
    ])
    return store


def record(store: Store, **kw: Any) -> ShiftRecord:
    return shift_record(store, SINCE, UNTIL, now=NOW, **kw)


def test_missions_created_in_the_window_or_running_during_it(shift_store: Store) -> None:
    r = record(shift_store)
    assert [m.mission_id for m in r.missions] == ["patrol", "carried", "failed", "running"]
    by = {m.mission_id: m for m in r.missions}
    assert by["carried"].ended_at == h(1) and by["carried"].status == "completed"
    assert by["carried"].inspections == InspectionCounts(done=2, total=2)
    assert by["carried"].robots == ("r1",)
    failed = by["failed"]
    assert (failed.status, failed.reason, failed.ended_at) == ("failed", "no robot left", h(3))
    assert (failed.schedule_id, failed.schedule_name) == (1, "face patrol")
    assert failed.inspections is not None and (failed.inspections.done,
                                               failed.inspections.total) == (1, 2)
    assert by["running"].ended_at is None and by["running"].status == "running"
    assert by["carried"].schedule_id is None  # launched before the shift


def test_a_live_mission_shows_the_managers_own_progress(shift_store: Store) -> None:
    counts = InspectionCounts(done=1, total=2, waiting=1)
    live = {"running": LiveMission(status="paused", reason="by ann", counts=counts,
                                   spec=cast(Any, SimpleNamespace(tasks=())))}
    by = {m.mission_id: m for m in record(shift_store, live=live).missions}
    assert (by["running"].status, by["running"].reason) == ("paused", "by ann")
    assert by["running"].inspections == counts


def test_anomalies_by_lifecycle_step_in_the_window(shift_store: Store) -> None:
    r = record(shift_store)
    assert [(s.anomaly_id, s.event, s.at, s.by) for s in r.steps] == [
        (1, "acknowledged", h(1), "ann"), (2, "opened", h(2), None),
        (2, "resolved", h(3), "bob")]
    assert r.steps[2].note == "sensor swapped"
    assert sorted(a.id for a in r.anomalies) == [1, 2]
    [unresolved] = [a for a in r.anomalies if a.status != "resolved"]
    assert unresolved.id == 1 and unresolved.acknowledged_by == "ann"


def test_lockouts_and_closures_that_overlap_the_window(shift_store: Store) -> None:
    r = record(shift_store)
    assert [(x.serial, x.locked_at, x.open) for x in r.lockouts] == [
        ("r2", h(3), False), ("r2", h(7), True)]
    [closure] = r.closures
    assert closure.open and closure.area == "zone face-gas"


def test_schedule_events_of_the_window_oldest_first(shift_store: Store) -> None:
    r = record(shift_store)
    assert [(e.kind, e.due, e.mission_id) for e in r.schedule_events] == [
        ("launched", h(2), "failed"), ("skipped", h(4), None), ("missed", h(6), None)]
    assert r.schedule_events[1].reason == "previous run still going"
    assert {e.schedule_name for e in r.schedule_events} == {"face patrol"}
    assert {e.tz for e in r.schedule_events} == {"Europe/Berlin"}


def test_availability_from_the_recorded_events(shift_store: Store) -> None:
    r = record(shift_store, robots={"r1": "acme", "r3": "acme"})
    by = {x.serial: x for x in r.robots}
    assert sorted(by) == ["r1", "r2", "r3"]
    assert by["r1"].busy_s == 50 * 60 and by["r1"].idle_s == 8 * 3600 - 50 * 60
    r2 = by["r2"]
    assert r2.manufacturer == "acme"
    assert r2.busy_s == 25 * 60                      # 09:05-09:30 Berlin
    assert r2.lost_s == 15 * 60                      # 09:30-09:45
    assert r2.locked_out_s == 2 * 3600               # 10:00-11:00 and 14:00-15:00
    assert r2.busy_s + r2.lost_s + r2.locked_out_s + r2.idle_s == 8 * 3600
    assert [s.state for s in r2.spans][-3:] == [LOST, LOCKED_OUT, LOCKED_OUT]
    assert r2.spans[-1].open_ended
    assert by["r3"].idle_s == 8 * 3600 and by["r3"].spans == ()


def test_a_shift_not_over_yet_runs_to_now(shift_store: Store) -> None:
    r = shift_record(shift_store, SINCE, UNTIL, now=h(1))
    assert r.covered_until == h(1)
    [r1, r2] = r.robots
    assert (r1.busy_s, r1.idle_s) == (50 * 60, 10 * 60)
    assert r2.busy_s == 0 and r2.idle_s == 3600


@dataclass(frozen=True)
class PatrolTask:
    """A task as the continuous-patrol branch adds it (``revisit_s``)."""

    point: str
    revisit_s: float | None


def test_points_that_waited_longer_than_their_revisit_target(shift_store: Store) -> None:
    times = {"p1": [h(k * 25 / 60) for k in range(-1, 20)],              # every 25 min
             "p2": [h(-0.3), h(0), h(1.5), *(h(1.5 + k / 3) for k in range(1, 20))]}
    results = [result(p, mission_id="patrol", serial="r1",
                      at=(t - datetime(2025, 3, 1, 8, 0, tzinfo=UTC)).total_seconds())
               for p, ts in times.items() for t in ts]
    shift_store.record_results(results)
    spec = SimpleNamespace(mode="continuous", tasks=(
        PatrolTask("p1", 1800.0), PatrolTask("p2", 1800.0), PatrolTask("p3", 3600.0),
        PatrolTask("p9", None)))
    live = {"patrol": LiveMission(status="running", reason=None, spec=cast(Any, spec),
                                  counts=InspectionCounts(done=0, total=4))}
    r = record(shift_store, live=live)
    assert r.patrols == 1
    assert next(m for m in r.missions if m.mission_id == "patrol").continuous
    by = {p.point: p for p in r.overdue}
    assert sorted(by) == ["p2", "p3"]           # p1 every 25 min: within its 30
    p2 = by["p2"]
    assert (p2.worst_gap_s, p2.worst_from, p2.worst_to, p2.open) == (5400.0, h(0), h(1.5),
                                                                      False)
    assert (p2.gaps_over, p2.inspections, p2.target_s) == (1, 21, 1800.0)
    p3 = by["p3"]                              # never inspected: since the patrol began
    assert p3.open and p3.since_start and p3.inspections == 0
    assert (p3.worst_from, p3.worst_to) == (h(-48), UNTIL)
    assert r.overdue[0].point == "p3"          # worst against its target first
    assert by["p2"].mission_name == "patrol"


def test_no_revisit_targets_before_the_patrol_branch(shift_store: Store) -> None:
    r = record(shift_store)
    assert (r.patrols, r.overdue) == (0, ())
    assert r.notes == ()  # every stored document still loads


def test_the_record_survives_its_json(shift_store: Store) -> None:
    r = record(shift_store, robots={"r1": "acme"})
    again = ShiftRecord.from_json(r.to_json())
    assert again == r


@pytest.mark.parametrize(("since", "until", "says"), [
    (UNTIL, SINCE, "the window's end must come after its start"),
    (SINCE, SINCE, "the window's end must come after its start"),
    (SINCE, SINCE + timedelta(days=32), "a shift report covers at most 31 days"),
])
def test_a_bad_window_is_one_line(store: Store, since: datetime, until: datetime,
                                  says: str) -> None:
    with pytest.raises(FleetError, match=says):
        shift_record(store, since, until, now=NOW)
