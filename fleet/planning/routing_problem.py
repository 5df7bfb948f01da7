"""The mission as a routing problem: robots become vehicles, tasks become clients.

The only bridge between the site model and :mod:`fleet.planning.solver`: every location is
a node of the closure (points, docks, chargers, in the closure's order), every robot class a
profile with its own distance and time matrices, every robot one vehicle from and to its
dock, every eligible task an optional client whose prize grows with its priority, allowed
only to the robots that may do it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from fleet.errors import PlanningError
from fleet.facility.closure import Closure
from fleet.planning.mission import MissionSpec, Objective
from fleet.planning.robots import Robot, RobotClass
from fleet.planning.solver import Client, Depot, Problem, SolveProgress, VehicleType, solve


def solve_rounds(
    *,
    mission: MissionSpec,
    robots: Sequence[Robot],
    views: Mapping[str, tuple[Closure, RobotClass]],
    eligible: Mapping[str, Sequence[Robot]],
    objective: Objective,
    time_limit: float,
    seed: int = 0,
    price_energy: bool = False,
    progress: Callable[[float], None] | None = None,
    initial: Mapping[str, Sequence[str]] | None = None,
) -> tuple[dict[str, list[str]], list[str], str]:
    """Assign and order the eligible tasks; returns each robot's visit order (by serial),
    the points the solver left out and why the solver stopped (``converged`` or ``limit``,
    :data:`fleet.planning.solver.STOPS`). ``views`` maps a class name to its closure (all
    closures must share one node order). With ``price_energy``, every leg and dwell
    also costs the seconds it takes to recharge the energy it uses, as the solver cannot see
    charging stops themselves. ``initial`` (serial → points) is the warm start."""
    if not eligible:
        return {}, [], "converged"
    class_names = list(views)
    first = views[class_names[0]][0]
    nodes = first.points
    for closure, _ in views.values():
        if closure.points != nodes:
            raise PlanningError("internal: closures of one mission must share their nodes")

    docks = list(dict.fromkeys([*(r.start_node for r in robots), *(r.dock for r in robots)]))
    depots = tuple(Depot(first.index(d), name=d) for d in docks)
    vehicle_index = {r.serial: k for k, r in enumerate(robots)}
    reserve = mission.battery_reserve_pct / 100.0
    vehicle_types = tuple(
        VehicleType(count=1, start_depot=docks.index(r.start_node),
                    end_depot=docks.index(r.dock), tw_early=r.ready_s,
                    profile=class_names.index(r.robot_class.name), name=r.serial,
                    # a robot that cannot be sent to charge drives on what it has, less the
                    # reserve (dwell energy is checked on the round driven on paper)
                    max_distance=math.inf if r.charges or not r.robot_class.wh_per_metre
                    else max(0.0, r.start_wh - reserve * r.robot_class.battery_wh)
                    / r.robot_class.wh_per_metre)
        for r in robots
    )
    tasks = {t.point: t for t in mission.tasks}
    order = [p for p in tasks if p in eligible]
    clients = []
    for p in order:
        t = tasks[p]
        early, late = t.window if t.window is not None else (0.0, math.inf)
        clients.append(Client(
            location=first.index(p),
            service=t.dwell_s,
            tw_early=early,
            tw_late=late,
            required=False,
            priority=t.priority,
            allowed=frozenset(vehicle_index[r.serial] for r in eligible[p]),
            name=p,
        ))
    def durations(name: str) -> np.ndarray[Any, Any]:
        closure, cls = views[name]
        if not price_energy:
            return closure.time
        return closure.time + closure.distance * (cls.wh_per_metre * 3600.0 / cls.charge_w)

    if price_energy:  # dwell energy is priced on the legs leaving a point
        slowest = max((c for _, c in views.values()),
                      key=lambda c: c.wh_per_second / c.charge_w)
        factor = slowest.wh_per_second * 3600.0 / slowest.charge_w
        clients = [replace(c, service=c.service * (1 + factor)) for c in clients]
    problem = Problem(
        distances=tuple(views[n][0].distance for n in class_names),
        durations=tuple(durations(n) for n in class_names),
        depots=depots,
        clients=tuple(clients),
        vehicle_types=vehicle_types,
    )

    def report(p: SolveProgress) -> None:
        if progress is not None:
            progress(min(1.0, p.elapsed / max(p.time_limit, 1e-9)))

    index = {p: i for i, p in enumerate(order)}
    warm = None if initial is None else [
        (vehicle_index[serial], [index[p] for p in points if p in index])
        for serial, points in initial.items() if serial in vehicle_index]
    solution = solve(problem, objective=objective.value, time_limit=time_limit, seed=seed,
                     progress=report, initial=warm)
    if not solution.feasible:
        raise PlanningError("the solver found no feasible assignment within the time limit; "
                            "try a longer --time-limit")
    rounds: dict[str, list[str]] = {}
    for route in solution.routes:
        serial = robots[route.vehicle_type].serial
        rounds[serial] = [order[c] for c in route.clients]
    dropped = [order[c] for c in solution.dropped]
    return rounds, dropped, solution.stopped
