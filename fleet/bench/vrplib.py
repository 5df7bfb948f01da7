"""VRPLIB benchmark: TSP and CVRP instances solved through the planner's solver layer.

An instance file is read with the ``vrplib`` package; distances are as the file declares
them (``EUC_2D``: Euclidean rounded to the nearest integer, TSPLIB's ``nint``; ``CEIL_2D``;
or an explicit matrix). Each node becomes a location, the depot (node 1 of a TSP file) a
depot, every other node a client with its demand, and the robots one vehicle type that
starts and ends at the depot, with durations equal to distances (so a makespan is the
longest route's length). Results use the file's 1-based node ids, so anyone can recompute
a value from the printed routes with :func:`route_value`.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import vrplib

from fleet.errors import MissionError, Problem
from fleet.planning.solver import (
    Client,
    Depot,
    Objective,
    SolveProgress,
    VehicleType,
    solve,
)
from fleet.planning.solver import Problem as RoutingProblem

_COST = re.compile(r"^\s*cost\s*[:=]?\s*([-+0-9.eE]+)\s*$", re.IGNORECASE)


@dataclass(frozen=True, eq=False)
class Instance:
    """A TSP or CVRP instance: ``distance[i, j]`` between nodes ``node_ids[i]`` and
    ``node_ids[j]``; ``depot`` indexes the depot; ``capacity`` is ``None`` for a TSP."""

    name: str
    kind: str
    node_ids: tuple[int, ...]
    depot: int
    distance: np.ndarray[Any, Any]
    demand: tuple[int, ...]
    capacity: int | None
    best_known: float | None

    @property
    def clients(self) -> tuple[int, ...]:
        """Indices of the nodes to visit (all but the depot)."""
        return tuple(i for i in range(len(self.node_ids)) if i != self.depot)


def best_known(path: Path) -> float | None:
    """The cost on the last ``Cost N`` line of the ``.sol`` file beside ``path``, if any."""
    sol = path.with_suffix(".sol")
    if not sol.is_file():
        return None
    costs = [m.group(1) for line in sol.read_text(errors="replace").splitlines()
             if (m := _COST.match(line))]
    try:
        return float(costs[-1]) if costs else None
    except ValueError:
        return None


def read_instance(path: Path) -> Instance:
    """Read a VRPLIB TSP or CVRP file; raises :class:`MissionError` with a plain reason."""

    def bad(reason: str) -> MissionError:
        return MissionError(Problem(reason, file=str(path)))

    if not path.is_file():
        raise bad("no such file")
    try:
        data = vrplib.read_instance(str(path), compute_edge_weights=False)
    except (RuntimeError, ValueError, IndexError, KeyError, TypeError,
            UnicodeDecodeError) as exc:
        raise bad(f"not a readable VRPLIB instance ({exc})") from None
    try:
        return _interpret(path, data, bad)
    except MissionError:
        raise
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise bad(f"malformed VRPLIB data ({exc})") from None


def _interpret(path: Path, data: dict[str, Any], bad: Callable[[str], MissionError],
               ) -> Instance:
    kind = str(data.get("type", "")).upper().split()[0] if data.get("type") else ""
    if kind not in ("TSP", "CVRP"):
        raise bad(f"TYPE {data.get('type')!r} is not supported (TSP or CVRP)")
    weight_type = str(data.get("edge_weight_type", "")).upper()
    if weight_type in ("EUC_2D", "CEIL_2D"):
        coords = np.asarray(data.get("node_coord", ()), dtype=float)
        if coords.ndim != 2 or coords.shape[1] != 2 or len(coords) < 2:
            raise bad("NODE_COORD_SECTION is missing or not two-dimensional")
        exact = np.hypot(coords[:, None, 0] - coords[None, :, 0],
                         coords[:, None, 1] - coords[None, :, 1])
        matrix = np.ceil(exact) if weight_type == "CEIL_2D" else np.floor(exact + 0.5)
    elif weight_type == "EXPLICIT" and "edge_weight" in data:
        matrix = np.asarray(data["edge_weight"], dtype=float)
    else:
        raise bad(f"EDGE_WEIGHT_TYPE {weight_type or 'missing'} is not supported "
                  "(EUC_2D, CEIL_2D or EXPLICIT)")
    n = len(matrix)
    dimension = data.get("dimension", n)
    if matrix.shape != (n, n) or n < 2 or dimension != n:
        raise bad(f"DIMENSION {dimension} does not match the {n} nodes given")
    depots = np.atleast_1d(np.asarray(data.get("depot", [0]), dtype=int))
    if kind == "CVRP" and len(depots) != 1:
        raise bad("exactly one depot is supported")
    depot = int(depots[0])
    if not 0 <= depot < n:
        raise bad("the depot is not one of the nodes")
    capacity: int | None = None
    demand = (0,) * n
    if kind == "CVRP":
        if "capacity" not in data or "demand" not in data or len(data["demand"]) != n:
            raise bad("a CVRP needs CAPACITY and a DEMAND_SECTION for every node")
        capacity = int(data["capacity"])
        demand = tuple(int(q) for q in data["demand"])
        if any(q > capacity or q < 0 for q in demand):
            raise bad("a demand exceeds the capacity or is negative")
    return Instance(
        name=str(data.get("name") or path.stem).strip(),
        kind=kind,
        node_ids=tuple(range(1, n + 1)),
        depot=depot,
        distance=matrix,
        demand=demand,
        capacity=capacity,
        best_known=best_known(path),
    )


def routing_problem(instance: Instance, robots: int | None = None) -> RoutingProblem:
    """The solver's problem for ``instance``: ``robots`` vehicles (default: one for a TSP,
    as many as there are customers for a CVRP), all starting and ending at the depot."""
    clients = tuple(
        Client(location=i, demand=(instance.demand[i],) if instance.capacity else (),
               name=str(instance.node_ids[i]))
        for i in instance.clients
    )
    count = robots if robots is not None else (1 if instance.kind == "TSP" else len(clients))
    vehicle = VehicleType(
        count=max(1, count),
        capacity=(instance.capacity,) if instance.capacity is not None else (),
    )
    return RoutingProblem(
        distances=(instance.distance,),
        durations=(instance.distance,),
        depots=(Depot(location=instance.depot, name=str(instance.node_ids[instance.depot])),),
        clients=clients,
        vehicle_types=(vehicle,),
    )


def route_value(instance: Instance, routes: Sequence[Sequence[int]], objective: Objective,
                ) -> float:
    """Recompute a value from routes of node ids: total length, or the longest route."""
    index = {node: i for i, node in enumerate(instance.node_ids)}
    lengths = []
    for route in routes:
        path = [instance.depot, *(index[node] for node in route), instance.depot]
        lengths.append(float(sum(instance.distance[a, b] for a, b in itertools.pairwise(path))))
    if objective == "distance":
        return sum(lengths)
    return max(lengths, default=0.0)


def bench_instance(
    instance: Instance,
    *,
    objective: Objective,
    time_limit: float,
    robots: int | None = None,
    seed: int = 0,
    progress: Callable[[SolveProgress], None] | None = None,
) -> dict[str, Any]:
    """Solve one instance and report it: ``instance``, ``objective``, ``value``,
    ``best_known`` (only when comparable: the distance objective, or one robot),
    ``gap_pct``, ``seconds``, ``feasible`` and ``routes`` (node ids, depot excluded)."""
    problem = routing_problem(instance, robots)
    started = time.perf_counter()
    solution = solve(problem, objective=objective, time_limit=time_limit, seed=seed,
                     progress=progress)
    seconds = time.perf_counter() - started
    routes = [[instance.node_ids[problem.clients[c].location] for c in route.clients]
              for route in solution.routes]
    value = route_value(instance, routes, objective)
    comparable = objective == "distance" or (robots == 1 or (
        robots is None and instance.kind == "TSP"))
    known = instance.best_known if comparable else None
    gap = None if known is None or known == 0 else round(100 * (value - known) / known, 4)
    return {
        "instance": instance.name,
        "objective": objective,
        "value": int(value) if float(value).is_integer() else value,
        "best_known": int(known) if known is not None and known.is_integer() else known,
        "gap_pct": gap,
        "seconds": round(seconds, 3),
        "feasible": solution.feasible,
        "routes": routes,
    }


def summary(results: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Mean and worst gap over the results that have one."""
    gaps = [r["gap_pct"] for r in results if r.get("gap_pct") is not None]
    if not gaps:
        return {"mean_gap_pct": None, "max_gap_pct": None}
    return {"mean_gap_pct": round(math.fsum(gaps) / len(gaps), 4),
            "max_gap_pct": max(gaps)}
