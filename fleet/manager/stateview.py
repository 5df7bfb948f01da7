"""What the manager keeps of a robot's state: a few fields, read straight from the
schema-checked JSON (building the whole :class:`~fleet.protocol.state.State` model costs
as much again as validating, and the manager handles thousands of states per second)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleet.protocol.state import ActionStatus


@dataclass(frozen=True, slots=True)
class ActionView:
    """One entry of ``actionStates``."""

    action_id: str
    status: ActionStatus


@dataclass(frozen=True, slots=True)
class ErrorView:
    """One entry of ``errors``; ``references`` maps referenceKey to referenceValue."""

    error_type: str
    description: str | None
    references: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PositionView:
    """``agvPosition``: metres on map (facility level) ``map_id``."""

    x: float
    y: float
    map_id: str


@dataclass(frozen=True, slots=True)
class StateView:
    """The fields of a VDA 5050 state the manager uses."""

    manufacturer: str
    serial_number: str
    order_id: str
    order_update_id: int
    last_node_id: str
    last_node_sequence_id: int
    pending_nodes: int
    action_states: tuple[ActionView, ...]
    errors: tuple[ErrorView, ...]
    battery: float
    position: PositionView | None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> StateView:
        """From a state object already checked against the schema."""
        pos = d.get("agvPosition")
        return cls(
            manufacturer=d["manufacturer"], serial_number=d["serialNumber"],
            order_id=d["orderId"], order_update_id=d["orderUpdateId"],
            last_node_id=d["lastNodeId"],
            last_node_sequence_id=d["lastNodeSequenceId"],
            pending_nodes=len(d["nodeStates"]),
            action_states=tuple(ActionView(a["actionId"], ActionStatus(a["actionStatus"]))
                                for a in d["actionStates"]),
            errors=tuple(ErrorView(e["errorType"], e.get("errorDescription"),
                                   {r["referenceKey"]: r["referenceValue"]
                                    for r in e.get("errorReferences", ())})
                         for e in d["errors"]),
            battery=float(d["batteryState"]["batteryCharge"]),
            position=None if pos is None else PositionView(pos["x"], pos["y"], pos["mapId"]),
        )
