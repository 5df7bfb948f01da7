"""Plans become VDA 5050 orders released a few nodes at a time."""

from __future__ import annotations

from fleet.manager.dispatch import assignment_for
from fleet.manager.stateview import StateView
from fleet.planning.planner import plan_mission
from fleet.protocol.codec import decode_json, encode
from fleet.protocol.header import Header
from fleet.protocol.state import ActionState, ActionStatus, BatteryState, NodeState, State

from ..planning.factories import fleet, mission, robot_class, site, task


def _assignment(release_ahead: int = 2, horizon: int | None = None):  # type: ignore[no-untyped-def]
    fac = site(
        [("D", 0, 0, "dock"), ("A", 10, 0, "waypoint"), ("B", 20, 0, "waypoint"),
         ("P", 30, 0, "inspection"), ("C", 40, 0, "waypoint"), ("Q", 50, 0, "inspection")],
        [("D", "A"), ("A", "B"), ("B", "P"), ("P", "C"), ("C", "Q")],
    )
    m = mission(fac, task("P"), task("Q"))
    plan = plan_mission(m, fleet(("r1", robot_class(), "D")), time_limit=1.0)
    return assignment_for("m" * 32, plan.robots[0], m, release_ahead=release_ahead,
                          horizon=horizon)


def _state(a, reached: int, finished: tuple[str, ...] = ()) -> StateView:  # type: ignore[no-untyped-def]
    state = State(Header("test", "r1", 0, "2026-01-01T00:00:00.000Z"), BatteryState(90.0),
                  order_id=a.order_id, last_node_id=a.stops[reached].node_id,
                  last_node_sequence_id=2 * reached,
                  action_states=tuple(ActionState(x, ActionStatus.FINISHED) for x in finished))
    # the manager reads states off the wire: go through the schema-checked JSON
    return StateView.from_json(decode_json("state", encode(state)))


def test_route_and_inspect_actions() -> None:
    a = _assignment()
    nodes = [s.node_id for s in a.stops]
    assert nodes == ["D", "A", "B", "P", "C", "Q", "C", "P", "B", "A", "D"]
    assert a.points == ["P", "Q"]
    acts = [(s.node_id, [x.action_type for x in s.actions]) for s in a.stops if s.actions]
    assert acts == [("P", ["inspect"]), ("Q", ["inspect"])]


def test_base_is_released_in_steps_and_orders_are_schema_valid() -> None:
    a = _assignment(release_ahead=2)
    header = Header("test", "r1", 0, "2026-01-01T00:00:00.000Z")
    first = a.first_order(header)
    encode(first)  # validates against the official order schema
    assert [n.released for n in first.nodes][:4] == [True, True, True, False]
    assert a.next_update(header) is None  # robot at the start: nothing due yet
    a.on_state(_state(a, 1))
    update = a.next_update(header)
    assert update is not None and update.order_update_id == 1
    encode(update)
    assert update.nodes[0].node_id == "B" and update.nodes[0].sequence_id == 4
    assert a.base_end == 3


def test_a_bounded_horizon_moves_on_with_the_base() -> None:
    a = _assignment(release_ahead=2, horizon=3)
    header = Header("test", "r1", 0, "2026-01-01T00:00:00.000Z")
    first = a.first_order(header)
    encode(first)
    # base D..B (sequence 0..4), then three horizon nodes: no more of the round
    assert [(n.node_id, n.sequence_id, n.released) for n in first.nodes] == [
        ("D", 0, True), ("A", 2, True), ("B", 4, True),
        ("P", 6, False), ("C", 8, False), ("Q", 10, False)]
    assert [e.sequence_id for e in first.edges] == [1, 3, 5, 7, 9]
    assert [x.action_type for x in first.nodes[3].actions] == ["inspect"]
    a.on_state(_state(a, 1))
    update = a.next_update(header)
    assert update is not None
    encode(update)
    # stitched at the last base node sent (B), base now to P, horizon three past it
    assert [(n.node_id, n.sequence_id, n.released) for n in update.nodes] == [
        ("B", 4, True), ("P", 6, True), ("C", 8, False), ("Q", 10, False), ("C", 12, False)]
    a.on_state(_state(a, 8))
    tail = a.next_update(header)
    assert tail is not None and tail.nodes[-1].sequence_id == 2 * (len(a.stops) - 1)


def test_the_whole_round_is_the_horizon_when_unbounded() -> None:
    a = _assignment(release_ahead=2, horizon=None)
    first = a.first_order(Header("test", "r1", 0, "2026-01-01T00:00:00.000Z"))
    assert len(first.nodes) == len(a.stops)


def test_progress_and_finish() -> None:
    a = _assignment()
    ids = list(a.inspections)
    assert a.on_state(_state(a, 3, (ids[0],)))
    # FINISHED is what the robot says; the point is done once its result is committed
    assert a.reported == {"P"} and a.done == set()
    a.on_state(_state(a, len(a.stops) - 1, tuple(ids)))
    assert not a.finished and a.remaining == ["P", "Q"]
    a.done.update({"P", "Q"})  # what Manager._commit does after the store commits
    assert a.finished and a.remaining == []


def test_a_robot_that_just_took_the_order_still_reporting_its_last_one_is_at_the_start() -> None:
    # The robot took this order while standing at the dock where its previous (longer)
    # round ended: until it registers the first node, it reports the new orderId with the
    # old round's last node (D, sequenceId 20). Read on this route, sequenceId 20 would be
    # its last node, and 8 the waypoint C past P: neither is where the robot is.
    a = _assignment()
    ids = list(a.inspections)
    for seq in (20, 8, 7):
        state = State(Header("test", "r1", 0, "2026-01-01T00:00:00.000Z"), BatteryState(90.0),
                      order_id=a.order_id, last_node_id="D", last_node_sequence_id=seq,
                      node_states=tuple(NodeState(s.node_id, 2 * i, i <= a.base_end)
                                        for i, s in enumerate(a.stops)),
                      action_states=tuple(ActionState(x, ActionStatus.WAITING) for x in ids))
        view = StateView.from_json(decode_json("state", encode(state)))
        assert not a.on_state(view)
        assert a.reached == 0
        assert a.left_behind(view, 0.0, result_grace=1.0) == []
        assert not a.finished and a.remaining == ["P", "Q"] and a.left == set()
    # once it reports the route's nodes, progress counts as before
    assert a.on_state(_state(a, 4))
    assert a.reached == 4
