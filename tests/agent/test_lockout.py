"""The agent's methane lockout (docs/gas-safety.md, "Lockout"), seen from the wire."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from fleet.agent import Capabilities
from fleet.agent.lockout import DEFAULT_POWER_OFF_CH4, Interlock
from fleet.protocol.header import Header
from fleet.protocol.inspection import Finding, Reading
from fleet.protocol.order import Action, ActionType, InstantActions
from fleet.protocol.state import METHANE_LOCKOUT, ActionStatus, ErrorLevel
from tests.agent.conftest import FakeBody, Launch, order


@dataclass
class GassyBody(FakeBody):
    """Measures ``ch4`` %vol of methane; counts power-offs and power-ons."""

    ch4: float = 1.6
    powered: bool = True

    def inspect(self, point_id: str, sensors: Sequence[str], duration_s: float,
                cancel: threading.Event) -> tuple[list[Reading], list[Finding]]:
        self._record(self.inspections, point_id)
        return [Reading(s, self.ch4 if s == "ch4" else 20.9, "%vol") for s in sensors], []

    def power_off(self) -> None:
        self.powered = False

    def power_on(self) -> None:
        self.powered = True


def _reset(serial: str, action_id: str) -> InstantActions:
    return InstantActions(Header("acme", serial),
                          (Action(action_id, ActionType.RESET_LOCKOUT.value),))


def test_methane_at_power_off_locks_the_robot_out_until_reset(launch: Launch) -> None:
    body = GassyBody()
    agent, _, rec = launch("L1", body=body)
    rec.send(order("L1", base_end=4, inspect_at=(1, 3)))
    state = rec.wait_state(lambda s: any(e.error_type == METHANE_LOCKOUT for e in s.errors))
    error = next(e for e in state.errors if e.error_type == METHANE_LOCKOUT)
    assert error.level is ErrorLevel.FATAL
    assert dict(error.references) == {"nodeId": "n1", "sensor": "ch4", "value": "1.6",
                                      "unit": "%vol", "powerOffLevel": "1.5"}
    assert agent.locked_out and not body.powered
    assert body.arrivals == ["n0", "n1"], "it stopped where it measured"
    # the result is stored and sent after the drive is cut (the interlock does not wait)
    assert rec.wait_for(lambda: bool(rec.results()))
    assert rec.results()[0].inspection_point_id == "ip1"
    assert state.action_state("inspect-3").status is ActionStatus.FAILED
    assert state.node_states == () and not state.driving
    # orders are refused while locked out, and the lockout stays in the errors
    rec.send(order("L1", "o2", base_end=2, start=1, inspect_at=()))
    state = rec.wait_state(lambda s: any(e.error_type == "orderError" for e in s.errors))
    assert state.order_id == "o1" and any(e.error_type == METHANE_LOCKOUT for e in state.errors)
    # the reset (the person at the robot, sent by the manager) clears it
    rec.send(_reset("L1", "reset-1"))
    state = rec.wait_state(lambda s: s.action_state("reset-1") is not None)
    assert state.action_state("reset-1").status is ActionStatus.FINISHED
    assert [e.error_type for e in state.errors] == ["orderError"], "only the refusal is left"
    assert not agent.locked_out and body.powered
    body.ch4 = 0.2
    rec.send(order("L1", "o3", base_end=2, start=1, inspect_at=()))
    rec.wait_state(lambda s: s.order_id == "o3" and s.last_node_id == "n2")
    rec.check_valid()


def test_a_robot_rated_ma_stays_energised(launch: Launch) -> None:
    body = GassyBody(ch4=3.0)
    agent, _, rec = launch("L2", body=body,
                           capabilities=Capabilities(sensors=("ch4", "o2"), epl="Ma"))
    rec.send(order("L2", base_end=4, inspect_at=(1,)))
    state = rec.wait_state(lambda s: s.last_node_id == "n4")
    assert state.errors == () and not agent.locked_out and body.powered


def test_the_reset_may_be_kept_for_the_switch_on_the_robot(launch: Launch) -> None:
    agent, _, rec = launch("L3", body=GassyBody(), lockout_reset=False)
    rec.send(order("L3", base_end=2, inspect_at=(1,)))
    rec.wait_state(lambda s: any(e.error_type == METHANE_LOCKOUT for e in s.errors))
    rec.send(_reset("L3", "reset-1"))
    state = rec.wait_state(lambda s: s.action_state("reset-1") is not None)
    assert state.action_state("reset-1").status is ActionStatus.FAILED and agent.locked_out
    assert agent.reset_lockout()
    rec.wait_state(lambda s: not any(e.error_type == METHANE_LOCKOUT for e in s.errors))


def test_the_level_comes_from_the_action_else_the_default() -> None:
    lock = Interlock(stays_energised=False)
    assert lock.level({}) == DEFAULT_POWER_OFF_CH4 == 1.5
    assert lock.level({"powerOffLevel": 1.0}) == 1.0
    assert lock.level({"powerOffLevel": "high"}) == 1.5
    assert lock.check("tg", [Reading("ch4", 1.2, "%vol")], {"powerOffLevel": 1.0}) is not None
    assert lock.check("tg", [Reading("ch4", 1.2, "%vol")], {}) is None
    assert lock.check("tg", [Reading("ch4", 15000, "ppm")], {}) is not None
    assert lock.check("tg", [Reading("co", 99, "ppm")], {}) is None
    assert Interlock(stays_energised=True).check("tg", [Reading("ch4", 9, "%vol")], {}) is None
