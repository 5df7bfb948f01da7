"""The store's reads over a window of time (fleet/store/windows.py), on SQLite and, when
FLEET_TEST_POSTGRES_URL is set, PostgreSQL: half-open windows, aware UTC times back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fleet.store import Store
from tests.anomaly.factories import T0, result

FINISHED = {"completed", "failed", "aborted", "partially_completed"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_missions_during_a_window(store: Store) -> None:
    store.add_mission("old", "doc", mission_id="old", at=at(-300))
    store.set_mission_status("old", "completed", at=at(-200))
    store.add_mission("late", "doc", mission_id="late", at=at(-300))
    store.set_mission_status("late", "completed", at=at(30))
    store.add_mission("open", "doc", mission_id="open", at=at(-900))
    store.add_mission("new", "doc", mission_id="new", at=at(10))
    store.add_mission("future", "doc", mission_id="future", at=at(60))
    rows = store.missions_during(at(0), at(60), finished=FINISHED)
    assert [r.id for r in rows] == ["open", "late", "new"]


def test_events_of_several_missions_by_kind(store: Store) -> None:
    for mid in ("m1", "m2"):
        store.add_mission(mid, "doc", mission_id=mid, at=at(0))
    store.add_event("m2", "dispatched", {}, robot_serial="r1", at=at(2))
    store.add_event("m1", "dispatched", {}, robot_serial="r2", at=at(1))
    store.add_event("m1", "inspected", {}, robot_serial="r2", at=at(3))
    events = store.mission_events_of(["m1", "m2"], kinds={"dispatched"})
    assert [(e.mission_id, e.at) for e in events] == [("m1", at(1)), ("m2", at(2))]
    assert len(store.mission_events_of(["m1"])) == 3  # created, dispatched, inspected
    assert [e.kind for e in store.mission_events_of(["m1"], until=at(2))] == [
        "created", "dispatched"]


def test_result_counts_times_and_the_last_before(store: Store) -> None:
    store.record_results([
        result("p1", at=-600, mission_id="m1"), result("p1", at=-300, mission_id="m1"),
        result("p1", at=60, mission_id="m1"), result("p2", at=120, mission_id="m1"),
        result("p1", at=3600, mission_id="m1"),   # the window's end: outside
        result("p1", at=30, mission_id="m2"), result("p1", at=40)])
    assert store.result_counts(at(0), at(60)) == {"m1": 2, "m2": 1}
    assert store.result_times(["m1"], at(0), at(60)) == [("m1", "p1", at(1)),
                                                        ("m1", "p2", at(2))]
    before = store.last_results_before(["m1", "m2"], at(0))
    assert before == {("m1", "p1"): at(-5)}
    assert before[("m1", "p1")].tzinfo == UTC


def test_anomalies_during_a_window(store: Store) -> None:
    def row(point: str, **kw: object) -> dict[str, object]:
        base = {"inspection_point_id": point, "sensor": "ch4", "status": "resolved",
                "severity": "alarm", "rule": "above", "count": 1, "first_seen": at(-120),
                "last_seen": at(-120), "opened_at": at(-120), "resolved_at": at(-100),
                "resolved_by": "ann"}
        return {**base, **kw}

    with store.anomaly_transaction() as tx:
        tx.insert([row("over"),                                     # before: out
                   row("open", status="open", resolved_at=None),    # unresolved: in
                   row("resolved-in", resolved_at=at(30)),          # resolved in it: in
                   row("acked-in", status="acknowledged", resolved_at=None,
                       acknowledged_at=at(5)),
                   row("seen-in", last_seen=at(10)),                # seen in it: in
                   row("after", status="open", resolved_at=None, first_seen=at(90),
                       last_seen=at(90), opened_at=at(90))])         # after: out
    found = [a.inspection_point_id for a in store.anomalies_during(at(0), at(60))]
    assert found == ["open", "resolved-in", "acked-in", "seen-in"]
