"""Contraction of a road graph around the nodes that matter, keeping shortest paths.

:func:`contract` takes the directed arcs a robot may drive (:class:`Arcs`) and the nodes
whose mutual shortest paths are wanted, and returns a much smaller graph with the same
shortest distances among those nodes: first every corridor chain (nodes with exactly two
neighbours) becomes one arc per drivable direction, then cheap nodes are eliminated in
rounds of independent sets, each removal adding the shortcut arcs ``u -> w`` for its arcs
``u -> v -> w``. Of parallel arcs the shortest (then quickest) is kept, so an arc's time is
always the time along the path its length measures. Every arc remembers the arcs it
stands for, so :meth:`Contraction.expand` turns a path on the small graph back into the
original arcs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

_MAX_ROUNDS = 60  # elimination rounds at most
_STALL_FRACTION = 0.01  # a round removing fewer nodes than this share moves to the next limit
# Successive limits on the arcs an eliminated node may add beyond those it removes: cheap
# nodes go first; the costlier ones often become cheap once their neighbours are gone.
_GAIN_LIMITS = (0, 2, 4, 8, 16, 32, 48)


@dataclass(frozen=True)
class Arcs:
    """The directed arcs a robot may drive: arc ``i`` goes from node ``src[i]`` to
    ``dst[i]`` (indices into ``node_ids``), ``length[i]`` metres in ``time[i]`` seconds.
    A two-way edge gives two arcs, a one-way edge one, a closed or forbidden edge none."""

    node_ids: tuple[str, ...]
    src: Ints
    dst: Ints
    length: Floats
    time: Floats

    @property
    def n(self) -> int:
        """Number of nodes (including those no arc touches)."""
        return len(self.node_ids)


@dataclass(frozen=True)
class Graph:
    """A graph on nodes ``0..n-1``; after :func:`_simplify` (so in every
    :class:`Contraction`) its arcs are sorted by ``(src, dst)``, with no parallels and no
    loops."""

    n: int
    src: Ints
    dst: Ints
    length: Floats
    time: Floats


@dataclass(frozen=True)
class Step:
    """How one graph's arcs are made of the previous graph's: arc ``i`` stands for the
    previous arcs ``members[ptr[i]:ptr[i + 1]]``, driven in that order."""

    ptr: Ints
    members: Ints

    def expand(self, arcs: Ints) -> Ints:
        """The previous graph's arcs behind a sequence of this graph's arcs, in order."""
        lens = self.ptr[arcs + 1] - self.ptr[arcs]
        total = int(lens.sum())
        offsets = np.repeat(self.ptr[arcs] - (np.cumsum(lens) - lens), lens)
        return self.members[offsets + np.arange(total, dtype=np.int64)]


def _relabel(g: Graph, keep: Bools, src: Ints, dst: Ints, length: Floats,
             time: Floats) -> tuple[Graph, Ints]:
    """New graph on the nodes in ``keep`` (in order); also returns new -> old node."""
    old = np.flatnonzero(keep)
    new_of = np.full(g.n, -1, dtype=np.int64)
    new_of[old] = np.arange(len(old), dtype=np.int64)
    return Graph(len(old), new_of[src], new_of[dst], length, time), old


def _simplify(g: Graph) -> tuple[Graph, Step]:
    """Drop loops; of parallel arcs keep the shortest (then quickest); sort by (src, dst)."""
    idx = np.flatnonzero(g.src != g.dst)
    code = g.src[idx] * g.n + g.dst[idx]
    order = np.argsort(code, kind="stable")
    idx, code = idx[order], code[order]
    dup = np.zeros(len(idx), dtype=bool)
    dup[1:] = code[1:] == code[:-1]
    if dup.any():
        # Only the parallel groups need the (length, time) order: usually a small share.
        dup[:-1] |= dup[1:]
        par = idx[dup]
        par = par[np.lexsort((g.time[par], g.length[par], code[dup]))]
        pc = g.src[par] * g.n + g.dst[par]
        first = np.ones(len(par), dtype=bool)
        first[1:] = pc[1:] != pc[:-1]
        keep = np.concatenate([idx[~dup], par[first]])
        keep = keep[np.argsort(g.src[keep] * g.n + g.dst[keep], kind="stable")]
    else:
        keep = idx
    out = Graph(g.n, g.src[keep], g.dst[keep], g.length[keep], g.time[keep])
    return out, Step(np.arange(len(keep) + 1, dtype=np.int64), keep)


def _contract_chains(g: Graph, protected: Bools) -> tuple[Graph, Step, Ints]:
    """Replace every chain of unprotected nodes with exactly two neighbours by arcs
    between the chain's ends, one per direction that can be driven end to end."""
    n, s, d = g.n, g.src, g.dst
    pairs = np.unique(np.minimum(s, d) * n + np.maximum(s, d))
    pu, pv = pairs // n, pairs % n
    deg = np.bincount(pu, minlength=n) + np.bincount(pv, minlength=n)
    inner = (deg == 2) & ~protected
    ends, other = np.concatenate([pu, pv]), np.concatenate([pv, pu])
    sel = inner[ends]
    e, o = ends[sel], other[sel]
    order = np.argsort(e, kind="stable")
    e, o = e[order], o[order]
    nb0 = np.full(n, -1, dtype=np.int64)
    nb0[e[0::2]] = o[0::2]
    # The arc out of an inner node towards each of its two neighbours (-1: none, one-way).
    out0 = np.full(n, -1, dtype=np.int64)
    out1 = np.full(n, -1, dtype=np.int64)
    a = np.flatnonzero(inner[s])
    to0 = d[a] == nb0[s[a]]
    out0[s[a[to0]]] = a[to0]
    out1[s[a[~to0]]] = a[~to0]

    start = np.flatnonzero(~inner[s])
    cur = start.copy()
    length, time = g.length[start].copy(), g.time[start].copy()
    alive = np.ones(len(start), dtype=bool)
    chain_ids = [np.arange(len(start), dtype=np.int64)]
    chain_arcs = [start]
    active = np.flatnonzero(inner[d[cur]])
    # Each step moves every unfinished chain one arc on; a walk entering a chain can never
    # loop, because a cycle of inner nodes has no way in.
    while active.size:
        c = cur[active]
        y, x = d[c], s[c]
        nxt = np.where(x == nb0[y], out1[y], out0[y])
        ok = nxt >= 0
        alive[active[~ok]] = False  # a one-way chain driven the wrong way
        active, nxt = active[ok], nxt[ok]
        cur[active] = nxt
        length[active] += g.length[nxt]
        time[active] += g.time[nxt]
        chain_ids.append(active)
        chain_arcs.append(nxt)
        active = active[inner[d[nxt]]]

    cid, mem = np.concatenate(chain_ids), np.concatenate(chain_arcs)
    order = np.argsort(cid, kind="stable")  # chain by chain, steps in driving order
    cid, mem = cid[order], mem[order]
    live = alive[cid]
    cid, mem = cid[live], mem[live]
    kept = np.flatnonzero(alive)
    renum = np.full(len(start), -1, dtype=np.int64)
    renum[kept] = np.arange(len(kept), dtype=np.int64)
    counts = np.bincount(renum[cid], minlength=len(kept))
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    keep_nodes = ~inner & ((deg > 0) | protected)
    graph, old = _relabel(g, keep_nodes, s[start[kept]], d[cur[kept]], length[kept],
                          time[kept])
    return graph, Step(ptr, mem), old


def _eliminate(g: Graph, protected: Bools, rng: np.random.Generator, limit: int
               ) -> tuple[Graph, Step, Ints] | None:
    """Remove an independent set of unprotected nodes whose removal adds at most ``limit``
    more shortcut arcs than it deletes; ``None`` when there is none."""
    n, s, d = g.n, g.src, g.dst
    indeg = np.bincount(d, minlength=n)
    outdeg = np.bincount(s, minlength=n)
    codes = s * n + d  # sorted, since the graph is simplified
    rev = d * n + s
    pos = np.minimum(np.searchsorted(codes, rev), max(len(codes) - 1, 0))
    both = codes[pos] == rev if len(codes) else np.zeros(0, dtype=bool)
    two_way = np.bincount(s[both], minlength=n)
    shortcuts = indeg * outdeg - two_way
    gain = shortcuts - (indeg + outdeg)
    cand = ~protected & (gain <= limit)
    # Cheapest first, ties broken at random, and never two neighbours in one round.
    prio = gain * n + rng.permutation(n)
    m = cand[s] & cand[d]
    loser = np.where(prio[s[m]] > prio[d[m]], s[m], d[m])
    sel = cand.copy()
    sel[loser] = False
    if not sel.any():
        return None
    untouched = np.flatnonzero(~sel[s] & ~sel[d])
    ins = np.flatnonzero(sel[d])
    ins = ins[np.argsort(d[ins], kind="stable")]
    outs = np.flatnonzero(sel[s])  # already grouped by source
    out_cnt = np.bincount(s[outs], minlength=n)
    out_ptr = np.concatenate([[0], np.cumsum(out_cnt)]).astype(np.int64)
    v = d[ins]
    reps = out_cnt[v]
    in_rep = np.repeat(ins, reps)
    k = np.arange(len(in_rep), dtype=np.int64) - np.repeat(np.cumsum(reps) - reps, reps)
    out_rep = outs[np.repeat(out_ptr[v], reps) + k]
    ok = s[in_rep] != d[out_rep]
    in_rep, out_rep = in_rep[ok], out_rep[ok]
    src = np.concatenate([s[untouched], s[in_rep]])
    dst = np.concatenate([d[untouched], d[out_rep]])
    length = np.concatenate([g.length[untouched], g.length[in_rep] + g.length[out_rep]])
    time = np.concatenate([g.time[untouched], g.time[in_rep] + g.time[out_rep]])
    nu, ns = len(untouched), len(in_rep)
    ptr = np.concatenate([np.arange(nu, dtype=np.int64),
                          nu + 2 * np.arange(ns + 1, dtype=np.int64)])
    members = np.concatenate([untouched, np.stack([in_rep, out_rep], axis=1).ravel()])
    graph, old = _relabel(g, ~sel, src, dst, length, time)
    return graph, Step(ptr, members), old


def _work(g: Graph) -> int:
    """A proxy for the cost of one Dijkstra search on ``g``."""
    return len(g.src) + 4 * g.n


@dataclass(frozen=True)
class Contraction:
    """The contracted graph plus what is needed to turn its arcs back into node paths."""

    graph: Graph
    steps: list[Step]  # from the original arcs up to the final graph's
    original: Arcs
    node_of: Ints  # final graph node -> original node index

    def expand(self, arcs: Ints) -> Ints:
        """The original arcs (indices into ``original``) behind a sequence of arcs of
        ``graph``, in driving order."""
        for step in reversed(self.steps):
            arcs = step.expand(arcs)
        return arcs


def contract(arcs: Arcs, keep: Ints, *, seed: int = 0) -> Contraction:
    """Contract ``arcs`` around the original nodes ``keep``: they all survive, and the
    shortest distance between any two of them is the same in ``graph`` as in ``arcs``.
    ``seed`` only breaks ties in the elimination order (the distances never depend on it)."""
    protected = np.zeros(arcs.n, dtype=bool)
    protected[keep] = True
    node_of = np.arange(arcs.n, dtype=np.int64)
    g, step = _simplify(Graph(arcs.n, arcs.src, arcs.dst, arcs.length, arcs.time))
    steps = [step]
    rng = np.random.default_rng(seed)

    def advance(result: tuple[Graph, Step, Ints]) -> None:
        nonlocal g, node_of, protected
        graph, stp, old = result
        node_of, protected = node_of[old], protected[old]
        g, simple = _simplify(graph)
        steps.extend([stp, simple])

    advance(_contract_chains(g, protected))
    # Elimination can make the graph briefly denser; keep the cheapest state seen.
    best = (_work(g), g, node_of, len(steps))
    limits = iter(_GAIN_LIMITS)
    limit = next(limits)
    for _ in range(_MAX_ROUNDS):
        before = g.n
        result = _eliminate(g, protected, rng, limit)
        if result is not None:
            advance(result)
            if _work(g) < best[0]:
                best = (_work(g), g, node_of, len(steps))
        if result is None or before - g.n < _STALL_FRACTION * before:
            limit = next(limits, -1)
            if limit < 0:
                break
    _, g, node_of, n_steps = best
    del steps[n_steps:]
    log.debug("closure graph: %d nodes, %d arcs (from %d nodes, %d arcs)",
              g.n, len(g.src), arcs.n, len(arcs.src))
    return Contraction(g, steps, arcs, node_of)
