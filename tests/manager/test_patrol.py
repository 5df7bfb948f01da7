"""Continuous patrol bookkeeping: idleness per point, when points come back into the pool,
what the status shows, and the snapshot a restarted manager reads."""

from __future__ import annotations

from fleet.manager.patrol import Idleness


def test_idleness_is_the_time_between_consecutive_inspections() -> None:
    idle = Idleness(started=0.0)
    for at in (100.0, 700.0, 1600.0):
        idle.visit("p1", at)
    idle.visit("p2", 300.0)
    report = idle.report({"p1": 1800.0, "p2": 1800.0}, now=1700.0)
    assert report["worst_s"] == 900.0 and report["average_s"] == 750.0
    assert report["gaps"] == 2 and report["visits"] == 4
    assert report["overdue"] == {}
    late = idle.report({"p1": 1800.0, "p2": 1200.0}, now=1700.0)
    assert late["overdue"] == {"p2": {"since_s": 1400.0, "target_s": 1200.0}}


def test_a_point_never_inspected_is_overdue_from_the_start() -> None:
    idle = Idleness(started=1000.0)
    assert idle.report({"p": 600.0}, now=1500.0)["overdue"] == {}
    assert idle.report({"p": 600.0}, now=1700.0)["overdue"] == {
        "p": {"since_s": 700.0, "target_s": 600.0}}
    assert idle.report({"p": 600.0}, now=1700.0)["worst_s"] is None


def test_points_come_back_a_round_before_their_target() -> None:
    idle = Idleness(started=0.0)
    idle.visit("p", 1000.0)
    # before any round ended: half the target ahead
    assert not idle.due("p", 1800.0, now=1000.0 + 899.0)
    assert idle.due("p", 1800.0, now=1000.0 + 900.0)
    idle.begin("R1", 2000.0)
    idle.end("R1", 2600.0)  # rounds take 10 minutes
    assert not idle.due("p", 1800.0, now=1000.0 + 1199.0)
    assert idle.due("p", 1800.0, now=1000.0 + 1200.0)
    idle.end("R2", 9000.0)  # a round not seen begin (a restart) is not counted
    assert idle.rounds == [600.0]


def test_the_snapshot_round_trips() -> None:
    idle = Idleness(started=5.0)
    idle.visit("p", 10.0)
    idle.visit("p", 70.0)
    idle.begin("R1", 1.0)
    idle.end("R1", 31.0)
    back = Idleness.from_json(idle.to_json())
    assert back.points == idle.points and back.rounds == [30.0] and back.started == 5.0
