"""Charging stops of a plan become ``startCharging`` actions, and the base stays at the
charger until the robot reports the planned charge; ``stopCharging`` then goes out and,
once the robot reports it done, the base is extended as usual."""

from __future__ import annotations

from pathlib import Path

from fleet.agent import AgentConfig, Capabilities
from fleet.manager.dispatch import (
    CHARGE_IDLE_S,
    FULL_PCT,
    STOP_RESEND_S,
    Assignment,
    ChargePhase,
    assignment_for,
    rebuild_assignment,
    supports_charging,
)
from fleet.manager.missions import MissionRun
from fleet.manager.stateview import StateView
from fleet.planning.mission import MissionSpec
from fleet.planning.planner import plan_mission
from fleet.protocol.codec import decode_json, encode
from fleet.protocol.header import Header
from fleet.protocol.order import BlockingType
from fleet.protocol.state import ActionState, ActionStatus, BatteryState, State

from ..planning.factories import fleet, mission, robot_class, site, square, task

HEADER = Header("test", "r1", 0, "2026-01-01T00:00:00.000Z")
BATTERY_WH = 700.0


def _mission(zones: list[dict[str, object]] | None = None) -> MissionSpec:
    # D - A - C - B - P, 250 m apart: 1000 m out and back on a 700 Wh battery at 0.5 Wh/m
    # needs the charger C on the way out and on the way back
    fac = site(
        [("D", 0, 0, "dock"), ("A", 250, 0, "waypoint"), ("C", 500, 0, "charger"),
         ("B", 750, 0, "waypoint"), ("P", 1000, 0, "inspection")],
        [("D", "A"), ("A", "C"), ("C", "B"), ("B", "P")], zones or [])
    return mission(fac, task("P"), reserve_pct=20)


def _assignment(release_ahead: int = 6, battery_wh: float | None = BATTERY_WH,
                zones: list[dict[str, object]] | None = None) -> Assignment:
    m = _mission(zones)
    small = robot_class("small", battery_wh=BATTERY_WH, wh_per_metre=0.5, charge_w=1000)
    plan = plan_mission(m, fleet(("r1", small, "D")), time_limit=1.0)
    return assignment_for("m" * 32, plan.robots[0], m, release_ahead=release_ahead,
                          battery_wh=battery_wh)


def _state(a: Assignment, reached: int, battery: float, charging: bool = False,
           **actions: ActionStatus) -> StateView:
    state = State(HEADER, BatteryState(battery, charging), order_id=a.order_id,
                  last_node_id=a.stops[reached].node_id, last_node_sequence_id=2 * reached,
                  action_states=tuple(ActionState(x, s) for x, s in actions.items()))
    # the manager reads states off the wire: go through the schema-checked JSON
    return StateView.from_json(decode_json("state", encode(state)))


def _at_charger(a: Assignment, battery: float, charging: bool = True,
                start: ActionStatus = ActionStatus.FINISHED,
                stop: ActionStatus | None = None) -> StateView:
    c = a.charges[0]
    actions = {c.start_id: start} | ({} if stop is None else {c.stop_id: stop})
    a.on_state(state := _state(a, c.index, battery, charging, **actions))
    return state


def test_charging_stops_get_a_hard_start_charging_action_and_a_target() -> None:
    a = _assignment()
    nodes = [(s.node_id, [x.action_type for x in s.actions]) for s in a.stops]
    assert nodes == [("D", []), ("A", []), ("C", ["startCharging"]), ("B", []),
                     ("P", ["inspect"]), ("B", []), ("C", ["startCharging"]), ("A", []),
                     ("D", [])]
    out, back = a.charges
    assert (out.index, back.index) == (2, 6)
    actions = [x for s in a.stops for x in s.actions]
    assert len({x.action_id for x in actions}) == len(actions)  # unique ids
    assert all(x.blocking_type is BlockingType.HARD for x in actions)
    assert {out.start_id, back.start_id} == {x.action_id for x in actions
                                             if x.action_type == "startCharging"}
    # the plan's departure charge in percent: full out, just enough for the way home back
    assert out.target_pct == 100.0
    assert 20.0 < back.target_pct < 100.0
    assert out.stop_id != back.stop_id and out.phase is ChargePhase.AHEAD
    encode(a.first_order(HEADER))  # valid against the official order schema


def test_without_charging_support_charging_stops_stay_plain_nodes() -> None:
    a = _assignment(battery_wh=None)
    assert a.charges == []
    assert [x.action_type for s in a.stops for x in s.actions] == ["inspect"]
    first = a.first_order(HEADER)
    assert sum(n.released for n in first.nodes) == 7  # release_ahead + 1, no hold


def test_a_charger_in_a_comms_dead_zone_is_not_held() -> None:
    a = _assignment(zones=[{"id": "dead", "kind": "comms_dead", "level": "0",
                            "polygon": square(450, -5, 550, 5)}])
    assert a.charges == []


def test_the_base_ends_at_the_charger_until_charged() -> None:
    a = _assignment(release_ahead=6)
    c = a.charges[0]
    first = a.first_order(HEADER)
    assert a.base_end == c.index == 2
    assert [n.node_id for n in first.nodes if n.released] == ["D", "A", "C"]
    # arrived; startCharging not yet run: nothing to do, even with a full-looking battery
    state = _at_charger(a, 100.0, charging=False, start=ActionStatus.WAITING)
    news = a.on_charging(state, now=0.0)
    assert c.phase is ChargePhase.CHARGING and news.changed and news.instants == []
    assert [kind for kind, _ in news.events] == ["charging"]
    assert a.next_update(HEADER) is None
    # charging, below the target: still held
    state = _at_charger(a, 70.0)
    news = a.on_charging(state, now=1.0)
    assert not news and a.next_update(HEADER) is None and c.seen_charging
    # target reached: stopCharging goes out, the base stays until the robot confirms
    state = _at_charger(a, 100.0)
    news = a.on_charging(state, now=2.0)
    assert c.phase is ChargePhase.STOPPING
    assert [kind for kind, _ in news.events] == ["charged"]
    (stop,) = news.instants
    assert (stop.action_id, stop.action_type, stop.blocking_type) == (
        c.stop_id, "stopCharging", BlockingType.HARD)
    assert a.next_update(HEADER) is None
    # stopCharging FINISHED: the base goes on past the charger, up to the next charger
    state = _at_charger(a, 100.0, charging=False, stop=ActionStatus.FINISHED)
    news = a.on_charging(state, now=3.0)
    assert c.phase is ChargePhase.DONE and news.changed and not news.instants
    update = a.next_update(HEADER)
    assert update is not None
    encode(update)
    assert update.nodes[0].node_id == "C" and update.nodes[0].sequence_id == 4
    assert a.base_end == a.charges[1].index == 6


def test_full_counts_as_charged_whatever_the_rounding() -> None:
    a = _assignment()
    a.first_order(HEADER)
    news = a.on_charging(_at_charger(a, FULL_PCT), now=0.0)
    assert a.charges[0].phase is ChargePhase.STOPPING and len(news.instants) == 1


def test_stop_charging_is_resent_until_the_robot_shows_it() -> None:
    a = _assignment()
    a.first_order(HEADER)
    assert len(a.on_charging(_at_charger(a, 100.0), now=10.0).instants) == 1
    assert not a.on_charging(_at_charger(a, 100.0), now=10.0 + STOP_RESEND_S / 2)
    again = a.on_charging(_at_charger(a, 100.0), now=10.0 + STOP_RESEND_S)
    assert [x.action_id for x in again.instants] == [a.charges[0].stop_id]  # same id
    running = _at_charger(a, 100.0, stop=ActionStatus.RUNNING)
    assert not a.on_charging(running, now=100.0)  # under way: not sent again


def test_a_failed_start_charging_lets_the_robot_go_on() -> None:
    a = _assignment()
    a.first_order(HEADER)
    news = a.on_charging(_at_charger(a, 60.0, charging=False, start=ActionStatus.FAILED),
                         now=0.0)
    assert a.charges[0].phase is ChargePhase.DONE
    assert [kind for kind, _ in news.events] == ["charging", "charging_failed"]
    assert a.next_update(HEADER) is not None


def test_a_robot_that_stops_charging_by_itself_is_not_held_for_ever() -> None:
    a = _assignment()
    a.first_order(HEADER)
    a.on_charging(_at_charger(a, 60.0), now=0.0)
    news = a.on_charging(_at_charger(a, 95.0, charging=False), now=1.0)
    assert a.charges[0].phase is ChargePhase.STOPPING
    assert [kind for kind, _ in news.events] == ["charging_ended"]


def test_a_robot_that_never_charges_is_let_go_after_a_while() -> None:
    a = _assignment()
    a.first_order(HEADER)
    assert a.on_charging(_at_charger(a, 60.0, charging=False), now=0.0).changed
    assert not a.on_charging(_at_charger(a, 60.0, charging=False), now=CHARGE_IDLE_S / 2)
    news = a.on_charging(_at_charger(a, 60.0, charging=False), now=CHARGE_IDLE_S)
    assert a.charges[0].phase is ChargePhase.STOPPING and len(news.instants) == 1


def test_charging_stops_survive_a_manager_restart(tmp_path: Path) -> None:
    a = _assignment()
    a.first_order(HEADER)
    a.on_charging(_at_charger(a, 100.0), now=0.0)  # STOPPING, stopCharging sent
    run = MissionRun(a.mission_id, "scenario", _mission())
    run.assignments[a.serial] = a
    data = run.snapshot()["assignments"][0]
    b = rebuild_assignment(a.mission_id, data, run.spec.facility)
    assert [(c.index, c.target_pct, c.start_id, c.stop_id, c.phase) for c in b.charges] == [
        (c.index, c.target_pct, c.start_id, c.stop_id, c.phase) for c in a.charges]
    assert b.hold == a.charges[0].index
    # the new manager sends stopCharging again (same id) until the robot reports it
    state = _state(b, b.charges[0].index, 100.0, True, **{b.charges[0].start_id:
                                                          ActionStatus.FINISHED})
    b.on_state(state)
    assert [x.action_id for x in b.on_charging(state, now=0.0).instants] == [
        b.charges[0].stop_id]
    # a snapshot from before charging stops existed still loads
    del data["charges"]
    assert rebuild_assignment(a.mission_id, data, run.spec.facility).charges == []


def test_a_robot_already_past_the_charger_is_not_held() -> None:
    a = _assignment()
    a.first_order(HEADER)
    state = _state(a, a.charges[0].index + 1, 90.0)
    a.on_state(state)
    assert a.on_charging(state, now=0.0).changed
    assert a.charges[0].phase is ChargePhase.DONE


def test_only_factsheets_offering_charging_get_charging_stops() -> None:
    config = AgentConfig("acme", "r1", Capabilities(("ch4",)))
    assert supports_charging(config.factsheet(HEADER, charging=True))
    assert not supports_charging(config.factsheet(HEADER, charging=False))
    assert not supports_charging(None)

