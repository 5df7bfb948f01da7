"""Order refusals: a robot that rejects an order of a mission is given that mission's work
again only after a back-off, and set aside for the mission after a few refusals.

A robot refuses an order when its state lists ``errors`` referencing the order's orderId
while its own orderId is another (docs/protocol.md, "Refusals"). The dispatcher then
records the refusal here (:func:`record`) with the robot's error text, hands the order's
points back to the pool, and the planner leaves the robot out of that mission's plans
while it is :meth:`OrderRefusals.barred`: for :data:`BACKOFF_S` after the first refusal,
twice as long after each next one (at most :data:`BACKOFF_MAX_S`), and for good once it
refused :data:`SET_ASIDE_AFTER` times. The mission's other robots take the points; points
no other robot could do fail with the refusal as their reason, so a mission never waits
on a robot that will not take its work.

Refusals are per (mission, robot): a robot refusing one mission's orders (a sensor it
lacks, a place it will not enter) may well do another's. They are kept on the
:class:`~fleet.manager.missions.MissionRun` and persisted with it, with the times on the
manager's clock as timestamps, so a restarted manager neither forgets a set-aside robot
nor retries one early.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fleet.manager.stateview import ErrorView

BACKOFF_S = 10.0
"""Manager-clock seconds a robot is left out of a mission's plans after its first refusal:
long enough that a robot refusing everything is not sent an order every planner look
(about every 4 s, for ever, before: issue 19), short enough that a robot that refused
because it was briefly not ready (still finishing an earlier order) is soon used again."""

BACKOFF_MAX_S = 120.0
"""The back-off doubles with each refusal up to this: a refusal is never held against a
robot for long before it is set aside anyway."""

SET_ASIDE_AFTER = 3
"""Refusals after which a robot is never planned for the mission again: three refusals
across growing back-offs (0, 10, 30 s) are no passing state of the robot but a reason it
will keep giving; its points go to others or fail with it."""


def backoff(count: int) -> float:
    """Seconds a robot is left out after its ``count``-th refusal (count ≥ 1)."""
    return min(BACKOFF_S * 2.0 ** max(0, count - 1), BACKOFF_MAX_S)


def refusal_text(errors: Iterable[ErrorView]) -> str:
    """The robot's own words for a refusal: ``errorType: errorDescription`` of each error,
    joined with ``; `` (one line)."""
    parts = [f"{e.error_type}: {e.description}" if e.description else e.error_type
             for e in errors]
    return " ".join("; ".join(parts).split()) or "no reason given"


@dataclass
class OrderRefusals:
    """A robot's refusals of one mission's orders."""

    serial: str
    count: int = 0
    reason: str = ""
    """The robot's error text of its latest refusal (:func:`refusal_text`)."""
    retry_at: float = 0.0
    """When (manager-clock timestamp) it may be planned for the mission again."""

    @property
    def set_aside(self) -> bool:
        """Whether it refused :data:`SET_ASIDE_AFTER` times: never planned for the mission
        again."""
        return self.count >= SET_ASIDE_AFTER

    def barred(self, now: float) -> bool:
        """Whether the planner must leave it out of the mission's plans at ``now``."""
        return self.set_aside or now < self.retry_at

    def line(self) -> str:
        """What a supervisor reads, e.g. ``CR-01 refused the order: orderError: no
        co sensor (2 times; not planned again for 20 s)``, or ``... (3 times; set aside
        for this mission)``."""
        times = "once" if self.count == 1 else f"{self.count} times"
        then = "set aside for this mission" if self.set_aside else "tried again later"
        return f"{self.serial} refused the order: {self.reason} ({times}; {then})"

    def to_json(self) -> dict[str, Any]:
        """As persisted and as ``fleet mission status --json`` shows it."""
        return {"serial": self.serial, "count": self.count, "reason": self.reason,
                "retry_at": self.retry_at, "set_aside": self.set_aside,
                "line": self.line()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrderRefusals:
        """From :meth:`to_json` (KeyError, TypeError or ValueError when damaged)."""
        return cls(str(data["serial"]), int(data["count"]), str(data["reason"]),
                   float(data["retry_at"]))


def record(refusals: dict[str, OrderRefusals], serial: str, reason: str,
           now: float) -> OrderRefusals:
    """Count one more refusal by ``serial`` at ``now`` (manager-clock timestamp), with the
    robot's ``reason``; its record, back-off set."""
    r = refusals.get(serial)
    if r is None:
        r = refusals[serial] = OrderRefusals(serial)
    r.count += 1
    r.reason = reason
    r.retry_at = now + backoff(r.count)
    return r


def barred(refusals: Mapping[str, OrderRefusals], now: float) -> set[str]:
    """Serials the planner must leave out of the mission's plans at ``now``."""
    return {s for s, r in refusals.items() if r.barred(now)}


def set_aside(refusals: Mapping[str, OrderRefusals]) -> dict[str, OrderRefusals]:
    """The robots set aside for the mission, by serial."""
    return {s: r for s, r in refusals.items() if r.set_aside}
