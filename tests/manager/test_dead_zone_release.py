"""A released base never ends inside a comms-dead zone: a robot waiting there for an order
update would never hear it (found by the simulator: a robot stood silent at the end of its
base in the coal mine's dead return airway until it was declared lost)."""

from __future__ import annotations

from fleet.manager.dispatch import Assignment, assignment_for
from fleet.manager.stateview import StateView
from fleet.planning.planner import plan_mission
from fleet.protocol.codec import decode_json, encode
from fleet.protocol.header import Header
from fleet.protocol.state import BatteryState, State

from ..planning.factories import fleet, mission, robot_class, site, square, task

HEADER = Header("test", "r1", 0, "2026-01-01T00:00:00.000Z")


def _assignment(release_ahead: int) -> Assignment:
    # D - A - B - C - E - P along x, 10 m apart; B, C and E lie in a dead zone
    fac = site(
        [("D", 0, 0, "dock"), ("A", 10, 0, "waypoint"), ("B", 20, 0, "waypoint"),
         ("C", 30, 0, "waypoint"), ("E", 40, 0, "waypoint"), ("P", 50, 0, "inspection")],
        [("D", "A"), ("A", "B"), ("B", "C"), ("C", "E"), ("E", "P")],
        [{"id": "dead", "kind": "comms_dead", "level": "0",
          "polygon": square(15, -5, 45, 5)}],
    )
    m = mission(fac, task("P"))
    plan = plan_mission(m, fleet(("r1", robot_class(), "D")), time_limit=1.0)
    return assignment_for("m" * 32, plan.robots[0], m, release_ahead=release_ahead)


def _at(a: Assignment, reached: int) -> StateView:
    state = State(HEADER, BatteryState(90.0), order_id=a.order_id,
                  last_node_id=a.stops[reached].node_id, last_node_sequence_id=2 * reached)
    return StateView.from_json(decode_json("state", encode(state)))


def test_first_base_runs_through_the_dead_zone() -> None:
    a = _assignment(release_ahead=2)
    assert a.dead == {"B", "C", "E"}
    first = a.first_order(HEADER)
    released = [n.node_id for n in first.nodes if n.released]
    assert released == ["D", "A", "B", "C", "E", "P"]  # not stopping at B


def test_updates_do_not_end_in_the_dead_zone_either() -> None:
    a = _assignment(release_ahead=1)
    a.first_order(HEADER)
    assert a.base_end == 1  # A is covered
    a.on_state(_at(a, 1))
    update = a.next_update(HEADER)
    assert update is not None
    assert a.stops[a.base_end].node_id == "P"
