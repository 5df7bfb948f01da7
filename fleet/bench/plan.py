"""``fleet bench plan``: the planner on a generated mine, a mixed fleet, every point to inspect.

:func:`benchmark_plan` times :func:`fleet.planning.planner.plan_mission` end to end
(closures, routing, charging, verification) on a mine from
:func:`fleet.facility.generate.generate_mine`; ``fleet bench plan`` prints it.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from fleet.facility.generate import generate_mine
from fleet.facility.protection import Epl
from fleet.planning.mission import InspectionTask, MissionSpec, Objective
from fleet.planning.planner import plan_mission
from fleet.planning.robots import Fleet, Robot, RobotClass
from fleet.sensors import CH4, CO, O2

GAS = frozenset({CH4, CO, O2})

# One robot in five is intrinsically safe (Ga) so that zone 0 points can be served too.
# The generated mine has no declared kind, so it keeps zones 0/1/2 and G ratings (and the
# figures stay comparable with earlier runs).
_GB, _GC, _GA = frozenset({Epl.GB}), frozenset({Epl.GC}), frozenset({Epl.GA})
BENCH_CLASSES = (
    RobotClass("ex-crawler", speed=0.8, battery_wh=2400, wh_per_metre=0.6,
               wh_per_second=0.03, charge_w=1200, sensors=GAS, ratings=_GB),
    RobotClass("ex-crawler", speed=0.8, battery_wh=2400, wh_per_metre=0.6,
               wh_per_second=0.03, charge_w=1200, sensors=GAS, ratings=_GB),
    RobotClass("rail-inspector", speed=1.2, battery_wh=1200, wh_per_metre=0.3,
               wh_per_second=0.02, charge_w=800, sensors=GAS, ratings=_GC),
    RobotClass("rail-inspector", speed=1.2, battery_wh=1200, wh_per_metre=0.3,
               wh_per_second=0.02, charge_w=800, sensors=GAS, ratings=_GC),
    RobotClass("ia-crawler", speed=0.5, battery_wh=800, wh_per_metre=0.25,
               wh_per_second=0.01, charge_w=400, sensors=GAS, ratings=_GA),
)


def benchmark_plan(
    *,
    nodes: int,
    points: int,
    robots: int,
    time_limit: float,
    repeats: int = 1,
    seed: int = 0,
    objective: Objective = Objective.MAKESPAN,
) -> dict[str, Any]:
    """Plan a full round of a generated mine ``repeats`` times; wall-clock figures.

    The mission inspects every point (ch4, co, o2; 30 s dwell) with ``robots`` robots
    spread over the mine's docks. Returns the median and extremes of the planning time,
    and the last plan's makespan, distance, served and unassigned counts. Every plan has
    passed the verifier (``plan_mission`` never returns one that has not).
    """
    started = time.perf_counter()
    # one charger per 500 nodes: a real mine this size has charging stations spread out
    fac = generate_mine(nodes=nodes, inspection_points=points, seed=seed,
                        chargers=max(4, nodes // 500))
    generate_s = time.perf_counter() - started
    docks = [n.id for n in fac.nodes.values() if n.kind.value == "dock"]
    fleet_robots = tuple(
        Robot("bench", f"R{i + 1:03d}", BENCH_CLASSES[i % len(BENCH_CLASSES)],
              docks[i % len(docks)])
        for i in range(robots)
    )
    fleet = Fleet(fleet_robots, {c.name: c for c in BENCH_CLASSES})
    mission = MissionSpec(
        name=f"generated mine {nodes} nodes", facility=fac, map_path=None,
        tasks=tuple(InspectionTask(p, GAS, 30.0, 1, None, "bench")
                    for p in fac.inspection_points),
        objective=objective,
    )
    times: list[float] = []
    plan = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        plan = plan_mission(mission, fleet, time_limit=time_limit, seed=seed)
        times.append(time.perf_counter() - t0)
    assert plan is not None
    served = sum(len(r.inspections) for r in plan.robots)
    return {
        "nodes": len(fac.nodes),
        "points": len(fac.inspection_points),
        "robots": robots,
        "objective": objective.value,
        "time_limit_s": time_limit,
        "repeats": repeats,
        "generate_s": round(generate_s, 3),
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "verified": True,
        "served": served,
        "unassigned": len(plan.unassigned),
        "unassigned_reasons": sorted({u.reason.value for u in plan.unassigned}),
        "robots_used": len(plan.robots),
        "charging_stops": sum(r.charging_stops for r in plan.robots),
        "makespan_s": round(plan.makespan_s, 1),
        "distance_m": round(plan.distance_m, 1),
    }
