"""Scenario files: the site, the fleet, the world's readings, the radio and scheduled faults.

A scenario (``sim/scenarios/*.yaml``, documented field by field in
``sim/scenarios/README.md``) names a map, optionally a mission, a fleet, a seed, the world
model (sensor backgrounds and anomaly sources), the 5G link model and faults. Paths inside
a scenario are relative to the scenario file. :func:`load_scenario` reports every problem of
a broken file at once as a :class:`sim.errors.ScenarioError` (problems of the map,
mission or fleet file it names keep their own file and line), and never raises anything
else for a file's content.

Units: seconds (``*_s``, ``at``), metres (``decay_m``), the sensor's own unit for values
(see :data:`sim.world.DEFAULT_SENSORS`), milliseconds for the link.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from fleet import yamldoc
from fleet.errors import FleetError, Problem, line_of
from fleet.facility import formats
from fleet.facility.fixed_sensors import META_KEY, read_fixed_sensors
from fleet.facility.model import Facility
from fleet.planning.mission import MissionSpec, load_mission
from fleet.planning.robots import Fleet, fleet_from_document, load_fleet, rating_problems
from fleet.sensors import is_concentration
from sim.errors import ScenarioError as ScenarioError  # re-exported
from sim.link import LinkModel
from sim.world import (
    DEFAULT_SENSORS,
    AnySource,
    GasLeak,
    HotSpot,
    O2Deficiency,
    SensorSpec,
    WorldSpec,
)


class FaultKind(StrEnum):
    """What goes wrong with a robot."""

    KILL = "kill"
    """The robot's process dies (its liveliness token vanishes); ``duration_s``: restart
    after that many seconds, else never."""
    STUCK = "stuck"
    """The robot stops moving where it is (wheels spin, no progress); ``duration_s``: frees
    itself after that long, else never."""
    SENSOR_FAIL = "sensor_fail"
    """``sensor`` returns no reading (NaN) from then on, or for ``duration_s``."""
    SENSOR_DRIFT = "sensor_drift"
    """``sensor`` reads high by ``per_hour`` (its unit) per hour since the fault."""
    BATTERY_DRAIN = "battery_drain"
    """The battery drains ``factor`` times as fast as the robot's class says."""


_FAULT_PARAMS: Mapping[FaultKind, tuple[frozenset[str], frozenset[str]]] = {
    # (required, optional) params of each kind
    FaultKind.KILL: (frozenset(), frozenset({"duration_s"})),
    FaultKind.STUCK: (frozenset(), frozenset({"duration_s"})),
    FaultKind.SENSOR_FAIL: (frozenset({"sensor"}), frozenset({"duration_s"})),
    FaultKind.SENSOR_DRIFT: (frozenset({"sensor", "per_hour"}), frozenset()),
    FaultKind.BATTERY_DRAIN: (frozenset({"factor"}), frozenset()),
}


@dataclass(frozen=True, kw_only=True)
class Fault:
    """A fault of ``kind`` hitting robot ``robot`` (serial) at world time ``at_s``."""

    at_s: float
    robot: str
    kind: FaultKind
    sensor: str | None = None
    per_hour: float | None = None
    factor: float | None = None
    duration_s: float | None = None

    def active(self, t: float) -> bool:
        """Whether the fault is in effect at world time ``t``."""
        if t < self.at_s:
            return False
        return self.duration_s is None or t < self.at_s + self.duration_s


class SupervisorVerb(StrEnum):
    """What a scripted supervisor does (through the manager's query API, as the CLI would)."""

    RESET = "reset"
    """``fleet robots reset M/S --note``: people reset the locked-out ``robot``; without
    ``robot``, every robot the manager lists as locked out then (the all-clear)."""
    CLEAR = "clear"
    """``fleet robots clear M/S --note``: people recovered the lost ``robot`` (carried out
    of the space, as :meth:`sim.runner.SimRun.recover`)."""
    REOPEN = "reopen"
    """``fleet closures reopen C-ID --note``: reopen gas closure ``closure`` (its number,
    ``C-1`` is 1) with a ``note``."""
    LAUNCH = "launch"
    """Launch the mission file ``mission`` (a path relative to the scenario) on the
    scenario's map."""


_SUPERVISOR_FIELDS: Mapping[SupervisorVerb, tuple[frozenset[str], frozenset[str]]] = {
    # (required, optional) fields besides at and action
    SupervisorVerb.RESET: (frozenset({"note"}), frozenset({"robot", "by"})),
    SupervisorVerb.CLEAR: (frozenset({"robot", "note"}), frozenset({"by"})),
    SupervisorVerb.REOPEN: (frozenset({"closure", "note"}), frozenset({"by"})),
    SupervisorVerb.LAUNCH: (frozenset({"mission"}), frozenset({"by", "note"})),
}

SUPERVISOR = "simulated supervisor"
"""Who a scripted supervisor action is recorded as, unless it says ``by``."""


@dataclass(frozen=True, kw_only=True)
class SupervisorAction:
    """A supervisor's ``action`` at world time ``at_s``: on ``robot`` (reset, clear), on
    closure number ``closure`` (reopen) or launching ``mission`` (a path)."""

    at_s: float
    action: SupervisorVerb
    note: str | None = None
    by: str = SUPERVISOR
    robot: str | None = None
    closure: int | None = None
    mission: Path | None = None


@dataclass(frozen=True)
class Scenario:
    """A whole simulation set-up; only ``name`` and ``facility`` are needed to build one."""

    name: str
    facility: Facility
    seed: int = 0
    world: WorldSpec = field(default_factory=WorldSpec)
    link: LinkModel = field(default_factory=LinkModel)
    faults: tuple[Fault, ...] = ()
    supervisor: tuple[SupervisorAction, ...] = ()
    """Scripted supervisor actions, in time order."""
    fleet: Fleet = field(default_factory=lambda: Fleet(()))
    mission: MissionSpec | None = None
    description: str | None = None
    path: Path | None = None
    map_path: Path | None = None
    mission_path: Path | None = None
    fleet_path: Path | None = None

    def faults_of(self, robot: str) -> tuple[Fault, ...]:
        """The faults scheduled for one robot, in time order."""
        return tuple(sorted((f for f in self.faults if f.robot == robot),
                            key=lambda f: f.at_s))


_TOP = {"name", "description", "map", "mission", "fleet", "seed", "world", "link", "faults",
        "sensors", "supervisor"}
_WORLD = {"sensors", "sources"}
_SENSOR = {"unit", "background", "by_tag", "sigma", "range"}
_LINK = {"latency_ms", "jitter_ms", "loss"}
_FAULT = {"at", "robot", "kind", "params"}
_TIMING = {"start_s", "ramp_s", "growth_per_h", "end_s"}
_SOURCES: Mapping[str, frozenset[str]] = {
    "gas_leak": frozenset({"kind", "sensor", "node", "peak", "decay_m", *_TIMING}),
    "hot_spot": frozenset({"kind", "node", "peak_c", "decay_m", *_TIMING}),
    "o2_deficiency": frozenset({"kind", "node", "zone", "o2", "decay_m", *_TIMING}),
}


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    return "nothing" if value is None else type(value).__name__


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60


def _show(value: object) -> str:
    """A short repr of a value from a document, for messages (never raises)."""
    try:
        return _REPR.repr(value)
    except ValueError:  # an integer with more digits than Python will print
        return "a number too long to show"


def _ident(value: object) -> str | None:
    """A name from a document: a non-empty string, or a whole number (YAML reads ``7`` as
    one); None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 64:
        value = str(value)
    return value if isinstance(value, str) and value.strip() else None


def _finite(value: object) -> float | None:
    """``value`` as a finite float, or None when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


@dataclass
class _Reader:
    """Collects the problems of one scenario document."""

    file: str | None
    problems: list[Problem] = field(default_factory=list)

    def fail(self, obj: object, element: str | None, reason: str) -> None:
        self.problems.append(Problem(reason, self.file, line_of(obj), element))

    def known(self, obj: Mapping[Any, Any], allowed: set[str] | frozenset[str], what: str,
              element: str | None = None) -> None:
        for key in obj:
            if not isinstance(key, str) or key not in allowed:
                self.fail(obj, element, f"unknown field {_show(key)} in {what}")

    def number(self, obj: Mapping[Any, Any], key: str | int, element: str | None, *,
               required: bool = False) -> float | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(obj, element, f"missing {key}")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(obj, element, f"{key} must be a number, got {_kind(value)}")
            return None
        number = _finite(value)
        if number is None:
            self.fail(obj, element, f"{key} must be a finite number, got {_show(value)}")
        return number

    def name(self, obj: Mapping[Any, Any], key: str, element: str | None, *,
             required: bool = False) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(obj, element, f"missing {key}")
            return None
        text = _ident(value)
        if text is None:
            self.fail(obj, element, f"{key} must be a non-empty string, got {_show(value)}")
        return text

    def path(self, obj: Mapping[Any, Any], key: str, base: Path) -> Path | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            self.fail(obj, None, f"{key} must be a file path, got {_show(value)}")
            return None
        return base / value


def _sensors(r: _Reader, raw: object) -> dict[str, SensorSpec]:
    sensors = dict(DEFAULT_SENSORS)
    if raw is None:
        return sensors
    if not isinstance(raw, Mapping):
        r.fail(raw, None, f"world.sensors must be a mapping of sensor names, got {_kind(raw)}")
        return sensors
    for raw_name, body in raw.items():
        name = _ident(raw_name)
        if name is None:
            r.fail(raw, None, f"sensor name must be a string, got {_show(raw_name)}")
            continue
        label = f"sensor {name}"
        if not isinstance(body, Mapping):
            r.fail(raw, label, f"a sensor must be a mapping, got {_kind(body)}")
            continue
        r.known(body, _SENSOR, "sensor", label)
        base = sensors.get(name)
        unit = body.get("unit", base.unit if base else None)
        if not isinstance(unit, str) or not unit.strip():
            r.fail(body, label, "a sensor the world does not know needs its unit"
                   if base is None else f"unit must be a string, got {_show(unit)}")
            continue
        values = {k: r.number(body, k, label) for k in ("background", "sigma")}
        low, high = (base.low, base.high) if base else (-math.inf, math.inf)
        rng = body.get("range")
        if rng is not None:
            bounds = [_finite(v) for v in rng] if isinstance(rng, list) else []
            if len(bounds) == 2 and bounds[0] is not None and bounds[1] is not None:
                low, high = bounds[0], bounds[1]
            else:
                r.fail(body, label, f"range must be [low, high], got {_show(rng)}")
                continue
        elif base is None:
            r.fail(body, label, "a sensor the world does not know needs its range: [low, high]")
            continue
        by_tag: list[tuple[str, float]] = []
        raw_tags = body.get("by_tag") or {}
        if not isinstance(raw_tags, Mapping):
            r.fail(body, label, f"by_tag must be a mapping of tag: value, got {_kind(raw_tags)}")
            continue
        for raw_tag in raw_tags:
            tag = _ident(raw_tag)
            if tag is None:
                r.fail(raw_tags, label, f"tag must be a string, got {_show(raw_tag)}")
                continue
            value = r.number(raw_tags, raw_tag, label, required=True)
            if value is not None:
                by_tag.append((tag, value))
        background = values["background"]
        if background is None:
            background = base.background if base else (max(low, 0.0) if low <= 0 <= high
                                                        else low)
        sigma = values["sigma"] if values["sigma"] is not None else (base.sigma if base else 0.0)
        try:
            sensors[name] = SensorSpec(unit.strip(), background, sigma, low, high, tuple(by_tag))
        except ValueError as exc:
            r.fail(body, label, str(exc))
    return sensors


def _source(r: _Reader, raw: object, facility: Facility,
            sensors: Mapping[str, SensorSpec]) -> AnySource | None:
    if not isinstance(raw, Mapping):
        r.fail(raw, None, f"a source must be a mapping, got {_kind(raw)}")
        return None
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in _SOURCES:
        r.fail(raw, None, f"source kind must be one of {', '.join(_SOURCES)}, got {_show(kind)}")
        return None
    label = f"source {kind}"
    r.known(raw, _SOURCES[kind], kind, label)
    timing = {k: r.number(raw, k, label) for k in _TIMING}
    t = {k: v for k, v in timing.items() if v is not None}
    node = r.name(raw, "node", label, required=kind != "o2_deficiency")
    if node is not None and node not in facility.nodes:
        r.fail(raw, label, f"unknown node {_show(node)}")
        return None
    decay = r.number(raw, "decay_m", label, required=kind == "gas_leak")
    try:
        if kind == "gas_leak":
            sensor = r.name(raw, "sensor", label, required=True)
            peak = r.number(raw, "peak", label, required=True)
            if sensor is None or peak is None or decay is None or node is None:
                return None
            spec = sensors.get(sensor)
            if spec is None:
                r.fail(raw, label, f"unknown sensor {_show(sensor)}")
                return None
            if not is_concentration(spec.unit):
                r.fail(raw, label, f"a gas leak raises a concentration; {sensor} is in "
                       f"{spec.unit} (use hot_spot for thermal, o2_deficiency for o2)")
                return None
            return GasLeak(sensor=sensor, node=node, peak=peak, decay_m=decay, **t)
        if kind == "hot_spot":
            peak_c = r.number(raw, "peak_c", label, required=True)
            if peak_c is None or node is None:
                return None
            return HotSpot(node=node, peak_c=peak_c, **t,
                           **({} if decay is None else {"decay_m": decay}))
        o2 = r.number(raw, "o2", label, required=True)
        zone = r.name(raw, "zone", label)
        if zone is not None and zone not in {z.id for z in facility.zones}:
            r.fail(raw, label, f"unknown zone {_show(zone)}")
            return None
        if o2 is None:
            return None
        return O2Deficiency(o2=o2, node=node, zone=zone, **t,
                            **({} if decay is None else {"decay_m": decay}))
    except ValueError as exc:
        r.fail(raw, label, str(exc))
        return None


def _world(r: _Reader, raw: object, facility: Facility) -> WorldSpec:
    if raw is None:
        return WorldSpec()
    if not isinstance(raw, Mapping):
        r.fail(raw, None, f"world must be a mapping, got {_kind(raw)}")
        return WorldSpec()
    r.known(raw, _WORLD, "world")
    sensors = _sensors(r, raw.get("sensors"))
    raw_sources = raw.get("sources") or []
    if not isinstance(raw_sources, list):
        r.fail(raw, None, f"world.sources must be a list, got {_kind(raw_sources)}")
        raw_sources = []
    sources = [_source(r, s, facility, sensors) for s in raw_sources]
    return WorldSpec(sensors, tuple(s for s in sources if s is not None))


def _link(r: _Reader, raw: object) -> LinkModel:
    if raw is None:
        return LinkModel()
    if not isinstance(raw, Mapping):
        r.fail(raw, None, f"link must be a mapping, got {_kind(raw)}")
        return LinkModel()
    r.known(raw, _LINK, "link")
    values = {k: r.number(raw, k, "link") for k in _LINK}
    try:
        return LinkModel(**{k: v for k, v in values.items() if v is not None})
    except ValueError as exc:
        r.fail(raw, "link", str(exc))
        return LinkModel()


def _fault(r: _Reader, raw: object, fleet: Fleet | None,
           sensors: Mapping[str, SensorSpec]) -> Fault | None:
    if not isinstance(raw, Mapping):
        r.fail(raw, None, f"a fault must be a mapping, got {_kind(raw)}")
        return None
    r.known(raw, _FAULT, "fault")
    raw_kind = raw.get("kind")
    if not isinstance(raw_kind, str) or raw_kind not in set(FaultKind):
        r.fail(raw, None, f"fault kind must be one of {', '.join(FaultKind)}, "
               f"got {_show(raw_kind)}")
        return None
    kind = FaultKind(raw_kind)
    label = f"fault {kind.value}"
    at = r.number(raw, "at", label, required=True)
    robot = r.name(raw, "robot", label, required=True)
    params = raw.get("params") or {}
    if not isinstance(params, Mapping):
        r.fail(raw, label, f"params must be a mapping, got {_kind(params)}")
        return None
    required, optional = _FAULT_PARAMS[kind]
    r.known(params, required | optional, f"{kind.value} params", label)
    for key in sorted(required - set(params)):
        r.fail(params or raw, label, f"{kind.value} needs params.{key}")
    values: dict[str, float | None] = {
        k: r.number(params, k, label) for k in ("per_hour", "factor", "duration_s")
        if k in required | optional}
    sensor = r.name(params, "sensor", label) if "sensor" in required else None
    missing = [k for k in required
               if (sensor is None if k == "sensor" else values.get(k) is None)]
    if at is None or robot is None or missing:
        return None
    ok = True
    if at < 0:
        r.fail(raw, label, f"at must be ≥ 0 seconds, got {at}")
        ok = False
    for key in ("factor", "duration_s"):
        v = values.get(key)
        if v is not None and v <= 0:
            r.fail(params, label, f"{key} must be positive, got {v}")
            ok = False
    if fleet is not None:
        try:
            cls = fleet.robot(robot).robot_class
        except KeyError:
            r.fail(raw, label, f"unknown robot {_show(robot)} (not in the scenario's fleet)")
            return None
        if sensor is not None and sensor not in cls.sensors:
            r.fail(params, label, f"robot {robot} carries no {sensor} sensor")
            ok = False
    if sensor is not None and sensor not in sensors:
        r.fail(params, label, f"unknown sensor {_show(sensor)}")
        ok = False
    if not ok:
        return None
    return Fault(at_s=at, robot=robot, kind=kind, sensor=sensor, **values)


def _supervisor(r: _Reader, raw: object, fleet: Fleet | None,
                base: Path) -> SupervisorAction | None:
    if not isinstance(raw, Mapping):
        r.fail(raw, None, f"a supervisor action must be a mapping, got {_kind(raw)}")
        return None
    verb = raw.get("action")
    if not isinstance(verb, str) or verb not in set(SupervisorVerb):
        r.fail(raw, None, f"supervisor action must be one of {', '.join(SupervisorVerb)}, "
               f"got {_show(verb)}")
        return None
    action = SupervisorVerb(verb)
    label = f"supervisor {action.value}"
    required, optional = _SUPERVISOR_FIELDS[action]
    r.known(raw, {"at", "action", *required, *optional}, f"supervisor {action.value}", label)
    at = r.number(raw, "at", label, required=True)
    ok = at is not None
    if at is not None and at < 0:
        r.fail(raw, label, f"at must be ≥ 0 seconds, got {at:g}")
        ok = False
    texts: dict[str, str | None] = {}
    for key in ("note", "by", "robot"):
        if key in required | optional:
            texts[key] = r.name(raw, key, label, required=key in required)
            ok = ok and (texts[key] is not None or key not in required)
    robot = texts.get("robot")
    if robot is not None and fleet is not None and \
            robot not in {x.serial for x in fleet.robots}:
        r.fail(raw, label, f"unknown robot {_show(robot)} (not in the scenario's fleet)")
        ok = False
    closure: int | None = None
    if "closure" in required:
        value = raw.get("closure")
        if isinstance(value, str) and value.upper().startswith("C-"):
            value = value[2:]
        try:
            closure = int(value) if isinstance(value, int | str) and \
                not isinstance(value, bool) else None
        except ValueError:
            closure = None
        if closure is None or closure < 1:
            r.fail(raw, label, f"closure must be a closure's number (1 or C-1), got "
                   f"{_show(raw.get('closure'))}")
            ok = False
    mission: Path | None = None
    if "mission" in required:
        mission = r.path(raw, "mission", base)
        if mission is None:
            r.fail(raw, label, "launch needs the mission file (mission: PATH)")
            ok = False
        elif not mission.is_file():
            r.fail(raw, label, f"no mission file {_show(str(mission))}")
            ok = False
    if not ok or at is None:
        return None
    return SupervisorAction(at_s=at, action=action, note=texts.get("note"),
                            by=texts.get("by") or SUPERVISOR, robot=robot, closure=closure,
                            mission=mission)


def _with_sensors(r: _Reader, raw: object, facility: Facility) -> Facility:
    """``facility`` with the scenario's fixed sensors added to its map's (checked here, with
    the scenario's lines; the merged list is checked again with the map's)."""
    if raw is None:
        return facility
    if not isinstance(raw, list):
        r.fail(raw, None, f"sensors must be a list of fixed sensors, got {_kind(raw)}")
        return facility
    own = replace(facility, meta={**facility.meta, META_KEY: raw})
    _, problems = read_fixed_sensors(own, file=r.file)
    if problems:
        r.problems.extend(problems)
        return facility
    listed = facility.meta.get(META_KEY)
    merged = [*(listed if isinstance(listed, list) else []), *raw]
    return replace(facility, meta={**facility.meta, META_KEY: merged})


def scenario_from_document(doc: object, *, file: str | None = None,
                           base: Path | None = None) -> Scenario:
    """A scenario from a parsed scenario document; relative paths resolve against ``base``.

    Raises :class:`ScenarioError` listing every problem (those of the files it names
    included); never anything else for the document's content.
    """
    r = _Reader(file)
    if not isinstance(doc, Mapping):
        raise ScenarioError(Problem("a scenario must be a mapping with at least map:", file))
    base = base if base is not None else Path(".")
    r.known(doc, _TOP, "scenario")
    map_path = r.path(doc, "map", base)
    if map_path is None:
        if doc.get("map") is None:
            r.fail(doc, None, "a scenario needs the map it runs on (map: PATH)")
        raise ScenarioError(r.problems)
    try:
        facility = formats.load(map_path)
    except FleetError as exc:
        raise ScenarioError([*r.problems, *getattr(exc, "problems", [Problem(str(exc))])]) \
            from None

    facility = _with_sensors(r, doc.get("sensors"), facility)
    name = r.name(doc, "name", None) or (Path(file).stem if file else facility.name)
    description = doc.get("description")
    if description is not None and not isinstance(description, str):
        r.fail(doc, None, f"description must be text, got {_kind(description)}")
        description = None
    seed = doc.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        r.fail(doc, None, f"seed must be a whole number from 0 to 2**64 - 1, got {_show(seed)}")
        seed = 0

    mission: MissionSpec | None = None
    mission_path = r.path(doc, "mission", base)
    if mission_path is not None:
        try:
            mission = load_mission(mission_path, facility=facility)
        except FleetError as exc:
            r.problems.extend(getattr(exc, "problems", [Problem(str(exc), str(mission_path))]))

    fleet: Fleet | None = None
    fleet_path: Path | None = None
    raw_fleet = doc.get("fleet")
    try:
        if isinstance(raw_fleet, Mapping):
            fleet = fleet_from_document(raw_fleet, file=file)
        elif raw_fleet is not None:
            fleet_path = r.path(doc, "fleet", base)
            fleet = load_fleet(fleet_path) if fleet_path is not None else None
        elif mission is not None and mission.fleet_path is not None:
            fleet_path = mission.fleet_path
            fleet = load_fleet(fleet_path)
        elif mission_path is None or mission is not None:  # (a broken mission said why)
            r.fail(doc, None, "a scenario needs a fleet (fleet: PATH or a mapping of classes "
                   "and robots, or a mission whose fleet: names one)")
    except FleetError as exc:
        r.problems.extend(getattr(exc, "problems", [Problem(str(exc), file)]))
    if fleet is not None:
        for robot in fleet.robots:
            if robot.dock not in facility.nodes:
                r.fail(raw_fleet if isinstance(raw_fleet, Mapping) else doc, robot.serial,
                       f"dock {_show(robot.dock)} of robot {robot.serial} is not on the map")
        r.problems.extend(rating_problems(fleet, facility))

    _, sensor_problems = read_fixed_sensors(facility, file=str(map_path))
    r.problems.extend(sensor_problems)  # the simulator publishes them: they must be sound
    world = _world(r, doc.get("world"), facility)
    link = _link(r, doc.get("link"))
    faults: list[Fault] = []
    raw_faults = doc.get("faults") or []
    if not isinstance(raw_faults, list):
        r.fail(doc, None, f"faults must be a list, got {_kind(raw_faults)}")
        raw_faults = []
    for raw in raw_faults:
        fault = _fault(r, raw, fleet, world.sensors)
        if fault is not None:
            faults.append(fault)

    actions: list[SupervisorAction] = []
    raw_actions = doc.get("supervisor") or []
    if not isinstance(raw_actions, list):
        r.fail(doc, None, f"supervisor must be a list, got {_kind(raw_actions)}")
        raw_actions = []
    for raw in raw_actions:
        action = _supervisor(r, raw, fleet, base)
        if action is not None:
            actions.append(action)

    if r.problems:
        raise ScenarioError(r.problems)
    return Scenario(
        name=name, facility=facility, seed=seed, world=world, link=link, faults=tuple(faults),
        supervisor=tuple(sorted(actions, key=lambda a: a.at_s)),
        fleet=fleet if fleet is not None else Fleet(()), mission=mission,
        description=description, path=Path(file) if file else None, map_path=map_path,
        mission_path=mission_path, fleet_path=fleet_path)


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file; :class:`ScenarioError` for any problem, never another error."""
    p = Path(path)
    doc = yamldoc.read(p, error=ScenarioError)
    return scenario_from_document(doc, file=str(p), base=p.parent)
