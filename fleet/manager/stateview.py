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
    """One entry of ``actionStates``; ``result`` is its ``resultDescription``."""

    action_id: str
    status: ActionStatus
    result: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorView:
    """One entry of ``errors``; ``references`` maps referenceKey to referenceValue;
    ``level`` is ``WARNING`` or ``FATAL``."""

    error_type: str
    description: str | None
    references: Mapping[str, str]
    level: str = "WARNING"


@dataclass(frozen=True, slots=True)
class PositionView:
    """``agvPosition``: metres on map (facility level) ``map_id``."""

    x: float
    y: float
    map_id: str


class StateView:
    """The fields of a VDA 5050 state the manager uses.

    Scalars are read at once; ``action_states``, ``errors`` and ``position`` are built from
    the JSON on first access and then kept (most states are only counted and stored as the
    robot's latest, so building them eagerly would be a quarter of the manager's cost per
    state). Treat a view as immutable.
    """

    __slots__ = (
        "_actions",
        "_errors",
        "_raw",
        "battery",
        "charging",
        "last_node_id",
        "last_node_sequence_id",
        "manufacturer",
        "order_id",
        "order_update_id",
        "pending_nodes",
        "serial_number",
    )

    manufacturer: str
    serial_number: str
    order_id: str
    order_update_id: int
    last_node_id: str
    last_node_sequence_id: int
    pending_nodes: int
    battery: float
    charging: bool

    def __init__(self, d: Mapping[str, Any]) -> None:
        """From a state object already checked against the schema (see :meth:`from_json`)."""
        self._raw = d
        self._actions: tuple[ActionView, ...] | None = None
        self._errors: tuple[ErrorView, ...] | None = None
        self.manufacturer = d["manufacturer"]
        self.serial_number = d["serialNumber"]
        self.order_id = d["orderId"]
        self.order_update_id = d["orderUpdateId"]
        self.last_node_id = d["lastNodeId"]
        self.last_node_sequence_id = d["lastNodeSequenceId"]
        self.pending_nodes = len(d["nodeStates"])
        battery = d["batteryState"]
        self.battery = float(battery["batteryCharge"])
        self.charging = bool(battery["charging"])

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> StateView:
        """From a state object already checked against the schema."""
        return cls(d)

    @property
    def version(self) -> str:
        """The VDA 5050 version the robot's header states (``"2.0.0"``, ``"2.1.0"``)."""
        return str(self._raw["version"])

    @property
    def action_states(self) -> tuple[ActionView, ...]:
        """``actionStates`` in message order."""
        if self._actions is None:
            self._actions = tuple(ActionView(a["actionId"], ActionStatus(a["actionStatus"]),
                                             a.get("resultDescription"))
                                  for a in self._raw["actionStates"])
        return self._actions

    @property
    def errors(self) -> tuple[ErrorView, ...]:
        """``errors`` in message order."""
        if self._errors is None:
            self._errors = tuple(
                ErrorView(e["errorType"], e.get("errorDescription"),
                          {r["referenceKey"]: r["referenceValue"]
                           for r in e.get("errorReferences", ())},
                          e.get("errorLevel", "WARNING"))
                for e in self._raw["errors"])
        return self._errors

    @property
    def first_pending_sequence(self) -> int | None:
        """The lowest ``sequenceId`` in ``nodeStates`` (the next node to reach), or None
        when no node is pending."""
        return min((n["sequenceId"] for n in self._raw["nodeStates"]), default=None)

    @property
    def last_released_sequence(self) -> int | None:
        """The highest ``sequenceId`` of a released node in ``nodeStates`` (the end of the
        base the robot holds), or None when no released node is pending."""
        return max((n["sequenceId"] for n in self._raw["nodeStates"] if n["released"]),
                   default=None)

    @property
    def position(self) -> PositionView | None:
        """``agvPosition``, or None when the robot did not send one."""
        pos = self._raw.get("agvPosition")
        return None if pos is None else PositionView(pos["x"], pos["y"], pos["mapId"])
