"""Synthetic mine-like facilities of any size, for benchmarks, tests and demos.

:func:`generate_mine` lays out a room-and-pillar style underground mine on one or more
levels: a main haulage road of three parallel entries joined by crosscuts, panels of two to
four entries with crosscuts branching off both sides, corridor chains with a waypoint every
10 to 20 m, a hoisted shaft and a single-lane ramp between levels, a few one-way panel
loops, single-lane drifts and closed crosscuts, gas areas at the far ends of some panels
(ATEX gas-hazard zones 0, 1 and 2; on a group I mine such as ``kind=coal-mine``, Ma-only
goaf edges instead), a no-go zone over a collapsed panel, a speed-limited workshop area, a
comms-dead panel, a restricted shaft landing, docks, chargers and refuge chambers.

The facility is built directly (no per-element checks, so 100,000 nodes take seconds) from
parts that are consistent by construction; it passes :func:`fleet.facility.validate.
check_facility`, which the tests run on small sizes. The same arguments always give the
same facility.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import Polygon, box

from fleet.facility.model import (
    Edge,
    EdgeKind,
    Facility,
    Level,
    Node,
    NodeKind,
    Zone,
    ZoneKind,
)
from fleet.facility.protection import ExplosionGroup, MaOnlyReason, SiteKind, site_group

LEVEL_SPACING_M = 60.0
"""Vertical distance between consecutive levels."""

_RAMP_GRADE = 8.0  # metres along the ramp per metre of drop (a 1:8 decline)
_ENTRY_GAP = 30.0  # distance between the three main entries
_PANEL_ENTRY_GAP = 25.0  # distance between the entries of a panel
_MIN_SPACING, _MAX_SPACING = 10.0, 20.0  # waypoint spacing along corridors


@dataclass
class _Edge:
    a: int
    b: int
    kind: EdgeKind = EdgeKind.CORRIDOR
    max_speed: float | None = None
    single_lane: bool = False
    one_way: bool = False
    closed: bool = False


@dataclass
class _Panel:
    level: int
    x0: float
    x1: float
    y_near: float
    y_far: float


@dataclass
class _Layout:
    """The mine as growing lists; ``mark``/``restore`` undo a part that did not fit."""

    rng: np.random.Generator
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)
    zs: list[float] = field(default_factory=list)
    level: list[int] = field(default_factory=list)
    kind: list[NodeKind] = field(default_factory=list)
    jitter: list[float] = field(default_factory=list)
    edges: list[_Edge] = field(default_factory=list)
    panels: list[_Panel] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.xs)

    def mark(self) -> tuple[int, int, int]:
        return (len(self.xs), len(self.edges), len(self.panels))

    def restore(self, mark: tuple[int, int, int]) -> None:
        n, e, p = mark
        for lst in (self.xs, self.ys, self.zs, self.level, self.kind, self.jitter):
            del lst[n:]
        del self.edges[e:]
        del self.panels[p:]

    def node(self, x: float, y: float, z: float, level: int,
             kind: NodeKind = NodeKind.WAYPOINT, *, jitter: float = 0.0) -> int:
        self.jitter.append(jitter)  # applied to all nodes at once in _assemble
        self.xs.append(x)
        self.ys.append(y)
        self.zs.append(z)
        self.level.append(level)
        self.kind.append(kind)
        return len(self.xs) - 1

    def corridor(self, a: int, b: int, *, inner: int | None = None, level: int | None = None,
                 kind: EdgeKind = EdgeKind.CORRIDOR, max_speed: float | None = None,
                 single_lane: bool = False, one_way: bool = False,
                 closed: bool = False) -> list[int]:
        """Join nodes ``a`` and ``b`` by a chain of waypoints 10 to 20 m apart (or of
        exactly ``inner`` waypoints) on ``level`` (default: ``a``'s); returns the chain's
        nodes from ``a`` to ``b``."""
        ax, ay, az = self.xs[a], self.ys[a], self.zs[a]
        bx, by, bz = self.xs[b], self.ys[b], self.zs[b]
        length = math.dist((ax, ay), (bx, by))
        if inner is None:
            step = float(self.rng.uniform(_MIN_SPACING, _MAX_SPACING))
            inner = max(0, math.ceil(length / step) - 1)
        lvl = self.level[a] if level is None else level
        chain = [a]
        for i in range(1, inner + 1):
            t = i / (inner + 1)
            chain.append(self.node(ax + t * (bx - ax), ay + t * (by - ay),
                                   az + t * (bz - az), lvl, jitter=0.3))
        chain.append(b)
        for u, v in itertools.pairwise(chain):
            self.edges.append(_Edge(u, v, kind, max_speed, single_lane, one_way, closed))
        return chain


@dataclass
class _Level:
    index: int
    z: float
    x_end: float
    ends: list[int]  # the current last junction of each main entry
    y0: float


def generate_mine(
    *,
    nodes: int,
    inspection_points: int,
    seed: int = 0,
    levels: int = 2,
    chargers: int | None = None,
    docks: int = 4,
    name: str | None = None,
    kind: SiteKind | None = None,
) -> Facility:
    """A mine-like facility of exactly ``nodes`` nodes.

    ``inspection_points`` waypoints become inspection points, chosen among nodes that can
    be reached from the first dock and left again over open corridors outside no-go zones
    (some may lie in ATEX zones, so a robot without a protection level cannot reach them
    all). ``chargers`` (default: two per level) are spread over the levels; ``docks`` sit on
    the first level near the shaft. Levels are ``L1``, ``L2``, ... from the top, 60 m apart.
    ``kind`` is the site's declared kind (default none: zones 0/1/2 as in earlier
    versions); a group I kind (``coal-mine``) gets Ma-only goaf edges where others get
    ATEX zones, and the same layout otherwise (same nodes, edges and points).

    Raises ``ValueError`` when ``nodes`` is too small for the requested structure or there
    are fewer reachable waypoints than ``inspection_points``.
    """
    if levels < 1:
        raise ValueError("levels must be at least 1")
    if inspection_points < 0 or docks < 1:
        raise ValueError("need inspection_points >= 0 and docks >= 1")
    n_chargers = 2 * levels if chargers is None else chargers
    if n_chargers < 0:
        raise ValueError("chargers must be >= 0")
    rng = np.random.default_rng(seed)
    lay = _Layout(rng)

    # Skeleton: each level's main entries start at x = 0; a shaft joins the landings.
    lvls: list[_Level] = []
    landings: list[int] = []
    for li in range(levels):
        z = -LEVEL_SPACING_M * li
        y0 = float(rng.uniform(-5, 5))
        starts = [lay.node(0.0, y0 + j * _ENTRY_GAP, z, li, jitter=1.0) for j in range(3)]
        for j in range(2):
            lay.corridor(starts[j], starts[j + 1])
        landing = lay.node(-25.0, y0 + _ENTRY_GAP, z, li, NodeKind.LANDING)
        lay.corridor(landing, starts[1])
        if landings:
            lay.edges.append(_Edge(landings[-1], landing, EdgeKind.SHAFT, max_speed=0.5))
        landings.append(landing)
        lvls.append(_Level(li, z, 0.0, starts, y0))
    # A single-lane spiral-free ramp: out west of the shaft, then back down to the level.
    ramp = EdgeKind.RAMP
    for upper, lower in itertools.pairwise(lvls):
        run = LEVEL_SPACING_M * _RAMP_GRADE / 2
        mid_up = lay.node(-40.0 - run, upper.y0 - 20.0, upper.z - LEVEL_SPACING_M / 2,
                          upper.index, NodeKind.WAYPOINT)
        lay.corridor(upper.ends[0], mid_up, kind=ramp, single_lane=True, max_speed=0.8)
        mid_down = lay.node(-40.0 - run, upper.y0 - 26.0, upper.z - LEVEL_SPACING_M / 2 - 0.5,
                            lower.index, NodeKind.WAYPOINT)
        lay.edges.append(_Edge(mid_up, mid_down, ramp, max_speed=0.8, single_lane=True))
        lay.corridor(mid_down, lower.ends[0], level=lower.index, kind=ramp, single_lane=True,
                     max_speed=0.8)

    # Docks and chargers hang off the mains in short cuddies, refuges likewise.
    spurs: list[tuple[int, NodeKind]] = [(0, NodeKind.DOCK)] * docks
    spurs += [(i % levels, NodeKind.CHARGER) for i in range(n_chargers)]
    spurs += [(li, NodeKind.REFUGE) for li in range(levels)]
    reserve = len(spurs)
    if lay.count + reserve > nodes:
        raise ValueError(
            f"nodes={nodes} is too few for {levels} level(s): the shafts, ramps, docks and "
            f"chargers alone need {lay.count + reserve}")

    # Segments of main with a panel on each side, level by level, while they fit.
    for i, lv in enumerate(lvls):
        budget = lay.count + (nodes - lay.count - reserve) // (levels - i)
        if i == levels - 1:
            budget = nodes - reserve
        while _add_segment(lay, lv, budget, panels=True):
            pass
        while _add_segment(lay, lv, budget, panels=False):
            pass
    junctions = _junctions(lay, lvls)
    for li, spur_kind in spurs:
        candidates = junctions[li]
        anchor = candidates[int(rng.integers(0, min(len(candidates), 12)))] \
            if spur_kind is NodeKind.DOCK else candidates[int(rng.integers(0, len(candidates)))]
        x, y = lay.xs[anchor], lay.ys[anchor]
        south = y - lvls[li].y0 < 1.0  # off the southern entry: dig south, else north
        spur = lay.node(x + float(rng.uniform(-6, 6)), y - 9.0 if south else y + 9.0,
                        lay.zs[anchor], li, spur_kind)
        lay.edges.append(_Edge(anchor, spur))
    # The rest of the budget: a development drift driven ahead of the last level's mains.
    last = lvls[-1]
    remaining = nodes - lay.count
    if remaining > 0:
        far = lay.node(last.x_end + 15.0 * remaining, last.y0 + _ENTRY_GAP, last.z,
                       last.index, NodeKind.WAYPOINT)
        lay.corridor(last.ends[1], far, inner=remaining - 1)
    assert lay.count == nodes, (lay.count, nodes)

    group_one = site_group(kind) is ExplosionGroup.I
    zones = _zones(lay, lvls, landings, rng, group_one=group_one)
    return _assemble(lay, zones, inspection_points, levels, name or f"mine-{nodes}-s{seed}",
                     kind)


def _add_segment(lay: _Layout, lv: _Level, budget: int, *, panels: bool) -> bool:
    """Extend the level's mains by one segment (with panels or not); False if it did not
    fit within ``budget`` nodes (then nothing is added)."""
    rng = lay.rng
    mark = lay.mark()
    saved = (lv.x_end, list(lv.ends))
    length = float(rng.uniform(160.0, 240.0))
    x1 = lv.x_end + length
    # Panel entry positions on the outer entries (south of entry 0, north of entry 2).
    stations: dict[int, list[float]] = {0: [], 2: []}
    specs: list[tuple[int, list[float]]] = []
    if panels:
        for side in (0, 2):
            n_entries = int(rng.integers(2, 5))
            x0 = lv.x_end + float(rng.uniform(30.0, length - 30.0 - 25.0 * (n_entries - 1)))
            xs = [x0 + _PANEL_ENTRY_GAP * k for k in range(n_entries)]
            stations[side] = xs
            specs.append((side, xs))
    ends = list(lv.ends)
    station_nodes: dict[tuple[int, float], int] = {}
    new_ends = []
    for j in range(3):
        y = lv.y0 + j * _ENTRY_GAP
        prev = ends[j]
        for sx in stations.get(j, []):
            nid = lay.node(sx, y, lv.z, lv.index, jitter=0.5)
            lay.corridor(prev, nid)
            station_nodes[(j, sx)] = nid
            prev = nid
        end = lay.node(x1, y, lv.z, lv.index, jitter=1.0)
        lay.corridor(prev, end)
        new_ends.append(end)
    lay.corridor(new_ends[0], new_ends[1])
    lay.corridor(new_ends[1], new_ends[2])
    for side, xs in specs:
        _add_panel(lay, lv, side, [station_nodes[(side, sx)] for sx in xs])
    if lay.count > budget:
        lay.restore(mark)
        lv.x_end, lv.ends = saved
        return False
    lv.x_end, lv.ends = x1, new_ends
    return True


def _add_panel(lay: _Layout, lv: _Level, side: int, roots: list[int]) -> None:
    """Entries running away from the mains from ``roots``, crosscuts between them."""
    rng = lay.rng
    sign = -1.0 if side == 0 else 1.0
    y_near = lv.y0 + side * _ENTRY_GAP
    depth = float(rng.uniform(150.0, 450.0))
    gap = float(rng.uniform(40.0, 60.0))
    cross_at = [y_near + sign * gap * k for k in range(1, int(depth // gap) + 1)]
    one_way_loop = len(roots) >= 2 and rng.random() < 0.15
    single_lane = rng.random() < 0.2
    max_speed = 0.7 if rng.random() < 0.2 else None
    rows: list[list[int]] = []
    for k, root in enumerate(roots):
        x = lay.xs[root]
        one_way = one_way_loop and k in (0, len(roots) - 1)
        row = []
        prev = root
        for y in cross_at:
            nid = lay.node(x, y, lv.z, lv.index, jitter=0.5)
            # One-way loop: in along the first entry, out along the last.
            a, b = (nid, prev) if one_way and k else (prev, nid)
            lay.corridor(a, b, single_lane=single_lane, max_speed=max_speed, one_way=one_way)
            row.append(nid)
            prev = nid
        if not one_way and rng.random() < 0.5:
            face = lay.node(x, cross_at[-1] + sign * float(rng.uniform(20.0, 60.0)), lv.z,
                            lv.index, jitter=0.5)
            lay.corridor(prev, face, single_lane=True)
        rows.append(row)
    for k in range(len(roots) - 1):
        for i, (a, b) in enumerate(zip(rows[k], rows[k + 1], strict=True)):
            # Never close the last crosscut of a one-way loop: it is the way round.
            closed = rng.random() < 0.03 and not (one_way_loop and i == len(rows[k]) - 1)
            lay.corridor(a, b, closed=closed)
    x0 = min(lay.xs[r] for r in roots) - 12.0
    x1 = max(lay.xs[r] for r in roots) + 12.0
    y_far = (cross_at[-1] if cross_at else y_near) + sign * 70.0
    lay.panels.append(_Panel(lv.index, x0, x1, y_near, y_far))


def _junctions(lay: _Layout, lvls: list[_Level]) -> dict[int, list[int]]:
    """Per level, junctions on the main entries (degree >= 3), nearest the shaft first."""
    ends = np.fromiter((i for e in lay.edges for i in (e.a, e.b)), dtype=np.int64)
    deg = np.bincount(ends, minlength=lay.count)
    xs, ys = np.asarray(lay.xs), np.asarray(lay.ys)
    level = np.asarray(lay.level)
    waypoint = np.fromiter((k is NodeKind.WAYPOINT for k in lay.kind), dtype=bool,
                           count=lay.count)
    out: dict[int, list[int]] = {}
    for lv in lvls:
        on_mains = (ys >= lv.y0 - 2.0) & (ys <= lv.y0 + 2 * _ENTRY_GAP + 2.0) & (xs >= 0.0)
        found = np.flatnonzero((level == lv.index) & on_mains & waypoint & (deg >= 3))
        out[lv.index] = found[np.argsort(xs[found], kind="stable")].tolist()
    return out


def _zones(lay: _Layout, lvls: list[_Level], landings: list[int],
           rng: np.random.Generator, *, group_one: bool) -> list[Zone]:
    zones: list[Zone] = []
    lid = [f"L{lv.index + 1}" for lv in lvls]
    panels = list(lay.panels)
    order = [int(i) for i in rng.permutation(len(panels))]

    def far_part(p: _Panel, start: float, pad: float = 0.0) -> Polygon:
        y_a = p.y_near + start * (p.y_far - p.y_near)
        return box(p.x0 - pad, min(y_a, p.y_far) - pad, p.x1 + pad, max(y_a, p.y_far) + pad)

    n_gas = min(20, max(1, len(panels) // 10)) if panels else 0
    for k, i in enumerate(order[:n_gas]):
        p = panels[i]
        if group_one:  # group I has no zones: the panel's far end is a goaf edge
            zones.append(Zone(f"goaf{k + 1}-edge", ZoneKind.MA_ONLY, lid[p.level],
                              far_part(p, 0.6), gas="ch4", reason=MaOnlyReason.GOAF_EDGE))
            continue
        zones.append(Zone(f"gas{k + 1}-z2", ZoneKind.GAS_HAZARD, lid[p.level],
                          far_part(p, 0.3, 8.0), atex_zone=2, gas="ch4"))
        zones.append(Zone(f"gas{k + 1}-z1", ZoneKind.GAS_HAZARD, lid[p.level],
                          far_part(p, 0.6), atex_zone=1, gas="ch4"))
    if panels and not group_one:
        p = panels[order[0]]
        zones.append(Zone("gas1-z0", ZoneKind.GAS_HAZARD, lid[p.level],
                          far_part(p, 0.9), atex_zone=0, gas="ch4"))
    if len(order) > n_gas:
        p = panels[order[n_gas]]
        zones.append(Zone("collapse", ZoneKind.NO_GO, lid[p.level], far_part(p, 0.5),
                          name="collapsed ground"))
    if len(order) > n_gas + 1:
        p = panels[order[n_gas + 1]]
        zones.append(Zone("no-5g", ZoneKind.COMMS_DEAD, lid[p.level], far_part(p, 0.2)))
    y0 = lvls[0].y0
    zones.append(Zone("workshop", ZoneKind.SPEED_LIMIT, lid[0],
                      box(-35.0, y0 - 20.0, 90.0, y0 + 2 * _ENTRY_GAP + 20.0), max_speed=0.5,
                      name="workshop and docks"))
    for li, landing in enumerate(landings[1:], start=1):
        x, y = lay.xs[landing], lay.ys[landing]
        zones.append(Zone(f"{lid[li]}-landing", ZoneKind.RESTRICTED, lid[li],
                          box(x - 4.0, y - 4.0, x + 4.0, y + 4.0), capability="hoist",
                          name="shaft landing: hoist-rated robots only"))
    return zones


def _assemble(lay: _Layout, zones: list[Zone], n_points: int, n_levels: int,
              name: str, kind: SiteKind | None) -> Facility:
    n = lay.count
    amp = np.asarray(lay.jitter)
    xs = np.round(np.asarray(lay.xs) + amp * lay.rng.uniform(-1.0, 1.0, n), 2)
    ys = np.round(np.asarray(lay.ys) + amp * lay.rng.uniform(-1.0, 1.0, n), 2)
    zs = np.round(np.asarray(lay.zs), 2)
    lv = np.asarray(lay.level, dtype=np.int64)
    a = np.fromiter((e.a for e in lay.edges), dtype=np.int64, count=len(lay.edges))
    b = np.fromiter((e.b for e in lay.edges), dtype=np.int64, count=len(lay.edges))
    length = np.sqrt((xs[a] - xs[b]) ** 2 + (ys[a] - ys[b]) ** 2 + (zs[a] - zs[b]) ** 2)
    length = np.maximum(np.round(length, 3), 0.1)

    # Inspection points: waypoints a robot can reach from the first dock and leave again
    # over open corridors that avoid no-go zones (what validation demands).
    open_ = ~np.fromiter((e.closed for e in lay.edges), dtype=bool, count=len(lay.edges))
    lid = [f"L{i + 1}" for i in range(n_levels)]
    for z in zones:
        if z.kind is not ZoneKind.NO_GO:
            continue
        li = lid.index(z.level)
        on = (lv[a] == li) | (lv[b] == li)
        segs = shapely.linestrings(np.stack([np.stack([xs[a], ys[a]], 1),
                                             np.stack([xs[b], ys[b]], 1)], 1))
        open_ &= ~(on & shapely.intersects(segs, z.polygon))
    one_way = np.fromiter((e.one_way for e in lay.edges), dtype=bool, count=len(lay.edges))
    sa, sb = a[open_], b[open_]
    two = ~one_way[open_]
    rows = np.concatenate([sa, sb[two]])
    cols = np.concatenate([sb, sa[two]])
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, label = connected_components(graph, directed=True, connection="strong")
    kinds = lay.kind
    dock = next(i for i in range(n) if kinds[i] is NodeKind.DOCK)
    candidates = np.flatnonzero((label == label[dock]) & np.fromiter(
        (k is NodeKind.WAYPOINT for k in kinds), dtype=bool, count=n))
    if len(candidates) < n_points:
        raise ValueError(f"only {len(candidates)} reachable waypoints for "
                         f"{n_points} inspection points: ask for more nodes")
    chosen = np.sort(lay.rng.choice(candidates, size=n_points, replace=False))
    for i in chosen:
        kinds[int(i)] = NodeKind.INSPECTION

    prefix = {NodeKind.WAYPOINT: "w", NodeKind.INSPECTION: "ip", NodeKind.CHARGER: "chg",
              NodeKind.DOCK: "dock", NodeKind.REFUGE: "refuge", NodeKind.LANDING: "shaft-"}
    counters = dict.fromkeys(prefix, 0)
    ids: list[str] = []
    for i in range(n):
        k = kinds[i]
        counters[k] += 1
        ids.append(f"{lid[lay.level[i]]}-shaft" if k is NodeKind.LANDING
                   else f"{prefix[k]}{counters[k] if k is not NodeKind.WAYPOINT else i}")
    node_map = {
        nid: Node(nid, x, y, z, lid[li], k)
        for nid, x, y, z, li, k in zip(ids, xs.tolist(), ys.tolist(), zs.tolist(), lay.level,
                                       kinds, strict=True)
    }
    edges = tuple(
        Edge(ids[e.a], ids[e.b], ln, e.kind, e.max_speed, e.single_lane, e.one_way, e.closed)
        for e, ln in zip(lay.edges, length.tolist(), strict=True)
    )
    levels = {lid[i]: Level(lid[i], f"Level {i + 1}", -LEVEL_SPACING_M * i)
              for i in range(n_levels)}
    return Facility(name=name, levels=levels, nodes=node_map, edges=edges, zones=tuple(zones),
                    description="synthetic mine from fleet.facility.generate",
                    meta={"generator": "generate_mine"}, kind=kind)
