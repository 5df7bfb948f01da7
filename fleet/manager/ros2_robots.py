"""The robots file of ``fleet serve --robots FILE``: ROS 2 robots and how to reach them.

The format is a fleet file (``classes`` and ``robots``, missions/README.md) whose robots
carry a ``link`` (docs/ros2.md)::

    classes:
      - {name: ex-crawler, speed: 0.8, battery_wh: 1200, wh_per_metre: 0.05,
         wh_per_second: 0.02, charge_w: 600, sensors: [ch4, temperature], epl: Mb}
    robots:
      - manufacturer: tb
        serial: nav2-1
        class: ex-crawler
        dock: D1                      # optional: where it stands when the manager starts
        link:
          kind: ros2
          profile: rmw_zenoh          # or ros2dds (zenoh-bridge-ros2dds key layout)
          connect: tcp/10.0.0.21:7447 # the robot's Zenoh router or bridge (or a list)
          domain: 0
          namespace: /nav2_1          # optional
          distro: jazzy               # humble | jazzy | kilted
          map_frame: {x: 0, y: 0, yaw: 0, level: L-420}   # robot map frame -> site frame
          sensors:
            ch4: {topic: gas/ch4, type: std_msgs/msg/Float32, unit: "%vol"}
            temperature: {topic: temperature, type: sensor_msgs/msg/Temperature}

:func:`load_robots` reads it; every problem is a located one-line
:class:`~fleet.errors.MissionError` problem, all of them reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet import yamldoc
from fleet.agent.nav2 import SENSOR_TYPES, MapFrame, Nav2Config, SensorTopic
from fleet.errors import MissionError, Problem, line_of
from fleet.planning.robots import Robot, fleet_from_document
from fleet.ros2.interfaces import Distro
from fleet.ros2.keys import Profile
from fleet.sensors import SENSORS

_LINK = {"kind", "profile", "connect", "domain", "namespace", "distro", "map_frame",
         "sensors", "pose_timeout"}
_NO_DOCK = "-"
"""Stands for a robot without ``dock`` while the fleet reader checks the rest."""


@dataclass(frozen=True)
class Ros2Robot:
    """One robot of the file: its planning identity and how to reach it (``robot.dock``
    is "" when the file gives none)."""

    robot: Robot
    link: Nav2Config


def load_robots(path: str | Path) -> tuple[Ros2Robot, ...]:
    """The robots of the file at ``path``; MissionError listing every problem."""
    p = Path(path)
    doc = yamldoc.read(p, error=MissionError)
    return robots_from_document(doc, file=str(p))


def robots_from_document(doc: object, *, file: str | None = None) -> tuple[Ros2Robot, ...]:
    """The robots of a parsed robots file (see the module docstring)."""
    problems: list[Problem] = []
    if not isinstance(doc, Mapping) or not isinstance(doc.get("robots"), list):
        raise MissionError(Problem("a robots file is a mapping with classes and robots", file))
    links: list[Nav2Config | None] = []
    plain: list[Any] = []
    for raw in doc["robots"]:
        if not isinstance(raw, Mapping):
            plain.append(raw)
            links.append(None)
            continue
        label = f"robot {raw.get('serial')}"
        links.append(_link(raw.get("link"), raw, label, file, problems))
        plain.append({**{k: v for k, v in raw.items() if k != "link"},
                      "dock": raw.get("dock") or _NO_DOCK})
    try:
        fleet = fleet_from_document({**doc, "robots": plain}, file=file)
    except MissionError as exc:
        problems = [*exc.problems, *problems]
        fleet = None
    if problems or fleet is None:
        raise MissionError(problems)
    out = []
    for robot, link in zip(fleet.robots, links, strict=True):
        assert link is not None  # a robot without one was a problem
        dock = "" if robot.dock == _NO_DOCK else robot.dock
        out.append(Ros2Robot(Robot(robot.manufacturer, robot.serial, robot.robot_class, dock),
                             link))
    return tuple(out)


def _link(raw: object, robot: object, label: str, file: str | None,
          problems: list[Problem]) -> Nav2Config | None:
    def fail(reason: str, where: object = None) -> None:
        problems.append(Problem(reason, file, line_of(where if where is not None else raw)
                                or line_of(robot), label))

    if not isinstance(raw, Mapping):
        fail("link must be a mapping with kind: ros2")
        return None
    for key in raw:
        if key not in _LINK:
            fail(f"unknown field {key!r} in link")
    if raw.get("kind") != "ros2":
        fail(f"link kind must be ros2, got {raw.get('kind')!r}")
    before = len(problems)
    profile = _choice(raw.get("profile", "rmw_zenoh"), Profile, "profile", fail)
    distro = _choice(raw.get("distro"), Distro, "distro", fail)
    connect = raw.get("connect")
    endpoints = [connect] if isinstance(connect, str) else connect
    if not isinstance(endpoints, list) or not endpoints or not all(
            isinstance(e, str) and "/" in e for e in endpoints):
        fail("connect must be the robot's Zenoh endpoint (tcp/HOST:PORT) or a list of them")
    domain = raw.get("domain", 0)
    if isinstance(domain, bool) or not isinstance(domain, int) or not 0 <= domain <= 232:
        fail(f"domain must be a ROS domain id 0..232, got {domain!r}")
    namespace = raw.get("namespace", "/")
    if not isinstance(namespace, str) or not namespace.startswith("/") or (
            namespace != "/" and namespace.endswith("/")):
        fail(f"namespace must start with '/' (e.g. /nav2_1), got {namespace!r}")
    frame = _frame(raw.get("map_frame"), fail)
    sensors = _sensors(raw.get("sensors"), fail)
    timeout = raw.get("pose_timeout", 3.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        fail(f"pose_timeout must be seconds > 0, got {timeout!r}")
    if len(problems) > before or profile is None or distro is None or frame is None \
            or sensors is None:
        return None
    assert isinstance(endpoints, list)
    return Nav2Config(profile, distro, tuple(endpoints), domain, namespace, frame, sensors,
                      float(timeout))


def _choice(value: object, enum: Any, what: str, fail: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        fail(f"{what} must be one of {', '.join(e.value for e in enum)}, got {value!r}")
        return None


def _frame(raw: object, fail: Any) -> MapFrame | None:
    if raw is None:
        return MapFrame()
    if not isinstance(raw, Mapping):
        fail("map_frame must be a mapping of x, y, yaw and level")
        return None
    numbers = []
    for key in ("x", "y", "yaw"):
        value = raw.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            fail(f"map_frame {key} must be a number, got {value!r}", raw)
            return None
        numbers.append(float(value))
    level = raw.get("level", "")
    if not isinstance(level, str):
        fail(f"map_frame level must be a level id, got {level!r}", raw)
        return None
    return MapFrame(numbers[0], numbers[1], numbers[2], level)


def _sensors(raw: object, fail: Any) -> tuple[SensorTopic, ...] | None:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        fail("sensors must map sensor names to {topic, type, unit}")
        return None
    out = []
    for name, spec in raw.items():
        if not isinstance(spec, Mapping) or not isinstance(spec.get("topic"), str):
            fail(f"sensor {name}: needs a topic", spec)
            continue
        typename = spec.get("type", "std_msgs/msg/Float32")
        known = SENSORS.get(str(name))
        unit = spec.get("unit", known.unit if known is not None else None)
        if typename not in SENSOR_TYPES:
            fail(f"sensor {name}: type must be one of {', '.join(sorted(SENSOR_TYPES))}, "
                 f"got {typename!r}", spec)
            continue
        if not isinstance(unit, str) or not unit:
            fail(f"sensor {name}: needs a unit (not a sensor the project knows)", spec)
            continue
        out.append(SensorTopic(str(name), spec["topic"], typename, unit))
    return tuple(out)
