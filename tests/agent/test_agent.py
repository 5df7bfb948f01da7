"""RobotAgent on the in-memory network, seen from the manager's side of the wire."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from fleet.agent import ActionFailed, Capabilities
from fleet.protocol.header import Header
from fleet.protocol.inspection import InspectionAck, Rejection
from fleet.protocol.keys import Topic, topic_key
from fleet.protocol.order import Action, ActionType, BlockingType, InstantActions
from fleet.protocol.state import ActionStatus, ConnectionState, ErrorLevel
from tests.agent.conftest import FakeBody, Launch, ManualTime, order


def instant(serial: str, *actions: tuple[str, str]) -> InstantActions:
    return InstantActions(Header("acme", serial),
                          tuple(Action(action_id, kind) for action_id, kind in actions))


def test_announces_itself_and_says_offline_on_stop(launch: Launch) -> None:
    agent, _, rec = launch("a1", state_interval=0.25)
    assert rec.connections() == [ConnectionState.ONLINE]
    assert rec.wait_for(lambda: rec.presence == [True])
    sheet = rec.of(Topic.FACTSHEET)[0]
    assert sheet.inspection is not None and sheet.inspection.sensors == ("ch4", "o2", "co")
    assert all(sheet.supports(a) for a in ("inspect", "cancelOrder", "factsheetRequest",
                                           "stateRequest", "startPause", "stopPause"))
    assert not sheet.supports("startCharging")
    assert sheet.timing.default_state_interval == 0.25
    state = rec.state()
    assert (state.order_id, state.last_node_id, state.node_states) == ("", "", ())
    assert state.agv_position is not None and state.agv_position.map_id == "L1"
    assert state.battery.charge == 87.5 and state.paused is False

    agent.stop(grace=0)
    rec.drain()
    assert rec.connections()[-1:] == [ConnectionState.OFFLINE]
    assert rec.presence == [True, False]
    assert rec.timeline[-2:] == ["OFFLINE", "no token"], "a clean stop: OFFLINE comes first"
    assert rec.raw[-1] == ("connection", rec.raw[-1][1]), "nothing after OFFLINE"
    raw_headers = [obj["headerId"] for topic, obj in rec.raw if topic == Topic.STATE]
    assert raw_headers == list(range(len(raw_headers)))
    rec.check_valid()


def test_state_goes_out_every_state_interval_and_not_before(launch: Launch,
                                                            manual: ManualTime) -> None:
    _, _, rec = launch("a2", manual_clock=True, state_interval=1.0)
    before = len(rec.states())
    manual.advance(0.875, step=0.125)
    assert len(rec.states()) == before, "no periodic state before the interval"
    manual.advance(0.125)
    manual.advance(3.0, step=0.5)
    assert rec.times(Topic.STATE)[before:] == [1.0, 2.0, 3.0, 4.0]
    rec.check_valid()


def test_drives_the_base_only_then_the_update_to_the_end(launch: Launch) -> None:
    _, body, rec = launch("a3")
    rec.send(order("a3", base_end=2, inspect_at=()))
    state = rec.wait_state(lambda s: s.last_node_id == "n2" and not s.driving)
    assert body.arrivals == ["n0", "n1", "n2"]
    assert [(n.node_id, n.sequence_id, n.released) for n in state.node_states] == [
        ("n3", 6, False), ("n4", 8, False)]
    assert [(e.edge_id, e.released) for e in state.edge_states] == [("e2", False),
                                                                     ("e3", False)]
    assert state.new_base_request is True and state.last_node_sequence_id == 4

    rec.send(order("a3", base_end=4, start=2, update=1, inspect_at=()))
    state = rec.wait_state(lambda s: s.last_node_id == "n4")
    first_of_update = next(s for s in rec.states() if s.order_update_id == 1)
    assert first_of_update.last_node_id == "n2", "never past the end of the base"
    assert body.moves == ["n0", "n1", "n2", "n3", "n4"]
    assert state.node_states == () and state.edge_states == ()
    assert state.order_update_id == 1 and state.new_base_request is False
    # node progress, as VDA 5050 prescribes: each state lists only what is still ahead
    for s in rec.states():
        ahead = [n.sequence_id for n in s.node_states]
        assert all(seq > s.last_node_sequence_id for seq in ahead) or not s.last_node_id
    rec.check_valid()


def test_an_inspection_runs_then_publishes_its_result(launch: Launch) -> None:
    _, body, rec = launch("a4")
    rec.send(order("a4", base_end=2, inspect_at=(1,), duration=30.0))
    rec.wait_state(lambda s: s.action_state("inspect-1") is not None
                   and s.action_state("inspect-1").status is ActionStatus.RUNNING)
    assert body.wait_for(lambda: body.inspections == ["ip1"])
    assert rec.results() == [] and not rec.state().driving
    body.clock.advance(30.0)  # the sampling time passes
    rec.wait_state(lambda s: s.action_state("inspect-1").status is ActionStatus.FINISHED)
    statuses = rec.statuses("inspect-1")
    assert statuses[0] is ActionStatus.WAITING and statuses[-1] is ActionStatus.FINISHED
    assert ActionStatus.RUNNING in statuses
    result = rec.results()[0]
    assert (result.order_id, result.action_id, result.node_id, result.inspection_point_id) == (
        "o1", "inspect-1", "n1", "ip1")
    assert [r.sensor for r in result.readings] == ["ch4", "o2"]
    assert result.findings is not None and result.findings[0].type == "gasLeak"
    assert result.agv_position.x == 1.0
    rec.check_valid()


def test_results_are_resent_with_back_off_until_acknowledged_and_never_after(
        launch: Launch, manual: ManualTime) -> None:
    agent, _, rec = launch("a4m", manual_clock=True, resend_after=1.0, resend_max=2.0)
    rec.send(order("a4m", base_end=2, inspect_at=(1,)))
    assert rec.wait_for(lambda: len(rec.results()) == 1)
    manual.advance(6.0, step=1.0)
    assert rec.times(Topic.INSPECTION) == [0.0, 1.0, 3.0, 5.0], "after 1 s, then 2 s (the maximum)"
    assert len({r.result_id for r in rec.results()}) == 1

    rec.send(InspectionAck(Header("acme", "a4m"), (rec.results()[0].result_id,)))
    rec.drain()
    assert len(agent.outbox) == 0
    manual.advance(10.0, step=1.0)
    assert len(rec.results()) == 4, "never resent once acknowledged"
    rec.check_valid()


def test_a_rejected_result_is_dropped_logged_once_and_never_resent(
        launch: Launch, manual: ManualTime, caplog: pytest.LogCaptureFixture) -> None:
    agent, _, rec = launch("rj", manual_clock=True, resend_after=1.0, resend_max=2.0)
    rec.send(order("rj", base_end=4, inspect_at=(1, 3)))
    assert rec.wait_for(lambda: len(rec.results()) == 2)
    refused, kept = rec.results()
    manual.advance(1.0)
    assert len(rec.results()) == 4, "both are resent while neither is answered"

    reason = "inspection message invalid at $.readings[0].value: expected number"
    caplog.set_level(logging.WARNING, logger="fleet.agent")
    rejection = InspectionAck.of(Header("acme", "rj"), [],
                                 [Rejection(refused.result_id, reason)])
    rec.send(rejection)
    rec.drain()
    assert agent.outbox.result_ids == (kept.result_id,), "dropped from the outbox"
    assert agent.rejected == (Rejection(refused.result_id, reason),)
    assert agent.rejected_count == 1
    warnings = [r.getMessage() for r in caplog.records if refused.result_id in r.getMessage()]
    assert len(warnings) == 1 and reason in warnings[0] and "inspect-1" in warnings[0]

    manual.advance(8.0, step=1.0)  # past several resend intervals (at most 2 s)
    copies = [r.result_id for r in rec.results()]
    assert copies.count(refused.result_id) == 2, "never resent after the rejection"
    assert copies.count(kept.result_id) >= 5, "the other result is still resent"

    rec.send(rejection)  # a repeat (the copy in flight was refused too) is not news
    rec.send(InspectionAck(Header("acme", "rj"), (kept.result_id,)))
    rec.drain()
    assert agent.rejected_count == 1 and len(agent.outbox) == 0
    assert len([r for r in caplog.records if refused.result_id in r.getMessage()
                and r.levelno >= logging.WARNING]) == 1
    rec.check_valid()


def test_a_failed_inspection_is_reported_and_the_robot_drives_on(launch: Launch) -> None:
    body = FakeBody(broken={"ip1"})
    _, _, rec = launch("a5", body=body)
    rec.send(order("a5", base_end=2, inspect_at=(1,)))
    state = rec.wait_state(lambda s: s.last_node_id == "n2")
    failed = state.action_state("inspect-1")
    assert failed is not None and failed.status is ActionStatus.FAILED
    assert failed.result_description == "sensor h2s unavailable"
    assert rec.results() == []


def test_a_result_kept_on_disk_survives_a_restart(launch: Launch, tmp_path: Path) -> None:
    store = tmp_path / "results.jsonl"
    agent, _, rec = launch("a6", result_store=store, resend_after=5.0, resend_max=10.0)
    rec.send(order("a6", base_end=2, inspect_at=(1,)))
    assert rec.wait_for(lambda: len(rec.results()) == 1)
    first = rec.results()[0]
    agent.stop(grace=0)
    assert len(store.read_text().splitlines()) == 1

    agent2, _, rec2 = launch("a6", result_store=store)
    assert rec2.wait_for(lambda: len(rec2.results()) >= 1)
    assert rec2.results()[0].result_id == first.result_id
    assert rec2.results()[0].readings == first.readings
    rec2.send(InspectionAck(Header("acme", "a6"), (first.result_id,)))
    rec2.drain()
    assert store.read_text() == "" and len(agent2.outbox) == 0
    rec.check_valid()
    rec2.check_valid()


def test_a_rejected_result_leaves_the_result_file(launch: Launch, tmp_path: Path) -> None:
    store = tmp_path / "results.jsonl"
    agent, _, rec = launch("a6r", result_store=store)
    rec.send(order("a6r", base_end=2, inspect_at=(1,)))
    assert rec.wait_for(lambda: len(rec.results()) >= 1)
    rid = rec.results()[0].result_id
    rec.send(InspectionAck.of(Header("acme", "a6r"), [], [Rejection(rid, "not wanted")]))
    rec.drain()
    assert store.read_text() == "" and agent.rejected[-1].result_id == rid


def test_start_pause_stops_driving_and_stop_pause_resumes(launch: Launch) -> None:
    body = FakeBody(move_s=10.0)
    _, _, rec = launch("a7", body=body)
    rec.send(order("a7", base_end=2, inspect_at=()))
    assert body.wait_for(lambda: body.moves == ["n0", "n1"])  # on the edge to n1
    rec.wait_state(lambda s: s.last_node_id == "n0" and s.driving)
    rec.send(instant("a7", ("p1", ActionType.START_PAUSE)))
    state = rec.wait_state(lambda s: s.paused is True and not s.driving)
    assert state.action_state("p1").status is ActionStatus.FINISHED
    assert body.arrivals == ["n0"], "stopped on the edge, short of n1"
    rec.send(instant("a7", ("p2", ActionType.STOP_PAUSE)))
    assert body.wait_for(lambda: len(body.moves) == 3)
    assert body.moves == ["n0", "n1", "n1"], "nothing moved while paused; the move resumes"
    body.move_s = 0.0
    body.clock.advance(10.0)
    state = rec.wait_state(lambda s: s.last_node_id == "n2")
    assert state.paused is False and state.action_state("p2").status is ActionStatus.FINISHED
    assert body.arrivals == ["n0", "n1", "n2"]
    assert body.moves == ["n0", "n1", "n1", "n2"]
    rec.check_valid()


def test_cancel_order_stops_at_the_next_node_and_clears(launch: Launch) -> None:
    body = FakeBody(move_s=10.0)
    _, _, rec = launch("a8", body=body)
    rec.send(order("a8", base_end=4, inspect_at=(3,)))
    assert body.wait_for(lambda: body.moves == ["n0", "n1"])
    rec.send(instant("a8", ("c1", ActionType.CANCEL_ORDER)))
    rec.wait_state(lambda s: s.action_state("c1") is not None
                   and s.action_state("c1").status is ActionStatus.RUNNING)
    body.clock.advance(10.0)  # it reaches n1, and goes no further
    state = rec.wait_state(lambda s: s.action_state("c1").status is ActionStatus.FINISHED)
    assert state.last_node_id == "n1" and body.arrivals == ["n0", "n1"]
    assert body.moves == ["n0", "n1"]
    assert state.node_states == () and state.edge_states == ()
    assert state.action_state("inspect-3").status is ActionStatus.FAILED
    assert state.order_id == "o1", "VDA 5050 keeps the orderId after a cancel"
    # a new order from where it stands is accepted
    body.move_s = 0.0
    rec.send(order("a8", "o2", count=3, base_end=2, start=1, inspect_at=()))
    state = rec.wait_state(lambda s: s.order_id == "o2" and s.last_node_id == "n2")
    assert state.errors == () and body.moves == ["n0", "n1", "n1", "n2"]
    # and cancelling when nothing runs fails with a warning
    rec.send(instant("a8", ("c2", ActionType.CANCEL_ORDER)))
    state = rec.wait_state(lambda s: s.action_state("c2") is not None)
    assert state.action_state("c2").status is ActionStatus.FAILED
    assert [(e.error_type, e.level, e.references["actionId"]) for e in state.errors] == [
        ("noOrderToCancel", ErrorLevel.WARNING, "c2")]
    rec.check_valid()


def test_state_and_factsheet_requests(launch: Launch) -> None:
    _, _, rec = launch("a9", state_interval=30.0)
    before = len(rec.states())
    rec.send(instant("a9", ("s1", ActionType.STATE_REQUEST),
                     ("f1", ActionType.FACTSHEET_REQUEST), ("x1", "liftForks")))
    state = rec.wait_state(lambda s: s.action_state("x1") is not None)
    assert len(rec.states()) > before + 1, "the requested state, then the change"
    assert state.action_state("s1").status is ActionStatus.FINISHED
    assert state.action_state("f1").status is ActionStatus.FINISHED
    assert state.action_state("x1").status is ActionStatus.FAILED
    assert len(rec.of(Topic.FACTSHEET)) == 2
    # the same instant action again is not run again
    rec.send(instant("a9", ("f1", ActionType.FACTSHEET_REQUEST)))
    rec.drain()
    assert len(rec.of(Topic.FACTSHEET)) == 2
    rec.check_valid()


def test_invalid_orders_are_rejected_with_errors_and_not_executed(launch: Launch) -> None:
    body = FakeBody()
    agent, _, rec = launch("b1", body=body, capabilities=Capabilities(("ch4", "o2")))

    def rejected(error_type: str) -> dict[str, str]:
        state = rec.wait_state(lambda s: any(e.error_type == error_type for e in s.errors))
        error = next(e for e in state.errors if e.error_type == error_type)
        assert error.level is ErrorLevel.WARNING and error.description
        return dict(error.references)

    wrong_serial = order("someone-else")
    rec.bus.publish(topic_key("uagv", "acme", "b1", Topic.ORDER), wrong_serial)
    assert rejected("validationError")["orderId"] == "o1"

    far = order("b1", start=3, base_end=4)  # starts at n3, 3 m away
    rec.send(far)
    assert rejected("noRouteError")["nodeId"] == "n3"

    odd = order("b1", "o-odd")
    node = odd.nodes[1]
    lift = Action("lift-1", "liftForks", BlockingType.HARD)
    odd = replace(odd, nodes=(odd.nodes[0], replace(node, actions=(lift,)), *odd.nodes[2:]))
    rec.send(odd)
    assert rejected("orderError")["actionId"] == "lift-1"

    rec.send(order("b1", "o-h2s", sensors=("h2s",)))  # a sensor this robot lacks
    assert rec.wait_for(lambda: sum(e.error_type == "orderError"
                                    for e in rec.state().errors) == 2)

    bad = order("b1", "o-bad")
    broken = Action("inspect-x", "inspect", BlockingType.HARD,
                    {"inspectionPointId": "ip", "sensors": ["ch4"], "durationSeconds": -1})
    bad = replace(bad, nodes=(bad.nodes[0], replace(bad.nodes[1], actions=(broken,)),
                              *bad.nodes[2:]))
    rec.send(bad)
    assert rec.wait_for(lambda: any(e.references.get("actionId") == "inspect-x"
                                    for e in rec.state().errors))

    rec.bus.publish_raw(topic_key("uagv", "acme", "b1", Topic.ORDER),
                        b'{"orderId": "o-junk", "orderUpdateId": 3}')
    assert rec.wait_for(lambda: any(e.references.get("orderId") == "o-junk"
                                    for e in rec.state().errors))
    assert body.moves == [] and agent.state().order_id == ""

    # a good order clears the errors; then the update rules
    rec.send(order("b1", "o-good", base_end=2, inspect_at=()))
    state = rec.wait_state(lambda s: s.order_id == "o-good" and s.last_node_id == "n2")
    assert state.errors == ()
    rec.send(order("b1", "o-other", base_end=0, inspect_at=()))  # still has a horizon
    assert rejected("orderError")["orderId"] == "o-other"
    rec.send(order("b1", "o-good", base_end=4, start=3, update=1, inspect_at=()))  # gap
    assert rejected("orderUpdateError")["orderUpdateId"] == "1"
    rec.send(order("b1", "o-good", base_end=3, start=2, update=2, inspect_at=()))
    rec.wait_state(lambda s: s.last_node_id == "n3" and s.order_update_id == 2)
    rec.send(order("b1", "o-good", base_end=4, start=3, update=1, inspect_at=()))  # lower
    rejected("orderUpdateError")
    rec.send(order("b1", "o-good", base_end=4, start=3, update=2, inspect_at=()))  # equal
    rec.drain()
    assert body.arrivals == ["n0", "n1", "n2", "n3"] and agent.state().order_update_id == 2
    assert body.moves == body.arrivals, "the equal update is ignored: no move past n3"
    rec.check_valid()


def test_a_blocked_path_is_reported_until_the_order_is_cancelled(launch: Launch) -> None:
    body = FakeBody(blocked={"n2"})
    _, _, rec = launch("b2", body=body)
    rec.send(order("b2", base_end=4, inspect_at=()))
    state = rec.wait_state(lambda s: any(e.error_type == "moveError" for e in s.errors))
    assert state.last_node_id == "n1" and state.node_states[0].node_id == "n2"
    assert "rock fall" in (state.errors[0].description or "")
    rec.send(instant("b2", ("c1", ActionType.CANCEL_ORDER)))
    state = rec.wait_state(lambda s: s.action_state("c1") is not None
                           and s.action_state("c1").status is ActionStatus.FINISHED)
    assert state.node_states == ()
    rec.check_valid()


class ChargingBody(FakeBody):
    """A FakeBody with a charger; ``start_charging`` fails away from node n1 (x = 1)."""

    charging = False

    def battery(self) -> tuple[float, bool]:
        return 50.0, self.charging

    def start_charging(self) -> None:
        if self.position().x != 1.0:
            raise ActionFailed("not docked at a charger")
        self.charging = True

    def stop_charging(self) -> None:
        self.charging = False


def test_a_charging_body_charges_at_a_node_and_on_request(launch: Launch) -> None:
    body = ChargingBody()
    _, _, rec = launch("c1", body=body)
    assert rec.of(Topic.FACTSHEET)[0].supports("startCharging")
    sent = order("c1", base_end=2, inspect_at=())
    dock = replace(sent.nodes[1], actions=(Action("charge-1", "startCharging"),))
    far = replace(sent.nodes[2], actions=(Action("charge-2", "startCharging"),))
    rec.send(replace(sent, nodes=(sent.nodes[0], dock, far, *sent.nodes[3:])))
    state = rec.wait_state(lambda s: s.last_node_id == "n2" and s.action_state("charge-2")
                           is not None and s.action_state("charge-2").status.done)
    assert state.action_state("charge-1").status is ActionStatus.FINISHED
    failed = state.action_state("charge-2")
    assert failed.status is ActionStatus.FAILED
    assert failed.result_description == "not docked at a charger"
    assert state.battery.charging is True
    rec.send(instant("c1", ("stop-1", ActionType.STOP_CHARGING)))
    state = rec.wait_state(lambda s: s.action_state("stop-1") is not None
                           and s.action_state("stop-1").status is ActionStatus.FINISHED)
    assert state.battery.charging is False
    rec.check_valid()
