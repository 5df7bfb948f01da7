"""The dispatcher of a running manager: planned rounds sent as orders, robots followed
through them, points left behind handed back (in-memory network, manual clock)."""

from __future__ import annotations

from fleet.manager import MissionStatus
from fleet.protocol.inspection import is_inspect, read_inspect_action
from fleet.protocol.order import ActionType
from fleet.protocol.state import MOVE_ERROR, ActionStatus, Error, ErrorLevel

from .harness import Site

ROUTE = ["dock", "a", "p1", "top", "bottom", "p2", "bottom", "top", "p1", "a", "dock"]


def test_a_launched_mission_is_planned_onto_the_robot_at_its_dock(site: Site) -> None:
    r1 = site.robot("r1")
    run = site.launch()
    order = site.dispatched(r1, run)
    assert [n.node_id for n in order.nodes] == ROUTE
    assert order.order_update_id == 0
    inspected = {n.node_id: read_inspect_action(a).inspection_point_id
                 for n in order.nodes for a in n.actions if is_inspect(a)}
    assert inspected == {"p1": "p1", "p2": "p2"}
    # base: release_ahead (6) nodes in would end at bottom, a junction, where traffic
    # control never leaves a robot waiting (docs/traffic.md): it runs on to top
    assert [n.released for n in order.nodes] == [True] * 8 + [False] * 3
    site.wait_until(lambda: run.status is MissionStatus.DISPATCHED)
    assert run.assignments["r1"].order_id == order.order_id
    assert site.entry("r1").mission_id == run.id
    assert run.pool == set()
    assert site.events(run, "dispatched") == [{"order_id": order.order_id,
                                               "points": ["p1", "p2"]}]


def test_progress_releases_the_base_in_order_updates(site: Site) -> None:
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    r1.report(1)  # 6 released nodes ahead: nothing due yet
    site.net.drain()
    assert len(r1.orders()) == 1
    assert run.status is MissionStatus.RUNNING
    r1.report(3)  # the base ends at top (7): 4 ahead, more than half the window (6)
    site.net.drain()
    assert len(r1.orders()) == 1
    r1.report(4)  # within half the window: released up to the dock (10)
    site.net.drain()
    first_update = r1.wait_orders(2)[1]
    assert first_update.order_id == r1.order.order_id
    assert first_update.order_update_id == 1
    # an update starts at the last base node as sent before (top, sequence 14)
    assert (first_update.nodes[0].node_id, first_update.nodes[0].sequence_id) == ("top", 14)
    assert [(n.sequence_id, n.released) for n in first_update.nodes] == [
        (14, True), (16, True), (18, True), (20, True)]
    r1.report(6)  # nothing left to release
    site.net.drain()
    assert len(r1.orders()) == 2
    assert run.assignments["r1"].base_end == 10


def test_a_point_driven_past_without_its_inspection_is_handed_to_another_robot(
        site: Site) -> None:
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    r2 = site.robot("r2")  # online once r1 has the whole round
    r1.report(2, {"p1": ActionStatus.RUNNING})
    site.net.drain()
    assert run.pool == set() and site.events(run, "inspection_left") == []
    r1.report(3, {"p1": ActionStatus.WAITING})  # drove on: p1's action never ran
    site.net.drain()
    [left] = site.events(run, "inspection_left")
    assert left["point"] == "p1" and left["times"] == 1
    assert "drove past it without running its inspect action (WAITING)" in left["why"]
    assert run.assignments["r1"].remaining == ["p2"]
    # handed back to the pool, planned at once onto the robot free at the dock
    order = r2.wait_orders(1)[0]
    points = [read_inspect_action(a).inspection_point_id
              for n in order.nodes for a in n.actions if is_inspect(a)]
    assert points == ["p1"]
    site.wait_until(lambda: "r2" in run.assignments and not run.pool)
    assert run.assignments["r2"].points == ["p1"]


def test_a_finished_inspection_whose_result_never_comes_is_handed_back_after_the_grace(
        site: Site) -> None:
    grace = site.manager.settings.result_grace
    r1 = site.robot("r1")
    run = site.launch()
    first = site.dispatched(r1, run)
    r1.report(4)  # the base is released up to the end
    site.net.drain()
    assert len(r1.wait_orders(2)) == 2
    site.at(1.0)
    r1.report(10)  # back at the dock, both inspections FINISHED, no result sent
    site.net.drain()
    assert run.assignments["r1"].over_at == 1.0
    for t in (3.0, 5.0, 7.0, 9.0, 1.0 + grace - 0.01):  # states keep it from going silent
        site.at(t)
        r1.report(10)
        site.net.drain()
        assert site.events(run, "inspection_left") == [], t
        assert run.assignments["r1"].active
    site.at(1.0 + grace)
    r1.report(10)
    site.net.drain()
    left = site.events(run, "inspection_left")
    assert [e["point"] for e in left] == ["p1", "p2"]
    assert all("finished but no result was stored" in e["why"] for e in left)
    assert site.events(run, "robot_finished") == [{}]
    # the round is over and the robot free again: it gets both points in a new order
    second = r1.wait_orders(3)[2]
    assert second.order_id != first.order_id and second.order_update_id == 0
    assert sorted(r1.inspect_ids()) == ["p1", "p2"]
    site.wait_until(lambda: not run.pool)
    assert run.assignments["r1"].order_id == second.order_id
    assert run.handovers == {"p1": 1, "p2": 1}


def test_a_robot_that_cannot_reach_a_node_is_told_to_cancel_and_its_points_go_to_others(
        site: Site) -> None:
    """A moveError for the robot's order (a Nav2 goal aborted: battery empty, no path):
    it would stand and wait for ever. It is told to cancel, and what it had left goes to
    the robot free at the dock."""
    r1 = site.robot("r1")
    run = site.launch()
    order = site.dispatched(r1, run)
    r2 = site.robot("r2")
    r1.report(2)  # p1 done, its result stored
    r1.send(r1.result("p1"))
    site.net.drain()
    site.wait_until(lambda: "p1" in run.done)
    error = Error(MOVE_ERROR, ErrorLevel.WARNING, "cannot reach 'top': Nav2 goal to top "
                  "aborted", references={"orderId": order.order_id, "nodeId": "top"})
    r1.report(2, errors=(error,))
    site.net.drain()
    [stuck] = site.events(run, "robot_stuck")
    assert stuck == {"node": "top", "error": "cannot reach 'top': Nav2 goal to top aborted"}
    cancels = [a for i in r1.instants() for a in i.actions
               if a.action_type == ActionType.CANCEL_ORDER.value]
    assert len(cancels) == 1
    [left] = site.events(run, "inspection_left")
    assert left["point"] == "p2" and "r1 could not reach top" in left["why"]
    assert not run.assignments["r1"].active and site.entry("r1").mission_id is None
    second = r2.wait_orders(1)[0]
    assert second.order_id != order.order_id
    site.wait_until(lambda: "r2" in run.assignments and not run.pool)
    assert run.assignments["r2"].points == ["p2"]
    # the error again in its next state changes nothing
    r1.report(2, errors=(error,))
    site.net.drain()
    assert len(site.events(run, "robot_stuck")) == 1
