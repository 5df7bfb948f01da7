"""Consistency checks of a facility: every problem found, each with where and why.

:func:`check_parts` is the single place where the meaning of a map is checked; every file
format goes through it after its own syntax checks, so a broken GeoJSON file and a broken
YAML file get the same plain reasons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import networkx as nx
from shapely.validation import explain_validity

from fleet.errors import MapError, Problem
from fleet.facility.blocks import block_problems
from fleet.facility.model import LEVEL_LINKS, EdgeKind, NodeKind, ZoneKind
from fleet.facility.protection import (
    ExplosionGroup,
    SiteKind,
    site_group,
    site_label,
    site_problems,
)

if TYPE_CHECKING:
    from fleet.facility.model import Edge, Facility, Level, Node, Zone


def node_label(node_id: str) -> str:
    """How problems name a node."""
    return f"node {node_id}"


def edge_label(source: str, target: str) -> str:
    """How problems name an edge."""
    return f"edge {source}-{target}"


def zone_label(zone_id: str) -> str:
    """How problems name a zone."""
    return f"zone {zone_id}"


def level_label(level_id: str) -> str:
    """How problems name a level."""
    return f"level {level_id}"


def check_parts(
    *,
    levels: Sequence[Level],
    nodes: Sequence[Node],
    edges: Sequence[Edge],
    zones: Sequence[Zone],
    file: str | None = None,
    lines: Mapping[str, int] | None = None,
    levels_declared: bool = True,
    kind: SiteKind | None = None,
    firedamp: bool | None = None,
) -> list[Problem]:
    """Every consistency problem of a map's parts, in a stable order.

    ``lines`` maps element labels (:func:`node_label` and friends) to 1-based file lines
    (``"site"`` for the site's declaration). With ``levels_declared`` false, levels are
    implied by the nodes and only their use is checked. ``kind`` and ``firedamp`` are the
    site's declaration: its zones must suit its explosion group (:func:`group_problems`).
    """
    lines = lines or {}
    problems: list[Problem] = []

    def report(label: str | None, reason: str) -> None:
        problems.append(Problem(reason, file, lines.get(label) if label else None, label))

    for reason in site_problems(kind, firedamp):
        report("site", reason)
    _check_duplicates(levels, nodes, edges, zones, report)
    level_ids = {lv.id for lv in levels}
    node_by_id = {n.id: n for n in nodes}

    for n in nodes:
        if levels_declared and n.level not in level_ids:
            report(node_label(n.id), f"unknown level {n.level!r}")
        if n.capacity is not None and (isinstance(n.capacity, bool)
                                       or not isinstance(n.capacity, int) or n.capacity < 1):
            report(node_label(n.id), f"capacity must be a positive integer, got {n.capacity!r}")
    if levels_declared:
        used = {n.level for n in nodes}
        for lv in levels:
            if lv.id not in used:
                report(level_label(lv.id), "level without nodes")

    good_edges: list[Edge] = []
    for e in edges:
        label = edge_label(e.source, e.target)
        missing = [x for x in (e.source, e.target) if x not in node_by_id]
        if missing:
            report(label, "dangling edge: unknown node " + ", ".join(repr(m) for m in missing))
            continue
        if e.source == e.target:
            report(label, "edge joins a node to itself")
            continue
        if not e.length > 0:
            reason = "non-positive length"
            if not e.length_given:
                reason += " (the nodes coincide: give a length)"
            report(label, reason)
            continue
        if e.max_speed is not None and not e.max_speed > 0:
            report(label, "non-positive max_speed")
        a, b = node_by_id[e.source], node_by_id[e.target]
        if a.level != b.level and e.kind not in LEVEL_LINKS:
            report(
                label,
                f"joins levels {a.level!r} and {b.level!r} but is a {e.kind}; "
                "levels are joined by shaft, ramp or lift edges",
            )
        good_edges.append(e)

    for z in zones:
        _check_zone(z, level_ids if levels_declared else None, report)
    for zone_id, reason in group_problems(zones, kind, firedamp):
        report(zone_label(zone_id), reason)
    for node_id, reason in block_problems(nodes, good_edges):
        report(node_label(node_id), reason)

    if not any(n.kind in (NodeKind.CHARGER, NodeKind.DOCK) for n in nodes):
        report(None, "no charger: the map has no node of kind charger or dock")
    else:
        _check_reachability(nodes, good_edges, zones, report)
    return problems


def _check_duplicates(
    levels: Sequence[Level],
    nodes: Sequence[Node],
    edges: Sequence[Edge],
    zones: Sequence[Zone],
    report: Callable[[str | None, str], None],
) -> None:
    for kind, ids, label in (
        ("level", [lv.id for lv in levels], level_label),
        ("node", [n.id for n in nodes], node_label),
        ("zone", [z.id for z in zones], zone_label),
    ):
        for dup, count in Counter(ids).items():
            if count > 1:
                report(label(dup), f"duplicate {kind} id {dup!r} ({count} times)")
    pairs = Counter(frozenset((e.source, e.target)) for e in edges if e.source != e.target)
    for e in edges:
        pair = frozenset((e.source, e.target))
        if pairs.get(pair, 0) > 1:
            report(edge_label(e.source, e.target), "duplicate edge between the same two nodes")
            pairs[pair] = 0  # report each pair once


def _check_zone(
    z: Zone, level_ids: set[str] | None, report: Callable[[str | None, str], None]
) -> None:
    label = zone_label(z.id)
    if level_ids is not None and z.level not in level_ids:
        report(label, f"unknown level {z.level!r}")
    if not z.polygon.is_valid:
        report(label, f"invalid polygon: {explain_validity(z.polygon)}")
    elif z.polygon.area <= 0:
        report(label, "invalid polygon: zero area")
    if z.kind is ZoneKind.GAS_HAZARD and z.atex_zone not in (0, 1, 2):
        got = "none" if z.atex_zone is None else repr(z.atex_zone)
        report(label, f"gas_hazard zone needs atex_zone 0, 1 or 2, got {got}")
    if z.kind is ZoneKind.SPEED_LIMIT and not (z.max_speed is not None and z.max_speed > 0):
        report(label, "speed_limit zone needs a positive max_speed")
    if z.kind is ZoneKind.RESTRICTED and not z.capability:
        report(label, "restricted zone needs the capability robots must have")


def group_problems(
    zones: Sequence[Zone], kind: SiteKind | None, firedamp: bool | None
) -> list[tuple[str, str]]:
    """``(zone id, reason)`` for each zone that does not belong on a site of this kind:
    ATEX zones 0/1/2 on a group I site (it has none: the whole underground counts as
    potentially firedamp, IEC 60079-0), and Ma-only areas on any site that is not
    group I."""
    group = site_group(kind, firedamp)
    where = site_label(kind, firedamp)
    out: list[tuple[str, str]] = []
    for z in zones:
        if z.kind is ZoneKind.GAS_HAZARD and group is ExplosionGroup.I:
            out.append((z.id, f"ATEX zone {z.atex_zone} on {where}: group I has no zones "
                        "0/1/2; the whole underground counts as potentially firedamp, so "
                        "every robot must be rated Ma or Mb (IEC 60079-0), and an area where "
                        "only Ma may go is kind ma_only"))
        elif z.kind is ZoneKind.MA_ONLY and group is not ExplosionGroup.I:
            fix = ("declare the site's kind (coal-mine, or metal-mine/tunnel with "
                   "firedamp: true)" if kind is None
                   else "group II areas are gas_hazard zones 0/1/2 (IEC 60079-10-1)")
            out.append((z.id, f"Ma-only area on {where}: Ma-only areas belong to group I "
                        f"sites (mines susceptible to firedamp, IEC 60079-0); {fix}"))
    return out


def _check_reachability(
    nodes: Sequence[Node],
    edges: Sequence[Edge],
    zones: Sequence[Zone],
    report: Callable[[str | None, str], None],
) -> None:
    """Inspection points must be reachable from, and able to return to, some charger,
    over open edges that avoid no-go zones (protection levels are the planner's concern)."""
    from shapely import STRtree
    from shapely.geometry import LineString, Point

    by_id = {n.id: n for n in nodes}
    no_go = [z for z in zones if z.kind is ZoneKind.NO_GO and z.polygon.is_valid]
    tree = STRtree([z.polygon for z in no_go]) if no_go else None

    def blocked(geom: Point | LineString, level: str) -> bool:
        if tree is None:
            return False
        return any(no_go[i].level == level for i in tree.query(geom, predicate="intersects"))

    g = nx.DiGraph()
    g.add_nodes_from(by_id)
    for e in edges:
        if e.closed:
            continue
        a, b = by_id[e.source], by_id[e.target]
        if a.level == b.level and (a.x, a.y) != (b.x, b.y):
            if blocked(LineString([(a.x, a.y), (b.x, b.y)]), a.level):
                continue
        elif blocked(a.point, a.level) or blocked(b.point, b.level):
            continue
        g.add_edge(e.source, e.target)
        if not e.one_way:
            g.add_edge(e.target, e.source)

    chargers = [n.id for n in nodes if n.kind in (NodeKind.CHARGER, NodeKind.DOCK)]
    reach: set[str] = set()
    back: set[str] = set()
    rev = g.reverse(copy=False)
    for c in chargers:
        if c not in reach:
            reach |= nx.descendants(g, c) | {c}
        if c not in back:
            back |= nx.descendants(rev, c) | {c}
    for n in nodes:
        if n.kind is not NodeKind.INSPECTION:
            continue
        if blocked(n.point, n.level):
            report(node_label(n.id), "unreachable inspection point: inside a no-go zone")
        elif n.id not in reach:
            report(node_label(n.id), "unreachable inspection point: no open path from any charger")
        elif n.id not in back:
            report(node_label(n.id), "unreachable inspection point: no open path back to a charger")


def check_facility(fac: Facility, *, file: str | None = None) -> None:
    """Raise :class:`MapError` listing every problem of an assembled facility."""
    problems = check_parts(
        levels=list(fac.levels.values()),
        nodes=list(fac.nodes.values()),
        edges=list(fac.edges),
        zones=list(fac.zones),
        file=file,
        kind=fac.kind,
        firedamp=fac.firedamp,
    )
    if problems:
        raise MapError(problems)


__all__ = ["EdgeKind", "check_facility", "check_parts", "group_problems"]
