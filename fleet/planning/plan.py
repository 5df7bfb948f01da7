"""Plans: per robot, the ordered stops with the full node path between them.

A :class:`Plan` states its claims (times, battery levels, distances, objective value);
:mod:`fleet.planning.verify` recomputes every one of them from the facility, the mission and
the fleet alone. Times are seconds after the mission starts; energy in Wh; distances in m.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class StopKind(StrEnum):
    """Why a robot stops at a node."""

    START = "start"
    """The robot's dock, where its round begins (battery full)."""
    INSPECT = "inspect"
    """An inspection point: dwell and read the task's sensors."""
    CHARGE = "charge"
    """A charger (or dock) on the way: charge before going on."""
    RETURN = "return"
    """Back at the dock: the round ends."""


@dataclass(frozen=True)
class Stop:
    """One stop of a robot's round.

    ``path`` is the node path driven from the previous stop to this one (it starts at the
    previous stop's node and ends at ``node``; empty for the start). ``arrival`` and
    ``departure`` are seconds after the mission start; service (dwell or charging) starts
    at ``max(arrival, window start)``. ``battery_arrival_wh`` / ``battery_departure_wh``
    are the battery levels on arriving and leaving.
    """

    kind: StopKind
    node: str
    path: tuple[str, ...]
    distance_m: float
    arrival: float
    departure: float
    battery_arrival_wh: float
    battery_departure_wh: float
    service_s: float = 0.0
    """Seconds of dwelling (inspection) or charging at this stop."""

    @property
    def service_start(self) -> float:
        """When dwelling or charging starts (after any wait for a time window)."""
        return self.departure - self.service_s


@dataclass(frozen=True)
class RobotPlan:
    """A robot's round: stops in order, starting and ending at its dock."""

    serial: str
    manufacturer: str
    robot_class: str
    stops: tuple[Stop, ...]

    @property
    def distance_m(self) -> float:
        """Metres driven in the round."""
        return sum(s.distance_m for s in self.stops)

    @property
    def finish(self) -> float:
        """When the robot is back at its dock (0 for an idle robot)."""
        return self.stops[-1].departure if self.stops else 0.0

    @property
    def inspections(self) -> list[str]:
        """Inspected points, in order."""
        return [s.node for s in self.stops if s.kind is StopKind.INSPECT]

    @property
    def charging_stops(self) -> int:
        """Number of charging stops on the way."""
        return sum(1 for s in self.stops if s.kind is StopKind.CHARGE)

    def energy_wh(self) -> float:
        """Energy drawn over the round (charging excluded)."""
        used = 0.0
        for prev, s in itertools.pairwise(self.stops):
            used += prev.battery_departure_wh - s.battery_arrival_wh
            if s.kind is StopKind.INSPECT:
                used += s.battery_arrival_wh - s.battery_departure_wh
        return used

    @property
    def route(self) -> list[str]:
        """The whole node path of the round, without repeated junction nodes."""
        nodes: list[str] = []
        for s in self.stops:
            seq = list(s.path) or [s.node]
            if nodes and seq and nodes[-1] == seq[0]:
                seq = seq[1:]
            nodes.extend(seq)
        return nodes


class DropReason(StrEnum):
    """Why a task was left unassigned."""

    NO_SENSORS = "no robot carries the sensors"
    PROTECTION = "zone needs a higher protection level"
    CAPABILITY = "zone needs a capability no capable robot has"
    UNREACHABLE = "unreachable"
    BATTERY = "out of battery range"
    WINDOW = "outside its time window"
    CAPACITY = "dropped for higher-priority tasks"
    NO_ROBOTS = "no robot available"


@dataclass(frozen=True)
class Unassigned:
    """A task the plan does not serve, with the reason and a human detail."""

    point: str
    reason: DropReason
    detail: str = ""


@dataclass(frozen=True)
class Plan:
    """The plan of a mission: one round per robot that takes part, plus unassigned tasks.

    ``makespan_s`` and ``distance_m`` are the plan's claims; ``objective_value`` is the one
    of them the mission minimises.
    """

    mission: str
    objective: str
    robots: tuple[RobotPlan, ...]
    unassigned: tuple[Unassigned, ...] = ()
    solver_seconds: float = 0.0
    """Seconds the planning took (metric closure, solver, charging, verification)."""
    solver_stop: str = "converged"
    """Why the solver stopped: ``converged`` (no run cut short) or ``limit`` (the time
    limit cut a run short): :data:`fleet.planning.solver.STOPS`."""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def makespan_s(self) -> float:
        """When the last robot is back at its dock."""
        return max((r.finish for r in self.robots), default=0.0)

    @property
    def distance_m(self) -> float:
        """Total metres driven."""
        return sum(r.distance_m for r in self.robots)

    @property
    def objective_value(self) -> float:
        """The value of the mission's objective."""
        return self.makespan_s if self.objective == "makespan" else self.distance_m

    def robot(self, serial: str) -> RobotPlan:
        """The round of a robot; ``KeyError`` when it has none."""
        for r in self.robots:
            if r.serial == serial:
                return r
        raise KeyError(f"robot {serial!r} has no round in this plan")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: every stop with its path, times and battery, plus summaries."""
        return {
            "mission": self.mission,
            "objective": self.objective,
            "objective_value": round(self.objective_value, 3),
            "makespan_s": round(self.makespan_s, 3),
            "distance_m": round(self.distance_m, 3),
            "solver_seconds": round(self.solver_seconds, 3),
            "solver_stop": self.solver_stop,
            "robots": [
                {
                    "serial": r.serial,
                    "manufacturer": r.manufacturer,
                    "class": r.robot_class,
                    "distance_m": round(r.distance_m, 3),
                    "duration_s": round(r.finish, 3),
                    "energy_wh": round(r.energy_wh(), 3),
                    "charging_stops": r.charging_stops,
                    "inspections": r.inspections,
                    "stops": [
                        {k: (v.value if isinstance(v, StrEnum) else
                             list(v) if isinstance(v, tuple) else
                             round(v, 3) if isinstance(v, float) else v)
                         for k, v in asdict(s).items()}
                        for s in r.stops
                    ],
                }
                for r in self.robots
            ],
            "unassigned": [
                {"point": u.point, "reason": u.reason.value, "detail": u.detail}
                for u in self.unassigned
            ],
            **({"meta": self.meta} if self.meta else {}),
        }
