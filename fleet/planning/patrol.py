"""Continuous patrol: closed routes that keep every point visited about as often as asked.

A patrol has no end: its robots drive closed routes (*cycles*) again and again, and what
matters is each point's **idleness**, the time between two consecutive inspections of it.
:func:`plan_patrol` takes the points (each with a revisit target and a dwell), the robots
(start node, top speed) and returns a :class:`PatrolPlan`.

Method (docs/patrol.md has the reasoning and the literature):

**One target for every point.** The points' shortest-path metric (the project's metric
closure, :func:`fleet.facility.closure.metric_closure`) is handed to the planner's solver
(:func:`fleet.planning.solver.solve`: a fast-tsp starting tour polished by PyVRP) as a
one-robot TSP; its tour, expanded into graph paths, is one closed walk of length ``L``
through every point. The ``k`` robots are spaced evenly *in time* along it, one lap
(``T``: travel plus dwell) over ``k`` apart, so every point is inspected every ``T / k``
seconds, ``L / (k v)`` without dwell. Chevaleyre (2004) showed this cyclic strategy is
optimal for one robot and within a constant factor of the optimum for several; it is the
reference ``fleet bench patrol`` measures against.

**Different targets.** One cycle visits every point as often as the most demanding one
needs, which wastes robots on the points that could wait. The points are grouped into
target classes (equal targets; at most :data:`MAX_CLASSES`, the closest targets merged,
the class's target being its smallest), and every way of cutting the classes, sorted by
target, into at most ``k`` consecutive groups is tried: one cycle per group, robots
allotted greedily to the group whose worst idleness over target is highest. The plan kept
is the one with the lowest worst ratio of idleness to target over all points (≤ 1: every
target met), fewer cycles on a tie; the single cycle is always one of the candidates, so
the result is never worse than it by that measure. Measured on the tests' two-cluster site
(a 20 m square by the dock wanting 60 s, a drift of points 95 to 245 m away wanting 600 s):
two robots get a worst ratio of 0.5 on two cycles instead of 4.25 on one shared cycle,
whose 255 s leave the near points overdue (tests/planning/test_patrol.py). On the sample
coal mine (14 face points every 20 min, 52 others every 2 h) six robots meet every target
on two cycles (worst ratio 0.74) where one shared cycle leaves the face late (1.53);
docs/patrol.md has the table.

**Robots joining.** Each robot drives from its start to a node of its cycle (the quickest
way, at its own speed), waits there if early, and joins the cycle at the instant that
keeps the spacing exact. The slots' phase on the cycle and which robot takes which slot
are chosen to minimise :attr:`PatrolPlan.formation_s`, the time by which every robot is on
its cycle (the bottleneck assignment, over candidate phases). Robots on one cycle all
drive it at the top speed of its slowest robot, so the spacing holds (the allotment above
compares cycles at the fleet's slowest speed; a faster cycle only does better).

What a caller may rely on: every point is a stop of exactly one cycle; a cycle's nodes are
a drivable closed walk (its last node is joined to its first) for ``access``; from
:attr:`~PatrolPlan.formation_s` on, the robots of a cycle are exactly ``period / robots``
apart, so :attr:`PatrolPlan.worst_idleness_s` is exact for inspections at the stops
(dwell included, passing through not counted: a robot passing a point with dwell 0 can
only make that figure smaller). Raises :class:`PlanningError` for points or robots the
patrol cannot use (unknown, listed twice, unreachable), naming them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

import numpy as np

from fleet.errors import PlanningError
from fleet.facility.closure import Closure, metric_closure
from fleet.facility.model import Access, Facility
from fleet.facility.routing import path_edges
from fleet.planning.mission import DEFAULT_REVISIT_S, MissionSpec, Mode
from fleet.planning.patrol_phase import Reach, assign, phase, reach
from fleet.planning.solver import Client, Depot, Problem, VehicleType, solve

MAX_CLASSES = 4
"""Target classes considered at most (closest targets merged beyond): the groupings tried
grow as ``2 ** (classes - 1)`` and the TSPs solved as ``classes * (classes + 1) / 2``."""

_SOLVER_UNITS = 100.0  # metres handed to the solver x this: its decimetres become mm


class PatrolStrategy(StrEnum):
    """How the points are shared among cycles."""

    SINGLE = "single"
    """One closed walk through every point, all robots on it evenly spaced."""
    SPLIT = "split"
    """One cycle per group of target classes, robots allotted by need."""


@dataclass(frozen=True)
class PatrolPoint:
    """A point to patrol: inspected at least every ``revisit_s`` seconds if possible,
    standing ``dwell_s`` seconds at each inspection."""

    id: str
    revisit_s: float = DEFAULT_REVISIT_S
    dwell_s: float = 0.0

    def __post_init__(self) -> None:
        if not (self.revisit_s > 0 and math.isfinite(self.revisit_s)):
            raise PlanningError(f"point {self.id}: revisit target must be a positive "
                                f"number of seconds, got {self.revisit_s!r}")
        if not (self.dwell_s >= 0 and math.isfinite(self.dwell_s)):
            raise PlanningError(f"point {self.id}: dwell must be >= 0 s, got {self.dwell_s!r}")


@dataclass(frozen=True)
class PatrolRobot:
    """A robot of the patrol: where it is when the patrol starts and its top speed (m/s)."""

    name: str
    start: str
    speed: float = 1.0

    def __post_init__(self) -> None:
        if not (self.speed > 0 and math.isfinite(self.speed)):
            raise PlanningError(f"robot {self.name}: speed must be a positive number of "
                                f"m/s, got {self.speed!r}")


@dataclass(frozen=True)
class PatrolCycle:
    """One closed route, driven by :attr:`robots` evenly spaced.

    ``nodes`` is the closed walk (after the last node the route goes on to the first);
    ``stops[i]`` is the index in ``nodes`` where ``points[i]`` is inspected, in visit
    order. ``arrivals_s[j]`` is when a robot reaches ``nodes[j]`` counted from its
    arrival at ``nodes[0]`` (dwell at earlier stops included); one lap takes
    ``period_s`` at ``speed`` (the slowest robot's top speed, lowered further where the
    site's edges or zones say so). ``target_s`` is the smallest revisit target of its
    points.
    """

    nodes: tuple[str, ...]
    stops: tuple[int, ...]
    points: tuple[str, ...]
    length_m: float
    speed: float
    period_s: float
    arrivals_s: tuple[float, ...]
    robots: tuple[str, ...]
    target_s: float

    @property
    def gap_s(self) -> float:
        """Seconds between two robots of the cycle: each of its points' idleness."""
        return self.period_s / len(self.robots)


@dataclass(frozen=True)
class RobotPatrol:
    """One robot's part: drive ``approach`` (its start to the join node, one node when it
    starts there), be at ``cycle``'s node ``join`` (an index into its nodes) at
    ``join_at_s`` seconds after the patrol starts, waiting there if early, then drive the
    cycle's nodes in order, round and round, dwelling at the stops and nowhere else.
    ``offset_s`` is its place on the cycle: at any time ``t >= join_at_s`` after the
    patrol's start it is where a robot is ``(offset_s + t) mod period`` seconds after
    reaching the cycle's first node (compare :attr:`PatrolCycle.arrivals_s`)."""

    robot: str
    cycle: int
    approach: tuple[str, ...]
    join: int
    join_at_s: float
    offset_s: float


@dataclass(frozen=True)
class PatrolPlan:
    """Cycles, each robot's part (in the order the robots were given) and per point its
    target and the worst idleness the plan keeps from ``formation_s`` on."""

    cycles: tuple[PatrolCycle, ...]
    robots: tuple[RobotPatrol, ...]
    targets_s: Mapping[str, float]
    worst_idleness_s: Mapping[str, float]
    formation_s: float
    strategy: PatrolStrategy
    considered: tuple[tuple[str, float], ...]
    """Every grouping tried (classes' targets per cycle, e.g. ``"60s | 600s"``) with its
    worst ratio, in the order tried: the measurement behind the choice."""

    @property
    def worst_s(self) -> float:
        """The worst idleness over all points."""
        return max(self.worst_idleness_s.values())

    @property
    def worst_ratio(self) -> float:
        """Max over the points of worst idleness / target (≤ 1: every target is met)."""
        return max(self.worst_idleness_s[p] / t for p, t in self.targets_s.items())

    @property
    def overdue(self) -> tuple[str, ...]:
        """Points whose worst idleness exceeds their target."""
        return tuple(p for p, t in self.targets_s.items() if self.worst_idleness_s[p] > t)

    def route(self, robot: str) -> tuple[str, ...]:
        """The closed route ``robot`` drives once it has joined: its cycle's nodes from its
        join node on (after the last comes the first again); ``KeyError`` for a robot not
        in the plan."""
        for part in self.robots:
            if part.robot == robot:
                nodes = self.cycles[part.cycle].nodes
                return nodes[part.join:] + nodes[:part.join]
        raise KeyError(f"no robot {robot!r} in the plan")

    def cycle_of(self, point: str) -> PatrolCycle:
        """The cycle inspecting ``point``; ``KeyError`` when the plan has no such point."""
        for c in self.cycles:
            if point in c.points:
                return c
        raise KeyError(f"no cycle inspects {point!r}")


def points_from_mission(spec: MissionSpec) -> list[PatrolPoint]:
    """The patrol points of a continuous mission (its tasks' points, revisit and dwell).

    Raises :class:`PlanningError` for a mission done once."""
    if spec.mode is not Mode.CONTINUOUS:
        raise PlanningError(f"mission {spec.name} is not continuous (mode: {spec.mode})")
    return [PatrolPoint(t.point, t.revisit_s or DEFAULT_REVISIT_S, t.dwell_s) for t in spec.tasks]


def plan_patrol(
    fac: Facility,
    points: Sequence[PatrolPoint],
    robots: Sequence[PatrolRobot],
    *,
    access: Access | None = None,
    strategy: PatrolStrategy | None = None,
    time_limit: float = 10.0,
    seed: int = 0,
    previous: PatrolPlan | None = None,
) -> PatrolPlan:
    """The patrol of ``points`` by ``robots`` on ``fac`` (see the module docstring).

    ``access`` decides which nodes and edges the robots may use (``None``: any robot;
    closed edges and no-go zones avoided). ``strategy`` forces one cycle (``SINGLE``) or
    the split (``SPLIT``: still a single cycle when there is one class or one robot);
    ``None`` takes the better. ``time_limit`` bounds the solver's seconds in all; a
    small graph's tours end well before (the search stops when it stops improving).

    Re-planning when robots join or leave (lost, locked out, back from charging): pass the
    robots as they are now (``start``: the node each is at) and the plan in force as
    ``previous``; a cycle through the same points is then kept as it is (no new tour, the
    robots' routes do not change, only how many share them and their spacing).
    """
    ids = [p.id for p in points]
    if not ids:
        raise PlanningError("a patrol needs at least one point")
    if not robots:
        raise PlanningError("a patrol needs at least one robot")
    for what, names in (("point", ids), ("robot", [r.name for r in robots])):
        seen = {n for n, times in Counter(names).items() if times > 1}
        if seen:
            raise PlanningError(f"{what}s listed twice: {', '.join(sorted(seen))}")
    unknown = [n for n in [*ids, *(r.start for r in robots)] if n not in fac.nodes]
    if unknown:
        raise PlanningError(f"unknown nodes: {', '.join(dict.fromkeys(unknown))}")
    if not time_limit > 0:
        raise PlanningError("the time limit must be positive")
    closure = metric_closure(fac, ids, access=access)
    d = closure.distance
    bad = [ids[i] for i in range(len(ids))
           if not (np.isfinite(d[0, i]) and np.isfinite(d[i, 0]))]
    if bad:
        raise PlanningError(f"points not reachable from and back to {ids[0]}: "
                            f"{', '.join(bad)}")

    by_id = {p.id: p for p in points}
    classes = _classes(points)
    speed = min(r.speed for r in robots)
    groupings = _groupings(len(classes), len(robots), strategy)
    ranges = {rng for g in groupings for rng in g}
    kept = {frozenset(c.points): list(c.points) for c in previous.cycles} if previous else {}
    tours: dict[tuple[int, int], list[str]] = {}
    for n, (lo, hi) in enumerate(sorted(ranges)):
        members = [p for c in classes[lo:hi] for p in c]
        tours[(lo, hi)] = kept.get(frozenset(members)) or _tour(
            closure, members, time_limit=time_limit / len(ranges), seed=seed + n)
    periods = {rng: _timed(fac, _walk(closure, tours[rng]), by_id, speed)[2]
               for rng in ranges}
    targets = [min(by_id[p].revisit_s for p in c) for c in classes]

    best: tuple[float, int, tuple[tuple[int, int], ...], list[int]] | None = None
    considered: list[tuple[str, float]] = []
    for g in groupings:
        counts = _allot([periods[r] for r in g], [targets[r[0]] for r in g], len(robots))
        ratio = max(periods[r] / (k * targets[r[0]]) for r, k in zip(g, counts, strict=True))
        considered.append((" | ".join(
            "+".join(f"{targets[c]:g}s" for c in range(lo, hi)) for lo, hi in g), ratio))
        if best is None or (ratio, len(g)) < (best[0], best[1]):
            best = (ratio, len(g), g, counts)
    assert best is not None
    _, _, grouping, counts = best
    return _assemble(fac, closure, by_id, robots, grouping, counts, tours, targets,
                     access=access, considered=tuple(considered))


# ----------------------------------------------------------------------------- internals

def _classes(points: Sequence[PatrolPoint]) -> list[list[str]]:
    """Points grouped by target, smallest target first; at most MAX_CLASSES, merging the
    two neighbouring classes whose targets are closest (by ratio)."""
    by_target: dict[float, list[str]] = {}
    for p in points:
        by_target.setdefault(p.revisit_s, []).append(p.id)
    keys = sorted(by_target)
    classes = [(t, by_target[t]) for t in keys]
    while len(classes) > MAX_CLASSES:
        i = min(range(len(classes) - 1), key=lambda j: classes[j + 1][0] / classes[j][0])
        (t, a), (_, b) = classes[i], classes[i + 1]
        classes[i:i + 2] = [(t, a + b)]
    return [c for _, c in classes]


def _groupings(m: int, k: int, strategy: PatrolStrategy | None
               ) -> list[tuple[tuple[int, int], ...]]:
    """Ways of cutting classes 0..m-1 into consecutive ranges ``(lo, hi)``, at most ``k``."""
    single = ((0, m),)
    if strategy is PatrolStrategy.SINGLE or m == 1 or k == 1:
        return [single]
    out = []
    for mask in range(1 << (m - 1)):
        cuts = [i + 1 for i in range(m - 1) if mask >> i & 1]
        if len(cuts) + 1 > k:
            continue
        bounds = [0, *cuts, m]
        out.append(tuple(pairwise(bounds)))
    if strategy is PatrolStrategy.SPLIT and len(out) > 1:
        out.remove(single)
    return out


def _allot(periods: Sequence[float], targets: Sequence[float], k: int) -> list[int]:
    """Robots per cycle (one each, then each next to the worst ratio period/(n target)):
    minimises the largest ratio, which only falls as a cycle gets more robots."""
    counts = [1] * len(periods)
    for _ in range(k - len(periods)):
        i = max(range(len(periods)), key=lambda j: periods[j] / (counts[j] * targets[j]))
        counts[i] += 1
    return counts


def _tour(closure: Closure, members: Sequence[str], *, time_limit: float,
          seed: int) -> list[str]:
    """The members in the order of a short closed tour (PyVRP through the solver layer)."""
    rows = [closure.index(p) for p in members]
    if len(members) <= 3:  # one cycle, or two orientations (one-way edges may differ)
        a, b, c = (rows * 3)[:3]
        d = closure.distance
        flip = len(members) == 3 and d[a, c] + d[c, b] + d[b, a] < d[a, b] + d[b, c] + d[c, a]
        return [members[0], *reversed(members[1:])] if flip else list(members)
    d = closure.distance[np.ix_(rows, rows)] * _SOLVER_UNITS
    problem = Problem(distances=(d,), durations=(d,), depots=(Depot(0),),
                      clients=tuple(Client(location=i) for i in range(1, len(rows))),
                      vehicle_types=(VehicleType(count=1),))
    sol = solve(problem, objective="distance", time_limit=max(time_limit, 0.1), seed=seed,
                no_improvement=_NO_IMPROVEMENT)
    if not sol.feasible or len(sol.routes) != 1:
        raise PlanningError(f"no closed tour found through {len(members)} points")
    return [members[0], *(members[c + 1] for c in sol.routes[0].clients)]


_NO_IMPROVEMENT = 2_000  # PyVRP iterations without a better tour before it stops early


def _walk(closure: Closure, order: Sequence[str]) -> tuple[list[str], list[int]]:
    """The closed node walk through ``order`` (shortest paths between consecutive points)
    and the index of each point's stop in it."""
    nodes: list[str] = []
    stops: list[int] = []
    for a, b in zip(order, [*order[1:], order[0]], strict=True):
        stops.append(len(nodes))
        if a == b:
            nodes.append(a)
        else:
            nodes.extend(closure.route(a, b).nodes[:-1])
    return nodes, stops


def _timed(fac: Facility, walk: tuple[list[str], list[int]], by_id: Mapping[str, PatrolPoint],
           speed: float) -> tuple[float, list[float], float]:
    """Length, arrival times and period of a closed walk at ``speed``."""
    nodes, stops = walk
    dwell = {j: by_id[nodes[j]].dwell_s for j in stops}
    closed = [*nodes, nodes[0]] if len(nodes) > 1 else nodes
    edges = path_edges(fac, closed)
    arrivals, clock, length = [0.0], 0.0, 0.0
    for j, e in enumerate(edges):
        clock += dwell.get(j, 0.0) + e.length / fac.edge_speed(e, speed)
        length += e.length
        arrivals.append(clock)
    period = arrivals.pop() if edges else dwell.get(0, 0.0)
    if not edges:
        arrivals = [0.0]
    return length, arrivals, period


def _assemble(fac: Facility, closure: Closure, by_id: Mapping[str, PatrolPoint],
              robots: Sequence[PatrolRobot], grouping: Sequence[tuple[int, int]],
              counts: Sequence[int], tours: Mapping[tuple[int, int], list[str]],
              targets: Sequence[float], *, access: Access | None,
              considered: tuple[tuple[str, float], ...]) -> PatrolPlan:
    walks = [_walk(closure, tours[rng]) for rng in grouping]
    cache: dict[tuple[str, float], Reach] = {}
    reaches = []
    for r in robots:
        if (r.start, r.speed) not in cache:
            cache[(r.start, r.speed)] = reach(fac, r.start, r.speed, access)
        reaches.append(cache[(r.start, r.speed)])
    where = assign([w[0] for w in walks], counts, reaches)
    cycles: list[PatrolCycle] = []
    parts: dict[int, RobotPatrol] = {}
    formation = 0.0
    for c, (rng, walk) in enumerate(zip(grouping, walks, strict=True)):
        mine = [i for i, w in enumerate(where) if w == c]
        speed = min(robots[i].speed for i in mine)
        length, arrivals, period = _timed(fac, walk, by_id, speed)
        nodes, stops = walk
        ph = phase(arrivals, period, np.stack([reaches[i].time_to(nodes) for i in mine]))
        for i, join, at in zip(mine, ph.joins, ph.join_at, strict=True):
            offset = (arrivals[join] - at) % period if period > 0 else 0.0
            parts[i] = RobotPatrol(robots[i].name, c, reaches[i].path(nodes[join]), join,
                                   at, offset)
        formation = max(formation, ph.formation)
        cycles.append(PatrolCycle(
            nodes=tuple(nodes), stops=tuple(stops), points=tuple(nodes[j] for j in stops),
            length_m=length, speed=speed, period_s=period, arrivals_s=tuple(arrivals),
            robots=tuple(robots[i].name for i in mine), target_s=targets[rng[0]]))
    worst = {p: c.gap_s for c in cycles for p in c.points}
    return PatrolPlan(
        cycles=tuple(cycles),
        robots=tuple(parts[i] for i in range(len(robots))),
        targets_s={p: by_id[p].revisit_s for p in by_id},
        worst_idleness_s={p: worst[p] for p in by_id},
        formation_s=formation,
        strategy=PatrolStrategy.SINGLE if len(cycles) == 1 else PatrolStrategy.SPLIT,
        considered=considered,
    )
