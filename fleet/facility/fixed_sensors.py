"""Fixed sensors: the site's own gas monitoring network, as the map lists it.

Mines and plants run fixed gas sensors wired to a monitoring system; their readings reach
the manager on Zenoh (``{interface}/sensors/{sensorId}``, docs/protocol.md) and go through
the same limits and alerts as the robots' readings, and the interlock levels
(docs/gas-safety.md). The map lists them under ``site.meta.sensors`` (maps/README.md)::

    site:
      meta:
        sensors:
          - {id: T-2201-1, sensor: ch4, node: face-05, location: coal-face}
          - {id: T-MR-3, sensor: ch4, position: {x: 640, y: -80, level: L-350}}

:func:`read_fixed_sensors` reads and checks that list against the facility, reporting every
problem in one line each; :func:`fixed_sensors` raises them as a
:class:`~fleet.errors.MapError`. A sensor given by ``position`` is attached to the nearest
node of its level (what the interlock and closures work on), and its zones are those its
position lies in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point

from fleet.errors import MapError, Problem, line_of
from fleet.facility.model import Facility
from fleet.interlock import LocationType, parse_location
from fleet.sensors import SENSORS, factor, sensor_name, unit_name

META_KEY = "sensors"
"""The key of ``site.meta`` that lists the fixed sensors."""

_FIELDS = {"id", "sensor", "node", "position", "location", "unit", "name"}
_POSITION = {"x", "y", "level"}
_KEY_FORBIDDEN = frozenset("/*$?#")  # as fleet.protocol.keys.check_chunk: a key chunk


@dataclass(frozen=True)
class FixedSensor:
    """One fixed sensor of the site.

    ``id`` is unique on the map, differs from every node id and is one Zenoh key chunk.
    ``sensor`` is a known sensor name (:data:`fleet.sensors.SENSORS`), ``unit`` the unit it
    reports in (the map's ``unit``, else the sensor's own; readings in a unit that converts
    to it are accepted too). ``node`` is the node it stands at (given, or the nearest node of
    its level to its ``position``); ``position`` is ``(x, y, level)`` when the map gives one.
    ``zones`` are the ids of the zones it is in, in map order. ``location`` is the AQ1029
    location type the map gives it (None: the node's, see
    :class:`fleet.anomaly.limits.LimitBook`).
    """

    id: str
    sensor: str
    unit: str
    node: str
    position: tuple[float, float, str] | None = None
    zones: tuple[str, ...] = ()
    location: LocationType | None = None
    name: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The sensor as JSON (the API, ``fleet map info --json``)."""
        return {"id": self.id, "sensor": self.sensor, "unit": self.unit, "node": self.node,
                "position": ({"x": self.position[0], "y": self.position[1],
                              "level": self.position[2]} if self.position else None),
                "zones": list(self.zones),
                "location": self.location.value if self.location else None,
                "name": self.name}


def read_fixed_sensors(facility: Facility, *, file: str | None = None
                       ) -> tuple[tuple[FixedSensor, ...], list[Problem]]:
    """The fixed sensors ``facility``'s ``site.meta.sensors`` lists, and every problem found
    (one line each, located in ``file``): not a list, an unknown field, a missing, duplicate
    or unusable id, an id that is also a node's, an unknown sensor, no node and no position
    (or both), an unknown node or level, an unknown location type, a unit that does not
    convert to the sensor's. Sensors with problems are left out."""
    meta = facility.meta if isinstance(facility.meta, Mapping) else {}
    raw = meta.get(META_KEY)
    problems: list[Problem] = []
    if raw is None:
        return (), problems
    where = f"site.meta.{META_KEY}"
    if not isinstance(raw, list):
        problems.append(Problem("must be a list of fixed sensors", file, line_of(meta),
                                where))
        return (), problems
    found: list[FixedSensor] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        def fail(reason: str, element: str = f"{where}[{i}]", obj: object = entry) -> None:
            problems.append(Problem(reason, file, line_of(obj) or line_of(raw), element))

        sensor = _read_one(facility, entry, fail)
        if sensor is None:
            continue
        if sensor.id in seen:
            fail(f"duplicate fixed sensor id {sensor.id!r}", f"sensor {sensor.id}")
            continue
        seen.add(sensor.id)
        found.append(sensor)
    return tuple(found), problems


def fixed_sensors(facility: Facility, *, file: str | None = None) -> tuple[FixedSensor, ...]:
    """The fixed sensors of ``facility``; MapError listing every problem when any."""
    found, problems = read_fixed_sensors(facility, file=file)
    if problems:
        raise MapError(problems)
    return found


def _read_one(facility: Facility, entry: object, fail: Any) -> FixedSensor | None:
    if not isinstance(entry, Mapping):
        fail("a fixed sensor must be a mapping with id, sensor and node (or position)")
        return None
    unknown = [k for k in entry if k not in _FIELDS]
    if unknown:
        fail(f"unknown field {unknown[0]!r} (expected: {', '.join(sorted(_FIELDS))})")
        return None
    ident = entry.get("id")
    if isinstance(ident, int) and not isinstance(ident, bool):
        ident = str(ident)
    if not isinstance(ident, str) or not ident.strip():
        fail(f"a fixed sensor needs an id (a non-empty string), got {ident!r}")
        return None
    if ident.startswith("@") or _KEY_FORBIDDEN.intersection(ident) or ident != ident.strip():
        fail("the id must be usable as one Zenoh key chunk (no / * $ ? #, no leading @, "
             "no surrounding spaces)", f"sensor {ident}")
        return None
    label = f"sensor {ident}"
    if ident in facility.nodes:
        fail(f"id {ident!r} is also a node's: give the sensor an id of its own", label)
        return None
    raw_sensor = entry.get("sensor")
    name = sensor_name(raw_sensor) if isinstance(raw_sensor, str) else ""
    if name not in SENSORS:
        fail(f"unknown sensor {raw_sensor!r} (expected one of: {', '.join(sorted(SENSORS))})",
             label)
        return None
    unit = SENSORS[name].unit
    if entry.get("unit") is not None:
        given = entry["unit"]
        if not isinstance(given, str) or factor(given, unit) is None:
            fail(f"unit {given!r} does not convert to {unit}, the unit of {name}", label)
            return None
        unit = unit_name(given)
    location = None
    if entry.get("location") is not None:
        try:
            location = parse_location(entry["location"])
        except ValueError as exc:
            fail(str(exc), label)
            return None
    node, position = entry.get("node"), entry.get("position")
    if (node is None) == (position is None):
        fail("give either node or position", label)
        return None
    if node is not None:
        node_id = str(node) if isinstance(node, str | int) and not isinstance(node, bool) \
            else None
        if node_id is None or node_id not in facility.nodes:
            fail(f"unknown node {node!r}", label)
            return None
        inside = {z.id for z in facility.zones_at(node_id)}
        zones = tuple(z.id for z in facility.zones if z.id in inside)  # map order
        place = None
    else:
        read = _read_position(facility, position, fail, label)
        if read is None:
            return None
        place = read
        node_id = _nearest(facility, place)
        if node_id is None:
            fail(f"level {place[2]!r} has no node to attach the sensor to", label)
            return None
        at = Point(place[0], place[1])
        zones = tuple(z.id for z in facility.zones
                      if z.level == place[2] and z.polygon.intersects(at))
    text = entry.get("name")
    return FixedSensor(ident, name, unit, node_id, place, zones, location,
                       str(text) if text is not None else None)


def _read_position(facility: Facility, raw: object, fail: Any, label: str
                   ) -> tuple[float, float, str] | None:
    if not isinstance(raw, Mapping) or set(raw) - _POSITION or not {"x", "y"} <= set(raw):
        fail("position must be a mapping with x, y and (on a map of several levels) level",
             label)
        return None
    x, y = raw["x"], raw["y"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
               for v in (x, y)):
        fail(f"position x and y must be numbers, got {x!r}, {y!r}", label)
        return None
    level = raw.get("level")
    if level is None and len(facility.levels) == 1:
        level = next(iter(facility.levels))
    if not isinstance(level, str | int) or str(level) not in facility.levels:
        fail(f"unknown level {level!r}", label)
        return None
    return float(x), float(y), str(level)


def _nearest(facility: Facility, place: tuple[float, float, str]) -> str | None:
    x, y, level = place
    best = min(((math.hypot(n.x - x, n.y - y), n.id) for n in facility.level_nodes(level)),
               default=None)
    return best[1] if best is not None else None


__all__ = ["META_KEY", "FixedSensor", "fixed_sensors", "read_fixed_sensors"]
