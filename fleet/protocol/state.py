"""Robot-to-manager status messages: :class:`State` and :class:`Connection`.

A robot publishes ``state`` on every change and at least once per state interval (default
1 s). Its order progress follows VDA 5050: ``nodeStates``/``edgeStates`` list the nodes and
edges of the current order still to be traversed (a node leaves the list when the robot
reaches it, and then becomes ``lastNodeId``/``lastNodeSequenceId``); ``actionStates`` has
one entry per action of the order and of instant actions, moving WAITING -> INITIALIZING ->
RUNNING -> FINISHED or FAILED.

The models carry the fields this project uses; other fields of a valid message (``loads``,
``maps``, ``information``) are accepted and not kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from fleet.protocol.header import Header, JsonDict, drop_none
from fleet.protocol.keys import Topic
from fleet.protocol.order import NodePosition
from fleet.protocol.validation import validate


class ActionStatus(StrEnum):
    """Progress of one action (VDA 5050 ``actionStatus``)."""

    WAITING = "WAITING"
    """Received, not started (e.g. its node is not reached yet)."""
    INITIALIZING = "INITIALIZING"
    """Preparing (e.g. warming a sensor up)."""
    RUNNING = "RUNNING"
    """Under way."""
    FINISHED = "FINISHED"
    """Done; ``resultDescription`` may say what came of it."""
    FAILED = "FAILED"
    """Could not be done; ``resultDescription`` says why."""

    @property
    def done(self) -> bool:
        """True for FINISHED and FAILED: the action will not change any more."""
        return self in (ActionStatus.FINISHED, ActionStatus.FAILED)


class OperatingMode(StrEnum):
    """Who controls the robot (VDA 5050 ``operatingMode``); only AUTOMATIC takes orders."""

    AUTOMATIC = "AUTOMATIC"
    """The master control is in charge."""
    SEMIAUTOMATIC = "SEMIAUTOMATIC"
    """The master control is in charge, speed is controlled on site."""
    MANUAL = "MANUAL"
    """Driven by hand on site."""
    SERVICE = "SERVICE"
    """Being serviced."""
    TEACHIN = "TEACHIN"
    """Being taught a map or routes."""


class ErrorLevel(StrEnum):
    """Severity of a robot error."""

    WARNING = "WARNING"
    """The robot can go on."""
    FATAL = "FATAL"
    """The robot cannot go on without help."""


MOVE_ERROR = "moveError"
"""Error type (level WARNING) of a robot that could not reach a node of its order (its
drive failed, a Nav2 goal was aborted or rejected): it stands and waits for an order update
or a ``cancelOrder``. Its ``errorReferences``: ``orderId``, ``nodeId``."""

METHANE_LOCKOUT = "methaneLockout"
"""Error type (level FATAL) of a robot that measured methane (or flammable gas) at or above
its location's power-off level and is not rated to stay energised there: it stopped, its
drive is powered off, and it takes no order until a person resets it (docs/protocol.md).
Its ``errorReferences``: ``nodeId``, ``sensor``, ``value``, ``unit``, ``powerOffLevel``."""


class EStop(StrEnum):
    """Emergency stop state (VDA 5050 ``eStop``)."""

    AUTOACK = "AUTOACK"
    """Triggered; acknowledges itself when the cause is gone."""
    MANUAL = "MANUAL"
    """Triggered; must be acknowledged on the robot."""
    REMOTE = "REMOTE"
    """Triggered remotely; must be acknowledged remotely."""
    NONE = "NONE"
    """Not triggered."""


class ConnectionState(StrEnum):
    """The ``connectionState`` of a :class:`Connection` message."""

    ONLINE = "ONLINE"
    """Published by the robot when it starts."""
    OFFLINE = "OFFLINE"
    """Published by the robot on a clean shutdown."""
    CONNECTIONBROKEN = "CONNECTIONBROKEN"
    """Never published by a robot here: the manager infers it when the liveliness token goes."""


@dataclass(frozen=True, slots=True)
class NodeState:
    """A node of the current order still to be reached."""

    node_id: str
    sequence_id: int
    released: bool
    position: NodePosition | None = None
    description: str | None = None

    def to_json(self) -> JsonDict:
        d: JsonDict = {"nodeId": self.node_id, "sequenceId": self.sequence_id,
                       "released": self.released}
        if self.description is not None:
            d["nodeDescription"] = self.description
        if self.position is not None:
            # the state schema's nodePosition has only x, y, theta, mapId
            p = self.position
            d["nodePosition"] = drop_none({"x": p.x, "y": p.y, "theta": p.theta, "mapId": p.map_id})
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> NodeState:
        p = d.get("nodePosition")
        return cls(d["nodeId"], d["sequenceId"], d["released"],
                   NodePosition(p["x"], p["y"], p["mapId"], p.get("theta")) if p else None,
                   d.get("nodeDescription"))


@dataclass(frozen=True, slots=True)
class EdgeState:
    """An edge of the current order still to be traversed."""

    edge_id: str
    sequence_id: int
    released: bool
    description: str | None = None

    def to_json(self) -> JsonDict:
        return drop_none({"edgeId": self.edge_id, "sequenceId": self.sequence_id,
                          "released": self.released, "edgeDescription": self.description})

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> EdgeState:
        return cls(d["edgeId"], d["sequenceId"], d["released"], d.get("edgeDescription"))


@dataclass(frozen=True, slots=True)
class ActionState:
    """Progress of one action of the order or of an instant action."""

    action_id: str
    status: ActionStatus
    action_type: str | None = None
    description: str | None = None
    result_description: str | None = None

    def to_json(self) -> JsonDict:
        return drop_none({
            "actionId": self.action_id, "actionType": self.action_type,
            "actionDescription": self.description, "actionStatus": self.status.value,
            "resultDescription": self.result_description,
        })

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ActionState:
        return cls(d["actionId"], ActionStatus(d["actionStatus"]), d.get("actionType"),
                   d.get("actionDescription"), d.get("resultDescription"))


@dataclass(frozen=True, slots=True)
class BatteryState:
    """``charge`` in percent (0-100); ``reach`` in metres when the robot estimates it."""

    charge: float
    charging: bool = False
    voltage: float | None = None
    health: float | None = None
    reach: float | None = None

    def to_json(self) -> JsonDict:
        return drop_none({"batteryCharge": self.charge, "batteryVoltage": self.voltage,
                          "batteryHealth": self.health, "charging": self.charging,
                          "reach": self.reach})

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> BatteryState:
        return cls(d["batteryCharge"], d["charging"], d.get("batteryVoltage"),
                   d.get("batteryHealth"), d.get("reach"))


@dataclass(frozen=True, slots=True)
class Error:
    """A robot error; ``references`` maps referenceKey to referenceValue (e.g. orderId)."""

    error_type: str
    level: ErrorLevel
    description: str | None = None
    hint: str | None = None
    references: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        d: JsonDict = {"errorType": self.error_type}
        if self.references:
            d["errorReferences"] = [{"referenceKey": k, "referenceValue": v}
                                    for k, v in self.references.items()]
        d.update(drop_none({"errorDescription": self.description, "errorHint": self.hint}))
        d["errorLevel"] = self.level.value
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Error:
        refs = {r["referenceKey"]: r["referenceValue"] for r in d.get("errorReferences", ())}
        return cls(d["errorType"], ErrorLevel(d["errorLevel"]), d.get("errorDescription"),
                   d.get("errorHint"), refs)


@dataclass(frozen=True, slots=True)
class AgvPosition:
    """The robot's pose in metres and radians on map ``map_id`` (the facility level's id)."""

    x: float
    y: float
    theta: float
    map_id: str
    position_initialized: bool = True
    localization_score: float | None = None
    deviation_range: float | None = None
    map_description: str | None = None

    def to_json(self) -> JsonDict:
        return drop_none({
            "x": self.x, "y": self.y, "theta": self.theta, "mapId": self.map_id,
            "mapDescription": self.map_description,
            "positionInitialized": self.position_initialized,
            "localizationScore": self.localization_score,
            "deviationRange": self.deviation_range,
        })

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AgvPosition:
        return cls(d["x"], d["y"], d["theta"], d["mapId"], d["positionInitialized"],
                   d.get("localizationScore"), d.get("deviationRange"), d.get("mapDescription"))


@dataclass(frozen=True, slots=True)
class Velocity:
    """Speeds in the robot's frame: m/s and rad/s."""

    vx: float | None = None
    vy: float | None = None
    omega: float | None = None

    def to_json(self) -> JsonDict:
        return drop_none({"vx": self.vx, "vy": self.vy, "omega": self.omega})

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Velocity:
        return cls(d.get("vx"), d.get("vy"), d.get("omega"))


@dataclass(frozen=True, slots=True)
class SafetyState:
    """Emergency stop and protective field state."""

    e_stop: EStop = EStop.NONE
    field_violation: bool = False

    def to_json(self) -> JsonDict:
        return {"eStop": self.e_stop.value, "fieldViolation": self.field_violation}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> SafetyState:
        return cls(EStop(d["eStop"]), d["fieldViolation"])


@dataclass(frozen=True, slots=True)
class State:
    """The robot's whole status. Without an order, ``order_id`` and ``last_node_id`` are ""."""

    TOPIC: ClassVar[Topic] = Topic.STATE

    header: Header
    battery: BatteryState
    order_id: str = ""
    order_update_id: int = 0
    last_node_id: str = ""
    last_node_sequence_id: int = 0
    node_states: tuple[NodeState, ...] = ()
    edge_states: tuple[EdgeState, ...] = ()
    action_states: tuple[ActionState, ...] = ()
    driving: bool = False
    operating_mode: OperatingMode = OperatingMode.AUTOMATIC
    errors: tuple[Error, ...] = ()
    safety: SafetyState = field(default_factory=SafetyState)
    agv_position: AgvPosition | None = None
    velocity: Velocity | None = None
    paused: bool | None = None
    new_base_request: bool | None = None
    distance_since_last_node: float | None = None
    zone_set_id: str | None = None

    def action_state(self, action_id: str) -> ActionState | None:
        """The state of action ``action_id``, or None when the robot does not report it."""
        return next((a for a in self.action_states if a.action_id == action_id), None)

    def to_json(self) -> JsonDict:
        d = self.header.to_json()
        d["orderId"] = self.order_id
        d["orderUpdateId"] = self.order_update_id
        if self.zone_set_id is not None:
            d["zoneSetId"] = self.zone_set_id
        d["lastNodeId"] = self.last_node_id
        d["lastNodeSequenceId"] = self.last_node_sequence_id
        d["driving"] = self.driving
        d.update(drop_none({"paused": self.paused, "newBaseRequest": self.new_base_request,
                            "distanceSinceLastNode": self.distance_since_last_node}))
        d["operatingMode"] = self.operating_mode.value
        d["nodeStates"] = [n.to_json() for n in self.node_states]
        d["edgeStates"] = [e.to_json() for e in self.edge_states]
        if self.agv_position is not None:
            d["agvPosition"] = self.agv_position.to_json()
        if self.velocity is not None:
            d["velocity"] = self.velocity.to_json()
        d["actionStates"] = [a.to_json() for a in self.action_states]
        d["batteryState"] = self.battery.to_json()
        d["errors"] = [e.to_json() for e in self.errors]
        d["safetyState"] = self.safety.to_json()
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> State:
        """A state from its JSON object; ProtocolError when invalid."""
        validate(cls.TOPIC, d)
        position, velocity = d.get("agvPosition"), d.get("velocity")
        return cls(
            header=Header.from_json(d),
            battery=BatteryState.from_json(d["batteryState"]),
            order_id=d["orderId"], order_update_id=d["orderUpdateId"],
            last_node_id=d["lastNodeId"], last_node_sequence_id=d["lastNodeSequenceId"],
            node_states=tuple(NodeState.from_json(n) for n in d["nodeStates"]),
            edge_states=tuple(EdgeState.from_json(e) for e in d["edgeStates"]),
            action_states=tuple(ActionState.from_json(a) for a in d["actionStates"]),
            driving=d["driving"], operating_mode=OperatingMode(d["operatingMode"]),
            errors=tuple(Error.from_json(e) for e in d["errors"]),
            safety=SafetyState.from_json(d["safetyState"]),
            agv_position=AgvPosition.from_json(position) if position is not None else None,
            velocity=Velocity.from_json(velocity) if velocity is not None else None,
            paused=d.get("paused"), new_base_request=d.get("newBaseRequest"),
            distance_since_last_node=d.get("distanceSinceLastNode"),
            zone_set_id=d.get("zoneSetId"),
        )


@dataclass(frozen=True, slots=True)
class Connection:
    """ONLINE when a robot starts, OFFLINE when it shuts down cleanly."""

    TOPIC: ClassVar[Topic] = Topic.CONNECTION

    header: Header
    state: ConnectionState

    def to_json(self) -> JsonDict:
        d = self.header.to_json()
        d["connectionState"] = self.state.value
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Connection:
        """A connection message from its JSON object; ProtocolError when invalid."""
        validate(cls.TOPIC, d)
        return cls(Header.from_json(d), ConnectionState(d["connectionState"]))
