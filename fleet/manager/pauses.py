"""Pausing and resuming a mission, as its robots confirm it.

``fleet mission pause`` sends ``startPause`` to every robot working on the mission and
``fleet mission resume`` sends ``stopPause``; the mission becomes ``paused`` (or
``running`` again) only once every one of them confirmed (:mod:`fleet.manager.instants`).
Until then its status is unchanged, its reason says what is awaited (``pause requested:
waiting for CR-01, CR-02``) and, while a pause is awaited, the planner gives out no new
work for it. A robot that refuses (or does not answer within
:data:`~fleet.manager.instants.ANSWER_S`) leaves the status where it was, with the reason
naming it: ``pause refused: CR-01 refused the pause: <its words>``. The robots that did
confirm stay as they are (paused robots are not set moving again behind a supervisor's
back); ``fleet mission resume`` or ``abort`` decides.

A mission with no robot at work pauses or resumes at once: nobody has anything to
confirm.
"""

from __future__ import annotations

import logging

from fleet.manager.core import Core
from fleet.manager.instants import Answer, ControlRequest, Outcome
from fleet.manager.lifecycle import MissionStatus, check_transition
from fleet.manager.missions import MissionRun
from fleet.manager.registry import RobotEntry
from fleet.manager.stateview import StateView
from fleet.protocol.order import ActionType

log = logging.getLogger(__name__)

_ACTION = {"pause": ActionType.START_PAUSE, "resume": ActionType.STOP_PAUSE}


class Pauses:
    """The pause and resume part of a manager (see the module docstring); every method
    expects the caller to hold the manager's lock."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def request(self, run: MissionRun, verb: str) -> None:
        """Ask ``run``'s robots to pause (``verb`` ``pause``) or resume (``resume``).
        TransitionError when the mission cannot be in that status (it is over)."""
        core = self.core
        target = self._target(run, verb)
        check_transition(run.status, target)
        active = run.active()
        if not active:
            run.control = ControlRequest(verb, {})
            core.set_status(run, target, f"{verb}d by a supervisor")
            core.event(run, f"{verb}d", None, {"robots": []})
            if verb == "resume":
                core.wake.set()
            return
        asked = {a.serial: core.instant(a.manufacturer, a.serial, _ACTION[verb],
                                        mission_id=run.id) for a in active}
        run.control = ControlRequest(verb, asked)
        run.reason = f"{verb} requested: waiting for {', '.join(sorted(asked))}"
        core.event(run, f"{verb}_requested", None, {"robots": sorted(asked)})

    def on_state(self, robot: RobotEntry, state: StateView) -> None:
        """Take the answers ``state`` gives to instant actions sent to ``robot``."""
        if not self.core.instants.pending(robot.serial):
            return
        for answer in self.core.instants.on_state(robot.serial, state):
            self._answered(answer)

    def sweep(self) -> None:
        """Give up on the instant actions not answered in time (the liveness tick)."""
        core = self.core
        with core.lock:
            for answer in core.instants.overdue(core.now()):
                self._answered(answer)

    def _target(self, run: MissionRun, verb: str) -> MissionStatus:
        if verb == "pause":
            return MissionStatus.PAUSED
        if run.status is not MissionStatus.PAUSED:
            return run.status  # a pause refused half-way: resume whoever did pause
        return MissionStatus.RUNNING if run.assignments else MissionStatus.QUEUED

    def _answered(self, answer: Answer) -> None:
        core = self.core
        run = core.missions.get(answer.mission_id or "")
        control = run.control if run is not None else None
        if run is None or control is None or not control.take(answer):
            # not a pause or resume (a factsheetRequest, a cancelOrder, ...), or one
            # replaced by a newer request: logged, so a refusing robot is seen
            if answer.outcome is not Outcome.CONFIRMED:
                log.warning("robot %s: %s %s (%s)", answer.serial, answer.kind,
                            answer.outcome.value, answer.reason)
                if run is not None:
                    core.event(run, f"instant_{answer.outcome.value}", answer.serial,
                               {"action": answer.kind, "reason": answer.reason})
            return
        core.event(run, f"{control.verb}_{answer.outcome.value}", answer.serial,
                   {"reason": answer.reason, "line": control.line(answer)})
        if run.status.terminal:
            return  # it ended meanwhile: its reason says why, not a late answer
        if not control.settled:
            waiting = sorted(set(control.asked) - set(control.answers))
            run.reason = f"{control.verb} requested: waiting for {', '.join(waiting)}"
            return
        if control.confirmed:
            target = self._target(run, control.verb)
            run.reason = None
            core.set_status(run, target, f"{control.verb}d: every robot confirmed")
            core.event(run, f"{control.verb}d", None, {"robots": sorted(control.asked)})
            if control.verb == "resume":
                core.wake.set()
            return
        why = "; ".join(control.failures())
        run.reason = f"{control.verb} refused: {why}"
        core.event(run, f"{control.verb}_failed", None, {"reason": why})
        log.warning("mission %s: %s", run.id[:8], run.reason)
        core.wake.set()  # a pause that did not happen: the planner may give out work again
