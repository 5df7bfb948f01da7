"""OrderProgress step by step: acceptance rules, node/edge/action states, cancel."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.agent.body import Pose
from fleet.agent.progress import Drive, OrderProgress, Perform, Verdict
from fleet.protocol.header import Header
from fleet.protocol.order import Action, BlockingType, Node, Order
from fleet.protocol.state import ActionStatus
from tests.agent.conftest import order

HOME = Pose(0.0, 0.0, 0.0, "L1")


def progress(**options: object) -> OrderProgress:
    settings: dict[str, object] = {"supported": {"inspect"}, "sensors": {"ch4", "o2"}} | options
    return OrderProgress("acme", "r1", **settings)  # type: ignore[arg-type]


def drive_all(p: OrderProgress) -> list[str]:
    """Run every step the progress offers (actions succeed); the nodes reached."""
    reached = []
    while (step := p.next_step()) is not None:
        if isinstance(step, Drive):
            p.begin_drive(step.node)
            p.arrive(step.node)
            reached.append(step.node.node_id)
        else:
            p.begin_action(step.action.action_id)
            p.action_running(step.action.action_id)
            p.end_action(step.action.action_id, True)
    return reached


def errors(p: OrderProgress) -> list[str]:
    return [e.error_type for e in p.errors]


def test_a_new_order_lists_everything_ahead_and_every_action_waiting() -> None:
    p = progress()
    assert p.receive_order(order("r1", base_end=2, inspect_at=(1, 3)), HOME) is Verdict.ACCEPTED
    assert [(n.node_id, n.released) for n in p.node_states] == [
        ("n0", True), ("n1", True), ("n2", True), ("n3", False), ("n4", False)]
    assert [(e.edge_id, e.released) for e in p.edge_states] == [
        ("e0", True), ("e1", True), ("e2", False), ("e3", False)]
    assert [(a.action_id, a.status) for a in p.action_states] == [
        ("inspect-1", ActionStatus.WAITING), ("inspect-3", ActionStatus.WAITING)]
    assert p.busy and not p.new_base_request
    step = p.next_step()
    assert isinstance(step, Drive) and step.node.node_id == "n0" and step.edge is None


def test_nodes_and_edges_leave_the_lists_as_they_are_reached() -> None:
    p = progress()
    p.receive_order(order("r1", base_end=2, inspect_at=(1,)), HOME)
    first = p.next_step()
    assert isinstance(first, Drive)
    p.begin_drive(first.node)
    assert p.driving
    p.arrive(first.node)
    assert (p.last_node_id, p.last_node_sequence_id) == ("n0", 0)
    step = p.next_step()
    assert isinstance(step, Drive) and step.edge is not None and step.edge.edge_id == "e0"
    p.begin_drive(step.node)
    p.arrive(step.node)
    assert [n.node_id for n in p.node_states] == ["n2", "n3", "n4"]
    assert [e.edge_id for e in p.edge_states] == ["e1", "e2", "e3"]
    perform = p.next_step()
    assert isinstance(perform, Perform) and perform.action.action_id == "inspect-1"
    p.begin_action("inspect-1")
    assert p.action_status("inspect-1") is ActionStatus.INITIALIZING
    assert p.next_step() is None, "nothing else while an action runs"
    p.action_running("inspect-1")
    p.end_action("inspect-1", True)
    assert p.action_status("inspect-1") is ActionStatus.FINISHED
    assert drive_all(p) == ["n2"]
    assert p.next_step() is None and p.new_base_request and p.busy


def test_an_update_extends_the_base_and_replaces_the_horizon() -> None:
    p = progress()
    p.receive_order(order("r1", base_end=2, inspect_at=(3, 4)), HOME)
    assert drive_all(p) == ["n0", "n1", "n2"]
    update = order("r1", base_end=3, start=2, update=1, inspect_at=(3,), count=4)
    assert p.receive_order(update, HOME) is Verdict.UPDATED
    assert [n.node_id for n in p.node_states] == ["n3"]
    assert [a.action_id for a in p.action_states] == ["inspect-3"], "old horizon action gone"
    assert drive_all(p) == ["n3"]
    assert p.action_status("inspect-3") is ActionStatus.FINISHED
    assert not p.busy


def test_an_action_moved_by_a_rerouted_horizon_stays_until_run() -> None:
    # the manager re-routes the horizon (docs/traffic.md): the inspect action planned far
    # ahead now sits nearer; a later update stitched right at its node must not lose it
    import itertools

    from fleet.protocol.inspection import InspectParams, inspect_action
    from fleet.protocol.order import NodePosition, RouteLeg, RouteStop, route_order

    act = inspect_action("inspect-x", InspectParams("x", ("ch4",), 1.0))

    def route(names: list[str], at: int, *, base_end: int, start: int = 0,
              number: int = 0) -> Order:
        stops = [RouteStop(n, NodePosition(float(i), 0.0, HOME.map_id),
                           (act,) if i == at else ()) for i, n in enumerate(names)]
        legs = [RouteLeg(f"{a.node_id}-{b.node_id}", 1.0) for a, b in itertools.pairwise(stops)]
        return route_order(Header("acme", "r1"), "o1", stops, legs, base_end=base_end,
                           start=start, order_update_id=number)

    old = ["a", "b", "c", "d", "e", "f", "g", "h", "x", "z"]
    new = ["a", "b", "c", "k", "m", "x", "z"]
    p = progress()
    assert p.receive_order(route(old, 8, base_end=2), HOME) is Verdict.ACCEPTED

    def update(number: int, start: int, base_end: int) -> Order:
        return route(new, 5, base_end=base_end, start=start, number=number)

    assert p.receive_order(update(1, 2, 3), HOME) is Verdict.UPDATED
    assert drive_all(p) == ["a", "b", "c", "k"]
    assert p.receive_order(update(2, 3, 5), HOME) is Verdict.UPDATED
    assert p.receive_order(update(3, 5, 6), HOME) is Verdict.UPDATED  # stitched at x
    assert p.action_status("inspect-x") is ActionStatus.WAITING
    assert drive_all(p) == ["m", "x", "z"]
    assert p.action_status("inspect-x") is ActionStatus.FINISHED


def test_an_update_arriving_before_the_end_of_the_base_stitches_on() -> None:
    p = progress()
    p.receive_order(order("r1", base_end=2, inspect_at=()), HOME)
    step = p.next_step()
    assert isinstance(step, Drive)
    p.begin_drive(step.node)
    p.arrive(step.node)  # at n0; n1, n2 still ahead in the base
    assert p.receive_order(order("r1", base_end=4, start=2, update=1, inspect_at=()),
                           HOME) is Verdict.UPDATED
    assert [(n.node_id, n.released) for n in p.node_states] == [
        ("n1", True), ("n2", True), ("n3", True), ("n4", True)]
    assert drive_all(p) == ["n1", "n2", "n3", "n4"]


def test_the_stitching_node_keeps_its_first_actions_and_no_action_runs_twice() -> None:
    p = progress()
    p.receive_order(order("r1", base_end=2, inspect_at=(2,)), HOME)
    drive_all(p)
    assert p.action_status("inspect-2") is ActionStatus.FINISHED
    update = order("r1", base_end=4, start=2, update=1, inspect_at=(2,))
    p.receive_order(update, HOME)
    ran = []
    while (step := p.next_step()) is not None:
        if isinstance(step, Perform):
            ran.append(step.action.action_id)
            p.end_action(step.action.action_id, True)
        else:
            p.begin_drive(step.node)
            p.arrive(step.node)
    assert ran == []


@pytest.mark.parametrize("current, update, verdict, error", [
    (2, 1, Verdict.REJECTED, "orderUpdateError"),
    (2, 2, Verdict.IGNORED, None),
])
def test_lower_updates_are_rejected_and_equal_ones_ignored(
        current: int, update: int, verdict: Verdict, error: str | None) -> None:
    p = progress()
    p.receive_order(order("r1", base_end=2, update=current, inspect_at=()), HOME)
    drive_all(p)
    got = p.receive_order(order("r1", base_end=4, start=2, update=update, inspect_at=()), HOME)
    assert got is verdict
    assert errors(p) == ([error] if error else [])
    assert [n.node_id for n in p.node_states] == ["n3", "n4"]
    assert not any(n.released for n in p.node_states)


def test_an_update_not_starting_at_the_base_end_is_rejected() -> None:
    p = progress()
    p.receive_order(order("r1", base_end=2, inspect_at=()), HOME)
    drive_all(p)
    assert p.receive_order(order("r1", base_end=4, start=3, update=1, inspect_at=()),
                           HOME) is Verdict.REJECTED
    (error,) = p.errors
    assert error.error_type == "orderUpdateError" and error.references["nodeId"] == "n3"
    assert "'n2'" in (error.description or "")


def test_a_new_order_is_refused_while_the_last_one_waits_for_its_update() -> None:
    p = progress()
    p.receive_order(order("r1", base_end=2, inspect_at=()), HOME)
    drive_all(p)
    there = Pose(2.0, 0.0, 0.0, "L1")
    assert p.receive_order(order("r1", "o2", start=2, base_end=4), there) is Verdict.REJECTED
    assert errors(p) == ["orderError"]
    assert p.order_id == "o1"


def test_a_new_order_is_accepted_once_the_last_one_is_done_and_clears_errors() -> None:
    p = progress()
    p.receive_order(order("r1", base_end=4, inspect_at=(1,)), HOME)
    drive_all(p)
    p.receive_order(order("r1", "o1", update=0), HOME)  # ignored
    p.receive_order(order("x", "bad"), HOME)
    assert errors(p) == ["validationError"]
    there = Pose(4.0, 0.0, 0.0, "L1")
    new = order("r1", "o2", start=4, base_end=4, inspect_at=())
    assert p.receive_order(new, there) is Verdict.ACCEPTED
    assert p.errors == [] and p.action_states == ()
    assert (p.order_id, p.order_update_id) == ("o2", 0)


@pytest.mark.parametrize("pose, deviation, ok", [
    (Pose(0.3, 0.0, 0.0, "L1"), None, True),
    (Pose(0.6, 0.0, 0.0, "L1"), None, False),
    (Pose(0.6, 0.0, 0.0, "L1"), 1.0, True),
    (Pose(0.0, 0.0, 0.0, "L2"), None, False),
])
def test_a_new_order_must_start_where_the_robot_stands(
        pose: Pose, deviation: float | None, ok: bool) -> None:
    p = progress()
    sent = order("r1", inspect_at=())
    first = sent.nodes[0]
    assert first.position is not None
    moved = replace(first, position=replace(first.position, allowed_deviation_xy=deviation))
    sent = replace(sent, nodes=(moved, *sent.nodes[1:]))
    verdict = p.receive_order(sent, pose)
    assert verdict is (Verdict.ACCEPTED if ok else Verdict.REJECTED)
    assert errors(p) == ([] if ok else ["noRouteError"])


def test_without_positions_the_first_node_must_be_the_last_node_reached() -> None:
    p = progress()
    p.receive_order(order("r1", count=3, base_end=2, inspect_at=()), HOME)
    drive_all(p)

    def bare(first: str) -> Order:
        sent = order("r1", "o2", count=5, start=1, base_end=4, inspect_at=())
        nodes = tuple(replace(n, position=None) for n in sent.nodes)
        return replace(sent, nodes=(replace(nodes[0], node_id=first), *nodes[1:]),
                       edges=(replace(sent.edges[0], start_node_id=first), *sent.edges[1:]))

    assert p.receive_order(bare("n1"), None) is Verdict.REJECTED
    assert p.receive_order(bare("n2"), None) is Verdict.ACCEPTED


def with_action(action: Action, at: int = 1) -> Order:
    sent = order("r1", inspect_at=())
    node = replace(sent.nodes[at], actions=(action,))
    return replace(sent, nodes=(*sent.nodes[:at], node, *sent.nodes[at + 1:]))


@pytest.mark.parametrize("action, error", [
    (Action("a", "liftForks", BlockingType.HARD), "orderError"),
    (Action("a", "inspect", BlockingType.HARD, {"inspectionPointId": "p", "sensors": ["ch4"]}),
     "validationError"),
    (Action("a", "inspect", BlockingType.HARD,
            {"inspectionPointId": "p", "sensors": "ch4", "durationSeconds": 1}),
     "validationError"),
    (Action("a", "inspect", BlockingType.HARD,
            {"inspectionPointId": "p", "sensors": ["h2s"], "durationSeconds": 1}),
     "orderError"),
])
def test_orders_with_actions_the_robot_cannot_run_are_rejected(action: Action,
                                                               error: str) -> None:
    p = progress()
    assert p.receive_order(with_action(action), HOME) is Verdict.REJECTED
    assert errors(p) == [error] and p.errors[0].references["actionId"] == "a"
    assert p.node_states == () and p.order_id == ""


def test_duplicate_action_ids_are_rejected() -> None:
    sent = order("r1", inspect_at=(1, 2))
    renamed = replace(sent.nodes[2], actions=(replace(sent.nodes[2].actions[0],
                                                      action_id="inspect-1"),))
    sent = replace(sent, nodes=(*sent.nodes[:2], renamed, *sent.nodes[3:]))
    p = progress()
    assert p.receive_order(sent, HOME) is Verdict.REJECTED
    assert errors(p) == ["validationError"]


def test_an_unsupported_soft_action_is_accepted_and_fails_when_reached() -> None:
    p = progress()
    p.receive_order(with_action(Action("beep", "playSound", BlockingType.NONE)), HOME)
    drive = p.next_step()
    assert isinstance(drive, Drive)
    p.begin_drive(drive.node)
    p.arrive(drive.node)
    step = p.next_step()
    assert isinstance(step, Drive)
    p.begin_drive(step.node)
    p.arrive(step.node)
    perform = p.next_step()
    assert isinstance(perform, Perform) and perform.action.action_id == "beep"
    p.end_action("beep", False, "not supported")
    assert p.action_status("beep") is ActionStatus.FAILED


def test_cancel_while_driving_finishes_at_the_next_node() -> None:
    p = progress()
    p.receive_order(order("r1", base_end=4, inspect_at=(1, 3)), HOME)
    first = p.next_step()
    assert isinstance(first, Drive)
    p.begin_drive(first.node)
    p.arrive(first.node)
    step = p.next_step()
    assert isinstance(step, Drive)
    p.begin_drive(step.node)  # driving to n1
    cancel = Action("c", "cancelOrder")
    p.cancel(cancel)
    assert p.action_status("c") is ActionStatus.RUNNING
    assert [n.node_id for n in p.node_states] == ["n1"] and [
        e.edge_id for e in p.edge_states] == ["e0"]
    assert p.action_status("inspect-1") is ActionStatus.FAILED
    p.arrive(step.node)
    assert p.action_status("c") is ActionStatus.FINISHED
    assert p.node_states == () and p.last_node_id == "n1" and p.next_step() is None
    assert not p.busy and p.order_id == "o1"


def test_cancel_waits_for_a_running_action() -> None:
    p = progress()
    p.receive_order(order("r1", base_end=4, inspect_at=(0,)), HOME)
    step = p.next_step()
    assert isinstance(step, Drive)
    p.begin_drive(step.node)
    p.arrive(step.node)
    p.begin_action("inspect-0")
    p.action_running("inspect-0")
    p.cancel(Action("c", "cancelOrder"))
    assert p.action_status("c") is ActionStatus.RUNNING and p.node_states == ()
    p.end_action("inspect-0", True)
    assert p.action_status("inspect-0") is ActionStatus.FINISHED
    assert p.action_status("c") is ActionStatus.FINISHED


def test_cancel_without_an_order_fails_with_a_warning() -> None:
    p = progress()
    p.cancel(Action("c", "cancelOrder"))
    assert p.action_status("c") is ActionStatus.FAILED
    assert errors(p) == ["noOrderToCancel"] and p.errors[0].references == {"actionId": "c"}


def test_a_failed_move_blocks_until_an_update_and_cancel_clears_at_once() -> None:
    p = progress()
    p.receive_order(order("r1", base_end=4, inspect_at=()), HOME)
    step = p.next_step()
    assert isinstance(step, Drive)
    p.begin_drive(step.node)
    p.move_failed(step.node, "blocked")
    assert errors(p) == ["moveError"] and p.next_step() is None
    p.cancel(Action("c", "cancelOrder"))
    assert p.action_status("c") is ActionStatus.FINISHED and p.node_states == ()


def test_pause_holds_every_step() -> None:
    p = progress()
    p.receive_order(order("r1", inspect_at=()), HOME)
    assert p.next_step(paused=True) is None
    assert isinstance(p.next_step(), Drive)


def test_instant_action_states_are_kept_bounded() -> None:
    p = progress()
    for i in range(100):
        p.record_instant(Action(f"s{i}", "stateRequest"), ActionStatus.FINISHED)
    assert 0 < len(p.action_states) <= 32
    assert p.knows("s99") and not p.knows("s0")


def test_errors_are_kept_bounded() -> None:
    p = progress()
    for i in range(50):
        p.receive_order(replace(order("r1", f"o{i}"), header=Header("acme", "other")), HOME)
    assert len(p.errors) == 20 and p.errors[-1].references["orderId"] == "o49"


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_random_runs_keep_the_vda5050_invariants(data: st.DataObject) -> None:
    """Orders extended by random updates, driven with random halts and failing actions:
    the lists only hold what is ahead, the base is a prefix, no action runs twice, and once
    everything is released every node is reached and every action done."""
    count = data.draw(st.integers(2, 7), label="nodes")
    inspect_at = tuple(sorted(data.draw(st.sets(st.integers(0, count - 1)), label="inspect")))
    base_end = data.draw(st.integers(0, count - 1), label="base end")
    p = progress()
    sent = order("r1", base_end=base_end, count=count, inspect_at=inspect_at)
    assert p.receive_order(sent, HOME) is Verdict.ACCEPTED
    performed: list[str] = []
    update = 0

    def check() -> None:
        ahead = [n.sequence_id for n in p.node_states]
        if p.last_node_id:
            assert all(seq > p.last_node_sequence_id for seq in ahead)
        released = [n.released for n in p.node_states]
        assert released == sorted(released, reverse=True), "the base is a prefix"
        assert all(e.sequence_id + 1 in ahead for e in p.edge_states), "edges lead ahead"
        assert len(performed) == len(set(performed)), "no action runs twice"

    moving: list[Node] = []  # a drive under way while an update may arrive

    def act(allow_halt: bool) -> bool:
        if moving:
            node = moving.pop()
            if allow_halt and data.draw(st.booleans(), label="halt"):
                p.halt()
            else:
                p.arrive(node)
            return True
        step = p.next_step()
        if step is None:
            return False
        if isinstance(step, Drive):
            p.begin_drive(step.node)
            moving.append(step.node)
        else:
            performed.append(step.action.action_id)
            p.begin_action(step.action.action_id)
            p.end_action(step.action.action_id, data.draw(st.booleans(), label="ok"))
        return True

    for _ in range(data.draw(st.integers(0, 40), label="moves")):
        if base_end < count - 1 and data.draw(st.booleans(), label="update now"):
            new_end = data.draw(st.integers(base_end + 1, count - 1), label="new base end")
            update += 1
            extension = order("r1", base_end=new_end, start=base_end, update=update,
                              count=count, inspect_at=inspect_at)
            assert p.receive_order(extension, HOME) is Verdict.UPDATED
            base_end = new_end
        else:
            act(allow_halt=True)
        check()
    if base_end < count - 1:
        update += 1
        p.receive_order(order("r1", base_end=count - 1, start=base_end, update=update,
                              count=count, inspect_at=inspect_at), HOME)
    while act(allow_halt=False):
        check()
    assert p.last_node_id == f"n{count - 1}" and p.node_states == () and not p.busy
    assert sorted(performed) == sorted(f"inspect-{i}" for i in inspect_at)
    assert p.errors == []
