"""Mission files: which points to inspect, with what, how long, how urgently, by whom.

A mission (``missions/*.yaml``, documented in ``missions/README.md``) names its site map,
selects inspection points by id, zone or tag, and sets the objective and battery reserve.
:func:`load_mission` returns a :class:`MissionSpec` whose :attr:`MissionSpec.tasks` are
resolved to one :class:`InspectionTask` per point, in a stable order.

A mission is done once (``mode: once``, the default) or patrolled until stopped
(``mode: continuous``); a continuous mission's tasks say how often their points are to be
visited (``revisit: 30m``, read by :func:`fleet.recurrence.parse_duration`, the one
duration reader, shared with schedules' ``--every``), and every
task of a continuous mission has a :attr:`InspectionTask.revisit_s` (the task's, or
:data:`DEFAULT_REVISIT_S`). :mod:`fleet.planning.patrol` plans the patrol.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from fleet import yamldoc
from fleet.errors import MapError, MissionError, Problem, line_of
from fleet.facility import formats
from fleet.facility.fixed_sensors import read_fixed_sensors
from fleet.facility.model import Facility, NodeKind
from fleet.limit_overrides import limit_problems
from fleet.recurrence import parse_duration

DEFAULT_REVISIT_S = 3600.0
"""The revisit target of a continuous mission's task that gives none (one hour)."""


class Mode(StrEnum):
    """How often a mission's points are visited."""

    ONCE = "once"
    """Every point once; the mission ends when the last inspection is done."""
    CONTINUOUS = "continuous"
    """A patrol: every point again and again, about as often as its task's ``revisit``
    asks, until the mission is stopped."""


class Objective(StrEnum):
    """What the planner minimises."""

    MAKESPAN = "makespan"
    """The time the last robot is back at its dock (the round is done as early as possible)."""
    DISTANCE = "distance"
    """The total distance driven by all robots."""


@dataclass(frozen=True)
class InspectionTask:
    """One inspection point to visit.

    ``window`` is ``(earliest, latest)`` start of the inspection in seconds after the
    mission starts; ``priority`` is higher for more important tasks (1 is the default).
    ``revisit_s`` is the patrol's target for the time between two inspections of the
    point: set on every task of a continuous mission, ``None`` on a mission done once.
    """

    point: str
    sensors: frozenset[str]
    dwell_s: float
    priority: int = 1
    window: tuple[float, float] | None = None
    source: str = ""
    revisit_s: float | None = None


@dataclass(frozen=True)
class RobotFilter:
    """Which robots may take part; both empty means every capable robot."""

    classes: tuple[str, ...] = ()
    serials: tuple[str, ...] = ()

    @property
    def restricts(self) -> bool:
        """Whether the mission restricts the fleet at all."""
        return bool(self.classes or self.serials)


@dataclass(frozen=True)
class MissionSpec:
    """A mission, with its tasks resolved against its facility."""

    name: str
    facility: Facility
    map_path: Path | None
    tasks: tuple[InspectionTask, ...]
    objective: Objective = Objective.MAKESPAN
    battery_reserve_pct: float = 20.0
    robots: RobotFilter = RobotFilter()
    fleet_path: Path | None = None
    limits: Mapping[str, Any] | None = None
    """The mission's anomaly limit overrides (the ``limits:`` mapping as written, checked
    when loaded by :mod:`fleet.limit_overrides`; :mod:`fleet.anomaly.limits` applies it)."""
    mode: Mode = Mode.ONCE
    """Once, or a patrol until stopped (every task then has a ``revisit_s``)."""

    def task(self, point: str) -> InspectionTask:
        """The task at a point; ``KeyError`` naming it when the mission has none."""
        for t in self.tasks:
            if t.point == point:
                return t
        raise KeyError(f"no task at {point!r}")


_TOP = {"name", "map", "fleet", "objective", "battery_reserve_pct", "robots", "tasks",
        "limits", "mode"}
_TASK = {"name", "points", "zones", "tags", "sensors", "dwell_s", "priority", "window_s",
         "revisit"}


def _names(value: object) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int) and not isinstance(v, bool)
                                       for v in value):
        return [str(v) for v in value]
    return None


def mission_from_document(
    doc: object, *, file: str | None = None, base: Path | None = None,
    facility: Facility | None = None,
) -> MissionSpec:
    """A mission from a parsed mission file; relative paths resolve against ``base``.

    ``facility`` overrides the file's ``map`` (the manager passes the one it has loaded).
    Raises :class:`MissionError` listing every problem (map problems included).
    """
    problems: list[Problem] = []

    def fail(obj: object, element: str | None, reason: str) -> None:
        problems.append(Problem(reason, file, line_of(obj), element))

    if not isinstance(doc, Mapping):
        raise MissionError(Problem("mission file must be a mapping", file))
    for key in doc:
        if key not in _TOP:
            fail(doc, None, f"unknown field {key!r} in mission")
    base = base or Path(".")
    map_path: Path | None = None
    if facility is None:
        raw_map = doc.get("map")
        if not isinstance(raw_map, str):
            raise MissionError(Problem("mission needs the map file it runs on (map: PATH)", file))
        map_path = (base / raw_map).resolve()
        try:
            facility = formats.load(map_path)
        except MapError as exc:
            raise MissionError(exc.problems) from None
    fleet_path = None
    if isinstance(doc.get("fleet"), str):
        fleet_path = (base / doc["fleet"]).resolve()
    elif doc.get("fleet") is not None:
        fail(doc, None, "fleet must be a file path")

    try:
        mode = Mode(doc.get("mode", "once"))
    except (ValueError, TypeError):
        fail(doc, None, f"mode must be once or continuous, got {doc.get('mode')!r}")
        mode = Mode.ONCE
    try:
        objective = Objective(doc.get("objective", "makespan"))
    except ValueError:
        fail(doc, None, f"unknown objective {doc.get('objective')!r} (makespan or distance)")
        objective = Objective.MAKESPAN
    reserve = doc.get("battery_reserve_pct", 20.0)
    if isinstance(reserve, bool) or not isinstance(reserve, int | float) or not (
        0 <= reserve < 100
    ):
        fail(doc, None, f"battery_reserve_pct must be a number from 0 to 100, got {reserve!r}")
        reserve = 20.0

    robots = RobotFilter()
    raw_robots = doc.get("robots")
    if raw_robots is not None:
        if not isinstance(raw_robots, Mapping) or set(raw_robots) - {"classes", "serials"}:
            fail(raw_robots, None, "robots must be a mapping with classes and/or serials")
        else:
            cls, ser = _names(raw_robots.get("classes")), _names(raw_robots.get("serials"))
            if cls is None or ser is None:
                fail(raw_robots, None, "robots classes and serials must be lists of names")
            else:
                robots = RobotFilter(tuple(cls), tuple(ser))

    tasks: dict[str, InspectionTask] = {}
    raw_tasks = doc.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        fail(doc, None, "tasks must be a non-empty list")
        raw_tasks = []
    for i, raw in enumerate(raw_tasks):
        for t in _read_task(raw, i, facility, fail, mode):
            tasks[t.point] = _merge(tasks.get(t.point), t)
    if not tasks and not problems:
        fail(doc, None, "the tasks select no inspection point")
    meta = facility.meta if isinstance(facility.meta, Mapping) else {}
    fixed, _ = read_fixed_sensors(facility)  # (their problems are the map's to report)
    problems.extend(limit_problems(
        meta.get("limits"), doc.get("limits"), zones={z.id for z in facility.zones},
        points={*facility.inspection_points, *(f.id for f in fixed)}, mission_file=file,
        map_file=str(map_path) if map_path else None))
    if problems:
        raise MissionError(problems)
    name = doc.get("name")
    return MissionSpec(
        name=str(name) if name else (Path(file).stem if file else "mission"),
        facility=facility,
        map_path=map_path,
        tasks=tuple(tasks.values()),
        objective=objective,
        battery_reserve_pct=float(reserve),
        robots=robots,
        fleet_path=fleet_path,
        limits=doc.get("limits"),
        mode=mode,
    )


def _merge(old: InspectionTask | None, new: InspectionTask) -> InspectionTask:
    """A point selected by several tasks is inspected once, for all of them: every sensor,
    the longest dwell, the highest priority, the narrowest window, the shortest revisit."""
    if old is None:
        return new
    window = old.window or new.window
    if old.window and new.window:
        window = (max(old.window[0], new.window[0]), min(old.window[1], new.window[1]))
    return InspectionTask(
        point=old.point,
        sensors=old.sensors | new.sensors,
        dwell_s=max(old.dwell_s, new.dwell_s),
        priority=max(old.priority, new.priority),
        window=window,
        source=f"{old.source}+{new.source}",
        revisit_s=min((r for r in (old.revisit_s, new.revisit_s) if r is not None),
                      default=None),
    )


def _read_task(
    raw: object, index: int, fac: Facility, fail: Any, mode: Mode = Mode.ONCE
) -> list[InspectionTask]:
    label = f"tasks[{index}]"
    if not isinstance(raw, Mapping):
        fail(raw, label, "a task must be a mapping")
        return []
    if isinstance(raw.get("name"), str):
        label = f"task {raw['name']}"
    for key in raw:
        if key not in _TASK:
            fail(raw, label, f"unknown field {key!r} in task")
    points, zones, tags = (_names(raw.get(k)) for k in ("points", "zones", "tags"))
    if points is None or zones is None or tags is None:
        fail(raw, label, "points, zones and tags must be names or lists of names")
        return []
    if not (points or zones or tags):
        fail(raw, label, "a task selects points by points, zones or tags")
        return []
    sensors = _names(raw.get("sensors"))
    if not sensors:
        fail(raw, label, "a task needs the list of sensors to read")
        return []
    dwell = raw.get("dwell_s", 30)
    priority = raw.get("priority", 1)
    if isinstance(dwell, bool) or not isinstance(dwell, int | float) or not (
        math.isfinite(dwell) and dwell >= 0
    ):
        fail(raw, label, f"dwell_s must be a number of seconds >= 0, got {dwell!r}")
        return []
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 1:
        fail(raw, label, f"priority must be a whole number >= 1, got {priority!r}")
        return []
    window = None
    if raw.get("window_s") is not None:
        w = raw["window_s"]
        if (
            not isinstance(w, list) or len(w) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in w)
            or not 0 <= w[0] <= w[1]
        ):
            fail(raw, label, f"window_s must be [earliest, latest] seconds, got {w!r}")
            return []
        window = (float(w[0]), float(w[1]))
    revisit: float | None = None
    if raw.get("revisit") is not None:
        if mode is not Mode.CONTINUOUS:
            fail(raw, label, "revisit is for continuous missions only (add mode: continuous "
                 "at the top)")
            return []
        value = raw["revisit"]
        try:
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ValueError(f"revisit {value!r} is not a duration (like 90s, 20m, 2h, "
                                 "1h30m)")
            revisit = parse_duration(str(value), "revisit")
        except ValueError as exc:  # ScheduleError is one too
            fail(raw, label, str(exc))
            return []
    elif mode is Mode.CONTINUOUS:
        revisit = DEFAULT_REVISIT_S

    selected: dict[str, None] = {}
    if points == ["*"]:
        points = fac.inspection_points  # every inspection point of the site
    for p in points:
        node = fac.nodes.get(p)
        if node is None:
            fail(raw, label, f"unknown point {p!r}")
        elif node.kind is not NodeKind.INSPECTION:
            fail(raw, label, f"{p!r} is a {node.kind} node, not an inspection point")
        else:
            selected[p] = None
    for zid in zones:
        try:
            fac.zone(zid)
        except KeyError:
            fail(raw, label, f"unknown zone {zid!r}")
            continue
        inside = [p for p in fac.inspection_points if any(z.id == zid for z in fac.zones_at(p))]
        if not inside:
            fail(raw, label, f"zone {zid!r} holds no inspection point")
        selected.update(dict.fromkeys(inside))
    for tag in tags:
        tagged = [p for p in fac.inspection_points if tag in fac.nodes[p].tags]
        if not tagged:
            fail(raw, label, f"no inspection point is tagged {tag!r}")
        selected.update(dict.fromkeys(tagged))
    return [
        InspectionTask(p, frozenset(sensors), float(dwell), priority, window, label, revisit)
        for p in selected
    ]


def load_mission(path: str | Path, *, facility: Facility | None = None) -> MissionSpec:
    """Read a mission file (paths inside it are relative to the file)."""
    p = Path(path)
    return mission_from_document(yamldoc.read(p, error=MissionError), file=str(p),
                                 base=p.parent, facility=facility)
