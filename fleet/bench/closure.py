"""``fleet bench closure``: the metric closure among inspection points of a generated mine.

:func:`benchmark_closure` times :func:`fleet.facility.closure.metric_closure` from
drivable arcs to both matrices, ``repeats`` times, on
:func:`~fleet.facility.generate.generate_mine`.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from fleet.facility.closure import drivable_arcs, metric_closure
from fleet.facility.generate import generate_mine
from fleet.facility.model import Access
from fleet.facility.protection import Epl

BENCH_ACCESS = Access(ratings=frozenset({Epl.GB}), speed=1.0)
"""The robot of :func:`benchmark_closure`: ATEX Gb (zones 1 and 2), 1 m/s."""


def benchmark_closure(*, points: int, nodes: int, repeats: int = 5,
                      seed: int = 0) -> dict[str, Any]:
    """Time :func:`~fleet.facility.closure.metric_closure` among ``points`` inspection points of
    :func:`~fleet.facility.generate.generate_mine` ``(nodes=nodes, seed=seed)`` for
    :data:`BENCH_ACCESS`, ``repeats`` times.

    Returns ``points``, ``nodes``, ``edges``, ``repeats``, ``median_s``, ``min_s``,
    ``max_s`` (the timed closure from drivable arcs to both matrices), ``generate_s`` (the
    mine), ``build_s`` (facility to drivable arcs, zone intersections included),
    ``graph_nodes``/``graph_arcs`` (the contracted graph) and ``reachable_pairs``.
    Raises ``ValueError`` when the mine cannot hold that many points.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    t0 = time.perf_counter()
    fac = generate_mine(nodes=nodes, inspection_points=points, seed=seed)
    t1 = time.perf_counter()
    arcs = drivable_arcs(fac, BENCH_ACCESS)
    t2 = time.perf_counter()
    pts = fac.inspection_points
    runs = []
    closure = None
    for _ in range(repeats):
        start = time.perf_counter()
        closure = metric_closure(fac, pts, access=BENCH_ACCESS, arcs=arcs)
        runs.append(time.perf_counter() - start)
    assert closure is not None
    gn, ga = closure.graph_size
    return {
        "points": len(pts),
        "nodes": len(fac.nodes),
        "edges": len(fac.edges),
        "repeats": repeats,
        "median_s": round(statistics.median(runs), 4),
        "min_s": round(min(runs), 4),
        "max_s": round(max(runs), 4),
        "generate_s": round(t1 - t0, 4),
        "build_s": round(t2 - t1, 4),
        "graph_nodes": gn,
        "graph_arcs": ga,
        "reachable_pairs": int(np.isfinite(closure.distance).sum()),
    }
