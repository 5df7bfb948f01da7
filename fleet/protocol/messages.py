"""Every message model in one place, and the map from topic to model.

The models are frozen dataclasses defined by topic family in :mod:`fleet.protocol.order`
(Order, InstantActions), :mod:`fleet.protocol.state` (State, Connection),
:mod:`fleet.protocol.factsheet` (Factsheet) and :mod:`fleet.protocol.inspection`
(InspectionResult, InspectionAck). Each has:

- ``TOPIC``: its :class:`~fleet.protocol.keys.Topic`;
- ``header``: a :class:`~fleet.protocol.header.Header`;
- ``to_json() -> dict``: the message object, with every required field, valid against the
  topic's schema when the model's values are (finite numbers, angles within range);
- ``from_json(d)``: validates ``d`` against the topic's schema and builds the model, raising
  :class:`~fleet.errors.ProtocolError` naming the path and reason when it is not valid.

Sequences are tuples in the models and lists in JSON; optional fields that are None are
left out of the JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fleet.protocol.factsheet import (
    AgvActionSpec,
    Epl,
    Factsheet,
    InspectionCapabilities,
    PhysicalParameters,
    Timing,
    TypeSpecification,
)
from fleet.protocol.header import Header, HeaderStamper, Message
from fleet.protocol.inspection import (
    Finding,
    InspectionAck,
    InspectionResult,
    InspectParams,
    Reading,
    Severity,
)
from fleet.protocol.keys import Topic
from fleet.protocol.order import (
    Action,
    ActionType,
    BlockingType,
    Edge,
    InstantActions,
    Node,
    NodePosition,
    Order,
    RouteLeg,
    RouteStop,
)
from fleet.protocol.state import (
    ActionState,
    ActionStatus,
    AgvPosition,
    BatteryState,
    Connection,
    ConnectionState,
    EdgeState,
    Error,
    ErrorLevel,
    EStop,
    NodeState,
    OperatingMode,
    SafetyState,
    State,
    Velocity,
)

AnyMessage = (Order | InstantActions | State | Connection | Factsheet | InspectionResult
              | InspectionAck)
"""The union of all message models."""

MODELS: Mapping[Topic, Callable[[Mapping[str, Any]], AnyMessage]] = {
    Topic.ORDER: Order.from_json,
    Topic.INSTANT_ACTIONS: InstantActions.from_json,
    Topic.STATE: State.from_json,
    Topic.CONNECTION: Connection.from_json,
    Topic.FACTSHEET: Factsheet.from_json,
    Topic.INSPECTION: InspectionResult.from_json,
    Topic.INSPECTION_ACK: InspectionAck.from_json,
}
"""For each topic, the function that builds its model from a JSON object."""

__all__ = [
    "MODELS", "Action", "ActionState", "ActionStatus", "ActionType", "AgvActionSpec",
    "AgvPosition", "AnyMessage", "BatteryState", "BlockingType", "Connection",
    "ConnectionState", "EStop", "Edge", "EdgeState", "Epl", "Error", "ErrorLevel",
    "Factsheet", "Finding", "Header", "HeaderStamper", "InspectParams", "InspectionAck",
    "InspectionCapabilities", "InspectionResult", "InstantActions", "Message", "Node",
    "NodePosition", "NodeState", "OperatingMode", "Order", "PhysicalParameters", "Reading",
    "RouteLeg", "RouteStop", "SafetyState", "Severity", "State", "Timing",
    "TypeSpecification", "Velocity",
]
