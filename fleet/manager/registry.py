"""The robot registry: every robot the manager has heard of, and what it last said.

Robots are discovered from their liveliness token, ``connection``, ``factsheet`` and
``state`` messages, in any order. Capabilities come from the factsheet's ``inspection``
extension and ``physicalParameters.speedMax``; a robot without them is known but never
planned for. The registry is not thread-safe on its own: the manager holds its lock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fleet.facility.model import Facility, NodeKind
from fleet.facility.protection import Epl, rating_problem, ratings_value
from fleet.manager.lifecycle import RobotStatus, check_robot_transition
from fleet.manager.stateview import StateView
from fleet.planning.robots import Fleet, Robot, RobotClass
from fleet.protocol.factsheet import Factsheet


@dataclass(frozen=True)
class Refusal:
    """A message of a robot's that the manager refused, and why."""

    topic: str
    reason: str
    at: str
    """When (ISO 8601, UTC, on the manager's clock)."""

    def to_json(self) -> dict[str, str]:
        """As ``fleet robots show`` prints it."""
        return {"topic": self.topic, "reason": self.reason, "at": self.at}


@dataclass
class RobotEntry:
    """One robot as the manager sees it. ``last_heard`` is on the manager's clock."""

    manufacturer: str
    serial: str
    status: RobotStatus = RobotStatus.ONLINE
    alive: bool = False
    factsheet: Factsheet | None = None
    state: StateView | None = None
    last_heard: float = -math.inf
    silent_since: float | None = None
    mission_id: str | None = None
    closed_order: str = ""
    """The orderId of the robot's last round the manager closed (everything in it done,
    failed or handed back): actions of it the robot still lists do not make it busy."""
    refused: int = 0
    """Messages refused from this robot (invalid, or speaking for another robot)."""
    last_rejected: Refusal | None = None
    """The latest of them."""
    factsheet_asked: float = -math.inf
    """When (manager's clock) a ``factsheetRequest`` last went to it."""

    def move(self, status: RobotStatus) -> bool:
        """Change status as the lifecycle table allows (TransitionError otherwise); True
        when it changed."""
        check_robot_transition(self.status, status)
        changed = status != self.status
        self.status = status
        return changed

    @property
    def key(self) -> tuple[str, str]:
        """``(manufacturer, serial)``."""
        return (self.manufacturer, self.serial)

    @property
    def battery(self) -> float | None:
        """Battery charge in percent, from the last state."""
        return None if self.state is None else self.state.battery

    @property
    def last_node(self) -> str:
        """The last node the robot reported ("" before any)."""
        return "" if self.state is None else self.state.last_node_id

    @property
    def busy(self) -> bool:
        """Whether the robot is working on an order that is not finished."""
        s = self.state
        if s is None or not s.order_id or s.order_id == self.closed_order:
            return False
        return bool(s.pending_nodes) or any(
            a.status.value not in ("FINISHED", "FAILED") for a in s.action_states)

    def node_in(self, facility: Facility, tolerance: float = 2.0) -> str | None:
        """The facility node the robot stands at: its last node, or before any order the
        node within ``tolerance`` metres of its reported position on the same level."""
        if self.last_node in facility.nodes:
            return self.last_node
        pos = None if self.state is None else self.state.position
        if pos is None:
            return None
        best, best_d = None, tolerance
        for n in facility.nodes.values():
            if n.level == pos.map_id:
                d = math.hypot(n.x - pos.x, n.y - pos.y)
                if d <= best_d:
                    best, best_d = n.id, d
        return best

    def robot_class(self) -> RobotClass | None:
        """The planning class built from the factsheet, or None without capabilities."""
        fs = self.factsheet
        if fs is None or fs.inspection is None:
            return None
        caps = fs.inspection
        ratings = frozenset(Epl(e.value) for e in caps.epl)
        try:
            return RobotClass(
                name=f"{self.manufacturer}/{fs.type_specification.series_name}",
                speed=fs.speed_max, battery_wh=caps.battery_wh,
                wh_per_metre=caps.wh_per_metre, wh_per_second=caps.wh_per_second,
                charge_w=caps.charge_w, sensors=frozenset(caps.sensors), ratings=ratings,
                capabilities=frozenset(caps.capabilities))
        except ValueError:
            return None  # a factsheet with impossible figures: known, never planned for

    def to_json(self) -> dict[str, Any]:
        """What ``fleet robots --json`` shows for this robot."""
        cls = self.robot_class()
        return {
            "manufacturer": self.manufacturer,
            "serial": self.serial,
            "status": self.status.value,
            "battery": self.battery,
            "last_node": self.last_node,
            "order_id": self.state.order_id if self.state else "",
            "vda5050": self.state.version if self.state else None,
            "mission_id": self.mission_id,
            "busy": self.busy,
            "sensors": sorted(cls.sensors) if cls else [],
            "epl": ratings_value(cls.ratings) if cls else None,
            "errors": [e.error_type for e in self.state.errors] if self.state else [],
            "refused": self.refused,
            "last_rejected": self.last_rejected.to_json() if self.last_rejected else None,
        }


class Registry:
    """Robots by ``(manufacturer, serial)``."""

    def __init__(self) -> None:
        self._robots: dict[tuple[str, str], RobotEntry] = {}
        # a thousand robots' states, sweeps and plans look robots up by serial and walk
        # them in order many times a second: both are kept, not searched and sorted
        self._by_serial: dict[str, RobotEntry] = {}
        self._sorted: list[RobotEntry] | None = None

    def entry(self, manufacturer: str, serial: str) -> RobotEntry:
        """The robot's entry, created on first mention."""
        key = (manufacturer, serial)
        robot = self._robots.get(key)
        if robot is None:
            robot = self._robots[key] = RobotEntry(manufacturer, serial)
            self._by_serial.setdefault(serial, robot)
            self._sorted = None
        return robot

    def find(self, serial: str) -> RobotEntry | None:
        """The robot with this serial (serials are unique within a site)."""
        return self._by_serial.get(serial)

    def all(self) -> list[RobotEntry]:
        """Every robot, sorted by manufacturer and serial."""
        if self._sorted is None:
            self._sorted = sorted(self._robots.values(), key=lambda r: r.key)
        return list(self._sorted)

    def available_fleet(self, facility: Facility) -> Fleet:
        """The robots a new plan may use: online, with capabilities, not busy, standing
        at a dock or charger of ``facility`` (their home for the round), and of a class
        rated for the site (:func:`fleet.facility.protection.rating_problem`: a robot
        without Ma or Mb is never planned for on a group I site)."""
        robots = []
        classes: dict[str, RobotClass] = {}
        for r in self.all():
            cls = r.robot_class()
            at = r.node_in(facility)
            node = None if at is None else facility.nodes[at]
            if (r.status is not RobotStatus.ONLINE or cls is None or r.busy
                    or r.mission_id is not None or node is None
                    or node.kind not in (NodeKind.DOCK, NodeKind.CHARGER)
                    or rating_problem(cls.name, cls.ratings, facility) is not None):
                continue
            classes[cls.name] = cls
            level = r.battery  # percent, as its state reports it
            robots.append(Robot(r.manufacturer, r.serial, cls, node.id, None if level is None
                                else cls.battery_wh * level / 100.0,
                                charges=r.factsheet is not None
                                and r.factsheet.charges_on_order))
        return Fleet(tuple(robots), classes)
