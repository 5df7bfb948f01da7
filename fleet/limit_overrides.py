"""The limits override format of map and mission files: read, and checked with located
problems.

Limits are overridden in the map (``site.meta.limits``) and in the mission (``limits:``),
in the same shape (docs/anomalies.md): sensor names map to overrides of their
:class:`~fleet.sensors.SensorLimits`; the reserved keys ``zones`` and ``points`` map zone
ids and inspection point ids to the same kind of sensor mapping. :func:`read_overrides`
reads one such mapping, :func:`limit_problems` checks a map's and a mission's together
(what mission loading reports); :class:`fleet.anomaly.limits.LimitBook` applies the layers.

Bottom layer: imports nothing from :mod:`fleet` but :mod:`fleet.errors` and the sensor
vocabulary (:mod:`fleet.sensors`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fleet.errors import Problem, line_of
from fleet.sensors import (
    DEFAULT_LIMITS,
    RateLimit,
    SensorLimits,
    Severity,
    convert,
    sensor_name,
    unit_name,
)

_SEVERITY_KEYS = {s.value for s in Severity}
_SENSOR_KEYS = _SEVERITY_KEYS | {"above", "below", "rate", "unit"}
_RATE_KEYS = {"rise", "within_s", "severity"}


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

    def apply(self, base: SensorLimits | None, sensor: str, source: str) -> SensorLimits | None:
        """``base`` with this override on top (None: the sensor has no limits there)."""
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
    """One file's overrides: site-wide, per zone id and per inspection point id, each a
    mapping of sensor name (lower case) to :class:`SensorOverride`."""

    site: Mapping[str, SensorOverride] = field(default_factory=dict)
    zones: Mapping[str, Mapping[str, SensorOverride]] = field(default_factory=dict)
    points: Mapping[str, Mapping[str, SensorOverride]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether it overrides nothing."""
        return not (self.site or self.zones or self.points)


_Fail = Callable[[object, str, str], None]


def read_overrides(raw: object, *, file: str | None = None, where: str = "limits",
                   zones: Collection[str] | None = None, points: Collection[str] | None = None
                   ) -> tuple[LimitOverrides, list[Problem]]:
    """Read a ``limits`` mapping (map ``site.meta.limits`` or mission ``limits:``).

    Shape (docs/anomalies.md): sensor names map to overrides; the reserved keys ``zones``
    and ``points`` map zone ids / inspection point ids to the same kind of sensor mapping.
    Returns the overrides and every problem found (located in ``file``, elements named
    after ``where``); zone and point ids are checked against ``zones`` and ``points`` (the
    map's zone ids and inspection point ids) when given.
    """
    problems: list[Problem] = []

    def fail(obj: object, element: str, reason: str) -> None:
        problems.append(Problem(reason, file, line_of(obj) or line_of(raw), element))

    if raw is None:
        return LimitOverrides(), problems
    if not isinstance(raw, Mapping):
        fail(raw, where, "limits must be a mapping of sensor names to limits")
        return LimitOverrides(), problems
    site = _read_sensors({k: v for k, v in raw.items() if k not in ("zones", "points")},
                         where, fail)
    groups: dict[str, dict[str, Mapping[str, SensorOverride]]] = {"zones": {}, "points": {}}
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
            groups[key][str(ident)] = _read_sensors(body, label, fail)
    return LimitOverrides(site, groups["zones"], groups["points"]), problems


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
    return SensorOverride(unit=unit, above=above, below=below, rate=rate,
                          rate_given="rate" in body)


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
