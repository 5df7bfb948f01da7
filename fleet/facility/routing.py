"""Shortest routes on a facility for a given robot.

A robot may drive an edge when :meth:`Facility.traversable` says so for its
:class:`~fleet.facility.model.Access` (never a closed edge or one touching a no-go zone;
with an access, only through zones it may enter), one-way edges only forwards, and it may
start or end only at nodes where :meth:`Facility.node_allowed` lets it stand. Travel time
on an edge is its length over :meth:`Facility.edge_speed` for the robot's top speed
(1 m/s without an access).

For many pairs at once use :mod:`fleet.facility.closure`, which gives the same lengths.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from fleet.errors import MapError, Problem
from fleet.facility.model import Access, Edge, Facility


@dataclass(frozen=True)
class Route:
    """A drivable path: its nodes in order (source first, at least one), its length in
    metres and the travel time in seconds for the robot it was made for."""

    nodes: tuple[str, ...]
    length_m: float
    time_s: float


def edge_time(fac: Facility, edge: Edge, access: Access | None = None) -> float:
    """Seconds a robot with ``access`` needs to drive ``edge`` (1 m/s top speed without)."""
    return edge.length / fac.edge_speed(edge, access.speed if access is not None else 1.0)


def shortest_route(
    fac: Facility,
    source: str,
    target: str,
    *,
    access: Access | None = None,
    weight: Literal["length", "time"] = "length",
) -> Route | None:
    """The shortest (``weight="length"``) or quickest (``"time"``) route from ``source``
    to ``target`` for a robot with ``access``; ``None`` when there is none, including when
    the robot may not stand at either end. ``source == target`` gives a one-node route.

    Raises :class:`MapError` for an unknown node id.
    """
    for nid in (source, target):
        if nid not in fac.nodes:
            raise MapError(Problem(f"unknown node {nid!r}", element=f"node {nid}"))
    if not (fac.node_allowed(source, access) and fac.node_allowed(target, access)):
        return None
    if source == target:
        return Route((source,), 0.0, 0.0)
    allowed: dict[tuple[str, str], bool] = {}

    def cost(u: str, v: str, data: dict[str, Any]) -> float | None:
        edge: Edge = data["edge"]
        ok = allowed.get(edge.key)
        if ok is None:
            ok = allowed[edge.key] = fac.traversable(edge, access)
        if not ok:
            return None  # networkx skips edges whose weight is None
        return edge.length if weight == "length" else edge_time(fac, edge, access)

    try:
        _, nodes = nx.bidirectional_dijkstra(fac.graph, source, target, weight=cost)
    except nx.NetworkXNoPath:
        return None
    return measure_path(fac, nodes, access=access)


def path_edges(fac: Facility, nodes: Sequence[str]) -> list[Edge]:
    """The edges a path drives, in order: the edge usable from each node to the next.

    Raises :class:`MapError` when two consecutive nodes are not joined by an edge usable
    in that direction (a one-way edge backwards counts as missing). Closures and zones are
    not checked here; see :func:`measure_path`.
    """
    edges: list[Edge] = []
    for a, b in itertools.pairwise(nodes):
        edge = fac.edge_between(a, b) if a in fac.nodes and b in fac.nodes else None
        if edge is None:
            raise MapError(Problem(f"no edge from {a} to {b}", element=f"edge {a}-{b}"))
        edges.append(edge)
    return edges


def measure_path(fac: Facility, nodes: Sequence[str], *, access: Access | None = None) -> Route:
    """The :class:`Route` along ``nodes``, checked to be drivable by a robot with
    ``access``: every step an edge it may traverse in that direction, and both ends
    nodes it may stand at.

    Raises :class:`MapError` naming the first step (or end) that is not drivable.
    """
    if not nodes:
        raise MapError(Problem("empty path"))
    for nid in (nodes[0], nodes[-1]):
        if nid not in fac.nodes:
            raise MapError(Problem(f"unknown node {nid!r}", element=f"node {nid}"))
        if not fac.node_allowed(nid, access):
            raise MapError(Problem("the robot may not stand here", element=f"node {nid}"))
    length = time = 0.0
    for edge, (a, b) in zip(path_edges(fac, nodes), itertools.pairwise(nodes), strict=True):
        if not fac.traversable(edge, access):
            raise MapError(Problem("the robot may not drive this edge (closed, no-go or a "
                                   "zone it may not enter)", element=f"edge {a}-{b}"))
        length += edge.length
        time += edge_time(fac, edge, access)
    return Route(tuple(nodes), length, time)
