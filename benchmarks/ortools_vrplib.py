"""OR-Tools routing on VRPLIB instances, for comparison with `fleet bench vrplib`.

Not part of the package and not a dependency: ``pip install ortools`` to run it::

    python benchmarks/ortools_vrplib.py ../shared/bench/cvrp/X-n1*.vrp --time-limit 60 \
        > /tmp/ortools.json

It reads the instances with the same reader as ``fleet bench vrplib`` (so the distances are
identical: EUC_2D rounded to the nearest integer), solves each with OR-Tools' routing
solver (first solution PATH_CHEAPEST_ARC, then GUIDED_LOCAL_SEARCH for the whole time
limit, one thread) and prints the same JSON objects as ``fleet bench vrplib --json``,
value recomputed from the routes.

Fleet size: a TSP uses one vehicle; a CVRP gets ``ceil(total demand / capacity)`` plus 10 %
(at least 2) spare vehicles, because OR-Tools needs a fixed number of vehicles and the X
instances' best solutions sometimes use one or two routes more than the bin-packing bound.
``--robots N`` fixes it instead. Unused vehicles cost nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from fleet.bench.vrplib import Instance, read_instance, route_value
from fleet.errors import FleetError


def fleet_size(inst: Instance, robots: int | None) -> int:
    """Vehicles offered to OR-Tools (see the module docstring)."""
    if robots is not None:
        return robots
    if inst.capacity is None:
        return 1
    bound = math.ceil(sum(inst.demand) / inst.capacity)
    return min(len(inst.clients), bound + max(2, math.ceil(0.1 * bound)))


def solve(inst: Instance, time_limit: float, robots: int | None) -> dict[str, Any]:
    """Solve one instance for total distance; the result in `fleet bench vrplib` shape."""
    n = len(inst.node_ids)
    vehicles = fleet_size(inst, robots)
    manager = pywrapcp.RoutingIndexManager(n, vehicles, inst.depot)
    routing = pywrapcp.RoutingModel(manager)
    dist = [[int(v) for v in row] for row in inst.distance]

    def transit(i: int, j: int) -> int:
        return dist[manager.IndexToNode(i)][manager.IndexToNode(j)]

    cb = routing.RegisterTransitCallback(transit)
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    if inst.capacity is not None:
        demand = list(inst.demand)

        def load(i: int) -> int:
            return demand[manager.IndexToNode(i)]

        dcb = routing.RegisterUnaryTransitCallback(load)
        routing.AddDimensionWithVehicleCapacity(dcb, 0, [inst.capacity] * vehicles, True,
                                                "load")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(int(time_limit * 1000))
    started = time.perf_counter()
    solution = routing.SolveWithParameters(params)
    seconds = time.perf_counter() - started
    routes: list[list[int]] = []
    if solution is not None:
        for v in range(vehicles):
            idx = routing.Start(v)
            route = []
            while not routing.IsEnd(idx):
                node = manager.IndexToNode(idx)
                if node != inst.depot:
                    route.append(inst.node_ids[node])
                idx = solution.Value(routing.NextVar(idx))
            if route:
                routes.append(route)
    value = route_value(inst, routes, "distance") if solution is not None else None
    known = inst.best_known
    gap = (None if value is None or not known
           else round(100 * (value - known) / known, 4))
    return {
        "instance": inst.name,
        "objective": "distance",
        "solver": "ortools-gls",
        "value": int(value) if value is not None else None,
        "best_known": int(known) if known is not None else None,
        "gap_pct": gap,
        "seconds": round(seconds, 3),
        "feasible": solution is not None,
        "routes": routes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance")
    parser.add_argument("--robots", type=int, default=None, help="fixed number of vehicles")
    args = parser.parse_args(argv)
    try:
        instances = [read_instance(f) for f in args.files]
    except FleetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    results = []
    for inst in instances:
        results.append(solve(inst, args.time_limit, args.robots))
        print(f"{inst.name}: {results[-1]['value']} (gap {results[-1]['gap_pct']} %)",
              file=sys.stderr)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
