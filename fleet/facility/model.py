"""The site model: levels, nodes, corridors and zones.

A :class:`Facility` is immutable once built and always internally consistent: every edge
joins two known nodes, every node and zone sits on a known level, every length is positive.
Files become facilities through :mod:`fleet.facility.formats`, which reports every problem
of a broken file at once as a :class:`fleet.errors.MapError`.

Coordinates are metres in a local right-handed frame (x east, y north, z up); speeds are
metres per second.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

import networkx as nx
from shapely import STRtree
from shapely.geometry import Point, Polygon

from fleet.facility.protection import (
    Epl,
    ExplosionGroup,
    MaOnlyReason,
    SiteKind,
    atex_allows,
    group_allows,
    site_group,
    stays_energised,
)

if TYPE_CHECKING:
    from fleet.facility.blocks import TrafficLayout


class NodeKind(StrEnum):
    """What a node is for."""

    WAYPOINT = "waypoint"
    """A plain point on a corridor: a junction or a bend."""
    INSPECTION = "inspection"
    """An inspection point, where a robot stops to measure."""
    CHARGER = "charger"
    """A charging station; robots recharge their battery here."""
    DOCK = "dock"
    """A robot's home: where rounds start and end. Docks also charge."""
    REFUGE = "refuge"
    """A refuge chamber or safe area for people (and a place a robot may wait)."""
    LANDING = "landing"
    """The end of a shaft, ramp or lift on one level."""


class EdgeKind(StrEnum):
    """How an edge is travelled; the last three may join two levels."""

    CORRIDOR = "corridor"
    """A drift, entry, crosscut, road or walkway on one level."""
    SHAFT = "shaft"
    """An inclined or vertical shaft between levels (driven, for example by a hoist)."""
    RAMP = "ramp"
    """A ramp or decline between levels."""
    LIFT = "lift"
    """A lift or cage between levels."""


LEVEL_LINKS = frozenset({EdgeKind.SHAFT, EdgeKind.RAMP, EdgeKind.LIFT})
"""Edge kinds that may join nodes on different levels."""


class ZoneKind(StrEnum):
    """What a zone means for robots."""

    NO_GO = "no_go"
    """Never entered by any robot (collapsed ground, blasting area, live process)."""
    GAS_HAZARD = "gas_hazard"
    """An ATEX hazardous area of a group II site, zone 0, 1 or 2 (IEC 60079-10-1); entry
    needs a matching rating (IEC 60079-14)."""
    MA_ONLY = "ma_only"
    """An area of a group I site where only robots rated Ma may go (gas drainage,
    disaster areas, goaf edges: see :class:`~fleet.facility.protection.MaOnlyReason`)."""
    SPEED_LIMIT = "speed_limit"
    """Robots inside drive no faster than the zone's ``max_speed``."""
    COMMS_DEAD = "comms_dead"
    """No 5G coverage: robots inside cannot talk to the manager."""
    RESTRICTED = "restricted"
    """Only robots with the zone's named ``capability`` may enter."""


@dataclass(frozen=True)
class Level:
    """A level (horizon) of the site; ``z`` is its nominal elevation in metres."""

    id: str
    name: str | None = None
    z: float = 0.0


@dataclass(frozen=True)
class Node:
    """A point of the graph, in metres, on one level."""

    id: str
    x: float
    y: float
    z: float = 0.0
    level: str = "0"
    kind: NodeKind = NodeKind.WAYPOINT
    tags: frozenset[str] = frozenset()
    name: str | None = None
    capacity: int | None = None
    """Robots that may stand here at once, as the map gives it; ``None``: the default of
    :func:`fleet.facility.blocks.default_capacity` (read it through
    :meth:`Facility.capacity`)."""

    @property
    def point(self) -> Point:
        """The node's position in its level's plane."""
        return Point(self.x, self.y)


@dataclass(frozen=True)
class Edge:
    """A corridor (or shaft, ramp, lift) between two nodes.

    ``length`` is always positive: the file's length when given (a measured length always
    wins), else the 3-D distance between the nodes. ``one_way`` edges are travelled from
    ``source`` to ``target`` only. ``cost`` is an optional extra traversal cost (unitless,
    added by exporters that need one; routing uses length and time).
    """

    source: str
    target: str
    length: float
    kind: EdgeKind = EdgeKind.CORRIDOR
    max_speed: float | None = None
    single_lane: bool = False
    one_way: bool = False
    closed: bool = False
    cost: float | None = None
    length_given: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """``(source, target)``; unique within a facility."""
        return (self.source, self.target)


@dataclass(frozen=True)
class Zone:
    """A polygon on one level with a meaning for robots (see :class:`ZoneKind`).

    Exactly the attribute of its kind is set: ``atex_zone`` (0, 1, 2) for gas hazards (with
    an optional ``gas`` name such as ``ch4``), ``max_speed`` for speed limits,
    ``capability`` for restricted zones; Ma-only areas may give their ``reason``.
    """

    id: str
    kind: ZoneKind
    level: str
    polygon: Polygon
    atex_zone: int | None = None
    gas: str | None = None
    max_speed: float | None = None
    capability: str | None = None
    name: str | None = None
    reason: MaOnlyReason | None = None

    @property
    def coordinates(self) -> list[tuple[float, float]]:
        """The exterior ring without the closing point."""
        return [(float(x), float(y)) for x, y in list(self.polygon.exterior.coords)[:-1]]


@dataclass(frozen=True)
class Access:
    """What a given robot may enter: its ratings (equipment protection levels, none for
    an unrated robot) and its capabilities.

    ``speed`` (m/s) is the robot's own top speed, used for travel times. Whether the robot
    may be at a node or drive an edge of a site is :meth:`Facility.node_allowed` and
    :meth:`Facility.traversable`: they add the site's own rule (:meth:`Facility.admits`)
    to the zones' (:meth:`may_enter`).
    """

    ratings: frozenset[Epl] = frozenset()
    capabilities: frozenset[str] = frozenset()
    speed: float = 1.0

    def __post_init__(self) -> None:
        if not (self.speed > 0 and math.isfinite(self.speed)):
            raise ValueError(f"speed must be a positive number of m/s, got {self.speed!r}")

    @property
    def stays_energised(self) -> bool:
        """Whether the robot is rated Ma: it may stay energised in firedamp
        (:func:`fleet.facility.protection.stays_energised`)."""
        return stays_energised(self.ratings)

    def may_enter(self, zone: Zone) -> bool:
        """Whether the robot may be inside ``zone`` at all, by the zone alone (the site's
        group is :meth:`Facility.admits`): never a no-go zone; an ATEX zone with a
        matching G rating (IEC 60079-14); an Ma-only area when rated Ma; a restricted zone
        with its capability."""
        if zone.kind is ZoneKind.NO_GO:
            return False
        if zone.kind is ZoneKind.GAS_HAZARD:
            return atex_allows(self.ratings, zone.atex_zone if zone.atex_zone is not None else 0)
        if zone.kind is ZoneKind.MA_ONLY:
            return self.stays_energised
        if zone.kind is ZoneKind.RESTRICTED:
            return zone.capability in self.capabilities
        return True


@dataclass(frozen=True)
class Facility:
    """A whole site: levels, nodes, edges and zones.

    Build it with :func:`build_facility` (or a loader from :mod:`fleet.facility.formats`),
    which checks consistency; the constructor itself trusts its arguments.
    """

    name: str
    levels: Mapping[str, Level]
    nodes: Mapping[str, Node]
    edges: tuple[Edge, ...]
    zones: tuple[Zone, ...] = ()
    description: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    kind: SiteKind | None = None
    """What the site is (``None``: not declared); it sets :attr:`group`."""
    firedamp: bool | None = None
    """The map's ``firedamp`` declaration (``None``: not declared): whether a metal mine
    or tunnel is susceptible to firedamp, and so group I."""

    def __getstate__(self) -> dict[str, Any]:
        """Pickled as its fields only: what it derives once (the cached properties,
        :attr:`memo`) stays behind, and the receiver derives its own (a planning process
        gets a site once and keeps it: :mod:`fleet.manager.planning_process`)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # ------------------------------------------------------------ protection
    @cached_property
    def group(self) -> ExplosionGroup | None:
        """The site's explosion group (IEC 60079-0), from its kind and firedamp
        declaration (:func:`fleet.facility.protection.site_group`); ``None`` when the kind
        is not declared (then zones 0/1/2 with G ratings apply and nothing site-wide)."""
        return site_group(self.kind, self.firedamp)

    @cached_property
    def has_atex_zones(self) -> bool:
        """Whether any zone is an ATEX hazardous area (``gas_hazard``)."""
        return any(z.kind is ZoneKind.GAS_HAZARD for z in self.zones)

    def admits(self, access: Access) -> bool:
        """Whether a robot with ``access`` may be on the site at all: on a group I site
        only when rated Ma or Mb (IEC 60079-0: the whole underground counts as potentially
        firedamp); on any other site always (its zones decide)."""
        return group_allows(access.ratings, self.group)

    # ----------------------------------------------------------------- lookups
    def node(self, node_id: str) -> Node:
        """The node with this id; raises ``KeyError`` naming it when unknown."""
        try:
            return self.nodes[node_id]
        except KeyError:
            raise KeyError(f"unknown node {node_id!r}") from None

    def nodes_of_kind(self, *kinds: NodeKind) -> list[Node]:
        """Nodes of the given kinds, in file order."""
        return [n for n in self.nodes.values() if n.kind in kinds]

    @property
    def inspection_points(self) -> list[str]:
        """Ids of inspection points, in file order."""
        return [n.id for n in self.nodes_of_kind(NodeKind.INSPECTION)]

    @property
    def chargers(self) -> list[str]:
        """Ids of nodes where a robot can charge (chargers and docks), in file order."""
        return [n.id for n in self.nodes_of_kind(NodeKind.CHARGER, NodeKind.DOCK)]

    def capacity(self, node_id: str) -> int:
        """Robots that may stand at the node at once: the map's ``capacity``, else the
        documented default of :func:`fleet.facility.blocks.default_capacity`."""
        return self.layout.capacity[node_id]

    @cached_property
    def layout(self) -> TrafficLayout:
        """Capacities, waiting places and single-lane blocks (:mod:`fleet.facility.blocks`),
        derived once."""
        from fleet.facility.blocks import TrafficLayout  # blocks reads this module

        return TrafficLayout.of(self)

    @cached_property
    def memo(self) -> dict[Hashable, Any]:
        """Data other modules derive from this facility once and keep with it (a Facility
        never changes once built; a changed site is a new Facility): for example the
        drivable arcs per robot access (:func:`fleet.facility.closure.drivable_arcs`)."""
        return {}

    def zone(self, zone_id: str) -> Zone:
        """The zone with this id; raises ``KeyError`` naming it when unknown."""
        for z in self.zones:
            if z.id == zone_id:
                return z
        raise KeyError(f"unknown zone {zone_id!r}")

    # ------------------------------------------------------- zone membership
    @cached_property
    def _zone_index(self) -> dict[str, tuple[STRtree, list[Zone]]]:
        per_level: dict[str, list[Zone]] = {}
        for z in self.zones:
            per_level.setdefault(z.level, []).append(z)
        return {lvl: (STRtree([z.polygon for z in zs]), zs) for lvl, zs in per_level.items()}

    def zones_at(self, node_id: str) -> list[Zone]:
        """Zones that contain the node (boundary included), on the node's level."""
        self.node(node_id)  # MapError for an unknown node
        return list(self._node_zones.get(node_id, ()))

    @cached_property
    def _node_zones(self) -> dict[str, tuple[Zone, ...]]:
        # One vectorised STRtree query per level: the planner, the verifier and the
        # dispatcher ask for thousands of nodes per plan (a query each cost a large site's
        # manager a tenth of its planning time).
        import shapely

        result: dict[str, tuple[Zone, ...]] = {}
        per_level: dict[str, list[Node]] = {}
        for n in self.nodes.values():
            per_level.setdefault(n.level, []).append(n)
        for lvl, (tree, zones) in self._zone_index.items():
            nodes = per_level.get(lvl, [])
            if not nodes:
                continue
            points = shapely.points([(n.x, n.y) for n in nodes])
            hits = tree.query(points, predicate="intersects")
            found: dict[int, list[int]] = {}
            for g, z in zip(hits[0].tolist(), hits[1].tolist(), strict=True):
                found.setdefault(g, []).append(z)
            for g, zs in found.items():
                result[nodes[g].id] = tuple(zones[z] for z in sorted(zs))  # file order
        return result

    @cached_property
    def _edge_zones(self) -> dict[tuple[str, str], tuple[Zone, ...]]:
        # One vectorised STRtree query per level (a per-edge loop takes seconds on 100k
        # edges). An edge on one level is its segment (a point when its ends coincide); a
        # level link touches each level only at its landing.
        import numpy as np
        import shapely

        result: dict[tuple[str, str], tuple[Zone, ...]] = dict.fromkeys(
            ((e.source, e.target) for e in self.edges), ())
        if not self.zones or not self.edges:
            return result
        index = {nid: i for i, nid in enumerate(self.nodes)}
        level_ids = list(self.levels) or sorted({n.level for n in self.nodes.values()})
        level_no = {lv: i for i, lv in enumerate(level_ids)}
        nodes = self.nodes.values()
        xy = np.array([(n.x, n.y) for n in nodes], dtype=float)
        node_level = np.fromiter((level_no.setdefault(n.level, len(level_no)) for n in nodes),
                                 dtype=np.int64, count=len(self.nodes))
        m = len(self.edges)
        src = np.fromiter((index[e.source] for e in self.edges), dtype=np.int64, count=m)
        dst = np.fromiter((index[e.target] for e in self.edges), dtype=np.int64, count=m)
        la, lb = node_level[src], node_level[dst]
        found: dict[int, list[Zone]] = {}
        for lvl, (tree, zones) in self._zone_index.items():
            code = level_no.get(lvl)
            if code is None:
                continue
            on_a, on_b = la == code, lb == code
            flat = np.flatnonzero(on_a & on_b)
            link = np.flatnonzero(on_a ^ on_b)
            start = np.concatenate([xy[src[flat]],
                                    np.where(on_a[link, None], xy[src[link]], xy[dst[link]])])
            end = np.concatenate([xy[dst[flat]], start[len(flat):]])
            idx = np.concatenate([flat, link])
            if not len(idx):
                continue
            geoms = shapely.linestrings(np.stack([start, end], axis=1))
            dot = np.all(start == end, axis=1)
            if dot.any():
                geoms[dot] = shapely.points(start[dot])
            hits = tree.query(geoms, predicate="intersects")
            order = np.lexsort((hits[1], hits[0]))  # zones in file order per edge
            for g, z in zip(hits[0][order].tolist(), hits[1][order].tolist(), strict=True):
                found.setdefault(int(idx[g]), []).append(zones[z])
        for k, zs in found.items():
            result[self.edges[k].key] = tuple(zs)
        return result

    def zones_on_edge(self, edge: Edge) -> tuple[Zone, ...]:
        """Zones an edge passes through or touches (its straight segment, on its level)."""
        return self._edge_zones[edge.key]

    def traversable(self, edge: Edge, access: Access | None = None) -> bool:
        """Whether a robot with ``access`` may drive the edge: never when closed or when it
        touches a no-go zone; and, with ``access``, only on a site that admits it
        (:meth:`admits`) and only through zones it may enter (:meth:`Access.may_enter`).

        With :meth:`node_allowed`, the one answer to "may this robot be here" that routing,
        planning, plan verification and validation use."""
        if edge.closed:
            return False
        if access is not None and not self.admits(access):
            return False
        for z in self.zones_on_edge(edge):
            if z.kind is ZoneKind.NO_GO:
                return False
            if access is not None and not access.may_enter(z):
                return False
        return True

    def node_allowed(self, node_id: str, access: Access | None = None) -> bool:
        """Whether a robot with ``access`` may stand at the node: never inside a no-go
        zone; and, with ``access``, only on a site that admits it (:meth:`admits`) and
        only inside zones it may enter (:meth:`Access.may_enter`)."""
        if access is not None and not self.admits(access):
            return False
        for z in self.zones_at(node_id):
            if z.kind is ZoneKind.NO_GO:
                return False
            if access is not None and not access.may_enter(z):
                return False
        return True

    def edge_speed(self, edge: Edge, robot_speed: float) -> float:
        """The speed a robot of top speed ``robot_speed`` drives the edge at: the lowest of
        its own, the edge's ``max_speed`` and every speed-limit zone the edge touches."""
        speed = robot_speed
        if edge.max_speed is not None:
            speed = min(speed, edge.max_speed)
        for z in self.zones_on_edge(edge):
            if z.kind is ZoneKind.SPEED_LIMIT and z.max_speed is not None:
                speed = min(speed, z.max_speed)
        return speed

    # ---------------------------------------------------------------- graphs
    @cached_property
    def graph(self) -> nx.DiGraph:
        """Directed graph of every edge in both usable directions (closed ones included,
        flagged ``closed``). Node attributes: the :class:`Node` under ``"node"``; edge
        attributes: ``edge`` (the :class:`Edge`) and ``length``."""
        g = nx.DiGraph()
        for n in self.nodes.values():
            g.add_node(n.id, node=n)
        for e in self.edges:
            g.add_edge(e.source, e.target, edge=e, length=e.length)
            if not e.one_way:
                g.add_edge(e.target, e.source, edge=e, length=e.length)
        return g

    def edge_between(self, a: str, b: str) -> Edge | None:
        """The edge that may be driven from ``a`` to ``b``, or ``None``."""
        data = self.graph.get_edge_data(a, b)
        return None if data is None else data["edge"]

    def level_nodes(self, level: str) -> list[Node]:
        """Nodes on a level, in file order."""
        return [n for n in self.nodes.values() if n.level == level]


def geometric_length(a: Node, b: Node) -> float:
    """Straight 3-D distance between two nodes in metres."""
    return math.dist((a.x, a.y, a.z), (b.x, b.y, b.z))


def build_facility(
    *,
    name: str,
    levels: Iterable[Level],
    nodes: Iterable[Node],
    edges: Iterable[Edge],
    zones: Iterable[Zone] = (),
    description: str | None = None,
    meta: Mapping[str, Any] | None = None,
    kind: SiteKind | None = None,
    firedamp: bool | None = None,
) -> Facility:
    """Assemble a facility from already-typed parts, checking it as a file would be checked.

    Raises :class:`fleet.errors.MapError` listing every problem.
    """
    from fleet.errors import MapError
    from fleet.facility.validate import check_parts  # validate imports this module

    levels, nodes, edges, zones = list(levels), list(nodes), list(edges), list(zones)
    problems = check_parts(levels=levels, nodes=nodes, edges=edges, zones=zones, kind=kind,
                           firedamp=firedamp)
    if problems:
        raise MapError(problems)
    return Facility(
        name=name,
        levels={lv.id: lv for lv in levels},
        nodes={n.id: n for n in nodes},
        edges=tuple(edges),
        zones=tuple(zones),
        description=description,
        meta=dict(meta or {}),
        kind=kind,
        firedamp=firedamp,
    )
