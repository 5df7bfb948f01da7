"""Refusals (issue 19, part 3): a robot that rejects a mission's orders backs off and is set
aside, its points going to others or failing with its words; a pause or resume changes
the mission only once its robots confirm (in-memory network, manual clock)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from fleet.cli.mission import _print_status
from fleet.comms import MemoryNetwork
from fleet.facility.model import Facility
from fleet.manager import MissionStatus
from fleet.manager.instants import ANSWER_S
from fleet.manager.missions import MissionRun
from fleet.manager.refusals import BACKOFF_S, SET_ASIDE_AFTER, backoff, barred
from fleet.protocol.order import ActionType, Order
from fleet.protocol.state import ActionStatus, BatteryState, Error, ErrorLevel, State

from .harness import ScriptedRobot, Site

WHY = "no co sensor fitted"
LINE = f"r1 refused the order: orderError: {WHY}"


class RefusingRobot(ScriptedRobot):
    """A robot that rejects every new order at once, as VDA 5050 says: its state keeps its
    own (empty) orderId and lists an ``orderError`` referencing the order."""

    def __init__(self, net: MemoryNetwork, facility: Facility, serial: str) -> None:
        super().__init__(net, facility, serial)

    def _on_message(self, key: object, message: Any) -> None:
        super()._on_message(key, message)
        if isinstance(message, Order) and message.order_update_id == 0:
            error = Error("orderError", ErrorLevel.WARNING, WHY,
                          references={"orderId": message.order_id})
            self.send(State(self.stamper.blank(), BatteryState(90.0), last_node_id=self.node,
                            agv_position=self._position(self.node), errors=(error,)))


def refusing(site: Site, serial: str = "r1") -> RefusingRobot:
    robot = RefusingRobot(site.net, site.facility, serial)
    site.robots.append(robot)
    robot.online()
    site.net.drain()
    return robot


def run_for(site: Site, run: MissionRun, robot: ScriptedRobot, seconds: float,
            *others: ScriptedRobot) -> None:
    """Move the clock on 2 s at a time for ``seconds``, the robots standing idle and heard
    on each step, each refusal recorded before the next step (the planner may dispatch on
    any step)."""
    t = site.clock.monotonic()
    end = t + seconds
    while t < end:
        t += 2.0
        site.at(t)
        for r in (robot, *others):
            r.idle()
        site.net.drain()
        now = site.clock.now().timestamp()
        # the planner leaves no work waiting while the refusing robot may take it, and
        # each order it sent is refused and recorded before time moves on
        site.wait_until(lambda now=now: (
            run.status.terminal or not run.pool
            or robot.serial in barred(run.refusals, now))
            and len(site.events(run, "order_rejected")) == len(robot.orders()))


def test_a_robot_refusing_every_order_backs_off_then_is_set_aside_and_the_mission_fails(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    r1 = refusing(site)
    run = site.launch()
    run_for(site, run, r1, 300.0)  # five minutes
    site.wait_until(lambda: run.status.terminal)
    assert len(r1.orders()) == SET_ASIDE_AFTER <= 4
    rejected = site.events(run, "order_rejected")
    assert [e["times"] for e in rejected] == [1, 2, 3]
    assert all(e["reason"] == f"orderError: {WHY}" for e in rejected)
    assert [e["retry_in_s"] for e in rejected] == [BACKOFF_S, backoff(2), None]
    # each order went out only once the back-off of the refusal before it was over
    sent = [e.at for e in site.store.events(run.id) if e.kind == "dispatched"]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sent)]
    assert gaps[0] >= BACKOFF_S and gaps[1] >= backoff(2)
    [aside] = site.events(run, "robot_set_aside")
    assert aside["line"] == f"{LINE} (3 times; set aside for this mission)"
    # no other robot: its points fail with the refusal as the reason, never hang
    assert run.status is MissionStatus.FAILED
    assert set(run.dropped) == {"p1", "p2"}
    assert all(LINE in why for why in run.dropped.values())
    status = site.manager.queries.mission(run.id)
    assert status["reason"] == aside["line"]
    assert status["refusals"][0]["set_aside"] is True
    _print_status(status)
    out = capsys.readouterr().out
    assert f"  {LINE} (3 times; set aside for this mission)" in out
    assert "dropped p1: no other robot can do it: r1 refused the order" in out


def test_the_points_of_a_refusing_robot_are_done_by_another(site: Site) -> None:
    r1 = refusing(site)
    run = site.launch()
    site.wait_until(lambda: bool(site.events(run, "order_rejected")))
    assert run.reason == f"{LINE} (once; tried again later)"
    r2 = site.robot("r2")  # free at the dock: the planner looks again
    order = r2.wait_orders(1)[0]
    assert sorted(r2.inspect_ids()) == ["p1", "p2"]
    r2.report(len(order.nodes) - 1)
    for point in ("p1", "p2"):
        r2.send(r2.result(point))
    site.net.drain()
    site.wait_until(lambda: run.status.terminal)
    assert run.status is MissionStatus.COMPLETED
    assert run.done == {"p1": "r2", "p2": "r2"}
    run_for(site, run, r1, 300.0, r2)
    assert len(r1.orders()) == 1


def test_refusals_survive_a_restart(site: Site) -> None:
    refusing(site)
    run = site.launch()
    site.wait_until(lambda: bool(site.events(run, "order_rejected")))
    snap = run.snapshot()
    again = MissionRun.restore(run.id, run.name, run.status, run.document, snap)
    assert again.refusals["r1"].count == 1
    assert again.refusals["r1"].reason == f"orderError: {WHY}"
    assert again.refusals["r1"].retry_at == run.refusals["r1"].retry_at


# -- pause and resume -------------------------------------------------------------------

def _working(site: Site) -> tuple[ScriptedRobot, MissionRun]:
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    r1.report(1)
    site.net.drain()
    assert run.status is MissionStatus.RUNNING
    return r1, run


def test_a_pause_is_paused_only_once_the_robot_confirms_and_so_is_a_resume(
        site: Site) -> None:
    r1, run = _working(site)
    site.manager.control(run.id, "pause")
    assert run.status is MissionStatus.RUNNING and run.reason == \
        "pause requested: waiting for r1"
    assert run.to_json()["control"]["outcome"] == "pending"
    r1.answer_instants(ActionType.START_PAUSE.value, ActionStatus.FINISHED)
    site.net.drain()
    assert run.status is MissionStatus.PAUSED
    assert run.to_json()["control"]["lines"] == ["r1 confirmed the pause"]
    site.manager.control(run.id, "resume")
    assert run.status is MissionStatus.PAUSED
    r1.answer_instants(ActionType.STOP_PAUSE.value, ActionStatus.FINISHED)
    site.net.drain()
    assert run.status is MissionStatus.RUNNING
    assert [e["robots"] for e in (site.events(run, "paused") + site.events(run, "resumed"))] \
        == [["r1"], ["r1"]]


def test_a_pause_refused_by_the_robot_is_shown_as_refused_not_paused(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    r1, run = _working(site)
    site.manager.control(run.id, "pause")
    r1.answer_instants(ActionType.START_PAUSE.value, ActionStatus.FAILED,
                       "manual mode: the operator holds the robot")
    site.net.drain()
    line = "r1 refused the pause: manual mode: the operator holds the robot"
    assert run.status is MissionStatus.RUNNING
    assert run.reason == f"pause refused: {line}"
    assert site.events(run, "pause_refused")[0]["line"] == line
    _print_status(site.manager.queries.mission(run.id))
    out = capsys.readouterr().out
    assert "running — pause refused: r1 refused the pause" in out
    assert "paused" not in out.replace("pause refused", "").replace("refused the pause", "")


def test_a_pause_rejected_with_an_error_naming_the_action_is_refused(site: Site) -> None:
    """VDA 5050 2.x robots report an instant action they reject as an error referencing
    its actionId."""
    r1, run = _working(site)
    site.manager.control(run.id, "pause")
    [message] = r1.instants()
    error = Error("instantActionError", ErrorLevel.WARNING, "startPause not supported",
                  references={"actionId": message.actions[0].action_id})
    r1.answer_instants("none", ActionStatus.FINISHED, errors=(error,))
    site.net.drain()
    assert run.status is MissionStatus.RUNNING
    assert run.reason == ("pause refused: r1 refused the pause: instantActionError: "
                          "startPause not supported")


def test_a_robot_that_never_answers_the_pause_is_reported_after_the_timeout(
        site: Site) -> None:
    _r1, run = _working(site)
    site.manager.control(run.id, "pause")
    site.at(site.clock.monotonic() + ANSWER_S - 1)
    site.manager.pauses.sweep()
    assert run.pausing
    site.at(site.clock.monotonic() + 1)
    site.manager.pauses.sweep()
    assert not run.pausing and run.status is MissionStatus.RUNNING
    assert run.reason == (f"pause refused: r1 did not answer the pause (no answer within "
                          f"{ANSWER_S:.0f} s)")


def test_a_mission_with_no_robot_at_work_pauses_at_once(site: Site) -> None:
    run = site.launch()  # no robot online: it waits, queued
    site.manager.control(run.id, "pause")
    assert run.status is MissionStatus.PAUSED


def test_a_mission_whose_last_results_arrive_while_paused_completes(site: Site) -> None:
    r1, run = _working(site)
    nodes, _, _ = r1.route()
    r1.report(len(nodes) - 1)  # every inspection run; the results not sent yet
    site.net.drain()
    site.manager.control(run.id, "pause")
    site.net.drain()
    r1.answer_instants(ActionType.START_PAUSE.value, ActionStatus.FINISHED)
    site.net.drain()
    assert run.status is MissionStatus.PAUSED
    r1.send(r1.result("p1"))
    r1.send(r1.result("p2"))
    # stored while paused: nothing is left, so it completes (the ingest thread lives on)
    site.wait_until(lambda: run.status is MissionStatus.COMPLETED)
    assert set(run.done) == {"p1", "p2"}
