"""A day of a small site around one shift, written through the store: what the shift
report's tests (tests/manager/test_shift.py, tests/cli/test_report.py) read back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fleet.store import Store
from fleet.store.tables import ScheduleEventRow, ScheduleRow

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


def fill(store: Store) -> Store:
    """Write a day of a small site around the shift 08:00-16:00 Berlin (07:00-15:00 UTC)
    into ``store``: six missions (over before the shift, carried into it, failed in it,
    running, after it, a two-day patrol), r1's and r2's rounds, r2's loss and lockouts, a
    closure, four anomalies and a schedule's events."""
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
