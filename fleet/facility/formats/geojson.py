"""Nav2 route graphs in GeoJSON (read and write).

The Nav2 route server (``nav2_route``, GeoJsonGraphFileLoader) reads a GeoJSON
``FeatureCollection`` in which ``Point`` features are nodes (``properties.id``, an unsigned
integer) and ``LineString``/``MultiLineString`` features are *directed* edges
(``properties.id``, ``startid``, ``endid``, optional ``cost`` and ``overridable``); any
application data lives under ``properties.metadata``. It ignores every other geometry type.
Our attributes ride in that ``metadata`` and in places Nav2 ignores, so one file serves
both Nav2 and this project::

    {"type": "FeatureCollection",
     "name": "<site name>",
     "crs": {...EPSG::3857...},        # written only so GIS tools (QGIS) treat x, y as metres
     "metadata": {"format": "inspection-fleet-map/1", "description": "...",
                  "kind": "coal-mine"?, "firedamp": true?, "meta": {...},
                  "levels": [{"id": "L1", "name": "Upper", "z": 0.0}, ...]},
     "features": [
       node: Point [x, y] or [x, y, z];
             properties {"id", "frame": "map",
                         "metadata": {"kind", "level", "tags"?, "name"?, "capacity"?}}
       edge: LineString [[xa, ya], [xb, yb]];
             properties {"id", "startid", "endid", "cost"?,
                         "metadata": {"length"?, "kind"?, "abs_speed_limit"?,
                                      "single_lane"?, "closed"?}}
       zone: Polygon [[closed exterior ring]];
             properties {"id", "metadata": {"kind", "level", "atex_zone"?, "gas"?,
                                            "max_speed"?, "capability"?, "name"?,
                                            "reason"?}}
     ]}

Mapping, field by field (what a caller may rely on):

- **ids.** Nav2 wants integer ids. When every node id is a plain non-negative integer
  (``"0"``, ``"17"``) the writer writes integers, otherwise strings; the reader takes either
  and keeps node ids as strings (``17`` and ``"17"`` name the same node). Edge feature ids
  are integers numbered after the largest node id (Nav2 wants node and edge ids distinct);
  the reader does not need them. Zone ids are strings (Nav2 never sees zones).
- **direction.** Nav2 edges are directed. A two-way edge is written as two features, ours
  first and then its reverse; a ``one_way`` edge as one. On reading, a feature whose
  reverse also appears makes one two-way edge oriented like the first of the two; a feature
  alone is one-way. A direction listed twice (Nav2's own samples do this) counts once. The
  features of one corridor must agree on everything we carry, or the file is refused: our
  model has one length, cost and speed per corridor.
- **length.** ``metadata.length`` is the measured length and always wins. Otherwise, when
  the edge's drawn line has intermediate vertices (a bend drawn in QGIS), its polyline
  length counts as measured; otherwise the length is the straight 3-D distance between the
  nodes, as Nav2's DistanceScorer does.
- **cost.** Nav2's ``cost`` is a unitless score, not a length: it is read into and written
  from :attr:`Edge.cost` and never used as a length. ``overridable`` is ignored.
- **speed.** ``max_speed`` (m/s) is written as ``metadata.abs_speed_limit``, the Nav2
  convention for absolute limits that its TimeScorer reads. Nav2's percentage
  ``speed_limit`` is ignored (no robot speed is known here).
- **levels and z.** Levels live in the collection's ``metadata.levels``, a node's level in
  ``metadata.level``; without them everything is on one level ``"0"``. A node's ``z`` is
  its point's third coordinate, written only when it differs from its level's ``z`` (the
  default). ``crs`` and ``frame`` are ignored on reading: coordinates are metres in the map
  frame.
- **capacity.** A node's ``metadata.capacity`` is the map's ``capacity`` (robots that may
  stand there at once, :mod:`fleet.facility.blocks`): written only when the map sets one,
  read as the YAML map reads it (a positive integer; anything else is the same one-line
  problem). Without it the documented default applies, so capacities, places and
  single-lane blocks survive a round trip. Nav2 ignores it.
- **kinds.** ``metadata.kind`` gives a node's kind (default ``waypoint``), a zone's kind
  (required) or an edge's kind (default ``corridor``). A plain Nav2 graph has no kinds and
  therefore no charger: loading it fails with the validator's ``no charger`` problem plus a
  hint naming the field to set. Chargers are never invented.
- **everything else** (``operations``, ``overridable``, other ``metadata`` keys, other
  top-level members) is ignored on reading and not written, so our own metadata keys sit
  beside other applications' keys without clashing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from fleet.errors import MapError, Problem
from fleet.facility.document import FORMAT, facility_from_document
from fleet.facility.model import EdgeKind, Facility, Zone

_CANONICAL_INT = re.compile(r"0|[1-9][0-9]{0,17}")
_CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
_EDGE_GEOMETRIES = ("LineString", "MultiLineString")
_NO_KIND_HINT = (
    "no node carries properties.metadata.kind (a plain Nav2 route graph): mark the robots' "
    "home with kind 'dock' or 'charger'"
)


# ------------------------------------------------------------------------------- reading
def read_geojson(text: str, *, file: str | None = None) -> Facility:
    """A facility from a Nav2 route graph in GeoJSON (see the module docstring).

    Raises :class:`MapError` listing every problem; never raises anything else.
    """
    data = _parse_json(text, file)
    problems: list[Problem] = []
    doc, any_kind = _document(data, file, problems)
    try:
        fac = facility_from_document(doc, file=file)
    except MapError as exc:
        found = list(exc.problems)
        if not any_kind and any(p.reason.startswith("no charger") for p in found):
            found.append(Problem(_NO_KIND_HINT, file))
        raise MapError(problems + found) from None
    if problems:
        raise MapError(problems)
    return fac


def _parse_json(text: str, file: str | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MapError(Problem(f"not valid JSON: {exc.msg}", file, exc.lineno)) from None
    except RecursionError:
        raise MapError(Problem("not valid JSON: nested too deeply", file)) from None
    except ValueError as exc:  # e.g. an integer literal longer than Python accepts
        raise MapError(Problem(f"not valid JSON: {exc}", file)) from None


class _Problems:
    """Problems found while turning features into the map document."""

    def __init__(self, file: str | None, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems

    def add(self, element: str | None, reason: str) -> None:
        self.problems.append(Problem(reason, self.file, None, element))


def _document(data: Any, file: str | None, problems: list[Problem]) -> tuple[Any, bool]:
    """The map document of a parsed GeoJSON file, and whether any node carried a kind."""
    report = _Problems(file, problems)
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise MapError(Problem("not a GeoJSON FeatureCollection", file))
    features = data.get("features")
    if not isinstance(features, list):
        raise MapError(Problem("a FeatureCollection needs a list of features", file))

    doc: dict[str, Any] = {}
    site: dict[str, Any] = {}
    if data.get("name") is not None:
        site["name"] = data["name"]
    top_meta = data.get("metadata")
    if isinstance(top_meta, Mapping):
        for key in ("description", "kind", "firedamp", "meta"):
            if key in top_meta:
                site[key] = top_meta[key]
        if "format" in top_meta:
            doc["format"] = top_meta["format"]
        if "levels" in top_meta:
            doc["levels"] = top_meta["levels"]
    elif top_meta is not None:
        report.add(None, "the collection's metadata must be a mapping")
    if site:
        doc["site"] = site

    nodes: list[Any] = []
    edges: list[tuple[str, str, dict[str, Any], str]] = []
    zones: list[Any] = []
    any_kind = False
    for i, feature in enumerate(features):
        label = f"feature {i}"
        if not isinstance(feature, Mapping):
            report.add(label, "a feature must be a mapping")
            continue
        geometry = feature.get("geometry")
        props = feature.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, Mapping):
            report.add(label, "properties must be a mapping")
            continue
        meta = props.get("metadata")
        if meta is None:
            meta = {}
        if not isinstance(meta, Mapping):
            report.add(label, "properties.metadata must be a mapping")
            continue
        if not isinstance(geometry, Mapping):
            report.add(label, "feature without geometry")
            continue
        gtype = geometry.get("type")
        if gtype == "Point":
            node = _node(geometry, props, meta, label, report)
            if node is not None:
                nodes.append(node)
                any_kind = any_kind or "kind" in meta
        elif gtype in _EDGE_GEOMETRIES:
            edge = _edge(geometry, props, meta, label, report)
            if edge is not None:
                edges.append(edge)
        elif gtype == "Polygon":
            zone = _zone(geometry, props, meta, label, report)
            if zone is not None:
                zones.append(zone)
        else:
            report.add(label, f"unsupported geometry type {_show(gtype)} "
                       "(expected Point, LineString, MultiLineString or Polygon)")
    doc["nodes"] = nodes
    doc["edges"] = _corridors(edges, report)
    doc["zones"] = zones
    return doc, any_kind


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _ref(value: object) -> str | None:
    """A node id as we keep it (a string), or ``None`` when it is no id at all."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


def _position(value: object) -> list[float] | None:
    if not isinstance(value, list) or len(value) not in (2, 3):
        return None
    if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in value):
        return None
    try:
        coords = [float(c) for c in value]
    except OverflowError:  # an integer too large for a float
        return None
    return coords if all(math.isfinite(c) for c in coords) else None


def _node(
    geometry: Mapping[str, Any],
    props: Mapping[str, Any],
    meta: Mapping[str, Any],
    label: str,
    report: _Problems,
) -> dict[str, Any] | None:
    nid = props.get("id")
    if _ref(nid) is not None:
        label = f"node {nid}"
    pos = _position(geometry.get("coordinates"))
    if pos is None:
        report.add(label, "a node's Point needs coordinates [x, y] or [x, y, z] "
                   "of finite numbers")
        return None
    node: dict[str, Any] = {"id": nid, "x": pos[0], "y": pos[1]}
    if len(pos) == 3:
        node["z"] = pos[2]
    for key in ("kind", "level", "tags", "name", "capacity"):
        if key in meta:
            node[key] = meta[key]
    return node


def _line_length(geometry: Mapping[str, Any], label: str, report: _Problems) -> float | None:
    """The drawn polyline's length when it has intermediate vertices, else ``None``."""
    raw = geometry.get("coordinates")
    if raw is None:
        return None  # Nav2 ignores edge geometry; its own samples often leave it out
    parts = raw if geometry.get("type") == "MultiLineString" else [raw]
    if not isinstance(parts, list):
        report.add(label, "edge coordinates must be a list of positions")
        return None
    total, points = 0.0, 0
    for part in parts:
        if not isinstance(part, list):
            report.add(label, "edge coordinates must be a list of positions")
            return None
        positions = [_position(p) for p in part]
        if any(p is None for p in positions):
            report.add(label, "edge coordinates must be positions [x, y] of finite numbers")
            return None
        xy = [(p[0], p[1]) for p in positions if p is not None]
        total += sum(math.dist(a, b) for a, b in pairwise(xy))
        points += len(xy)
    if points <= 2 or not math.isfinite(total):
        return None
    return total


def _edge(
    geometry: Mapping[str, Any],
    props: Mapping[str, Any],
    meta: Mapping[str, Any],
    label: str,
    report: _Problems,
) -> tuple[str, str, dict[str, Any], str] | None:
    start, end = _ref(props.get("startid")), _ref(props.get("endid"))
    if start is None or end is None:
        report.add(label, "an edge needs startid and endid (node ids)")
        return None
    label = f"edge {start}-{end}"
    attrs: dict[str, Any] = {}
    if "length" in meta:
        attrs["length"] = meta["length"]
    else:
        drawn = _line_length(geometry, label, report)
        if drawn is not None:
            attrs["length"] = drawn
    for ours, theirs in (("kind", "kind"), ("max_speed", "abs_speed_limit"),
                         ("single_lane", "single_lane"), ("closed", "closed")):
        if theirs in meta:
            attrs[ours] = meta[theirs]
    if props.get("cost") is not None:
        attrs["cost"] = props["cost"]
    return start, end, attrs, label


def _same(a: object, b: object) -> bool:
    """Equal, allowing float rounding (a polyline summed backwards)."""
    if isinstance(a, float | int) and isinstance(b, float | int) and not (
        isinstance(a, bool) or isinstance(b, bool)
    ):
        return a == b or math.isclose(a, b, rel_tol=1e-9)
    return type(a) is type(b) and a == b


def _differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if not _same(a.get(k), b.get(k)))


def _corridors(
    edges: list[tuple[str, str, dict[str, Any], str]], report: _Problems
) -> list[dict[str, Any]]:
    """Directed features -> our edges: reverse pairs merge into one two-way edge."""
    corridors: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for start, end, attrs, label in edges:
        known = seen.get((start, end))
        if known is not None:
            diff = _differences(known["attrs"], attrs)
            if diff:
                report.add(label, f"listed twice with different {', '.join(diff)}")
            continue
        reverse = seen.get((end, start))
        if reverse is not None and start != end:
            diff = _differences(reverse["attrs"], attrs)
            if diff:
                report.add(label, f"the features for both directions differ in "
                           f"{', '.join(diff)} (one value per corridor is kept)")
            reverse["edge"]["one_way"] = False
            seen[(start, end)] = reverse
            continue
        edge: dict[str, Any] = {"from": start, "to": end, **attrs, "one_way": True}
        seen[(start, end)] = {"attrs": attrs, "edge": edge}
        corridors.append(edge)
    for edge in corridors:
        if not edge["one_way"]:
            del edge["one_way"]
    return corridors


def _zone(
    geometry: Mapping[str, Any],
    props: Mapping[str, Any],
    meta: Mapping[str, Any],
    label: str,
    report: _Problems,
) -> dict[str, Any] | None:
    zid = props.get("id")
    if _ref(zid) is not None:
        label = f"zone {zid}"
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not rings:
        report.add(label, "a zone's Polygon needs coordinates [[ring]]")
        return None
    if len(rings) > 1:
        report.add(label, "zones with holes are not supported (one exterior ring only)")
        return None
    zone: dict[str, Any] = {"id": zid, "polygon": rings[0]}
    for key in ("kind", "level", "atex_zone", "gas", "max_speed", "capability", "name",
                "reason"):
        if key in meta:
            zone[key] = meta[key]
    return zone


# ------------------------------------------------------------------------------- writing
def write_geojson(fac: Facility) -> str:
    """A facility as a Nav2 route graph (see the module docstring); :func:`read_geojson`
    reads it back to an equal facility. One feature per line, so diffs stay readable.

    Raises :class:`MapError` when the site's ``meta`` cannot be written as JSON.
    """
    int_ids = bool(fac.nodes) and all(_CANONICAL_INT.fullmatch(n) for n in fac.nodes)

    def ref(node_id: str) -> int | str:
        return int(node_id) if int_ids else node_id

    features: list[dict[str, Any]] = []
    for n in fac.nodes.values():
        coords = [n.x, n.y]
        level = fac.levels.get(n.level)
        if n.z != (level.z if level is not None else 0.0):
            coords.append(n.z)
        meta: dict[str, Any] = {"kind": n.kind.value, "level": n.level}
        if n.tags:
            meta["tags"] = sorted(n.tags)
        if n.name:
            meta["name"] = n.name
        if n.capacity is not None:
            meta["capacity"] = n.capacity
        features.append(_feature("Point", coords,
                                 {"id": ref(n.id), "frame": "map", "metadata": meta}))

    next_id = max((int(n) for n in fac.nodes), default=-1) + 1 if int_ids else 0
    for e in fac.edges:
        meta = {}
        if e.length_given:
            meta["length"] = e.length
        if e.kind is not EdgeKind.CORRIDOR:
            meta["kind"] = e.kind.value
        if e.max_speed is not None:
            meta["abs_speed_limit"] = e.max_speed
        if e.single_lane:
            meta["single_lane"] = True
        if e.closed:
            meta["closed"] = True
        directions = [(e.source, e.target)]
        if not e.one_way:
            directions.append((e.target, e.source))
        for a, b in directions:
            na, nb = fac.nodes[a], fac.nodes[b]
            props: dict[str, Any] = {"id": next_id, "startid": ref(a), "endid": ref(b)}
            if e.cost is not None:
                props["cost"] = e.cost
            if meta:
                props["metadata"] = meta
            features.append(_feature("LineString", [[na.x, na.y], [nb.x, nb.y]], props))
            next_id += 1

    for z in fac.zones:
        features.append(_feature("Polygon", [_ring(z)],
                                 {"id": z.id, "metadata": _zone_meta(z)}))

    top_meta: dict[str, Any] = {"format": FORMAT}
    if fac.description:
        top_meta["description"] = fac.description
    if fac.kind is not None:
        top_meta["kind"] = fac.kind.value
    if fac.firedamp is not None:
        top_meta["firedamp"] = fac.firedamp
    if fac.meta:
        top_meta["meta"] = dict(fac.meta)
    top_meta["levels"] = [
        {"id": lv.id, **({"name": lv.name} if lv.name else {}), "z": lv.z}
        for lv in fac.levels.values()
    ]
    head = {"type": "FeatureCollection", "name": fac.name, "crs": _CRS, "metadata": top_meta}
    try:
        opening = json.dumps(head, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError as exc:
        raise MapError(Problem(f"site meta cannot be written as JSON: {exc}")) from None
    body = ",\n".join(json.dumps(f, ensure_ascii=False, allow_nan=False) for f in features)
    return opening[:-1] + ', "features": [\n' + body + "\n]}\n"


def _feature(kind: str, coords: Any, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": kind, "coordinates": coords},
            "properties": props}


def _ring(z: Zone) -> list[list[float]]:
    points = [[x, y] for x, y in z.coordinates]
    return [*points, points[0]]


def _zone_meta(z: Zone) -> dict[str, Any]:
    meta: dict[str, Any] = {"kind": z.kind.value, "level": z.level}
    for key, value in (("atex_zone", z.atex_zone), ("gas", z.gas), ("max_speed", z.max_speed),
                       ("capability", z.capability), ("name", z.name),
                       ("reason", None if z.reason is None else z.reason.value)):
        if value is not None:
            meta[key] = value
    return meta

