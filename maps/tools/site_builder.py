"""A small builder for hand-designed sample sites, and a readable YAML writer for them.

The sample maps are designed as code (:mod:`make_samples`) so that roads, junctions and
zones stay coherent when a coordinate changes; the committed YAML is what the project
reads. Nodes, edges and zones are written one per line (YAML flow style) under section
comments, so a person can find "the tailgate" in the file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import yaml


@dataclass(frozen=True)
class P:
    """A point of a road: a new node at ``(x, y)`` with optional id, kind, name and tags."""

    x: float
    y: float
    id: str | None = None
    kind: str = "waypoint"
    name: str | None = None
    tags: tuple[str, ...] = ()


Stop = P | str  # a new point, or the id of an existing node (a junction)


@dataclass
class Site:
    """Collects levels, nodes, edges and zones, each list with section comments."""

    name: str
    description: str
    kind: str
    meta: dict[str, Any] = field(default_factory=dict)
    levels: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any] | str] = field(default_factory=list)
    edges: list[dict[str, Any] | str] = field(default_factory=list)
    zones: list[dict[str, Any] | str] = field(default_factory=list)
    _by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    _counters: dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------ elements
    def level(self, lid: str, name: str, z: float) -> str:
        self.levels.append({"id": lid, "name": name, "z": z})
        return lid

    def section(self, title: str) -> None:
        """Start a commented section in the node and edge lists."""
        self.nodes.append(title)
        self.edges.append(title)

    def node(self, nid: str, x: float, y: float, level: str, kind: str = "waypoint",
             name: str | None = None, tags: Sequence[str] = ()) -> str:
        if nid in self._by_id:
            raise ValueError(f"duplicate node id {nid}")
        d: dict[str, Any] = {"id": nid, "x": _num(x), "y": _num(y), "level": level}
        if kind != "waypoint":
            d["kind"] = kind
        if tags:
            d["tags"] = list(tags)
        if name:
            d["name"] = name
        self.nodes.append(d)
        self._by_id[nid] = d
        return nid

    def node_ids(self) -> list[str]:
        """The ids of the nodes added so far, in order."""
        return list(self._by_id)

    def tag(self, nid: str, *tags: str) -> None:
        """Add ``tags`` (those it lacks) to an existing node."""
        d = self._by_id[nid]
        have = d.setdefault("tags", [])
        have.extend(t for t in tags if t not in have)
        if "name" in d:  # keep the name last, as node() writes it
            d["name"] = d.pop("name")

    def widen(self, nid: str, *, bay: bool = True, capacity: int | None = None) -> None:
        """Mark an existing node as wider than its roadway: tagged ``passing-bay`` (room
        for two robots, fleet.facility.blocks) and/or given a ``capacity``. Ids, kinds
        and edges stay as they are."""
        d = self._by_id[nid]
        name = d.pop("name", None)
        if bay:
            d["tags"] = list(dict.fromkeys([*d.get("tags", []), "passing-bay"]))
        if name:
            d["name"] = name
        if capacity is not None:
            d["capacity"] = capacity

    def xy(self, nid: str) -> tuple[float, float]:
        d = self._by_id[nid]
        return float(d["x"]), float(d["y"])

    def edge(self, a: str, b: str, **attrs: Any) -> None:
        for end in (a, b):
            if end not in self._by_id:
                raise ValueError(f"edge {a}-{b}: unknown node {end}")
        d: dict[str, Any] = {"from": a, "to": b}
        d.update({k: v for k, v in attrs.items() if v not in (None, False)})
        self.edges.append(d)

    def zone(self, zid: str, kind: str, level: str, polygon: Iterable[tuple[float, float]],
             **attrs: Any) -> None:
        d: dict[str, Any] = {"id": zid, "kind": kind, "level": level}
        d.update({k: v for k, v in attrs.items() if v is not None})
        d["polygon"] = [[_num(x), _num(y)] for x, y in polygon]
        self.zones.append(d)

    def zone_section(self, title: str) -> None:
        self.zones.append(title)

    # --------------------------------------------------------------- roads
    def road(self, prefix: str, level: str, stops: Sequence[Stop], *, every: float,
             tags: Sequence[str] = (), **edge_attrs: Any) -> list[str]:
        """Nodes along a polyline and the edges joining them.

        Each stop is a new point (:class:`P`) or an existing node id (a junction). Straight
        runs longer than ``every`` metres get evenly spaced waypoints named
        ``prefix-NN``; ``tags`` are given to every new node of the road.
        """
        ids: list[str] = []
        prev: tuple[float, float] | None = None
        for stop in stops:
            if isinstance(stop, str):
                here = self.xy(stop)
                nid = stop
            else:
                here = (stop.x, stop.y)
                nid = ""
            if prev is not None:
                gap = math.dist(prev, here)
                pieces = max(1, math.ceil(gap / every - 1e-9))
                for k in range(1, pieces):
                    t = k / pieces
                    ids.append(self._new(prefix, level, prev[0] + t * (here[0] - prev[0]),
                                         prev[1] + t * (here[1] - prev[1]), tags))
            if isinstance(stop, P):
                nid = stop.id or self._next_id(prefix)
                all_tags = list(dict.fromkeys([*tags, *stop.tags]))
                self.node(nid, stop.x, stop.y, level, stop.kind, stop.name, all_tags)
            ids.append(nid)
            prev = here
        for a, b in pairwise(ids):
            self.edge(a, b, **edge_attrs)
        return ids

    def _next_id(self, prefix: str) -> str:
        while True:
            self._counters[prefix] = self._counters.get(prefix, 0) + 1
            nid = f"{prefix}-{self._counters[prefix]:02d}"
            if nid not in self._by_id:
                return nid

    def _new(self, prefix: str, level: str, x: float, y: float, tags: Sequence[str]) -> str:
        return self.node(self._next_id(prefix), x, y, level, tags=list(tags))

    # -------------------------------------------------------------- output
    def _site(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "kind": self.kind,
                "meta": self.meta}

    def document(self) -> dict[str, Any]:
        """The map document (what fleet.facility.document reads)."""
        def plain(items: list[dict[str, Any] | str]) -> list[dict[str, Any]]:
            return [i for i in items if isinstance(i, dict)]

        return {
            "format": "inspection-fleet-map/1",
            "site": self._site(),
            "levels": self.levels,
            "nodes": plain(self.nodes),
            "edges": plain(self.edges),
            "zones": plain(self.zones),
        }

    def to_yaml(self, header: str) -> str:
        """The whole map as YAML: block style at the top, one flow line per element."""
        out = [f"# {line}".rstrip() for line in header.strip().splitlines()]
        out.append("format: inspection-fleet-map/1")
        out.append(_block({"site": self._site()}))
        for key, items in (("levels", self.levels), ("nodes", self.nodes),
                           ("edges", self.edges), ("zones", self.zones)):
            out.append(f"{key}:")
            for item in items:
                if isinstance(item, str):
                    out.append(f"  # --- {item}")
                else:
                    out.append(f"  - {_flow(item)}")
        return "\n".join(out) + "\n"


def _num(v: float) -> float | int:
    r = round(float(v), 1)
    return int(r) if r.is_integer() else r


def _flow(item: dict[str, Any]) -> str:
    return yaml.safe_dump(item, default_flow_style=True, sort_keys=False,
                          width=10_000, allow_unicode=True).strip()


def _block(item: dict[str, Any]) -> str:
    return yaml.safe_dump(item, default_flow_style=False, sort_keys=False,
                          width=100, allow_unicode=True).rstrip()


def rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    """An axis-aligned rectangle as a polygon."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def circle(cx: float, cy: float, r: float, n: int = 16) -> list[tuple[float, float]]:
    """A regular polygon approximating a circle (a tank footprint, an exclusion radius)."""
    return [(cx + r * math.cos(2 * math.pi * k / n), cy + r * math.sin(2 * math.pi * k / n))
            for k in range(n)]
