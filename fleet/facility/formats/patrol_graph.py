"""patrolling_sim graphs (``.graph``, read only).

The ROS package patrolling_sim (D. Portugal et al.) describes a patrol graph as
whitespace-separated numbers, read by ``fscanf`` so line breaks carry no meaning::

    N  width_px  height_px  resolution_m_per_px  offset_x_m  offset_y_m
    then N times:   id  x_px  y_px  degree
                    then degree times:  neighbour_id  direction  cost_px

``direction`` is one of N, NE, E, SE, S, SW, W, NW. How the reader maps it onto our model
(what a caller may rely on):

- **positions.** ``x = x_px * resolution + offset_x`` (likewise ``y``), in metres, all on
  one level ``"0"`` at ``z = 0``.
- **ids** are the vertex numbers as decimal strings (``"0"``, ``"17"``).
- **edges.** Every undirected edge is listed from both ends; it becomes one two-way edge
  oriented from the end listed first, whose given length is ``cost_px * resolution`` (the
  travel distance along the corridor, which may exceed the straight line). When the ends
  disagree on the cost (move_base_arena lists 3-12 as 83 px one way and 49 px the other),
  or when a vertex lists two corridors to the same neighbour (example.graph goes both ways
  round an obstacle), the shortest wins: a robot can always drive the shorter corridor in
  either direction. An edge listed from one end only is still two-way.
- **kinds.** Every vertex is a patrol point, so every vertex becomes an ``inspection`` node,
  except vertex 0 (or the first vertex listed, when there is no vertex 0), which becomes the
  ``dock`` where rounds start and end. The result is therefore valid whenever the graph is
  connected.
- **site.** Named after the file; ``site.meta`` keeps the resolution and the image size.

Malformed files raise :class:`MapError` with the line of the offending number.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from fleet.errors import MapError, Problem
from fleet.facility.document import facility_from_document
from fleet.facility.model import Facility, NodeKind

DIRECTIONS = frozenset({"N", "NE", "E", "SE", "S", "SW", "W", "NW"})
"""The direction letters patrolling_sim writes beside each neighbour."""


class _Located(dict[str, Any]):
    """A document element that remembers its file line (read by the document's checks)."""

    line: int | None = None


def _located(line: int, **fields: Any) -> _Located:
    d = _Located(fields)
    d.line = line
    return d


class _Tokens:
    """The file's numbers in order, each with its line; failures raise :class:`MapError`."""

    def __init__(self, text: str, file: str | None) -> None:
        self.file = file
        self._items = [
            (word, number)
            for number, line in enumerate(text.splitlines(), start=1)
            for word in line.split()
        ]
        self._last_line = max(1, len(text.splitlines()))
        self._pos = 0

    def _next(self, what: str) -> tuple[str, int]:
        if self._pos >= len(self._items):
            raise MapError(Problem(f"file ends early: expected {what}", self.file,
                                   self._last_line))
        item = self._items[self._pos]
        self._pos += 1
        return item

    def fail(self, line: int, reason: str) -> MapError:
        return MapError(Problem(reason, self.file, line))

    def integer(self, what: str) -> tuple[int, int]:
        word, line = self._next(what)
        if not (word.isascii() and word.isdigit()) or len(word) > 18:
            raise self.fail(line, f"{what} must be a non-negative integer, got {word[:20]!r}")
        return int(word), line

    def number(self, what: str) -> tuple[float, int]:
        word, line = self._next(what)
        try:
            value = float(word)
        except ValueError:
            raise self.fail(line, f"{what} must be a number, got {word[:20]!r}") from None
        if not math.isfinite(value):
            raise self.fail(line, f"{what} must be finite, got {word[:20]!r}")
        return value, line

    def word(self, what: str) -> tuple[str, int]:
        return self._next(what)

    def rest(self) -> Iterator[tuple[str, int]]:
        yield from self._items[self._pos:]


def read_patrol_graph(text: str, *, file: str | None = None) -> Facility:
    """A facility from a patrolling_sim ``.graph`` file (see the module docstring).

    Raises :class:`MapError` listing every problem; never raises anything else.
    """
    tokens = _Tokens(text, file)
    count, _ = tokens.integer("the number of vertices")
    width, _ = tokens.integer("the image width in pixels")
    height, _ = tokens.integer("the image height in pixels")
    resolution, line = tokens.number("the resolution in metres per pixel")
    if resolution <= 0:
        raise tokens.fail(line, f"resolution must be positive, got {resolution}")
    offset_x, _ = tokens.number("the x offset in metres")
    offset_y, _ = tokens.number("the y offset in metres")

    nodes: list[_Located] = []
    # undirected pair -> the edge kept for it (the shortest seen)
    edges: dict[frozenset[str], _Located] = {}
    for index in range(count):
        vid, vline = tokens.integer(f"the id of vertex {index + 1} of {count}")
        x_px, _ = tokens.number(f"the x of vertex {vid}")
        y_px, _ = tokens.number(f"the y of vertex {vid}")
        degree, _ = tokens.integer(f"the degree of vertex {vid}")
        nodes.append(_located(vline, id=str(vid), x=_metres(x_px, resolution, offset_x),
                              y=_metres(y_px, resolution, offset_y)))
        for k in range(degree):
            nid, eline = tokens.integer(f"neighbour {k + 1} of vertex {vid}")
            direction, dline = tokens.word(f"the direction to neighbour {nid} of vertex {vid}")
            if direction.upper() not in DIRECTIONS:
                raise tokens.fail(dline, f"direction to neighbour {nid} of vertex {vid} "
                                  f"must be one of N, NE, E, SE, S, SW, W, NW, "
                                  f"got {direction[:20]!r}")
            cost, cline = tokens.number(f"the cost to neighbour {nid} of vertex {vid}")
            length = cost * resolution
            if not math.isfinite(length):
                raise tokens.fail(cline, f"cost {cost} is too large")
            key = frozenset((str(vid), str(nid)))
            kept = edges.get(key)
            if kept is None:
                edges[key] = _located(eline, **{"from": str(vid), "to": str(nid),
                                                "length": length})
            elif length < kept["length"]:
                kept["length"] = length
    for word, line in tokens.rest():
        raise tokens.fail(line, f"unexpected {word[:20]!r} after the last of {count} vertices")

    if nodes:
        dock = next((n for n in nodes if n["id"] == "0"), nodes[0])
        for n in nodes:
            n["kind"] = (NodeKind.DOCK if n is dock else NodeKind.INSPECTION).value
    name = PurePath(file).stem if file and not file.startswith("<") else "patrol graph"
    doc = {
        "site": {
            "name": name or "patrol graph",
            "description": "imported from a patrolling_sim graph: every vertex is an "
            "inspection point, vertex 0 is the dock",
            "meta": {"source_format": "patrolling_sim", "resolution_m_per_px": resolution,
                     "image_px": [width, height]},
        },
        "nodes": nodes,
        "edges": list(edges.values()),
    }
    return facility_from_document(doc, file=file)


def _metres(pixels: float, resolution: float, offset: float) -> float:
    # an overflow gives inf, which the document's checks reject with the vertex's line
    return pixels * resolution + offset
