"""The metric closure among a set of points for one robot: what the planner optimises over.

:func:`metric_closure` gives, for ``k`` point ids and a robot's
:class:`~fleet.facility.model.Access`, the ``k x k`` matrices of shortest travel distance
(metres) and of the travel time along those same distance-shortest paths (seconds), ``inf``
where there is no path. Both are directed: one-way corridors make them asymmetric.
:meth:`Closure.route` gives the node path behind any entry, with exactly that length and
time. Which edges a robot may drive is decided as in :mod:`fleet.facility.routing`, so the
lengths equal :func:`~fleet.facility.routing.shortest_route`'s.

How it stays fast on 100,000-node mines without a ``k x n`` matrix: the drivable edges
become arrays of directed arcs once (:func:`drivable_arcs`); corridor chains are then
contracted and other cheap nodes eliminated (each removal adds shortcut arcs that keep every
shortest path between the nodes left, and records which arcs a shortcut stands for); scipy's
Dijkstra then runs from the points in batches on the much smaller graph, and the travel
time is summed along each Dijkstra tree by pointer jumping.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from fleet.errors import MapError, PlanningError, Problem
from fleet.facility.contraction import Arcs, Contraction, Floats, Graph, Ints, contract
from fleet.facility.model import Access, Facility
from fleet.facility.routing import Route

_BATCH_CELLS = 2_000_000  # sources x graph nodes per Dijkstra batch: bounds the memory

__all__ = ["Arcs", "Closure", "drivable_arcs", "metric_closure"]


def drivable_arcs(fac: Facility, access: Access | None = None) -> Arcs:
    """The arcs a robot with ``access`` may drive, decided edge by edge with
    :meth:`Facility.traversable` and timed with :meth:`Facility.edge_speed` (top speed
    ``access.speed``, or 1 m/s without an access). Computed once per facility and access
    (kept in :attr:`Facility.memo`): the manager plans many missions on one site."""
    key = ("drivable_arcs", access)
    cached = fac.memo.get(key)
    if isinstance(cached, Arcs):
        return cached
    arcs = _drivable_arcs(fac, access)
    for array in (arcs.src, arcs.dst, arcs.length, arcs.time):
        array.setflags(write=False)  # shared by every later caller
    fac.memo[key] = arcs
    return arcs


def _drivable_arcs(fac: Facility, access: Access | None) -> Arcs:
    ids = tuple(fac.nodes)
    index = {nid: i for i, nid in enumerate(ids)}
    speed = access.speed if access is not None else 1.0
    src: list[int] = []
    dst: list[int] = []
    length: list[float] = []
    secs: list[float] = []
    for e in fac.edges:
        if not fac.traversable(e, access):
            continue
        a, b = index[e.source], index[e.target]
        t = e.length / fac.edge_speed(e, speed)
        src.append(a)
        dst.append(b)
        length.append(e.length)
        secs.append(t)
        if not e.one_way:
            src.append(b)
            dst.append(a)
            length.append(e.length)
            secs.append(t)
    return Arcs(ids, np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64),
                np.asarray(length, dtype=np.float64), np.asarray(secs, dtype=np.float64))


# ------------------------------------------------------------------------------ closure
@dataclass(frozen=True, eq=False)
class Closure:
    """Shortest distances and their travel times among ``points`` for one robot.

    ``distance[i, j]`` is the length in metres of a shortest drivable path from
    ``points[i]`` to ``points[j]`` and ``time[i, j]`` the seconds that same path takes; both
    are ``inf`` when there is no path, and the whole row and column of a point the robot
    may not stand at are ``inf`` (its diagonal included); other diagonal entries are 0.
    :meth:`route` returns the path behind an entry.
    """

    points: tuple[str, ...]
    distance: Floats
    time: Floats
    _reduced: Contraction = field(repr=False)
    _column: Ints = field(repr=False)  # point position -> final graph node (-1: forbidden)
    _trees: OrderedDict[int, npt.NDArray[np.int32]] = field(
        default_factory=OrderedDict, repr=False)

    @cached_property
    def _where(self) -> dict[str, int]:
        where: dict[str, int] = {}
        for k, p in enumerate(self.points):
            where.setdefault(p, k)
        return where

    def index(self, point: str) -> int:
        """Row and column of ``point`` (its first occurrence); ``KeyError`` if absent."""
        try:
            return self._where[point]
        except KeyError:
            raise KeyError(f"{point!r} is not a point of this closure") from None

    @property
    def graph_size(self) -> tuple[int, int]:
        """Nodes and arcs of the contracted graph the searches ran on."""
        return self._reduced.graph.n, len(self._reduced.graph.src)

    def route(self, a: str, b: str) -> Route:
        """The path from point ``a`` to point ``b`` behind ``distance``/``time``: its
        length and time are the matrix entries (up to rounding of sums).

        Raises ``KeyError`` for a point not in the closure and :class:`PlanningError` when
        there is no path.
        """
        i, j = self.index(a), self.index(b)
        if not math.isfinite(float(self.distance[i, j])):
            raise PlanningError(f"no route from {a} to {b} for this robot")
        red = self._reduced
        if i == j:
            return Route((a,), 0.0, 0.0)
        u, v = int(self._column[i]), int(self._column[j])
        pred = self._tree(u)
        g = red.graph
        _, codes = self._search
        hops = []
        while v != u:
            p = int(pred[v])
            hops.append(int(np.searchsorted(codes, p * g.n + v)))
            v = p
        arcs = red.expand(np.asarray(hops[::-1], dtype=np.int64))
        orig = red.original
        nodes = [orig.node_ids[int(orig.src[arcs[0]])]]
        nodes += [orig.node_ids[int(x)] for x in orig.dst[arcs]]
        return Route(tuple(nodes), float(orig.length[arcs].sum()),
                     float(orig.time[arcs].sum()))

    def path(self, a: str, b: str) -> list[str]:
        """The node ids of :meth:`route` ``(a, b)``, ``a`` first and ``b`` last."""
        return list(self.route(a, b).nodes)

    @cached_property
    def _search(self) -> tuple[csr_matrix, Ints]:
        g = self._reduced.graph
        return _csr(g), g.src * g.n + g.dst

    def _tree(self, u: int) -> npt.NDArray[np.int32]:
        """The Dijkstra tree from graph node ``u``: the same search (same graph, same
        source) as the one that filled the matrices, so the same tree and path."""
        tree = self._trees.get(u)
        if tree is None:
            _, pred = dijkstra(self._search[0], directed=True,
                               indices=np.asarray([u]), return_predecessors=True)
            tree = self._trees[u] = np.asarray(pred[0], dtype=np.int32)
            if len(self._trees) > 32:
                self._trees.popitem(last=False)
        return tree


def _csr(g: Graph) -> csr_matrix:
    indptr = np.concatenate([[0], np.cumsum(np.bincount(g.src, minlength=g.n))])
    return csr_matrix((g.length, g.dst, indptr), shape=(g.n, g.n))


def metric_closure(
    fac: Facility,
    points: Sequence[str],
    *,
    access: Access | None = None,
    arcs: Arcs | None = None,
) -> Closure:
    """The :class:`Closure` among ``points`` (node ids, repeats allowed) for a robot with
    ``access`` (``None``: any robot, only closures and no-go zones avoided).

    ``arcs``, when given, must be :func:`drivable_arcs` of the same facility and access;
    passing it saves converting the facility again for another set of points.
    Raises :class:`MapError` naming any unknown point.
    """
    unknown = [p for p in dict.fromkeys(points) if p not in fac.nodes]
    if unknown:
        raise MapError([Problem(f"unknown node {p!r}", element=f"node {p}") for p in unknown])
    if arcs is None:
        arcs = drivable_arcs(fac, access)
    index = {nid: i for i, nid in enumerate(arcs.node_ids)}
    unique = list(dict.fromkeys(points))
    standing = [p for p in unique if fac.node_allowed(p, access)]
    keep = np.asarray([index[p] for p in standing], dtype=np.int64)
    red = contract(arcs, keep)
    final_of = np.full(arcs.n, -1, dtype=np.int64)
    final_of[red.node_of] = np.arange(len(red.node_of), dtype=np.int64)
    cols = final_of[keep]
    dist_u, time_u = _all_pairs(red.graph, cols)

    where = {p: k for k, p in enumerate(standing)}
    pos = np.asarray([where.get(p, -1) for p in points], dtype=np.int64)
    ok = pos >= 0
    k = len(points)
    distance = np.full((k, k), np.inf)
    time = np.full((k, k), np.inf)
    sel = np.ix_(np.flatnonzero(ok), np.flatnonzero(ok))
    distance[sel] = dist_u[np.ix_(pos[ok], pos[ok])]
    time[sel] = time_u[np.ix_(pos[ok], pos[ok])]
    column = np.where(ok, cols[np.maximum(pos, 0)] if len(cols) else -1, -1)
    return Closure(tuple(points), distance, time, red, column.astype(np.int64))


def _all_pairs(g: Graph, cols: Ints) -> tuple[Floats, Floats]:
    """Distances and times along distance-shortest trees between the nodes ``cols``."""
    k = len(cols)
    dist_out = np.full((k, k), np.inf)
    time_out = np.full((k, k), np.inf)
    if k == 0:
        return dist_out, time_out
    graph = _csr(g)
    codes = g.src * g.n + g.dst
    batch = max(1, min(k, _BATCH_CELLS // max(g.n, 1)))
    for lo in range(0, k, batch):
        rows = cols[lo:lo + batch]
        dist, pred = dijkstra(graph, directed=True, indices=rows, return_predecessors=True)
        secs = _tree_times(g, codes, pred.astype(np.int64))
        dist_out[lo:lo + batch] = dist[:, cols]
        time_out[lo:lo + batch] = np.where(np.isfinite(dist[:, cols]), secs[:, cols], np.inf)
    return dist_out, time_out


def _tree_times(g: Graph, codes: Ints, pred: Ints) -> Floats:
    """Seconds from each tree's root to every node along the tree (``pred`` rows, -9999
    for the root and unreached nodes), by pointer jumping: log2(depth) vector steps."""
    b, n = pred.shape
    has = pred >= 0
    node = np.broadcast_to(np.arange(n, dtype=np.int64), (b, n))
    arc = np.searchsorted(codes, np.where(has, pred * n + node, 0))
    secs = np.where(has, g.time[np.minimum(arc, len(codes) - 1)] if len(codes) else 0.0, 0.0)
    offset = (np.arange(b, dtype=np.int64) * n)[:, None]
    up = (np.where(has, pred, node) + offset).ravel()
    secs = secs.ravel()
    while True:
        nxt = up[up]
        if np.array_equal(nxt, up):
            break
        secs = secs + secs[up]
        up = nxt
    return secs.reshape(b, n)
