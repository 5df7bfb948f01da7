"""Manager-to-robot messages: :class:`Order` (base/horizon) and :class:`InstantActions`.

An order is a route: nodes and edges alternate, node ``sequenceId`` values are even and edge
values odd (node 0, edge 1, node 2, ...), each edge joins the nodes just before and after it.
The *base* is the released prefix the robot may drive; the *horizon* is the unreleased rest,
shown so the robot can plan ahead. To extend the base the manager sends an order update: the
same ``orderId``, ``orderUpdateId`` + 1, starting at the last base node already sent (same
``nodeId`` and ``sequenceId``). :class:`Order` enforces these rules on construction (raising
:class:`ProtocolError`), and :func:`route_order` builds any update of a route so that each
node keeps its ``sequenceId`` across updates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from fleet.errors import ProtocolError
from fleet.protocol.header import Header, JsonDict, drop_none
from fleet.protocol.keys import Topic
from fleet.protocol.validation import validate


class BlockingType(StrEnum):
    """How an action blocks others and driving (VDA 5050 ``blockingType``)."""

    NONE = "NONE"
    """Runs alongside driving and other actions."""
    SOFT = "SOFT"
    """Runs alongside other actions, but the robot does not drive."""
    HARD = "HARD"
    """Runs alone: no driving and no other action meanwhile."""


class ActionType(StrEnum):
    """Action types this project sends; other values are allowed on the wire."""

    INSPECT = "inspect"
    """Our node action: take readings at an inspection point (fleet.protocol.inspection)."""
    CANCEL_ORDER = "cancelOrder"
    """Instant: stop after the current action, drop the rest of the order."""
    FACTSHEET_REQUEST = "factsheetRequest"
    """Instant: publish the factsheet again."""
    STATE_REQUEST = "stateRequest"
    """Instant: publish a state now."""
    START_PAUSE = "startPause"
    """Instant: pause driving and actions."""
    STOP_PAUSE = "stopPause"
    """Instant: resume after startPause."""
    START_CHARGING = "startCharging"
    """Node or instant: start charging at a charger node."""
    STOP_CHARGING = "stopCharging"
    """Node or instant: stop charging."""
    RESET_LOCKOUT = "resetLockout"
    """Instant: a person has reset the robot's methane lockout (docs/protocol.md). The
    manager sends it once a supervisor records the reset (``fleet robots reset``); a robot
    whose reset is a switch on the robot may refuse it (FAILED) and clear its
    ``methaneLockout`` error only when that switch is used."""


@dataclass(frozen=True, slots=True)
class Action:
    """One action; ``parameters`` maps each ``actionParameters`` key to its JSON value."""

    action_id: str
    action_type: str
    blocking_type: BlockingType = BlockingType.NONE
    parameters: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None

    def to_json(self) -> JsonDict:
        d: JsonDict = {
            "actionId": self.action_id,
            "actionType": self.action_type,
            "blockingType": self.blocking_type.value,
        }
        if self.description is not None:
            d["actionDescription"] = self.description
        if self.parameters:
            d["actionParameters"] = [{"key": k, "value": v} for k, v in self.parameters.items()]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Action:
        return cls(
            action_id=d["actionId"],
            action_type=d["actionType"],
            blocking_type=BlockingType(d["blockingType"]),
            parameters={p["key"]: p["value"] for p in d.get("actionParameters", ())},
            description=d.get("actionDescription"),
        )


@dataclass(frozen=True, slots=True)
class NodePosition:
    """Where a node is, in metres on map ``map_id`` (the facility level's id)."""

    x: float
    y: float
    map_id: str
    theta: float | None = None
    allowed_deviation_xy: float | None = None
    allowed_deviation_theta: float | None = None
    map_description: str | None = None

    def to_json(self) -> JsonDict:
        return drop_none({
            "x": self.x, "y": self.y, "theta": self.theta,
            "allowedDeviationXY": self.allowed_deviation_xy,
            "allowedDeviationTheta": self.allowed_deviation_theta,
            "mapId": self.map_id, "mapDescription": self.map_description,
        })

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> NodePosition:
        return cls(
            x=d["x"], y=d["y"], map_id=d["mapId"], theta=d.get("theta"),
            allowed_deviation_xy=d.get("allowedDeviationXY"),
            allowed_deviation_theta=d.get("allowedDeviationTheta"),
            map_description=d.get("mapDescription"),
        )


@dataclass(frozen=True, slots=True)
class Node:
    """An order node; ``sequence_id`` is even."""

    node_id: str
    sequence_id: int
    released: bool
    actions: tuple[Action, ...] = ()
    position: NodePosition | None = None
    description: str | None = None

    def to_json(self) -> JsonDict:
        d: JsonDict = {"nodeId": self.node_id, "sequenceId": self.sequence_id,
                       "released": self.released}
        if self.description is not None:
            d["nodeDescription"] = self.description
        if self.position is not None:
            d["nodePosition"] = self.position.to_json()
        d["actions"] = [a.to_json() for a in self.actions]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Node:
        position = d.get("nodePosition")
        return cls(
            node_id=d["nodeId"], sequence_id=d["sequenceId"], released=d["released"],
            actions=tuple(Action.from_json(a) for a in d["actions"]),
            position=NodePosition.from_json(position) if position is not None else None,
            description=d.get("nodeDescription"),
        )


@dataclass(frozen=True, slots=True)
class Edge:
    """An order edge from ``start_node_id`` to ``end_node_id``; ``sequence_id`` is odd."""

    edge_id: str
    sequence_id: int
    released: bool
    start_node_id: str
    end_node_id: str
    actions: tuple[Action, ...] = ()
    max_speed: float | None = None
    length: float | None = None
    description: str | None = None

    def to_json(self) -> JsonDict:
        d: JsonDict = {"edgeId": self.edge_id, "sequenceId": self.sequence_id,
                       "released": self.released, "startNodeId": self.start_node_id,
                       "endNodeId": self.end_node_id}
        if self.description is not None:
            d["edgeDescription"] = self.description
        if self.max_speed is not None:
            d["maxSpeed"] = self.max_speed
        if self.length is not None:
            d["length"] = self.length
        d["actions"] = [a.to_json() for a in self.actions]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Edge:
        return cls(
            edge_id=d["edgeId"], sequence_id=d["sequenceId"], released=d["released"],
            start_node_id=d["startNodeId"], end_node_id=d["endNodeId"],
            actions=tuple(Action.from_json(a) for a in d["actions"]),
            max_speed=d.get("maxSpeed"), length=d.get("length"),
            description=d.get("edgeDescription"),
        )


@dataclass(frozen=True, slots=True)
class Order:
    """An order or order update (see the module docstring for the rules it enforces)."""

    TOPIC: ClassVar[Topic] = Topic.ORDER

    header: Header
    order_id: str
    order_update_id: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...] = ()
    zone_set_id: str | None = None

    def __post_init__(self) -> None:
        problem = _route_problem(self.nodes, self.edges)
        if problem:
            raise ProtocolError(f"order {self.order_id!r} update {self.order_update_id}: {problem}")

    @property
    def base_nodes(self) -> tuple[Node, ...]:
        """The released nodes, in sequence order."""
        return tuple(n for n in self.nodes if n.released)

    @property
    def horizon_nodes(self) -> tuple[Node, ...]:
        """The nodes not released yet, in sequence order."""
        return tuple(n for n in self.nodes if not n.released)

    @property
    def last_base_node(self) -> Node:
        """The node where the released base ends (the robot stops there unless extended)."""
        return self.base_nodes[-1]

    def to_json(self) -> JsonDict:
        d = self.header.to_json()
        d["orderId"] = self.order_id
        d["orderUpdateId"] = self.order_update_id
        if self.zone_set_id is not None:
            d["zoneSetId"] = self.zone_set_id
        d["nodes"] = [n.to_json() for n in self.nodes]
        d["edges"] = [e.to_json() for e in self.edges]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Order:
        """An order from its JSON object; ProtocolError when invalid or inconsistent."""
        validate(cls.TOPIC, d)
        return cls(
            header=Header.from_json(d), order_id=d["orderId"],
            order_update_id=d["orderUpdateId"],
            nodes=tuple(Node.from_json(n) for n in d["nodes"]),
            edges=tuple(Edge.from_json(e) for e in d["edges"]),
            zone_set_id=d.get("zoneSetId"),
        )


def _route_problem(nodes: Sequence[Node], edges: Sequence[Edge]) -> str | None:
    """The first violation of the order rules, or None."""
    if not nodes:
        return "an order needs at least one node"
    if len(edges) != len(nodes) - 1:
        return f"{len(nodes)} nodes need {len(nodes) - 1} edges, got {len(edges)}"
    first = nodes[0].sequence_id
    if first % 2:
        return f"node {nodes[0].node_id!r} has odd sequenceId {first}; nodes are even"
    for i, node in enumerate(nodes):
        if node.sequence_id != first + 2 * i:
            return (f"node {node.node_id!r} has sequenceId {node.sequence_id}, expected "
                    f"{first + 2 * i} (nodes listed in sequence, step 2)")
    for i, edge in enumerate(edges):
        before, after = nodes[i], nodes[i + 1]
        if edge.sequence_id != before.sequence_id + 1:
            return (f"edge {edge.edge_id!r} has sequenceId {edge.sequence_id}, expected "
                    f"{before.sequence_id + 1} (between its nodes)")
        if (edge.start_node_id, edge.end_node_id) != (before.node_id, after.node_id):
            return (f"edge {edge.edge_id!r} joins {edge.start_node_id!r}->{edge.end_node_id!r}"
                    f" but stands between {before.node_id!r} and {after.node_id!r}")
    if not nodes[0].released:
        return "the first node must be released (the base starts there)"
    released = [n.released for n in nodes]
    base = released.index(False) if False in released else len(nodes)
    if any(released[base:]):
        return "released nodes must form a prefix (base), the rest is horizon"
    for i, edge in enumerate(edges):
        if edge.released != (i + 1 < base):
            return (f"edge {edge.edge_id!r} is {'' if edge.released else 'not '}released, but "
                    "an edge is released exactly when both its nodes are")
    return None


@dataclass(frozen=True, slots=True)
class RouteStop:
    """A node of a route with the actions to run there."""

    node_id: str
    position: NodePosition | None = None
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class RouteLeg:
    """The edge between two consecutive stops of a route."""

    edge_id: str
    length: float | None = None
    max_speed: float | None = None


def route_order(
    header: Header,
    order_id: str,
    stops: Sequence[RouteStop],
    legs: Sequence[RouteLeg],
    *,
    base_end: int,
    start: int = 0,
    end: int | None = None,
    order_update_id: int = 0,
) -> Order:
    """The order (update) for a route ``stops`` joined by ``legs``.

    Stop ``i`` always gets ``sequenceId`` ``2*i`` and leg ``i`` (between stops ``i`` and
    ``i+1``) ``2*i+1``, so every update of the same route agrees with the last. The message
    holds stops ``start..end`` (``start`` is 0 for the first order and the last base stop
    already sent for an update; ``end`` defaults to the last stop, and an earlier one sends
    only that much of the horizon); stops up to ``base_end`` (inclusive) are released.
    """
    if len(legs) != len(stops) - 1:
        raise ProtocolError(f"{len(stops)} stops need {len(stops) - 1} legs, got {len(legs)}")
    last = len(stops) - 1 if end is None else end
    if not 0 <= start <= base_end <= last < len(stops):
        raise ProtocolError(f"need 0 <= start ({start}) <= base_end ({base_end}) <= end "
                            f"({last}) < stops ({len(stops)})")
    nodes = tuple(
        Node(stops[i].node_id, 2 * i, i <= base_end, stops[i].actions, stops[i].position)
        for i in range(start, last + 1))
    edges = tuple(
        Edge(legs[i].edge_id, 2 * i + 1, i + 1 <= base_end, stops[i].node_id,
             stops[i + 1].node_id, length=legs[i].length, max_speed=legs[i].max_speed)
        for i in range(start, last))
    return Order(header, order_id, order_update_id, nodes, edges)


@dataclass(frozen=True, slots=True)
class InstantActions:
    """Actions the robot runs at once, outside any order."""

    TOPIC: ClassVar[Topic] = Topic.INSTANT_ACTIONS

    header: Header
    actions: tuple[Action, ...]

    def to_json(self) -> JsonDict:
        d = self.header.to_json()
        d["actions"] = [a.to_json() for a in self.actions]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> InstantActions:
        """Instant actions from their JSON object; ProtocolError when invalid."""
        validate(cls.TOPIC, d)
        return cls(Header.from_json(d), tuple(Action.from_json(a) for a in d["actions"]))
