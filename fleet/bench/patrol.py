"""``fleet bench patrol``: the cyclic patrol, simulated, against the cyclic reference.

:func:`bench_patrol` loads a map (one of ours, a sample name such as ``coal-mine``, or a
patrolling_sim graph by path or by name, ``grid`` meaning
``../shared/bench/patrol/grid/grid.graph``), plans a continuous patrol of every point
with :func:`fleet.planning.patrol.plan_patrol` (every point the same target, so one closed
walk with the robots evenly spaced), and simulates it with :func:`simulate`.

The simulation is event-driven and kinematic: each robot drives its approach at its top
speed, waits at its join node until its join time, then drives its cycle round and round
at the cycle's speed (edge and zone limits applied, each edge's time recomputed from the
map, not taken from the plan), dwell 0, robots passing through each other (no traffic
control: the figure is the patrol's, not the traffic's). The robots' arrivals at nodes are
merged into one time-ordered stream; every arrival at a patrol point is a visit, passing
through included (as in patrolling_sim, where a robot at a vertex visits it).

Idleness is measured in steady state, once every point has been visited and every robot
is on its cycle: from ``S = max(the instant the last point is first visited, the plan's
formation)``, a point's idleness samples are the gaps between its consecutive visits that
both fall at or after ``S``, up to the end of the simulated hours. ``worst_idleness_s`` is
the largest sample of any point; ``average_idleness_s`` the mean over the points of each
point's mean gap. The cyclic reference is ``L_ref / (k v)`` with ``L_ref`` from
``SOURCE.md`` beside the patrolling_sim maps (:func:`reference_walks`), when the map is one
of them; ``own_reference_s`` is the same with our walk's length ``L``.
"""

from __future__ import annotations

import heapq
import math
import re
import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from fleet.errors import MapError, Problem
from fleet.facility import formats
from fleet.facility.model import Facility
from fleet.planning.patrol import (
    PatrolPlan,
    PatrolPoint,
    PatrolRobot,
    RobotPatrol,
    plan_patrol,
)
from fleet.samples import resolve

PATROL_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "bench" / "patrol"
"""Where the patrolling_sim maps are looked for by name (``../shared`` beside the
checkout); absent in an installed copy, where only paths work."""

_REFERENCE = re.compile(r"Shortest closed walks through all vertices[^:]*:(?P<list>[^\n]*"
                        r"(?:\n(?!\s*\n)[^\n]*)*)")
_ENTRY = re.compile(r"([A-Za-z0-9_.-]+)\s+(\d+(?:\.\d+)?)")


def reference_walks(source: Path) -> dict[str, float]:
    """Map name -> shortest closed walk through all vertices (metres), read from a
    ``SOURCE.md`` (``{}`` when it is absent or lists none)."""
    try:
        text = source.read_text(encoding="utf-8")
    except OSError:
        return {}
    found = _REFERENCE.search(text)
    if found is None:
        return {}
    return {name: float(value) for name, value in _ENTRY.findall(found.group("list"))}


def resolve_map(name: str, *, patrol_dir: Path = PATROL_DIR) -> Path:
    """The map file ``name`` means: an existing file, else a sample of ours, else a
    patrolling_sim map of that name under ``patrol_dir``; :class:`MapError` when there is
    none of them."""
    path = resolve(Path(name))
    if path.is_file():
        return path
    graph = patrol_dir / name / f"{name}.graph"
    if graph.is_file():
        return graph
    if path.exists():
        return path  # a directory: loading it says so
    known = sorted(p.name for p in patrol_dir.iterdir() if p.is_dir()) \
        if patrol_dir.is_dir() else []
    hint = f"; patrolling_sim maps: {', '.join(known)}" if known else ""
    raise MapError(Problem(f"no such map file or sample{hint}", name))


def patrol_points(fac: Facility) -> list[str]:
    """The points a benchmark patrols: every vertex of a patrolling_sim graph (its dock
    included, as in SOURCE.md's walks), else the map's inspection points."""
    if isinstance(fac.meta, Mapping) and fac.meta.get("source_format") == "patrolling_sim":
        return list(fac.nodes)
    return fac.inspection_points


def simulate(fac: Facility, plan: PatrolPlan, robots: Sequence[PatrolRobot],
             points: Sequence[PatrolPoint], seconds: float) -> dict[str, list[float]]:
    """Every visit of every point (sorted times, seconds) during ``seconds`` of
    simulated time (see the module docstring); a point watched by a robot parked on it
    (a one-node cycle without dwell) gets the single visit of its arrival."""
    wanted = {p.id for p in points}
    dwell = {p.id: p.dwell_s for p in points}
    visits: dict[str, list[float]] = {p: [] for p in wanted}
    drives = [_drive(fac, plan, part, robot.speed, dwell, seconds)
              for part, robot in zip(plan.robots, robots, strict=True)]
    for t, node in heapq.merge(*drives):
        if node in wanted:
            visits[node].append(t)
    return visits


def _edge_time(fac: Facility, a: str, b: str, speed: float) -> float:
    edge = fac.edge_between(a, b)
    if edge is None:
        raise MapError(Problem(f"the plan drives from {a} to {b}, which no edge joins"))
    return edge.length / fac.edge_speed(edge, speed)


def _drive(fac: Facility, plan: PatrolPlan, part: RobotPatrol, speed: float,
           dwell: Mapping[str, float], end: float) -> Iterator[tuple[float, str]]:
    """One robot's arrivals ``(time, node)`` in time order, up to ``end``."""
    t = 0.0
    yield t, part.approach[0]
    for a, b in pairwise(part.approach):
        t += _edge_time(fac, a, b, speed)
        yield t, b
    cycle = plan.cycles[part.cycle]
    nodes, n = cycle.nodes, len(cycle.nodes)
    stops = set(cycle.stops)
    steps = [_edge_time(fac, nodes[j], nodes[(j + 1) % n], cycle.speed) if n > 1 else 0.0
             for j in range(n)]
    t = max(t, part.join_at_s)
    j = part.join
    yield t, nodes[j]
    lap = sum(steps) + sum(dwell.get(nodes[s], 0.0) for s in stops)
    if lap <= 0:
        return  # parked on its only point
    while True:
        t += (dwell.get(nodes[j], 0.0) if j in stops else 0.0) + steps[j]
        j = (j + 1) % n
        if t > end:
            return
        yield t, nodes[j]


def idleness(visits: Mapping[str, Sequence[float]], formation: float,
             watched: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Steady-state idleness from the visits (see the module docstring): ``start_s``,
    ``worst_s``, ``average_s`` and per point ``worst_s``, ``average_s``, ``samples``.
    ``watched`` points have a robot parked on them for good: idleness 0. Raises
    ``ValueError`` when a point is never visited, or visited less than twice after the
    start (simulate longer)."""
    never = [p for p, v in visits.items() if not v]
    if never:
        raise ValueError(f"{len(never)} points never visited (e.g. {never[0]}): "
                         "simulate longer")
    start = max(formation, max(v[0] for v in visits.values()))
    per: dict[str, dict[str, float]] = {}
    for p, times in visits.items():
        steady = [t for t in times if t >= start - 1e-9]
        gaps = [b - a for a, b in pairwise(steady)]
        if p in watched:
            gaps = [0.0]
        elif not gaps:
            raise ValueError(f"point {p} visited fewer than twice after the warm-up "
                                 f"({start:.0f} s): simulate longer")
        per[p] = {"worst_s": max(gaps), "average_s": statistics.fmean(gaps),
                  "samples": len(gaps)}
    return {
        "start_s": start,
        "worst_s": max(v["worst_s"] for v in per.values()),
        "average_s": statistics.fmean(v["average_s"] for v in per.values()),
        "points": per,
    }


def bench_patrol(map_: str, *, robots: int, speed: float = 1.0, hours: float | None = None,
                 time_limit: float = 10.0, seed: int = 0,
                 patrol_dir: Path = PATROL_DIR) -> dict[str, Any]:
    """Plan and simulate a patrol of every point of ``map_`` by ``robots`` robots of top
    speed ``speed`` starting at the map's docks and chargers (in turn; a patrolling_sim
    map's vertex 0), for ``hours`` of simulated time (``None``: two hours, or longer when
    that is needed for the formation and four laps of the longest cycle).

    Returns ``map``, ``file``, ``points``, ``robots``, ``speed``, ``hours``,
    ``plan_s`` (planning wall time), ``strategy``, ``cycles``, ``length_m`` (our closed
    walk, ``L``), ``period_s``, ``planned_worst_s``, ``formation_s``, ``warmup_s``,
    ``visits``, ``worst_idleness_s``, ``average_idleness_s``, ``own_reference_s``
    (``L/(k v)``), ``ratio_own`` (worst over it), ``reference_m`` (``L_ref``, or ``None``),
    ``reference_s`` (``L_ref/(k v)``) and ``ratio`` (worst over it; both ``None`` without
    ``L_ref``) and ``per_point``. Raises :class:`MapError` for a map that does not load,
    :class:`~fleet.errors.PlanningError` when no patrol can be planned and ``ValueError``
    for bad numbers or too short a simulation.
    """
    if robots < 1 or not (speed > 0 and math.isfinite(speed)) or not (
            hours is None or hours > 0):
        raise ValueError("robots must be >= 1, speed and hours positive")
    path = resolve_map(map_, patrol_dir=patrol_dir)
    fac = formats.load(path)
    ids = patrol_points(fac)
    if not ids:
        raise MapError(Problem("the map has no inspection point to patrol", str(path)))
    docks = fac.chargers or [ids[0]]
    fleet = [PatrolRobot(f"r{i + 1}", docks[i % len(docks)], speed) for i in range(robots)]
    points = [PatrolPoint(p) for p in ids]
    t0 = time.perf_counter()
    plan = plan_patrol(fac, points, fleet, time_limit=time_limit, seed=seed)
    plan_s = time.perf_counter() - t0
    seconds = hours * 3600.0 if hours is not None else max(
        7200.0, plan.formation_s + 4 * max(c.period_s for c in plan.cycles))
    visits = simulate(fac, plan, fleet, points, seconds)
    idle = idleness(visits, plan.formation_s, frozenset(
        c.points[0] for c in plan.cycles if c.period_s <= 0))

    length = sum(c.length_m for c in plan.cycles)
    refs = {}
    if path.suffix.lower() == ".graph":
        refs = reference_walks(path.parent.parent / "SOURCE.md") or \
            reference_walks(patrol_dir / "SOURCE.md")
    ref_m = refs.get(path.stem)
    ref_s = None if ref_m is None else ref_m / (robots * speed)
    own_s = length / (robots * speed)
    worst = idle["worst_s"]
    return {
        "map": path.stem,
        "file": str(path),
        "points": len(ids),
        "robots": robots,
        "speed": speed,
        "hours": round(seconds / 3600.0, 3),
        "plan_s": round(plan_s, 3),
        "strategy": str(plan.strategy),
        "cycles": len(plan.cycles),
        "length_m": round(length, 2),
        "period_s": round(max(c.period_s for c in plan.cycles), 2),
        "planned_worst_s": round(plan.worst_s, 2),
        "formation_s": round(plan.formation_s, 2),
        "warmup_s": round(idle["start_s"], 2),
        "visits": sum(len(v) for v in visits.values()),
        "worst_idleness_s": round(worst, 2),
        "average_idleness_s": round(idle["average_s"], 2),
        "own_reference_s": round(own_s, 2),
        "ratio_own": round(worst / own_s, 4) if own_s > 0 else None,
        "reference_m": ref_m,
        "reference_s": None if ref_s is None else round(ref_s, 2),
        "ratio": None if ref_s is None else round(worst / ref_s, 4),
        "per_point": {p: {k: round(v, 2) if isinstance(v, float) else v
                          for k, v in d.items()} for p, d in idle["points"].items()},
    }
