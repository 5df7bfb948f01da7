"""From a robot's planned round to VDA 5050 orders, released a few nodes at a time.

An :class:`Assignment` is one robot's share of a mission: the whole node route of its
round (every node of every path), the ``inspect`` actions placed on the nodes where it
inspects, and how far the base has been released. The manager sends the first order with
the base ending ``release_ahead`` nodes in, and extends it with order updates as the robot
reports progress (``lastNodeSequenceId``), so that at most ``release_ahead`` nodes lie
released ahead of the robot: the hook for traffic control in single-lane drifts.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from fleet.facility.model import Facility, ZoneKind
from fleet.manager.stateview import StateView
from fleet.planning.mission import MissionSpec
from fleet.planning.plan import RobotPlan, StopKind
from fleet.protocol.header import Header
from fleet.protocol.inspection import InspectParams, inspect_action
from fleet.protocol.order import NodePosition, Order, RouteLeg, RouteStop, route_order
from fleet.protocol.state import ActionStatus


@dataclass
class Assignment:
    """One robot's part of a mission and its progress.

    ``inspections`` maps an inspect action id to its point; ``reported`` holds the points
    whose action the robot reports FINISHED, ``done`` those whose result is committed,
    ``failed`` those whose action FAILED.
    """

    mission_id: str
    manufacturer: str
    serial: str
    order_id: str
    stops: list[RouteStop]
    legs: list[RouteLeg]
    inspections: dict[str, str]
    release_ahead: int
    base_end: int = 0
    update_id: int = 0
    reached: int = 0
    done: set[str] = field(default_factory=set)
    reported: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    active: bool = True
    dead: frozenset[str] = frozenset()
    """Route nodes inside comms-dead zones: a base never ends at one, since a robot waiting
    there for an order update would never hear it."""

    @property
    def points(self) -> list[str]:
        """Points this robot is to inspect, in order."""
        return list(self.inspections.values())

    @property
    def remaining(self) -> list[str]:
        """Points not yet inspected (nor failed)."""
        return [p for p in self.points if p not in self.done and p not in self.failed]

    @property
    def finished(self) -> bool:
        """Whether the robot reached the last node with every action over."""
        return self.reached >= len(self.stops) - 1 and not self.remaining

    def first_order(self, header: Header) -> Order:
        """The first order: base up to ``release_ahead`` nodes in."""
        self.base_end = self._past_dead(min(len(self.stops) - 1, self.release_ahead))
        self.update_id = 0
        return route_order(header, self.order_id, self.stops, self.legs,
                           base_end=self.base_end)

    def on_state(self, state: StateView) -> bool:
        """Fold a state of this order into the progress; True when anything changed."""
        if state.order_id != self.order_id:
            return False
        changed = False
        reached = state.last_node_sequence_id // 2 if state.last_node_id else 0
        if reached > self.reached:
            self.reached, changed = reached, True
        for a in state.action_states:
            point = self.inspections.get(a.action_id)
            if point is None:
                continue
            if a.status is ActionStatus.FINISHED and point not in self.reported:
                # done only once its result is committed (Manager._commit): a result lost
                # with its robot means the point is inspected again by another
                self.reported.add(point)
                changed = True
            elif a.status is ActionStatus.FAILED and point not in self.failed:
                self.failed.add(point)
                changed = True
        return changed

    def next_update(self, header: Header) -> Order | None:
        """An order update extending the base when the robot is within half the release
        window of its end; None when no update is due."""
        last = len(self.stops) - 1
        if self.base_end >= last or self.base_end - self.reached > self.release_ahead // 2:
            return None
        start = self.base_end
        self.base_end = self._past_dead(min(last, self.reached + self.release_ahead))
        self.update_id += 1
        return route_order(header, self.order_id, self.stops, self.legs,
                           base_end=self.base_end, start=start,
                           order_update_id=self.update_id)

    def _past_dead(self, end: int) -> int:
        """``end``, moved on past any comms-dead nodes (to the first covered one)."""
        last = len(self.stops) - 1
        while end < last and self.stops[end].node_id in self.dead:
            end += 1
        return end

    def to_json(self) -> dict[str, Any]:
        """Progress as ``fleet mission status`` shows it per robot."""
        return {
            "manufacturer": self.manufacturer, "serial": self.serial,
            "order_id": self.order_id, "active": self.active,
            "nodes": len(self.stops), "reached": self.reached, "released": self.base_end,
            "inspections": {"done": len(self.done), "total": len(self.inspections),
                            "failed": len(self.failed)},
            "remaining": self.remaining,
        }


def assignment_for(mission_id: str, rp: RobotPlan, mission: MissionSpec, *,
                   release_ahead: int, start_node: str | None = None) -> Assignment:
    """The assignment of one planned round: its node route with inspect actions."""
    fac = mission.facility
    tasks = {t.point: t for t in mission.tasks}
    stops: list[RouteStop] = []
    inspections: dict[str, str] = {}

    def add(node_id: str) -> None:
        stops.append(RouteStop(node_id, _position(fac, node_id)))

    for stop in rp.stops:
        path = list(stop.path) or [stop.node]
        for i, node_id in enumerate(path):
            if stops and i == 0 and stops[-1].node_id == node_id:
                continue  # a path starts where the previous one ended
            add(node_id)
        if stop.kind is StopKind.INSPECT:
            task = tasks[stop.node]
            action_id = f"inspect-{stop.node}-{uuid.uuid4().hex[:8]}"
            inspections[action_id] = stop.node
            action = inspect_action(action_id, InspectParams(
                stop.node, tuple(sorted(task.sensors)), float(task.dwell_s)))
            last = stops[-1]
            stops[-1] = RouteStop(last.node_id, last.position, (*last.actions, action))
    if start_node is not None and stops and stops[0].node_id != start_node:
        stops.insert(0, RouteStop(start_node, _position(fac, start_node)))
    legs = [RouteLeg(f"{a.node_id}-{b.node_id}", _length(fac, a.node_id, b.node_id))
            for a, b in itertools.pairwise(stops)]
    return Assignment(
        mission_id=mission_id, manufacturer=rp.manufacturer, serial=rp.serial,
        order_id=f"{mission_id[:8]}-{rp.serial}-{uuid.uuid4().hex[:6]}",
        stops=stops, legs=legs, inspections=inspections, release_ahead=release_ahead,
        dead=_dead_nodes(fac, stops))


def rebuild_assignment(mission_id: str, data: dict[str, Any], fac: Facility) -> Assignment:
    """An assignment from :meth:`MissionRun.snapshot` data (a restarted manager)."""
    from fleet.protocol.order import Action

    stops = [RouteStop(s["node"], _position(fac, s["node"]),
                       tuple(Action.from_json(x) for x in s["actions"])) for s in data["stops"]]
    legs = [RouteLeg(f"{a.node_id}-{b.node_id}", _length(fac, a.node_id, b.node_id))
            for a, b in itertools.pairwise(stops)]
    return Assignment(
        mission_id=mission_id, manufacturer=data["manufacturer"], serial=data["serial"],
        order_id=data["order_id"], stops=stops, legs=legs,
        inspections=dict(data["inspections"]), release_ahead=int(data["release_ahead"]),
        base_end=int(data["base_end"]), update_id=int(data["update_id"]),
        reached=int(data["reached"]), done=set(data["done"]), failed=set(data["failed"]),
        active=bool(data["active"]), dead=_dead_nodes(fac, stops))


def _dead_nodes(fac: Facility, stops: list[RouteStop]) -> frozenset[str]:
    return frozenset(s.node_id for s in stops
                     if any(z.kind is ZoneKind.COMMS_DEAD for z in fac.zones_at(s.node_id)))


def _position(fac: Facility, node_id: str) -> NodePosition:
    n = fac.node(node_id)
    return NodePosition(n.x, n.y, n.level)


def _length(fac: Facility, a: str, b: str) -> float | None:
    edge = fac.edge_between(a, b)
    return None if edge is None else edge.length
