"""Robots and robot classes: what each robot carries, how far it goes, where it may enter.

A fleet file (``.yaml``, documented in ``missions/README.md``) lists robot classes and the
robots of each class with their home dock. The manager fills the same model from live VDA
5050 factsheets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fleet import yamldoc
from fleet.errors import MissionError, Problem, line_of
from fleet.facility.model import Access, Facility
from fleet.facility.protection import Epl, parse_ratings, rating_problem, stays_energised


@dataclass(frozen=True)
class RobotClass:
    """A kind of robot. Units: m/s, Wh, Wh per metre, Wh per second, W.

    ``wh_per_second`` is what the robot draws while standing (dwelling at a point or
    waiting); ``wh_per_metre`` what driving costs. Charging adds ``charge_w`` watts.
    ``ratings`` are its equipment protection levels (IEC 60079-0; empty: unrated), one or
    several (``Mb`` and ``Gb``): see :mod:`fleet.facility.protection`.
    """

    name: str
    speed: float
    battery_wh: float
    wh_per_metre: float
    wh_per_second: float
    charge_w: float
    sensors: frozenset[str] = frozenset()
    ratings: frozenset[Epl] = frozenset()
    capabilities: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for key in ("speed", "battery_wh", "charge_w"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"robot class {self.name}: {key} must be positive, got {value}")
        for key in ("wh_per_metre", "wh_per_second"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"robot class {self.name}: {key} must be zero or positive, got {value}")

    @property
    def access(self) -> Access:
        """Where robots of this class may go, and how fast."""
        return Access(ratings=self.ratings, capabilities=self.capabilities, speed=self.speed)

    @property
    def stays_energised(self) -> bool:
        """Whether the class is rated Ma: it may stay energised in firedamp and enter
        Ma-only areas (:func:`fleet.facility.protection.stays_energised`)."""
        return stays_energised(self.ratings)

    def charge_seconds(self, wh: float) -> float:
        """Seconds to put ``wh`` watt-hours into the battery."""
        return max(0.0, wh) * 3600.0 / self.charge_w


@dataclass(frozen=True)
class Robot:
    """One robot: VDA 5050 identity (``manufacturer``, ``serial``), class and home dock."""

    manufacturer: str
    serial: str
    robot_class: RobotClass
    dock: str
    battery_wh: float | None = None
    """Energy in its battery as the round starts (Wh); None: full (a fleet file's robot).
    The manager plans live robots with what their state reports, so a second round does
    not start on paper with a battery the first one emptied."""
    charges: bool = True
    """Whether the robot can be sent to charge on its round (its factsheet offers
    ``startCharging``). A robot that cannot (a ROS 2 robot driven through Nav2 goals, say)
    gets no charging stops: its round fits the charge it starts with, less the reserve,
    and ends at its dock, where it charges on its own if it can."""
    start: str | None = None
    """Where its round starts when not at its dock (``None``: the dock): a robot re-planned
    in the middle of its round starts where the route it was already sent ends
    (:mod:`fleet.planning.replan`). Its round still ends at its dock."""
    ready_s: float = 0.0
    """Seconds after the plan's start at which it is at :attr:`start_node` (a robot
    re-planned mid-round is still driving what it was sent)."""

    @property
    def start_node(self) -> str:
        """Where its round starts: :attr:`start`, else its dock."""
        return self.dock if self.start is None else self.start

    @property
    def start_wh(self) -> float:
        """The energy the round starts with: :attr:`battery_wh`, at most the capacity."""
        full = self.robot_class.battery_wh
        return full if self.battery_wh is None else max(0.0, min(full, self.battery_wh))

    @property
    def name(self) -> str:
        """``manufacturer/serial``: how the CLI names a robot."""
        return f"{self.manufacturer}/{self.serial}"


@dataclass(frozen=True)
class Fleet:
    """Robots available to a plan, in file order; serials are unique."""

    robots: tuple[Robot, ...]
    classes: Mapping[str, RobotClass] = field(default_factory=dict)
    source: str | None = None
    """The fleet file it was read from, for messages (``None``: built in code, or from
    live factsheets)."""

    def robot(self, serial: str) -> Robot:
        """The robot with this serial; ``KeyError`` naming it when unknown."""
        for r in self.robots:
            if r.serial == serial:
                return r
        raise KeyError(f"unknown robot {serial!r}")

    def restricted(self, *, classes: Sequence[str] = (), serials: Sequence[str] = ()) -> Fleet:
        """The robots of the given classes or serials (all robots when both are empty)."""
        if not classes and not serials:
            return self
        keep = tuple(r for r in self.robots
                     if r.robot_class.name in classes or r.serial in serials)
        return Fleet(keep, self.classes, self.source)


_CLASS = {"name", "speed", "battery_wh", "wh_per_metre", "wh_per_second", "charge_w",
          "sensors", "epl", "capabilities"}
_ROBOT = {"manufacturer", "serial", "class", "dock"}


def _strings(value: object) -> frozenset[str] | None:
    if value is None:
        return frozenset()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    return None


def fleet_from_document(doc: object, *, file: str | None = None) -> Fleet:
    """A fleet from a parsed fleet file; :class:`MissionError` lists every problem."""
    problems: list[Problem] = []

    def fail(obj: object, element: str | None, reason: str) -> None:
        problems.append(Problem(reason, file, line_of(obj), element))

    if not isinstance(doc, Mapping):
        raise MissionError(Problem("fleet file must be a mapping with classes and robots", file))
    for key in doc:
        if key not in ("classes", "robots"):
            fail(doc, None, f"unknown field {key!r} in fleet file")
    classes: dict[str, RobotClass] = {}
    raw_classes = doc.get("classes") or []
    if not isinstance(raw_classes, list):
        fail(doc, None, "classes must be a list")
        raw_classes = []
    for raw in raw_classes:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            fail(raw, None, "a robot class must be a mapping with a name")
            continue
        name = raw["name"]
        label = f"class {name}"
        for key in raw:
            if key not in _CLASS:
                fail(raw, label, f"unknown field {key!r} in robot class")
        if name in classes:
            fail(raw, label, f"duplicate robot class {name!r}")
            continue
        numbers: dict[str, float] = {}
        for key in ("speed", "battery_wh", "wh_per_metre", "wh_per_second", "charge_w"):
            value = raw.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                fail(raw, label, f"{key} must be a number, got {value!r}")
            else:
                numbers[key] = float(value)
        sensors, caps = _strings(raw.get("sensors")), _strings(raw.get("capabilities"))
        if sensors is None:
            fail(raw, label, "sensors must be a list of sensor names")
        if caps is None:
            fail(raw, label, "capabilities must be a list of names")
        try:
            ratings = parse_ratings(raw.get("epl"))
        except ValueError as exc:
            fail(raw, label, str(exc))
            continue
        if len(numbers) < 5 or sensors is None or caps is None:
            continue
        try:
            classes[name] = RobotClass(name=name, sensors=sensors, ratings=ratings,
                                       capabilities=caps, **numbers)
        except ValueError as exc:
            fail(raw, label, str(exc).removeprefix(f"robot class {name}: "))

    robots: list[Robot] = []
    raw_robots = doc.get("robots") or []
    if not isinstance(raw_robots, list) or not raw_robots:
        fail(doc, None, "robots must be a non-empty list")
        raw_robots = []
    seen: set[str] = set()
    for raw in raw_robots:
        if not isinstance(raw, Mapping):
            fail(raw, None, "a robot must be a mapping")
            continue
        values = {k: raw.get(k) for k in _ROBOT}
        label = f"robot {values['serial']}"
        for key in raw:
            if key not in _ROBOT:
                fail(raw, label, f"unknown field {key!r} in robot")
        missing = [k for k, v in values.items() if not isinstance(v, str | int) or v == ""]
        if missing:
            fail(raw, label, "robot needs " + ", ".join(missing))
            continue
        serial = str(values["serial"])
        if serial in seen:
            fail(raw, label, f"duplicate serial {serial!r}")
            continue
        seen.add(serial)
        cls = classes.get(str(values["class"]))
        if cls is None:
            if str(values["class"]) not in {r.get("name") for r in raw_classes
                                            if isinstance(r, Mapping)}:
                fail(raw, label, f"unknown robot class {values['class']!r}")
            continue
        robots.append(Robot(str(values["manufacturer"]), serial, cls, str(values["dock"])))
    if problems:
        raise MissionError(problems)
    return Fleet(tuple(robots), classes, file)


def rating_problems(fleet: Fleet, site: Facility) -> list[Problem]:
    """One problem per robot class of ``fleet``'s robots that is not rated for ``site``
    (:func:`fleet.facility.protection.rating_problem`): a class without Ma or Mb on a
    group I site, a class rated Ma/Mb only on a group II site with ATEX zones. Empty when
    every class may work there as rated."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for robot in fleet.robots:
        cls = robot.robot_class
        if cls.name in seen:
            continue
        seen.add(cls.name)
        reason = rating_problem(cls.name, cls.ratings, site)
        if reason is not None:
            problems.append(Problem(reason, fleet.source))
    return problems


def load_fleet(path: str | Path) -> Fleet:
    """Read a fleet file; :class:`MissionError` for any problem, never another error."""
    p = Path(path)
    return fleet_from_document(yamldoc.read(p, error=MissionError), file=str(p))
