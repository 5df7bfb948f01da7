"""The small interface a robot integrator implements: :class:`RobotBody`.

The agent speaks VDA 5050 and decides *what* to do; the body does it. A body has four
methods; the agent calls them from its own threads:

- :meth:`RobotBody.position` and :meth:`RobotBody.battery` from any thread, often (every
  state message): they must be quick and thread-safe.
- :meth:`RobotBody.move_to` and :meth:`RobotBody.inspect` from the agent's one worker
  thread, one call at a time: they block until done, and watch their ``cancel`` event.

A body that can charge also implements :class:`ChargingBody`; the agent then accepts the
VDA 5050 actions ``startCharging`` and ``stopCharging``.

Failures are reported by raising :class:`MoveFailed` or :class:`InspectionFailed` with a
plain reason; the agent turns them into a state error or a FAILED action. Any other
exception escaping a body method is a bug: the agent logs it with its traceback and treats
it as a failure of that call.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

# the errors a body raises are defined in fleet.errors; re-exported for this module's callers
from fleet.errors import ActionFailed as ActionFailed
from fleet.errors import InspectionFailed as InspectionFailed
from fleet.errors import MoveFailed as MoveFailed
from fleet.protocol.inspection import Finding, Reading
from fleet.protocol.order import Edge, Node


class Pose(NamedTuple):
    """Where the robot is: metres and radians on map ``map_id`` (the facility level's id)."""

    x: float
    y: float
    theta: float
    map_id: str


class Battery(NamedTuple):
    """``charge`` in percent (0-100) and whether the robot is charging now."""

    charge: float
    charging: bool


@dataclass(frozen=True, slots=True)
class MoveTarget:
    """The node to drive to, and the edge to drive along.

    ``x``, ``y`` and ``map_id`` are the node's position when the order gives one (the
    manager always does); ``theta`` is set when the heading at the node matters.
    ``edge_id`` is None for the first node of an order (where the robot already stands);
    ``max_speed`` (m/s) and ``length`` (m) come from the edge when it states them.
    """

    node_id: str
    sequence_id: int
    x: float | None = None
    y: float | None = None
    map_id: str | None = None
    theta: float | None = None
    allowed_deviation_xy: float | None = None
    edge_id: str | None = None
    max_speed: float | None = None
    length: float | None = None

    @classmethod
    def of(cls, node: Node, edge: Edge | None = None) -> MoveTarget:
        """The target for order node ``node``, reached along ``edge``."""
        p = node.position
        return cls(
            node_id=node.node_id, sequence_id=node.sequence_id,
            x=p.x if p else None, y=p.y if p else None, map_id=p.map_id if p else None,
            theta=p.theta if p else None,
            allowed_deviation_xy=p.allowed_deviation_xy if p else None,
            edge_id=edge.edge_id if edge else None,
            max_speed=edge.max_speed if edge else None,
            length=edge.length if edge else None,
        )


@runtime_checkable
class RobotBody(Protocol):
    """What the agent drives. See the module docstring for threading rules."""

    def position(self) -> Pose | tuple[float, float, float, str]:
        """The current pose ``(x, y, theta, map_id)``; quick and thread-safe."""
        ...

    def battery(self) -> Battery | tuple[float, bool]:
        """``(charge_percent, charging)``; quick and thread-safe."""
        ...

    def move_to(self, target: MoveTarget, cancel: threading.Event) -> bool:
        """Drive to ``target``; block until there and return True.

        When ``cancel`` is set (the robot is paused or the agent stops) stop as soon as it
        is safe, wherever that is, and return False; the agent calls again with the same
        target to resume. Raise :class:`MoveFailed` when the target cannot be reached.
        """
        ...

    def inspect(self, point_id: str, sensors: Sequence[str], duration_s: float,
                cancel: threading.Event) -> tuple[Sequence[Reading], Sequence[Finding]]:
        """Sample ``sensors`` for ``duration_s`` seconds at inspection point ``point_id``.

        Returns the readings and the robot's own findings (may be empty). ``cancel`` is set
        only when the agent shuts down; return at once then (the result is discarded).
        Raise :class:`InspectionFailed` when the readings cannot be taken.
        """
        ...


@runtime_checkable
class ChargingBody(RobotBody, Protocol):
    """A body that can charge at a charger node (``startCharging`` / ``stopCharging``)."""

    def start_charging(self) -> None:
        """Begin charging; return once charging has started (``battery()`` says charging).

        Raise :class:`ActionFailed` when it cannot (e.g. not docked).
        """
        ...

    def stop_charging(self) -> None:
        """Stop charging; return once stopped. Raise :class:`ActionFailed` when it cannot."""
        ...
