"""Instant actions followed to their outcome.

Every instant action the manager sends (:meth:`fleet.manager.core.Core.instant`) is
remembered here by its actionId until the robot answers it in a state, or does not in
time:

- ``actionStates`` lists it ``FINISHED``: **confirmed**;
- ``actionStates`` lists it ``FAILED``: **refused**, with its ``resultDescription`` as the
  reason;
- ``errors`` holds an error referencing it (``errorReferences`` ``actionId``, as VDA 5050
  2.x robots report an instant action they reject outright): **refused**, with the
  error's ``errorType: errorDescription``;
- neither within :data:`ANSWER_S`: **unanswered** (a robot that ignores the action, or
  went quiet); the action is forgotten then, so nothing waits for it for ever.

``RUNNING`` or ``WAITING`` is no answer yet (a ``cancelOrder`` runs until the robot
stands). A mission's pause or resume is a :class:`ControlRequest` that collects the
answers of its robots (:mod:`fleet.manager.pauses`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fleet.manager.refusals import refusal_text
from fleet.manager.stateview import StateView
from fleet.protocol.state import ActionStatus

ANSWER_S = 10.0
"""Manager-clock seconds a robot has to confirm or refuse an instant action: a robot
answers in its next state (at least one a second, docs/protocol.md), and a pause may take
a robot a few seconds to come to a halt between nodes."""


class Outcome(StrEnum):
    """How a robot answered an instant action."""

    CONFIRMED = "confirmed"
    """``FINISHED`` in its ``actionStates``."""
    REFUSED = "refused"
    """``FAILED`` in its ``actionStates``, or an error referencing the actionId."""
    UNANSWERED = "unanswered"
    """Neither within :data:`ANSWER_S`."""


@dataclass(frozen=True)
class Answer:
    """A robot's answer to one instant action."""

    serial: str
    action_id: str
    kind: str
    """The actionType (``startPause``, ...)."""
    outcome: Outcome
    reason: str = ""
    """Why it was refused (the robot's words), or how long it stayed silent."""
    mission_id: str | None = None
    """The mission the action was sent for, if any."""


@dataclass
class _Sent:
    serial: str
    kind: str
    at: float
    mission_id: str | None


class Instants:
    """The instant actions sent and not yet answered (the caller holds the manager's lock).

    Cheap on the hot path: a state of a robot with nothing pending costs one lookup."""

    def __init__(self) -> None:
        self._sent: dict[str, _Sent] = {}
        self._by_serial: dict[str, set[str]] = {}

    def sent(self, serial: str, action_id: str, kind: str, at: float, *,
             mission_id: str | None = None) -> None:
        """Follow ``action_id`` sent to ``serial`` at ``at`` (manager clock)."""
        self._sent[action_id] = _Sent(serial, kind, at, mission_id)
        self._by_serial.setdefault(serial, set()).add(action_id)

    def pending(self, serial: str) -> bool:
        """Whether ``serial`` has an instant action not answered yet."""
        return bool(self._by_serial.get(serial))

    def on_state(self, serial: str, state: StateView) -> list[Answer]:
        """The answers ``state`` of robot ``serial`` gives (each action answered once)."""
        ids = self._by_serial.get(serial)
        if not ids:
            return []
        answers = []
        for view in state.action_states:
            if view.action_id not in ids:
                continue
            if view.status is ActionStatus.FINISHED:
                answers.append(self._answer(view.action_id, Outcome.CONFIRMED, ""))
            elif view.status is ActionStatus.FAILED:
                answers.append(self._answer(view.action_id, Outcome.REFUSED,
                                            view.result or "FAILED, no reason given"))
        for error in state.errors:
            aid = error.references.get("actionId")
            if aid is not None and aid in ids:
                answers.append(self._answer(aid, Outcome.REFUSED, refusal_text((error,))))
        return answers

    def overdue(self, now: float) -> list[Answer]:
        """The actions not answered within :data:`ANSWER_S` of being sent, as of ``now``
        (forgotten from here on)."""
        late = [aid for aid, s in self._sent.items() if now - s.at >= ANSWER_S]
        return [self._answer(aid, Outcome.UNANSWERED,
                             f"no answer within {ANSWER_S:.0f} s") for aid in late]

    def _answer(self, action_id: str, outcome: Outcome, reason: str) -> Answer:
        s = self._sent.pop(action_id)
        ids = self._by_serial.get(s.serial)
        if ids is not None:
            ids.discard(action_id)
            if not ids:
                del self._by_serial[s.serial]
        return Answer(s.serial, action_id, s.kind, outcome, " ".join(reason.split()),
                      s.mission_id)


@dataclass
class ControlRequest:
    """A supervisor's ``pause`` or ``resume`` of a mission, asked of its robots: the
    mission changes status only once every robot asked confirmed (:attr:`confirmed`)."""

    verb: str
    """``pause`` or ``resume``."""
    asked: dict[str, str]
    """serial → actionId of the ``startPause``/``stopPause`` it was sent."""
    answers: dict[str, Answer] = field(default_factory=dict)

    def take(self, answer: Answer) -> bool:
        """Record ``answer`` if it answers this request; True when it did."""
        if self.asked.get(answer.serial) != answer.action_id \
                or answer.serial in self.answers:
            return False
        self.answers[answer.serial] = answer
        return True

    @property
    def settled(self) -> bool:
        """Whether every robot asked has answered (or timed out)."""
        return len(self.answers) >= len(self.asked)

    @property
    def confirmed(self) -> bool:
        """Whether every robot asked confirmed."""
        return self.settled and all(a.outcome is Outcome.CONFIRMED
                                    for a in self.answers.values())

    def line(self, answer: Answer) -> str:
        """One robot's outcome in one line, e.g. ``CR-01 refused the pause: busy``."""
        if answer.outcome is Outcome.CONFIRMED:
            return f"{answer.serial} confirmed the {self.verb}"
        if answer.outcome is Outcome.REFUSED:
            return f"{answer.serial} refused the {self.verb}: {answer.reason}"
        return f"{answer.serial} did not answer the {self.verb} ({answer.reason})"

    def failures(self) -> list[str]:
        """The lines of the robots that refused or did not answer."""
        return [self.line(a) for a in self.answers.values()
                if a.outcome is not Outcome.CONFIRMED]

    def to_json(self) -> dict[str, Any]:
        """What ``fleet mission status --json`` and ``fleet mission pause`` read:
        ``outcome`` is ``pending`` (answers awaited), ``confirmed`` or ``refused`` (a
        robot refused or did not answer); ``lines`` one per robot that answered."""
        outcome = "pending" if not self.settled else \
            "confirmed" if self.confirmed else "refused"
        return {"verb": self.verb, "outcome": outcome,
                "waiting_for": sorted(set(self.asked) - set(self.answers)),
                "robots": {s: {"outcome": a.outcome.value, "reason": a.reason}
                           for s, a in sorted(self.answers.items())},
                "lines": [self.line(a) for _s, a in sorted(self.answers.items())]}
