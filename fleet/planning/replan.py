"""Re-planning after an event: warm, incremental, and only where the event reaches.

An event changes a plan that robots are already driving: a robot is lost or locked out
(its points are *orphans*), a gas closure cuts the way of some robots (they are
*touched*), or a robot joins (it is touched and has nothing yet). :func:`replan` re-plans
only the robots the event reaches, starting from their current rounds:

1. **Candidates.** The touched robots; for each orphan the :data:`NEAR` robots that may do
   it whose rounds pass nearest to it; for each joining robot the :data:`NEAR` robots
   whose rounds pass nearest to where it starts (it takes a share of theirs). Nearness is
   straight-line distance between the map's nodes (a level apart counts as
   :data:`LEVEL_APART_M`): a cheap guide to who is about, not a route.
2. **Warm start.** The candidates' current rounds, each orphan inserted where it lengthens
   a capable candidate's round (in straight-line metres) the least.
3. **Solve.** :func:`fleet.planning.planner.plan_mission` on the candidates alone, each
   starting where the route it was already sent ends (:attr:`Robot.start`, at
   :attr:`Robot.ready_s`), warm-started from step 2, within ``time_limit``, stopping when
   converged. The plan is verified like any other.

Robots outside the candidates keep their rounds; a candidate whose round comes out the same
keeps it too (unless it is touched: its way crosses the closure): only
:attr:`Replan.changed` robots get a new order.

:func:`full_replan` plans every robot's remaining points and the orphans afresh (cold, the
whole fleet), the yardstick. A caller that can afford it runs it after the incremental
orders are out and switches when the incremental plan is clearly worse:
:func:`clearly_worse` (:data:`FULL_BETTER_BY`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from fleet.facility.model import Facility
from fleet.planning.mission import MissionSpec
from fleet.planning.plan import Plan, RobotPlan, StopKind, Unassigned
from fleet.planning.planner import plan_mission
from fleet.planning.robots import Fleet, Robot

NEAR = 2
"""Robots taken into a re-plan per orphan point (and per joining robot), nearest first."""

LEVEL_APART_M = 1000.0
"""Straight-line metres a change of level counts for when judging nearness."""

REPLAN_LIMIT_S = 0.6
"""Solver seconds an incremental re-plan may take at most (it usually converges sooner):
with the verification, the charging stops and the orders around it, the new orders are out
within a second of the event (docs/benchmarks.md, "Re-planning")."""

FULL_BETTER_BY = 0.05
"""A full re-plan replaces an incremental one when its fleet makespan is shorter by more
than this share: below it, new orders to every robot are not worth the gain."""


@dataclass(frozen=True)
class Underway:
    """A robot as an event finds it: the robot (with :attr:`Robot.start`,
    :attr:`Robot.ready_s` and its battery then), the points it still has to do after its
    start in visit order, and when it would be back at its dock on its current round
    (seconds after the event)."""

    robot: Robot
    points: tuple[str, ...] = ()
    finish_s: float = 0.0


@dataclass(frozen=True)
class Replan:
    """The outcome of a re-plan: the verified ``plan`` of the re-planned robots, which
    of them got a different round (``changed``: these get new orders), the fleet's
    makespan (robots left alone included), how long it took and how (``incremental`` or
    ``full``). A changed robot with no round in ``plan`` gave all its points away: it is
    to be sent home from where it is."""

    plan: Plan
    candidates: frozenset[str]
    changed: frozenset[str]
    makespan_s: float
    seconds: float
    method: str

    @property
    def unassigned(self) -> tuple[Unassigned, ...]:
        """Points the re-plan could not give to anyone, with the reasons."""
        return self.plan.unassigned


def replan(
    mission: MissionSpec,
    fleet: Sequence[Underway],
    *,
    orphans: Sequence[str] = (),
    touched: Iterable[str] = (),
    site: Facility | None = None,
    time_limit: float = REPLAN_LIMIT_S,
    seed: int = 0,
) -> Replan:
    """Re-plan what an event reaches (see the module docstring).

    ``mission`` names the tasks (orphans included); ``fleet`` is every robot available with
    its current round; ``touched`` robots must be re-planned (crossing a new closure, or
    just joined); ``site`` is the site to plan on now (with the closure; default the
    mission's). Raises what :func:`plan_mission` raises.
    """
    started = time.perf_counter()
    fac = site or mission.facility
    by_serial = {u.robot.serial: u for u in fleet}
    tasks = {t.point: t for t in mission.tasks}
    chosen = [s for s in dict.fromkeys(touched) if s in by_serial]
    touched_set = set(chosen)
    rounds = {s: list(by_serial[s].points) for s in by_serial}

    def capable(u: Underway, point: str) -> bool:
        cls = u.robot.robot_class
        return tasks[point].sensors <= cls.sensors and fac.node_allowed(point, cls.access)

    for point in orphans:
        near = _nearest(fac, point, [u for u in fleet if capable(u, point)], rounds)
        chosen.extend(near[:NEAR])
    for serial in list(chosen):
        u = by_serial[serial]
        if not u.points:  # joining: a share of its neighbours' work
            near = _nearest(fac, u.robot.start_node,
                            [v for v in fleet if v.points and v.robot.serial != serial],
                            rounds)
            chosen.extend(near[:NEAR])
    candidates = list(dict.fromkeys(chosen))
    warm = {s: list(rounds[s]) for s in candidates}
    for point in orphans:
        able = [s for s in candidates if capable(by_serial[s], point)]
        if able:
            serial, at = min(((s, *_cheapest(fac, by_serial[s].robot, warm[s], point))
                              for s in able), key=lambda x: x[2])[:2]
            warm[serial].insert(at, point)
    points = {p for s in candidates for p in warm[s]} | set(orphans)
    sub = replace(mission, facility=fac,
                  tasks=tuple(t for t in mission.tasks if t.point in points))
    robots = Fleet(tuple(by_serial[s].robot for s in candidates))
    plan = plan_mission(sub, robots, time_limit=time_limit, seed=seed, initial=warm)
    new = {r.serial: tuple(r.inspections) for r in plan.robots}
    # a touched robot with points is sent its round again even when the order of its
    # points stands: its way between them crosses the closure (a joining one only when
    # it got something to do)
    changed = frozenset(s for s in candidates
                        if new.get(s, ()) != tuple(by_serial[s].points)
                        or (s in touched_set and by_serial[s].points))
    others = max((u.finish_s for u in fleet if u.robot.serial not in candidates),
                 default=0.0)
    return Replan(plan, frozenset(candidates), changed, max(plan.makespan_s, others),
                  time.perf_counter() - started, "incremental")


def full_replan(
    mission: MissionSpec,
    fleet: Sequence[Underway],
    *,
    orphans: Sequence[str] = (),
    site: Facility | None = None,
    time_limit: float = 30.0,
    seed: int = 0,
) -> Replan:
    """Every robot's remaining points and the orphans planned afresh over the whole
    fleet (no warm start); a robot whose round comes out the same is not ``changed``."""
    started = time.perf_counter()
    fac = site or mission.facility
    points = {p for u in fleet for p in u.points} | set(orphans)
    sub = replace(mission, facility=fac,
                  tasks=tuple(t for t in mission.tasks if t.point in points))
    plan = plan_mission(sub, Fleet(tuple(u.robot for u in fleet)), time_limit=time_limit,
                        seed=seed)
    new = {r.serial: tuple(r.inspections) for r in plan.robots}
    changed = frozenset(u.robot.serial for u in fleet
                        if new.get(u.robot.serial, ()) != u.points)
    return Replan(plan, frozenset(u.robot.serial for u in fleet), changed, plan.makespan_s,
                  time.perf_counter() - started, "full")


def clearly_worse(incremental: Replan, full: Replan) -> bool:
    """Whether the full re-plan should replace the incremental one: it serves at least
    as many points and its makespan is shorter by more than :data:`FULL_BETTER_BY`."""
    served = len(incremental.plan.unassigned) >= len(full.plan.unassigned)
    return served and full.makespan_s < (1 - FULL_BETTER_BY) * incremental.makespan_s


def underway_at(rp: RobotPlan, robot: Robot, at: float) -> tuple[Underway, str | None]:
    """``robot`` on its planned round ``rp`` at ``at`` seconds into the plan, as a re-plan
    takes it: it starts where it is heading (its committed stop), when it would leave there,
    with the battery it would leave with; also the point it is heading to, or ``None`` when
    that is no inspection (a robot lost now leaves that point undone too). A robot whose
    round is over is at its dock with nothing to do."""
    for i, stop in enumerate(rp.stops[1:], start=1):
        if stop.departure > at:
            later = tuple(s.node for s in rp.stops[i + 1:] if s.kind is StopKind.INSPECT)
            heading = stop.node if stop.kind is StopKind.INSPECT else None
            start = replace(robot, start=stop.node, ready_s=stop.departure - at,
                            battery_wh=stop.battery_departure_wh)
            return Underway(start, later, rp.finish - at), heading
    return Underway(robot), None


def _where(fac: Facility, node: str) -> tuple[float, float, str]:
    n = fac.nodes[node]
    return n.x, n.y, n.level


def _apart(fac: Facility, a: str, b: str) -> float:
    ax, ay, al = _where(fac, a)
    bx, by, bl = _where(fac, b)
    return math.hypot(ax - bx, ay - by) + (0.0 if al == bl else LEVEL_APART_M)


def _nearest(fac: Facility, node: str, fleet: Sequence[Underway],
             rounds: Mapping[str, Sequence[str]]) -> list[str]:
    """Serials of ``fleet`` by how near their rounds (start included) pass ``node``."""
    def gap(u: Underway) -> float:
        return min(_apart(fac, node, p)
                   for p in (u.robot.start_node, *rounds[u.robot.serial]))
    return [u.robot.serial for u in sorted(fleet, key=gap)]


def _cheapest(fac: Facility, robot: Robot, seq: Sequence[str], point: str
              ) -> tuple[int, float]:
    """Where in ``seq`` (from the robot's start, back to its dock) ``point`` lengthens the
    round least in straight-line metres: (index to insert at, metres added)."""
    stops = [robot.start_node, *seq, robot.dock]
    best = (len(seq), math.inf)
    for i in range(len(stops) - 1):
        a, b = stops[i], stops[i + 1]
        extra = _apart(fac, a, point) + _apart(fac, point, b) - _apart(fac, a, b)
        if extra < best[1]:
            best = (i, extra)
    return best


__all__ = ["FULL_BETTER_BY", "NEAR", "REPLAN_LIMIT_S", "Replan", "Underway", "clearly_worse",
           "full_replan", "replan", "underway_at"]
