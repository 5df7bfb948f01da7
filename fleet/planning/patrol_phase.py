"""Getting a patrol's robots onto their cycles, evenly spaced (used by
:mod:`fleet.planning.patrol`).

Three steps, each a function:

:func:`reach`
    From a robot's start, the quickest time to every node at its own top speed (scipy's
    Dijkstra over the edges ``access`` may drive, the one :meth:`Facility.edge_between`
    gives for each direction, each timed with :meth:`Facility.edge_speed`), and the path
    to any of them.
:func:`assign`
    Which robot goes to which cycle, given how many each cycle gets: the assignment
    (scipy's ``linear_sum_assignment``) minimising the summed time to reach each robot's
    cycle at its nearest node.
:func:`phase`
    On one cycle of period ``T`` with ``k`` robots: slots ``T / k`` apart in time, shifted
    by a phase ``d``; a robot in the slot at cycle time ``o`` (at the patrol's start,
    extrapolated) can join at node ``j`` (reached after ``a_j``, arrival time ``c_j`` on
    the cycle) at the first instant ``J >= a_j`` with ``c_j - J = o (mod T)``, waiting
    there ``J - a_j``. For every candidate phase (those where some robot need not wait,
    at most :data:`MAX_PHASES` of them) every robot's earliest join per slot is found at
    once with numpy, and the robots are matched to slots minimising the latest join, the
    *formation* (a bottleneck assignment: bisection on the threshold, each tested with a
    bipartite matching). From the formation on the spacing is exact.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra, maximum_bipartite_matching

from fleet.errors import PlanningError
from fleet.facility.model import Access, Facility

MAX_PHASES = 128
"""Candidate phases tried per cycle at most (evenly chosen among all candidates)."""

_EPS = 1e-9


@dataclass(frozen=True)
class Reach:
    """Quickest times (seconds, ``inf`` where unreachable) from one start to every node,
    indexed like ``node_ids``, and the tree to recover the paths."""

    start: str
    node_ids: tuple[str, ...]
    index: Mapping[str, int]
    seconds: npt.NDArray[np.float64]
    _pred: npt.NDArray[np.int32]

    def time_to(self, nodes: Sequence[str]) -> npt.NDArray[np.float64]:
        """Seconds to each of ``nodes``."""
        return self.seconds[[self.index[n] for n in nodes]]

    def path(self, node: str) -> tuple[str, ...]:
        """The quickest path from the start to ``node`` (one node when it is the start);
        :class:`PlanningError` when there is none."""
        i = self.index[node]
        if not math.isfinite(float(self.seconds[i])):
            raise PlanningError(f"no way from {self.start} to {node}")
        out = [i]
        while self._pred[out[-1]] >= 0:
            out.append(int(self._pred[out[-1]]))
        return tuple(self.node_ids[k] for k in reversed(out))


def reach(fac: Facility, start: str, speed: float, access: Access | None = None) -> Reach:
    """Quickest times from ``start`` for a robot of top speed ``speed`` (see the module
    docstring); ``inf`` everywhere but the start when it may not stand there."""
    ids = tuple(fac.nodes)
    index = {n: i for i, n in enumerate(ids)}
    best: dict[tuple[int, int], float] = {}
    # the facility's directed graph: the very edge Facility.edge_between drives
    for u, v, data in fac.graph.edges(data=True):
        e = data["edge"]
        if fac.traversable(e, access):
            best[(index[u], index[v])] = e.length / fac.edge_speed(e, speed)
    n = len(ids)
    if best:
        src, dst = [a for a, _ in best], [b for _, b in best]
        w = list(best.values())
        # a zero-length edge would vanish from a sparse matrix: keep it as a tiny cost
        graph = csr_matrix((np.maximum(np.asarray(w), 1e-12), (src, dst)), shape=(n, n))
    else:
        graph = csr_matrix((n, n))
    if not fac.node_allowed(start, access):
        seconds = np.full(n, np.inf)
        seconds[index[start]] = 0.0
        return Reach(start, ids, index, seconds, np.full(n, -9999, dtype=np.int32))
    found, pred = dijkstra(graph, directed=True, indices=np.asarray([index[start]]),
                           return_predecessors=True)
    return Reach(start, ids, index, np.asarray(found[0], dtype=np.float64),
                 np.asarray(pred[0], dtype=np.int32))


def assign(cycles: Sequence[Sequence[str]], counts: Sequence[int],
           reaches: Sequence[Reach]) -> list[int]:
    """The cycle (index) of each robot, ``counts[c]`` robots on cycle ``c``; ``reaches``
    one per robot. Raises :class:`PlanningError` naming a robot that reaches no cycle it
    could be given."""
    slots = [c for c, k in enumerate(counts) for _ in range(k)]
    if len(slots) != len(reaches):
        raise PlanningError(f"{len(reaches)} robots for {len(slots)} places on the cycles")
    nearest = np.array([[float(np.min(r.time_to(cycles[c]))) for c in slots]
                        for r in reaches])
    finite = np.where(np.isfinite(nearest), nearest, 1e18)
    rows, cols = linear_sum_assignment(finite)
    out = [0] * len(reaches)
    for r, s in zip(rows, cols, strict=True):
        if not math.isfinite(nearest[r, s]):
            raise PlanningError(f"the robot starting at {reaches[int(r)].start} cannot reach "
                                "the patrol")
        out[int(r)] = slots[int(s)]
    return out


@dataclass(frozen=True)
class Phase:
    """Per robot (in the order given to :func:`phase`): the node index where it joins the
    cycle and when it is there (seconds from the patrol's start; it waits there if it
    comes earlier, then drives on without stopping); ``formation`` is the latest of those
    times, from which the spacing holds."""

    joins: tuple[int, ...]
    join_at: tuple[float, ...]
    formation: float


def phase(arrivals: Sequence[float], period: float,
          to_nodes: npt.NDArray[np.float64]) -> Phase:
    """Slots and joins for one cycle (see the module docstring); ``to_nodes[r, j]`` is
    robot ``r``'s time to reach the cycle's node ``j`` (``inf``: it cannot)."""
    k, _ = to_nodes.shape
    c = np.asarray(arrivals, dtype=np.float64)
    if not np.isfinite(to_nodes).any(axis=1).all():
        raise PlanningError("a robot cannot reach its cycle")
    if period <= _EPS:  # a cycle that does not move: everyone to its only node
        when = [float(t) for t in to_nodes[:, 0]]
        if not all(math.isfinite(t) for t in when):
            raise PlanningError("a robot cannot reach its patrol point")
        return Phase((0,) * k, tuple(when), max(when))
    gap = period / k
    a = np.where(np.isfinite(to_nodes), to_nodes, 1e18)
    # A robot joining node j at time J sits at cycle time c_j - J (mod T) at time 0; some
    # robot of an optimal formation waits not at all, so the phases to try are c_j - a_rj.
    tight = np.mod(c[None, :] - to_nodes, gap)
    candidates = np.unique(np.round(tight[np.isfinite(tight)], 9))
    if len(candidates) > MAX_PHASES:
        candidates = candidates[np.linspace(0, len(candidates) - 1, MAX_PHASES).astype(int)]
    best: tuple[float, float, list[int]] | None = None
    for d in candidates:
        value, match = _bottleneck(_join_times(a, c, d + gap * np.arange(k), period).min(2))
        if best is None or value < best[0] - _EPS:
            best = (value, float(d), match)
    assert best is not None
    _, d, match = best
    offsets = d + gap * np.asarray(match, dtype=np.float64)
    times = _join_times(a, c, offsets, period)  # robot x slot x node
    joins, join_at = [], []
    for r in range(k):
        j = int(np.argmin(times[r, match[r]]))
        joins.append(j)
        join_at.append(float(times[r, match[r], j]))
    return Phase(tuple(joins), tuple(join_at), max(join_at))


def _join_times(a: npt.NDArray[np.float64], c: npt.NDArray[np.float64],
                offsets: npt.NDArray[np.float64], period: float) -> npt.NDArray[np.float64]:
    """``[r, s, j]``: the earliest time robot ``r`` can be at node ``j`` in step with slot
    ``s`` (at cycle time ``offsets[s]`` at time 0): its arrival, plus the wait to the next
    instant the slot passes ``j``."""
    wait = np.mod(c[None, None, :] - offsets[None, :, None] - a[:, None, :], period)
    wait[wait > period - 1e-7] = 0.0  # rounding just below a whole lap: no wait
    out: npt.NDArray[np.float64] = a[:, None, :] + wait
    return out


def _bottleneck(cost: npt.NDArray[np.float64]) -> tuple[float, list[int]]:
    """A perfect matching of rows (robots) to columns (slots) minimising the largest cost
    used: the value and each row's column."""
    k = cost.shape[0]
    values = np.unique(cost[np.isfinite(cost)])
    if len(values) == 0:
        return math.inf, list(range(k))
    lo, hi = 0, len(values) - 1
    found: list[int] | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        match = maximum_bipartite_matching(csr_matrix(cost <= values[mid]), perm_type="column")
        if (match >= 0).all():
            found, hi = [int(x) for x in match], mid - 1
        else:
            lo = mid + 1
    if found is None:
        return math.inf, list(range(k))
    return float(values[lo]), found
