"""Continuous patrol in the manager: a mission with ``mode: continuous`` whose robots patrol
until it is stopped, and each point's *idleness* (the time between two consecutive
inspections) recorded (docs/schedules.md, "How the manager patrols").

A continuous mission never settles; every inspection is recorded (:meth:`Idleness.visit`).
Its robots normally drive *laps* of a cyclic plan (:class:`Laps`, driven by
:mod:`fleet.manager.patroller`). Only when no cyclic plan can be made does the mission fall
back to *rounds*: a point goes back into the pool (:meth:`MissionRun.refill`) once the time
left before its target runs out is shorter than the mission's recent round time, and the
planner loop plans the pool over the robots at docks like any mission's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleet.facility.model import Facility
from fleet.planning.mission import DEFAULT_REVISIT_S, MissionSpec, Mode
from fleet.planning.patrol import PatrolPlan

ROUNDS_KEPT = 5
"""Recent rounds whose duration sets how early points come back into the pool."""


@dataclass
class PointVisits:
    """One point's inspections: when last (epoch seconds on the manager's clock), and the
    gaps between consecutive ones."""

    last: float | None = None
    count: int = 0
    gaps: int = 0
    total_gap: float = 0.0
    worst_gap: float = 0.0


@dataclass
class Idleness:
    """The visits of a continuous mission's points, and its recent round times."""

    started: float
    points: dict[str, PointVisits] = field(default_factory=dict)
    rounds: list[float] = field(default_factory=list)
    """Durations of the latest rounds (dispatch to the robot's end of round)."""
    begun: dict[str, float] = field(default_factory=dict)
    """When each robot's current round was dispatched (not persisted)."""

    def visit(self, point: str, at: float) -> None:
        """``point`` was inspected at ``at``."""
        v = self.points.setdefault(point, PointVisits())
        if v.last is not None and at >= v.last:
            gap = at - v.last
            v.gaps += 1
            v.total_gap += gap
            v.worst_gap = max(v.worst_gap, gap)
        v.last = at if v.last is None else max(v.last, at)
        v.count += 1

    def begin(self, serial: str, at: float) -> None:
        """``serial``'s round was dispatched at ``at``."""
        self.begun[serial] = at

    def end(self, serial: str, at: float) -> None:
        """``serial``'s round is over at ``at`` (a round begun before a restart is not
        counted)."""
        start = self.begun.pop(serial, None)
        if start is not None and at >= start:
            self.rounds = [*self.rounds, at - start][-ROUNDS_KEPT:]

    def lead(self, target: float) -> float:
        """How long before its target a point comes back into the pool: the longest recent
        round (half the target before any round ended), never more than the target."""
        return min(target, max(self.rounds) if self.rounds else target / 2)

    def due(self, point: str, target: float, now: float) -> bool:
        """Whether ``point`` should be planned now."""
        v = self.points.get(point)
        last = self.started if v is None or v.last is None else v.last
        return now >= last + target - self.lead(target)

    def report(self, targets: dict[str, float], now: float) -> dict[str, Any]:
        """What ``fleet mission status`` shows: worst and average idleness over the
        recorded gaps (seconds), and the points overdue now against their targets (with
        how long since their last inspection, or since the start)."""
        gaps = sum(v.gaps for v in self.points.values())
        total = sum(v.total_gap for v in self.points.values())
        worst = max((v.worst_gap for v in self.points.values()), default=None)
        overdue = {}
        for point, target in targets.items():
            v = self.points.get(point)
            since = now - (self.started if v is None or v.last is None else v.last)
            if since > target:
                overdue[point] = {"since_s": round(since, 1), "target_s": target}
        return {"worst_s": None if worst is None or not gaps else round(worst, 1),
                "average_s": round(total / gaps, 1) if gaps else None,
                "gaps": gaps, "visits": sum(v.count for v in self.points.values()),
                "overdue": overdue}

    def to_json(self) -> dict[str, Any]:
        """For the mission's snapshot (a restarted manager goes on counting)."""
        return {"started": self.started, "rounds": self.rounds,
                "points": {p: [v.last, v.count, v.gaps, v.total_gap, v.worst_gap]
                           for p, v in self.points.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Idleness:
        """The inverse of :meth:`to_json`."""
        out = cls(float(data["started"]), rounds=[float(r) for r in data.get("rounds", [])])
        for p, (last, count, gaps, total, worst) in data.get("points", {}).items():
            out.points[p] = PointVisits(last, int(count), int(gaps), float(total), float(worst))
        return out


def continuous(spec: MissionSpec) -> bool:
    """Whether a mission spec asks for continuous patrol."""
    return spec.mode == Mode.CONTINUOUS


def targets(spec: MissionSpec) -> dict[str, float]:
    """Each task point's revisit target (seconds) of a continuous mission (the mission
    parser gives every task of one a target: its ``revisit`` or the default)."""
    return {t.point: t.revisit_s or DEFAULT_REVISIT_S for t in spec.tasks}


@dataclass
class Laps:
    """A continuous mission's cyclic plan in force, and where each robot stands in it.

    Times are epoch seconds on the manager's clock. Robot ``r``'s lap ``n`` starts at its
    join node at ``epoch + join_at_s + n * period`` (:meth:`slot`); its lap 0 also drives
    the plan's approach. Kept in memory only: a restarted manager plans again.
    """

    plan: PatrolPlan
    epoch: float
    robots: frozenset[str]
    """The robots the plan was made for (a change means re-planning)."""
    site: frozenset[str] = frozenset()
    """Lost robots and gas closures on the site when planned (a change means re-planning:
    not every passing robot that fills a place for a moment)."""
    facility: Facility | None = None
    """The site as planned on (lost robots' places shut, closures as zones): laps are
    built on it."""
    next_lap: dict[str, int] = field(default_factory=dict)
    """Per robot, the index of its next lap (absent: lap 0, with the approach, is next)."""
    after_charge: set[str] = field(default_factory=set)
    """Robots whose last lap was a charging lap: they take their next slot not yet past."""
    busy_until: dict[str, float] = field(default_factory=dict)
    """Per robot, when its current lap should end (to start a re-plan after it)."""
    told: set[tuple[str, str]] = field(default_factory=set)
    """(event kind, robot) of the problems already recorded under this plan: said once,
    not on every look of the planner."""

    def slot(self, serial: str, lap: int) -> float:
        """When ``serial``'s lap ``lap`` starts at its join node."""
        part = self.plan.robots[self.index(serial)]
        return self.epoch + part.join_at_s + lap * self.plan.cycles[part.cycle].period_s

    def index(self, serial: str) -> int:
        """Position of ``serial`` in :attr:`PatrolPlan.robots`; ``KeyError`` if absent."""
        for i, part in enumerate(self.plan.robots):
            if part.robot == serial:
                return i
        raise KeyError(serial)
