"""The limits override format of map and mission files: read, and checked with located
problems.

Limits are overridden in the map (``site.meta.limits``) and in the mission (``limits:``),
in the same shape (docs/anomalies.md): sensor names map to overrides of their
:class:`~fleet.sensors.SensorLimits`; the reserved keys ``zones`` and ``points`` map zone
ids and inspection point ids (or fixed sensor ids) to the same kind of sensor mapping.
Each sensor may also override its interlock levels (``interlock: {alarm, power_off,
restore}``, :class:`InterlockOverride`; docs/gas-safety.md), and each level (the site, a
zone, a point) may name the AQ1029 location type of its nodes (the reserved key
``location``, a :class:`~fleet.interlock.LocationType` value). :func:`read_overrides`
reads one such mapping, :func:`limit_problems` checks a map's and a mission's together
(what mission loading reports); :class:`fleet.anomaly.limits.LimitBook` applies the layers.

Imports nothing from :mod:`fleet` but :mod:`fleet.errors`, the sensor vocabulary
(:mod:`fleet.sensors`) and the interlock vocabulary (:mod:`fleet.interlock`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fleet.errors import Problem, line_of
from fleet.interlock import (
    CHEMICAL_PLANT,
    COAL_MINE,
    InterlockLevels,
    LocationType,
    parse_location,
)
from fleet.sensors import (
    CH4,
    DEFAULT_LIMITS,
    FLAMMABLE,
    LEL,
    RateLimit,
    SensorLimits,
    Severity,
    convert,
    sensor_name,
    unit_name,
)

_SEVERITY_KEYS = {s.value for s in Severity}
_SENSOR_KEYS = _SEVERITY_KEYS | {"above", "below", "rate", "unit", "interlock"}
_RATE_KEYS = {"rise", "within_s", "severity"}
_INTERLOCK_KEYS = ("alarm", "power_off", "restore")
_RESERVED = ("zones", "points", "location")  # keys of a limits mapping that are not sensors
_PARTIAL_INTERLOCK = frozenset({CH4, FLAMMABLE})  # sensors that have default levels


@dataclass(frozen=True)
class InterlockOverride:
    """What one override says about a sensor's interlock levels: the levels it sets (None:
    keep the one below), or ``remove``: no interlock there (``interlock: null``)."""

    alarm: float | None = None
    power_off: float | None = None
    restore: float | None = None
    remove: bool = False

    def apply(self, base: InterlockLevels | None, sensor: str, unit: str | None,
              source: str, *, kind: str | None = None) -> InterlockLevels | None:
        """``base`` with this override on top, in ``unit`` (default: the base's); None
        when removed. ValueError (one line) when the result is not valid levels: a value
        the units cannot carry, levels out of order, or an incomplete override where no
        levels are in force. ``kind`` is the site kind of levels made from nothing."""
        if self.remove:
            return None
        given = {"alarm": self.alarm, "power_off": self.power_off, "restore": self.restore}
        if base is None:
            missing = [k for k, v in given.items() if v is None]
            if missing or unit is None:
                raise ValueError(f"{sensor} has no interlock levels here to change: give "
                                 f"alarm, power_off and restore (and a unit)")
            site = kind or (CHEMICAL_PLANT if unit_name(unit) == LEL else COAL_MINE)
            return InterlockLevels(sensor, unit_name(unit), self.alarm or 0.0,
                                   self.power_off or 0.0, self.restore or 0.0, None, site,
                                   (source,))
        if unit is not None:
            converted = base.in_unit(unit)
            if converted is None:
                raise ValueError(f"{sensor} interlock levels in {base.unit} do not convert "
                                 f"to {unit}")
            base = converted
        return replace(base,
                       alarm=base.alarm if self.alarm is None else self.alarm,
                       power_off=base.power_off if self.power_off is None else self.power_off,
                       restore=base.restore if self.restore is None else self.restore,
                       sources=(*base.sources, source))


@dataclass(frozen=True)
class SensorOverride:
    """What one override says about one sensor: thresholds to set (a value) or remove
    (None), the unit they are in, and the rate rule (``rate_given``: whether it said
    anything about it; then ``rate`` None removes it). ``remove``: no limits at all."""

    unit: str | None = None
    above: Mapping[Severity, float | None] = field(default_factory=dict)
    below: Mapping[Severity, float | None] = field(default_factory=dict)
    rate: RateLimit | None = None
    rate_given: bool = False
    remove: bool = False
    interlock: InterlockOverride | None = None
    """The interlock override (None: says nothing about the interlock)."""

    def apply(self, base: SensorLimits | None, sensor: str, source: str) -> SensorLimits | None:
        """``base`` with this override on top (None: the sensor has no limits there; the
        interlock levels are apart, see :attr:`interlock`)."""
        if self.remove:
            return None
        unit = unit_name(self.unit) if self.unit else (base.unit if base else None)
        if unit is None:  # read_overrides refuses this for sensors without defaults
            return base
        above: dict[Severity, float] = {}
        below: dict[Severity, float] = {}
        rate = None
        sources: tuple[str, ...] = ()
        if base is not None:
            above = _converted(base.above, base.unit, unit)
            below = _converted(base.below, base.unit, unit)
            rate = base.rate
            if rate is not None and convert(rate.rise, base.unit, unit) is None:
                rate = None
            elif rate is not None:
                rate = replace(rate, rise=convert(rate.rise, base.unit, unit) or rate.rise)
            sources = base.sources
        for side, changes in ((above, self.above), (below, self.below)):
            for severity, value in changes.items():
                if value is None:
                    side.pop(severity, None)
                else:
                    side[severity] = value
        if self.rate_given:
            rate = self.rate
        return SensorLimits(sensor, unit, above, below, rate, (*sources, source))


def _converted(side: Mapping[Severity, float], unit: str, to: str) -> dict[Severity, float]:
    out: dict[Severity, float] = {}
    for severity, value in side.items():
        v = convert(value, unit, to)
        if v is not None:
            out[severity] = v
    return out


@dataclass(frozen=True)
class LimitOverrides:
    """One file's overrides: site-wide, per zone id and per point id (inspection point or
    fixed sensor), each a mapping of sensor name (lower case) to :class:`SensorOverride`;
    and the location types named site-wide, per zone and per point."""

    site: Mapping[str, SensorOverride] = field(default_factory=dict)
    zones: Mapping[str, Mapping[str, SensorOverride]] = field(default_factory=dict)
    points: Mapping[str, Mapping[str, SensorOverride]] = field(default_factory=dict)
    site_location: LocationType | None = None
    zone_locations: Mapping[str, LocationType] = field(default_factory=dict)
    point_locations: Mapping[str, LocationType] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether it overrides nothing."""
        return not (self.site or self.zones or self.points or self.site_location
                    or self.zone_locations or self.point_locations)


_Fail = Callable[[object, str, str], None]


def read_overrides(raw: object, *, file: str | None = None, where: str = "limits",
                   zones: Collection[str] | None = None, points: Collection[str] | None = None
                   ) -> tuple[LimitOverrides, list[Problem]]:
    """Read a ``limits`` mapping (map ``site.meta.limits`` or mission ``limits:``).

    Shape (docs/anomalies.md): sensor names map to overrides; the reserved keys ``zones``
    and ``points`` map zone ids / inspection point ids (or fixed sensor ids) to the same
    kind of sensor mapping; the reserved key ``location`` (at each level) names a location
    type (docs/gas-safety.md). Returns the overrides and every problem found (located in
    ``file``, elements named after ``where``); zone and point ids are checked against
    ``zones`` and ``points`` (the map's zone ids, and its inspection point and fixed sensor
    ids) when given.
    """
    problems: list[Problem] = []

    def fail(obj: object, element: str, reason: str) -> None:
        problems.append(Problem(reason, file, line_of(obj) or line_of(raw), element))

    if raw is None:
        return LimitOverrides(), problems
    if not isinstance(raw, Mapping):
        fail(raw, where, "limits must be a mapping of sensor names to limits")
        return LimitOverrides(), problems
    site = _read_sensors({k: v for k, v in raw.items() if k not in _RESERVED}, where, fail)
    site_location = _read_location(raw, where, fail)
    groups: dict[str, dict[str, Mapping[str, SensorOverride]]] = {"zones": {}, "points": {}}
    locations: dict[str, dict[str, LocationType]] = {"zones": {}, "points": {}}
    for key, known in (("zones", zones), ("points", points)):
        block = raw.get(key)
        if block is None:
            continue
        if not isinstance(block, Mapping):
            fail(block, f"{where}.{key}", f"{key} must be a mapping of ids to limits")
            continue
        for ident, body in block.items():
            label = f"{where}.{key}.{ident}"
            if known is not None and str(ident) not in known:
                fail(body, label, f"unknown {key[:-1]} {ident!r}")
                continue
            if not isinstance(body, Mapping):
                fail(body, label, "must be a mapping of sensor names to limits")
                continue
            groups[key][str(ident)] = _read_sensors(
                {k: v for k, v in body.items() if k != "location"}, label, fail)
            location = _read_location(body, label, fail)
            if location is not None:
                locations[key][str(ident)] = location
    return LimitOverrides(site, groups["zones"], groups["points"], site_location,
                          locations["zones"], locations["points"]), problems


def _read_location(raw: Mapping[Any, Any], where: str, fail: _Fail) -> LocationType | None:
    if raw.get("location") is None:
        return None
    try:
        return parse_location(raw["location"])
    except ValueError as exc:
        fail(raw, f"{where}.location", str(exc))
        return None


def limit_problems(map_limits: object, mission_limits: object, *,
                   zones: Collection[str] | None = None, points: Collection[str] | None = None,
                   map_file: str | None = None, mission_file: str | None = None
                   ) -> list[Problem]:
    """Every problem in a map's ``site.meta.limits`` and a mission's ``limits`` (zone and
    point ids checked against the map's ``zones`` and ``points`` when given): what
    :func:`fleet.planning.mission.mission_from_document` reports."""
    _, problems = read_overrides(map_limits, file=map_file, where="site.meta.limits",
                                 zones=zones, points=points)
    _, more = read_overrides(mission_limits, file=mission_file, zones=zones, points=points)
    return [*problems, *more]


def _read_sensors(raw: Mapping[Any, Any], where: str, fail: _Fail) -> dict[str, SensorOverride]:
    out: dict[str, SensorOverride] = {}
    for name, body in raw.items():
        if not isinstance(name, str) or not name.strip():
            fail(raw, where, f"a sensor name must be a non-empty string, got {name!r}")
            continue
        sensor = sensor_name(name)
        override = _read_sensor(body, f"{where}.{sensor}", sensor, fail)
        if override is not None:
            out[sensor] = override
    return out


def _read_sensor(body: object, label: str, sensor: str, fail: _Fail) -> SensorOverride | None:
    if body is None:
        return SensorOverride(remove=True)
    if not isinstance(body, Mapping):
        fail(body, label, "a sensor's limits must be a mapping (or null for none)")
        return None
    unknown = [k for k in body if k not in _SENSOR_KEYS]
    if unknown:
        fail(body, label, f"unknown field {unknown[0]!r} (expected: "
             f"{', '.join(sorted(_SENSOR_KEYS))})")
        return None
    unit = body.get("unit")
    if unit is not None and (not isinstance(unit, str) or not unit.strip()):
        fail(body, label, f"unit must be a non-empty string, got {unit!r}")
        return None
    if unit is None and sensor not in DEFAULT_LIMITS:
        fail(body, label, f"sensor {sensor!r} has no default limits: give its unit")
        return None
    shorthand = {k: v for k, v in body.items() if k in _SEVERITY_KEYS}
    if shorthand and "above" in body:
        fail(body, label, "give high-side thresholds either directly or under above, "
             "not both")
        return None
    above = _read_side(shorthand or body.get("above") or {}, f"{label}.above", fail)
    below = _read_side(body.get("below") or {}, f"{label}.below", fail)
    if above is None or below is None:
        return None
    rate: RateLimit | None = None
    if "rate" in body and body["rate"] is not None:
        rate = _read_rate(body["rate"], f"{label}.rate", fail)
        if rate is None:
            return None
    interlock: InterlockOverride | None = None
    if "interlock" in body:
        interlock = _read_interlock(body["interlock"], f"{label}.interlock", sensor, fail)
        if interlock is None:
            return None
    return SensorOverride(unit=unit, above=above, below=below, rate=rate,
                          rate_given="rate" in body, interlock=interlock)


def _read_interlock(raw: object, label: str, sensor: str, fail: _Fail
                    ) -> InterlockOverride | None:
    if raw is None:
        return InterlockOverride(remove=True)
    if not isinstance(raw, Mapping) or not raw or set(raw) - set(_INTERLOCK_KEYS):
        fail(raw, label, "interlock must be a mapping of alarm, power_off and restore "
             "levels (or null for none)")
        return None
    values: dict[str, float] = {}
    for key in _INTERLOCK_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        if not _finite(value) or value < 0:
            fail(raw, label, f"{key} must be a number >= 0, got {value!r}")
            return None
        values[key] = float(value)
    if sensor not in _PARTIAL_INTERLOCK and len(values) < len(_INTERLOCK_KEYS):
        fail(raw, label, f"sensor {sensor!r} has no default interlock levels: give alarm, "
             "power_off and restore")
        return None
    for low, high in (("alarm", "power_off"), ("restore", "alarm"), ("restore", "power_off")):
        if low in values and high in values and values[low] > values[high]:
            fail(raw, label, f"{low.replace('_', '-')} {values[low]:g} is above "
                 f"{high.replace('_', '-')} {values[high]:g}")
            return None
    return InterlockOverride(values.get("alarm"), values.get("power_off"),
                             values.get("restore"))


def _read_side(raw: object, label: str, fail: _Fail) -> dict[Severity, float | None] | None:
    if not isinstance(raw, Mapping):
        fail(raw, label, "must be a mapping of severities to thresholds")
        return None
    out: dict[Severity, float | None] = {}
    for key, value in raw.items():
        try:
            severity = Severity.parse(key)
        except ValueError as exc:
            fail(raw, label, str(exc))
            return None
        if value is None:
            out[severity] = None
        elif _finite(value):
            out[severity] = float(value)
        else:
            fail(raw, label, f"{severity.value} must be a number (or null to remove it), "
                 f"got {value!r}")
            return None
    return out


def _read_rate(raw: object, label: str, fail: _Fail) -> RateLimit | None:
    if not isinstance(raw, Mapping) or set(raw) - _RATE_KEYS or "rise" not in raw:
        fail(raw, label, "rate must be a mapping with rise, and optionally within_s "
             "(default 3600) and severity (default warning)")
        return None
    rise, within = raw["rise"], raw.get("within_s", 3600.0)
    if not (_finite(rise) and _finite(within)):
        fail(raw, label, "rate rise and within_s must be numbers")
        return None
    try:
        return RateLimit(float(rise), float(within),
                         Severity.parse(raw.get("severity", "warning")))
    except ValueError as exc:
        fail(raw, label, str(exc))
        return None


def _finite(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))
