"""DARPA SubT Challenge tunnel edge lists (``.csv``, read only).

The SubT organisers published the course topology of the Tunnel Circuit mines
(subtchallenge/systems_tunnel_ground_truth, ``network/data``) as CSV rows
``FROM,TO,LENGTH,NOTES``: an undirected edge between two numbered junctions, its length in
metres measured along the drift, and a note. There are no coordinates. How the reader maps
it onto our model (what a caller may rely on):

- **header.** The first non-blank row names the columns, ``FROM``, ``TO``, ``LENGTH`` and
  optionally ``NOTES``, in any order and case. Blank rows are skipped; a row with a missing
  id, a non-positive or non-numeric length, or too many fields is refused with its line.
- **ids** are kept exactly as written (strings, surrounding spaces removed).
- **lengths.** The measured length is the edge's given length and always wins: routing
  uses it, never the drawn layout.
- **layout.** For display only, positions come from a Kamada-Kawai layout (networkx) with
  the measured lengths as target distances, scaled so that drawn edges match their measured
  lengths in the least-squares sense, and rounded to 0.1 m; disconnected parts sit side by
  side. It is deterministic (it starts from a circle in file order) and roughly metric, not
  surveyed. Everything is on one level ``"0"`` at ``z = 0``.
- **node 1** is the staging area outside the mine and becomes the ``dock`` (named
  ``staging area``); node 2, the portal, is named ``portal``. A file without node 1 has no
  dock and is refused with the validator's ``no charger`` problem and a hint.
- **dead ends.** Every node with one neighbour, other than node 1, becomes an
  ``inspection`` point: the end of every drift is where a patrol must look. Other nodes are
  ``waypoint`` junctions.
- **notes.** ``chokepoint`` marks a constriction, which only one robot can pass at a time:
  the edge becomes ``single_lane``. (Edges carry no tags in our model, and single-lane is
  exactly what a constriction means for a fleet.) ``START`` marks the link from the staging
  area to the portal and needs nothing; other notes are ignored.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

import networkx as nx
import numpy as np

from fleet.errors import MapError, Problem
from fleet.facility.document import facility_from_document
from fleet.facility.model import Facility, NodeKind

STAGING = "1"
"""The node id of the staging area outside the mine (the dock)."""
PORTAL = "2"
"""The node id of the mine's portal."""

_COLUMNS = ("FROM", "TO", "LENGTH", "NOTES")
_LAYOUT_GAP_M = 20.0  # between disconnected parts of a drawing


class _Located(dict[str, Any]):
    """A document element that remembers its file line (read by the document's checks)."""

    line: int | None = None


def read_subt_csv(text: str, *, file: str | None = None) -> Facility:
    """A facility from a SubT edge list (see the module docstring).

    Raises :class:`MapError`: every malformed row with its line; or, when all rows are
    well formed, every problem of the resulting map. Never raises anything else.
    """
    problems: list[Problem] = []
    rows = _rows(text, file, problems)
    if problems:
        # the map's own checks would only repeat the consequences of the missing rows
        raise MapError(problems)
    if not rows:
        raise MapError(Problem("no edges: the file has no rows after its header", file))

    order: dict[str, None] = {}
    for row in rows:
        order.setdefault(row["from"])
        order.setdefault(row["to"])
    neighbours: dict[str, set[str]] = {n: set() for n in order}
    for row in rows:
        if row["from"] != row["to"]:
            neighbours[row["from"]].add(row["to"])
            neighbours[row["to"]].add(row["from"])
    positions = _layout(list(order), [(r["from"], r["to"], r["length"]) for r in rows])

    nodes: list[dict[str, Any]] = []
    for nid in order:
        x, y = positions[nid]
        node: dict[str, Any] = {"id": nid, "x": x, "y": y}
        if nid == STAGING:
            node.update(kind=NodeKind.DOCK.value, name="staging area")
        elif len(neighbours[nid]) == 1:
            node["kind"] = NodeKind.INSPECTION.value
        if nid == PORTAL:
            node["name"] = "portal"
        nodes.append(node)
    if order and STAGING not in order:
        problems.append(Problem(f"no node {STAGING}: SubT edge lists start at node "
                                f"{STAGING}, the staging area, which becomes the dock", file))

    name = PurePath(file).stem if file and not file.startswith("<") else ""
    doc = {
        "site": {
            "name": name or "SubT tunnel",
            "description": "imported from a DARPA SubT Challenge Tunnel Circuit edge list "
            "(subtchallenge/systems_tunnel_ground_truth, network/data): measured drift "
            "lengths; positions are a computed layout for display, not a survey",
            "meta": {"source_format": "subt_edge_list", "layout": "kamada_kawai"},
        },
        "nodes": nodes,
        "edges": [_edge(r) for r in rows],
    }
    try:
        fac = facility_from_document(doc, file=file)
    except MapError as exc:
        raise MapError(problems + list(exc.problems)) from None
    if problems:
        raise MapError(problems)
    return fac


def _edge(row: Mapping[str, Any]) -> _Located:
    edge = _Located({"from": row["from"], "to": row["to"], "length": row["length"]})
    if row["chokepoint"]:
        edge["single_lane"] = True
    edge.line = row["line"]
    return edge


def _rows(text: str, file: str | None, problems: list[Problem]) -> list[dict[str, Any]]:
    """The well-formed rows, each with its 1-based line; problems for the others."""
    # strict: an unterminated quote is an error, not a field that swallows the file's end
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    columns: dict[str, int] | None = None
    rows: list[dict[str, Any]] = []
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise MapError(Problem(f"not valid CSV: {exc}", file, reader.line_num)) from None
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if columns is None:
            columns = _header(fields, file, line)
            continue
        row = _row(fields, columns, file, line, problems)
        if row is not None:
            rows.append(row)
    return rows


def _header(fields: list[str], file: str | None, line: int) -> dict[str, int]:
    names = [f.strip().upper() for f in fields]
    unknown = [f for f in names if f not in _COLUMNS]
    missing = [c for c in _COLUMNS[:3] if c not in names]
    if unknown or missing or len(set(names)) != len(names):
        raise MapError(Problem(
            f"expected a header row naming the columns FROM,TO,LENGTH,NOTES, got "
            f"{','.join(f.strip() for f in fields)[:60]!r}", file, line))
    return {name: i for i, name in enumerate(names)}


def _row(
    fields: list[str], columns: Mapping[str, int], file: str | None, line: int,
    problems: list[Problem],
) -> dict[str, Any] | None:
    def fail(reason: str) -> None:
        problems.append(Problem(reason, file, line))

    if len(fields) > len(columns):
        fail(f"{len(fields)} fields, the header names {len(columns)}")
        return None
    values = {name: fields[i].strip() if i < len(fields) else "" for name, i in columns.items()}
    a, b, raw = values["FROM"], values["TO"], values["LENGTH"]
    if not a or not b:
        fail("row without FROM or TO")
        return None
    try:
        length = float(raw)
    except ValueError:
        fail(f"LENGTH must be a number of metres, got {raw[:20]!r}")
        return None
    if not (math.isfinite(length) and length > 0):
        fail(f"LENGTH must be a positive number of metres, got {raw[:20]!r}")
        return None
    chokepoint = values.get("NOTES", "").lower() == "chokepoint"
    return {"from": a, "to": b, "length": length, "chokepoint": chokepoint, "line": line}


def _layout(
    nodes: list[str], edges: Iterable[tuple[str, str, float]]
) -> dict[str, tuple[float, float]]:
    """Roughly metric 2-D positions in metres for display (see the module docstring)."""
    g = nx.Graph()
    g.add_nodes_from(nodes)
    for a, b, length in edges:
        if a != b and (not g.has_edge(a, b) or length < g.edges[a, b]["weight"]):
            g.add_edge(a, b, weight=length)
    index = {n: i for i, n in enumerate(nodes)}
    positions: dict[str, tuple[float, float]] = {}
    left = 0.0
    for part in sorted(nx.connected_components(g), key=lambda c: min(index[n] for n in c)):
        ordered = sorted(part, key=index.__getitem__)
        raw = _part_layout(g, ordered)
        min_x = min(x for x, _ in raw.values())
        min_y = min(y for _, y in raw.values())
        for n in ordered:
            x, y = raw[n]
            positions[n] = (round(x - min_x + left, 1), round(y - min_y, 1))
        left = max(x for x, _ in positions.values()) + _LAYOUT_GAP_M
    return positions


def _part_layout(g: nx.Graph, ordered: list[str]) -> dict[str, tuple[float, float]]:
    if len(ordered) == 1:
        return {ordered[0]: (0.0, 0.0)}
    sub = nx.Graph()
    sub.add_nodes_from(ordered)  # insertion order fixes the starting circle
    sub.add_edges_from(g.subgraph(ordered).edges(data=True))
    with np.errstate(all="ignore"):
        pos = nx.kamada_kawai_layout(sub, weight="weight")
    drawn = [(math.dist(pos[a], pos[b]), w) for a, b, w in sub.edges(data="weight")]
    # least-squares scale: drawn edges as close as possible to their measured lengths
    den = sum(d * d for d, _ in drawn)
    scale = sum(d * w for d, w in drawn) / den if den > 0 else 1.0
    result = {n: (float(pos[n][0]) * scale, float(pos[n][1]) * scale) for n in ordered}
    if all(math.isfinite(c) for xy in result.values() for c in xy):
        return result
    # absurd lengths (1e300 m) overflow the layout; a plain circle still draws something
    return {n: (math.cos(2 * math.pi * i / len(ordered)), math.sin(2 * math.pi * i / len(ordered)))
            for i, n in enumerate(ordered)}
