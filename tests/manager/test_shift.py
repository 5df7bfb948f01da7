"""The shift record built from stored rows (a real SQLite file, PostgreSQL too when
FLEET_TEST_POSTGRES_URL is set): which missions belong to the window, the anomalies by
lifecycle step, lockouts and closures, schedule events, robots' availability from a known
sequence of events, and the points that waited longer than their revisit target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from fleet.anomaly.record import InspectionCounts
from fleet.anomaly.shift import LOCKED_OUT, LOST, ShiftRecord
from fleet.errors import FleetError
from fleet.manager.patrol import DEFAULT_REVISIT_S
from fleet.manager.shift import LiveMission, shift_record
from fleet.planning.mission import Mode
from fleet.store import Store
from tests.anomaly.factories import result
from tests.store.conftest import db, store

from .shift_day import NOW, SINCE, UNTIL, fill, h

__all__ = ["db", "store"]


@pytest.fixture
def shift_store(store: Store) -> Store:
    """A day of a small site around the shift 08:00-16:00 Berlin (07:00-15:00 UTC)."""
    return fill(store)


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
                                   spec=cast(Any, SimpleNamespace(mode=Mode.ONCE,
                                                                  tasks=())))}
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
    spec = SimpleNamespace(mode=Mode.CONTINUOUS, tasks=(
        PatrolTask("p1", 1800.0), PatrolTask("p2", 1800.0), PatrolTask("p3", 3600.0),
        PatrolTask("p9", None)))
    live = {"patrol": LiveMission(status="running", reason=None, spec=cast(Any, spec),
                                  counts=InspectionCounts(done=0, total=4))}
    r = record(shift_store, live=live)
    assert r.patrols == 1
    assert next(m for m in r.missions if m.mission_id == "patrol").continuous
    by = {p.point: p for p in r.overdue}
    assert sorted(by) == ["p2", "p3", "p9"]     # p1 every 25 min: within its 30
    assert by["p9"].target_s == DEFAULT_REVISIT_S  # no target: the manager's default
    p2 = by["p2"]
    assert (p2.worst_gap_s, p2.worst_from, p2.worst_to, p2.open) == (5400.0, h(0), h(1.5),
                                                                      False)
    assert (p2.gaps_over, p2.inspections, p2.target_s) == (1, 21, 1800.0)
    p3 = by["p3"]                              # never inspected: since the patrol began
    assert p3.open and p3.since_start and p3.inspections == 0
    assert (p3.worst_from, p3.worst_to) == (h(-48), UNTIL)
    assert r.overdue[0].point == "p3"          # worst against its target first
    assert by["p2"].mission_name == "patrol"


def test_no_revisit_targets_in_missions_done_once(shift_store: Store) -> None:
    r = record(shift_store)
    assert (r.patrols, r.overdue) == (0, ())
    assert r.notes == ()  # every stored document still loads
    assert not any(m.continuous for m in r.missions)


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
