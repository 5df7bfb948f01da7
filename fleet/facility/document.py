"""The map document: our file format as plain data, and its two-way mapping to a Facility.

Every format goes through here: YAML is this document verbatim; GeoJSON, patrolling_sim
and SubT importers build the same document and call :func:`facility_from_document`, so all
of them share one set of field checks and one set of consistency checks
(:mod:`fleet.facility.validate`). The format is documented field by field in
``maps/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from shapely.geometry import Polygon

from fleet.errors import MapError, Problem
from fleet.facility.fields import FieldReader, items
from fleet.facility.model import (
    Edge,
    EdgeKind,
    Facility,
    Level,
    Node,
    NodeKind,
    Zone,
    ZoneKind,
    geometric_length,
)
from fleet.facility.protection import MaOnlyReason, SiteKind
from fleet.facility.validate import check_parts, edge_label, level_label, node_label, zone_label

FORMAT = "inspection-fleet-map/1"
"""Value of the optional top-level ``format`` key."""

DEFAULT_LEVEL = "0"
"""Level id given to nodes when a map declares no levels."""

_TOP = {"format", "site", "levels", "nodes", "edges", "zones"}
_SITE = {"name", "description", "kind", "firedamp", "meta"}
_LEVEL = {"id", "name", "z"}
_NODE = {"id", "x", "y", "z", "level", "kind", "tags", "name", "capacity"}
_EDGE = {"from", "to", "length", "kind", "max_speed", "single_lane", "one_way", "closed", "cost"}
_ZONE = {"id", "kind", "level", "polygon", "atex_zone", "gas", "max_speed", "capability", "name",
         "reason"}


def facility_from_document(doc: object, *, file: str | None = None) -> Facility:
    """Build a facility from a map document (parsed YAML or an importer's output).

    Raises :class:`MapError` listing every problem, with lines when the document came from
    the YAML loader. Never raises anything else for any input.
    """
    problems: list[Problem] = []
    r = FieldReader(file, problems)
    top = r.mapping(doc, "map")
    if top is None:
        raise MapError(problems)
    r.known(top, "map", _TOP)
    if top.get("format") not in (None, FORMAT):
        r.fail(f"unsupported format {top.get('format')!r} (expected {FORMAT!r})")

    name, description, meta = "unnamed site", None, {}
    kind: SiteKind | None = None
    firedamp: bool | None = None
    lines: dict[str, int] = {}
    site = top.get("site")
    if site is not None:
        rs = r.at("site", site)
        s = rs.mapping(site, "site")
        if s is not None:
            if rs.line:
                lines["site"] = rs.line
            rs.known(s, "site", _SITE)
            name = rs.text(s, "name") or name
            description = rs.text(s, "description")
            raw_meta = s.get("meta")
            if isinstance(raw_meta, Mapping):
                meta = dict(raw_meta)
            elif raw_meta is not None:
                rs.fail("meta must be a mapping")
            kind = rs.option(s, "kind", SiteKind)
            if kind is None and "kind" not in s:
                kind = _legacy_kind(meta)
            firedamp = rs.declared(s, "firedamp")

    levels = _read_levels(r, top, lines)
    level_z = {lv.id: lv.z for lv in levels}
    levels_declared = bool(levels)
    default_level = levels[0].id if len(levels) == 1 else (None if levels else DEFAULT_LEVEL)

    nodes = _read_nodes(r, top, lines, level_z, default_level)
    by_id = {n.id: n for n in nodes}
    edges = _read_edges(r, top, lines, by_id)
    zones = _read_zones(r, top, lines, default_level)

    if not levels_declared:
        seen: dict[str, None] = {}
        for n in nodes:
            seen.setdefault(n.level)
        levels = [Level(lv) for lv in seen] or [Level(DEFAULT_LEVEL)]
    problems += check_parts(
        levels=levels,
        nodes=nodes,
        edges=edges,
        zones=zones,
        file=file,
        lines=lines,
        levels_declared=levels_declared,
        kind=kind,
        firedamp=firedamp,
    )
    if not nodes:
        problems.append(Problem("map has no nodes", file, None, None))
    if problems:
        raise MapError(sorted(problems, key=lambda p: (p.line is None, p.line or 0)))
    return Facility(
        name=name,
        levels={lv.id: lv for lv in levels},
        nodes=by_id,
        edges=tuple(edges),
        zones=tuple(zones),
        description=description,
        meta=meta,
        kind=kind,
        firedamp=firedamp,
    )


def _legacy_kind(meta: Mapping[str, Any]) -> SiteKind | None:
    """The kind maps written before ``site.kind`` existed gave as ``site.meta.kind``, when
    it names a known kind (otherwise it stays free metadata): so that such a coal mine is
    held to group I rather than silently to no group."""
    value = meta.get("kind")
    try:
        return SiteKind(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _read_levels(r: FieldReader, top: Mapping[str, Any], lines: dict[str, int]) -> list[Level]:
    levels: list[Level] = []
    seen: dict[str, int | None] = {}
    for i, raw in enumerate(items(r, top, "levels")):
        rr = r.at(f"levels[{i}]", raw)
        m = rr.mapping(raw, "level")
        if m is None:
            continue
        lid = rr.ident(m, "id", "level")
        if lid is None:
            continue
        rr = r.at(level_label(lid), raw)
        rr.known(m, "level", _LEVEL)
        if level_label(lid) in seen:
            rr.fail(f"duplicate level id {lid!r} (first on line {seen[level_label(lid)]})")
            continue
        seen[level_label(lid)] = rr.line
        if rr.line:
            lines.setdefault(level_label(lid), rr.line)
        levels.append(Level(lid, rr.text(m, "name"), rr.number(m, "z") or 0.0))
    return levels


def _read_nodes(
    r: FieldReader,
    top: Mapping[str, Any],
    lines: dict[str, int],
    level_z: Mapping[str, float],
    default_level: str | None,
) -> list[Node]:
    nodes: list[Node] = []
    seen: dict[str, int | None] = {}
    for i, raw in enumerate(items(r, top, "nodes")):
        rr = r.at(f"nodes[{i}]", raw)
        m = rr.mapping(raw, "node")
        if m is None:
            continue
        nid = rr.ident(m, "id", "node")
        if nid is None:
            continue
        rr = r.at(node_label(nid), raw)
        rr.known(m, "node", _NODE)
        if node_label(nid) in seen:
            rr.fail(f"duplicate node id {nid!r} (first on line {seen[node_label(nid)]})")
            continue
        seen[node_label(nid)] = rr.line
        if rr.line:
            lines.setdefault(node_label(nid), rr.line)
        x, y = rr.number(m, "x", required=True), rr.number(m, "y", required=True)
        level = rr.ident(m, "level", "node") if "level" in m else default_level
        if level is None:
            if "level" not in m:
                rr.fail("node without level (the map has several levels)")
            continue
        z = rr.number(m, "z")
        # a bad kind is reported; reading on as a waypoint lets the other checks report too
        kind = rr.choice(m, "kind", NodeKind, NodeKind.WAYPOINT) or NodeKind.WAYPOINT
        tags = m.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            rr.fail("tags must be a list of strings")
            tags = []
        if x is None or y is None:
            continue
        nodes.append(
            Node(
                nid,
                x,
                y,
                z if z is not None else level_z.get(level, 0.0),
                level,
                kind,
                frozenset(tags),
                rr.text(m, "name"),
                rr.count(m, "capacity"),
            )
        )
    return nodes


def _read_edges(
    r: FieldReader, top: Mapping[str, Any], lines: dict[str, int], by_id: Mapping[str, Node]
) -> list[Edge]:
    edges: list[Edge] = []
    for i, raw in enumerate(items(r, top, "edges")):
        rr = r.at(f"edges[{i}]", raw)
        m = rr.mapping(raw, "edge")
        if m is None:
            continue
        a, b = rr.ident(m, "from", "edge"), rr.ident(m, "to", "edge")
        if a is None or b is None:
            continue
        label = edge_label(a, b)
        rr = r.at(label, raw)
        rr.known(m, "edge", _EDGE)
        if rr.line:
            lines.setdefault(label, rr.line)
        given = rr.number(m, "length")
        kind = rr.choice(m, "kind", EdgeKind, EdgeKind.CORRIDOR)
        if kind is None:
            continue
        if given is not None:
            length = given
        elif a in by_id and b in by_id:
            length = geometric_length(by_id[a], by_id[b])
        else:
            length = math.nan  # dangling: reported by check_parts
        edges.append(
            Edge(
                a,
                b,
                length if not math.isnan(length) else 1.0,
                kind,
                rr.number(m, "max_speed"),
                rr.flag(m, "single_lane"),
                rr.flag(m, "one_way"),
                rr.flag(m, "closed"),
                rr.number(m, "cost"),
                given is not None,
            )
        )
    return edges


def _read_zones(
    r: FieldReader, top: Mapping[str, Any], lines: dict[str, int], default_level: str | None
) -> list[Zone]:
    zones: list[Zone] = []
    seen: dict[str, int | None] = {}
    for i, raw in enumerate(items(r, top, "zones")):
        rr = r.at(f"zones[{i}]", raw)
        m = rr.mapping(raw, "zone")
        if m is None:
            continue
        zid = rr.ident(m, "id", "zone")
        if zid is None:
            continue
        rr = r.at(zone_label(zid), raw)
        rr.known(m, "zone", _ZONE)
        if zone_label(zid) in seen:
            rr.fail(f"duplicate zone id {zid!r} (first on line {seen[zone_label(zid)]})")
            continue
        seen[zone_label(zid)] = rr.line
        if rr.line:
            lines.setdefault(zone_label(zid), rr.line)
        kind = rr.choice(m, "kind", ZoneKind, None)
        level = rr.ident(m, "level", "zone") if "level" in m else default_level
        if level is None and "level" not in m:
            rr.fail("zone without level (the map has several levels)")
        polygon = _read_polygon(rr, m.get("polygon"))
        atex = m.get("atex_zone")
        if atex is not None and (isinstance(atex, bool) or not isinstance(atex, int)):
            rr.fail(f"atex_zone must be 0, 1 or 2, got {atex!r}")
            atex = None
        if kind is None or level is None or polygon is None:
            continue
        zones.append(
            Zone(
                zid,
                kind,
                level,
                polygon,
                atex_zone=atex,
                gas=rr.text(m, "gas"),
                max_speed=rr.number(m, "max_speed"),
                capability=rr.text(m, "capability"),
                name=rr.text(m, "name"),
                reason=rr.option(m, "reason", MaOnlyReason),
            )
        )
    return zones


def _read_polygon(rr: FieldReader, raw: object) -> Polygon | None:
    if not isinstance(raw, list):
        rr.fail("polygon must be a list of [x, y] points")
        return None
    points: list[tuple[float, float]] = []
    for p in raw:
        if (
            not isinstance(p, list | tuple)
            or len(p) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
            or not all(math.isfinite(c) for c in p)
        ):
            rr.fail(f"polygon point {p!r} is not a pair of finite numbers [x, y]")
            return None
        points.append((float(p[0]), float(p[1])))
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    if len(points) < 3:
        rr.fail(f"invalid polygon: needs at least 3 points, got {len(points)}")
        return None
    return Polygon(points)


def _num(value: float) -> float | int:
    """Write whole numbers without a trailing .0, so files stay readable."""
    return int(value) if float(value).is_integer() and abs(value) < 1e15 else round(value, 6)


def facility_to_document(fac: Facility) -> dict[str, Any]:
    """The map document of a facility: what :func:`facility_from_document` reads back into
    an equal facility. Optional fields are written only when set."""
    site: dict[str, Any] = {"name": fac.name}
    if fac.description:
        site["description"] = fac.description
    if fac.kind is not None:
        site["kind"] = fac.kind.value
    if fac.firedamp is not None:
        site["firedamp"] = fac.firedamp
    if fac.meta:
        site["meta"] = dict(fac.meta)
    doc: dict[str, Any] = {"format": FORMAT, "site": site}
    levels: list[dict[str, Any]] = []
    for lv in fac.levels.values():
        d: dict[str, Any] = {"id": lv.id}
        if lv.name:
            d["name"] = lv.name
        d["z"] = _num(lv.z)
        levels.append(d)
    doc["levels"] = levels
    nodes: list[dict[str, Any]] = []
    for n in fac.nodes.values():
        d = {"id": n.id, "x": _num(n.x), "y": _num(n.y), "z": _num(n.z), "level": n.level}
        d["kind"] = n.kind.value
        if n.tags:
            d["tags"] = sorted(n.tags)
        if n.name:
            d["name"] = n.name
        if n.capacity is not None:
            d["capacity"] = n.capacity
        nodes.append(d)
    doc["nodes"] = nodes
    doc["edges"] = [edge_to_document(e) for e in fac.edges]
    doc["zones"] = [zone_to_document(z) for z in fac.zones]
    return doc


def edge_to_document(e: Edge) -> dict[str, Any]:
    """One edge as the map document writes it (``length`` only when it was given)."""
    d: dict[str, Any] = {"from": e.source, "to": e.target}
    if e.length_given:
        d["length"] = _num(e.length)
    if e.kind is not EdgeKind.CORRIDOR:
        d["kind"] = e.kind.value
    optional: list[tuple[str, object]] = [
        ("max_speed", e.max_speed),
        ("single_lane", e.single_lane or None),
        ("one_way", e.one_way or None),
        ("closed", e.closed or None),
        ("cost", e.cost),
    ]
    for key, value in optional:
        if value is not None:
            d[key] = _num(value) if isinstance(value, float) else value
    return d


def zone_to_document(z: Zone) -> dict[str, Any]:
    """One zone as the map document writes it."""
    d: dict[str, Any] = {"id": z.id, "kind": z.kind.value, "level": z.level}
    d["polygon"] = [[_num(x), _num(y)] for x, y in z.coordinates]
    writers: list[tuple[str, object, Callable[[Any], Any]]] = [
        ("atex_zone", z.atex_zone, int),
        ("gas", z.gas, str),
        ("max_speed", z.max_speed, _num),
        ("capability", z.capability, str),
        ("name", z.name, str),
        ("reason", z.reason, str),
    ]
    for key, value, conv in writers:
        if value is not None:
            d[key] = conv(value)
    return d
