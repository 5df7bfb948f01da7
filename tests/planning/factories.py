"""Small named planning scenarios built in code: a site, a fleet and a mission each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fleet.facility.document import facility_from_document
from fleet.facility.model import Facility
from fleet.facility.protection import Epl, parse_ratings
from fleet.planning.mission import InspectionTask, MissionSpec, Objective
from fleet.planning.robots import Fleet, Robot, RobotClass


def site(
    nodes: Iterable[tuple[str, float, float, str]],
    edges: Iterable[dict[str, Any] | tuple[str, str]],
    zones: Sequence[dict[str, Any]] = (),
) -> Facility:
    """A one-level site from ``(id, x, y, kind)`` nodes and ``(from, to)`` or dict edges."""
    doc = {
        "site": {"name": "scenario"},
        "nodes": [{"id": i, "x": x, "y": y, "kind": k} for i, x, y, k in nodes],
        "edges": [e if isinstance(e, dict) else {"from": e[0], "to": e[1]} for e in edges],
        "zones": list(zones),
    }
    return facility_from_document(doc)


def square(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """A rectangle polygon."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def robot_class(
    name: str = "crawler",
    *,
    sensors: Iterable[str] = ("ch4", "co", "o2"),
    epl: Epl | Iterable[Epl] | None = Epl.GB,
    speed: float = 1.0,
    battery_wh: float = 10_000.0,
    wh_per_metre: float = 0.1,
    wh_per_second: float = 0.01,
    charge_w: float = 3600.0,
    capabilities: Iterable[str] = (),
) -> RobotClass:
    """A robot class with generous defaults (1 m/s, a battery that lasts); ``epl`` is one
    rating, several, or None."""
    return RobotClass(name=name, speed=speed, battery_wh=battery_wh,
                      wh_per_metre=wh_per_metre, wh_per_second=wh_per_second,
                      charge_w=charge_w, sensors=frozenset(sensors),
                      ratings=parse_ratings(epl if epl is None or isinstance(epl, Epl)
                                            else list(epl)),
                      capabilities=frozenset(capabilities))


def fleet(*robots: tuple[str, RobotClass, str]) -> Fleet:
    """Robots from ``(serial, class, dock)``."""
    rs = tuple(Robot("test", serial, cls, dock) for serial, cls, dock in robots)
    return Fleet(rs, {r.robot_class.name: r.robot_class for r in rs})


def task(point: str, *, sensors: Iterable[str] = ("ch4",), dwell_s: float = 30.0,
         priority: int = 1, window: tuple[float, float] | None = None) -> InspectionTask:
    """One inspection task."""
    return InspectionTask(point, frozenset(sensors), dwell_s, priority, window, "test")


def mission(fac: Facility, *tasks: InspectionTask,
            objective: Objective = Objective.MAKESPAN,
            reserve_pct: float = 20.0) -> MissionSpec:
    """A mission over ``fac``."""
    return MissionSpec(name="scenario", facility=fac, map_path=None, tasks=tuple(tasks),
                       objective=objective, battery_reserve_pct=reserve_pct)
