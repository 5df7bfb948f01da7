"""Limits per sensor: the defaults taken from regulations, and the site's overrides.

Every default names its source (``docs/anomalies.md`` has the same table); values marked
*secondary* in the reference were quoted from secondary sources, so a site must be able to
override them, and can: per site, per zone and per inspection point, in the map file
(``site.meta.limits``) and in the mission file (``limits:``), see :func:`read_overrides`
and :class:`LimitBook`.

A sensor's limits are thresholds on the high side (``above``: a reading at or above the
threshold has that severity) and on the low side (``below``: a reading strictly below it,
oxygen), plus an optional rate-of-change rule (:class:`RateLimit`). Each side maps a
:class:`Severity` to its threshold; the worst severity whose threshold is crossed wins.
Values are in the limit's ``unit``; readings in ``%`` and ``%vol`` are the same thing and
``ppm`` converts to ``%vol`` (1 %vol = 10,000 ppm); a reading in a unit that does not
convert to the limit's is not compared (see :func:`convert`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any

from fleet.errors import Problem
from fleet.facility.model import Facility


class Severity(StrEnum):
    """How serious an anomaly is, from least to most; ``rank`` orders them."""

    INFO = "info"
    """Worth recording, no action required (e.g. methane in a return above 0.75 %:
    investigate)."""
    WARNING = "warning"
    """Needs attention soon: a first alarm level, or a reading rising fast."""
    ALARM = "alarm"
    """A regulatory alarm level: act now (e.g. methane at 1.5 %: stop work, cut power,
    evacuate)."""
    CRITICAL = "critical"
    """Beyond the alarm level, or the robot reported a critical finding."""

    @property
    def rank(self) -> int:
        """0 for info up to 3 for critical."""
        return _RANK[self]

    @classmethod
    def parse(cls, text: object) -> Severity:
        """The severity named ``text`` (any case); ValueError naming the choices."""
        if isinstance(text, str):
            try:
                return cls(text.strip().lower())
            except ValueError:
                pass
        raise ValueError(f"unknown severity {text!r} (info, warning, alarm or critical)")

    def at_least(self) -> list[Severity]:
        """This severity and every worse one."""
        return [s for s in Severity if s.rank >= self.rank]


_RANK = {s: i for i, s in enumerate(Severity)}

ABOVE = "above"
"""Rule name of a high-side threshold (reading >= threshold)."""
BELOW = "below"
"""Rule name of a low-side threshold (reading < threshold)."""
RATE = "rate"
"""Rule name of the rate-of-change rule."""


@dataclass(frozen=True)
class RateLimit:
    """A reading that moved by ``rise`` (the limit's unit) or more since the previous reading
    of the same sensor at the same point, taken at most ``within_s`` seconds before, has
    ``severity``. A negative ``rise`` watches for a fall (oxygen)."""

    rise: float
    within_s: float
    severity: Severity = Severity.WARNING

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rise) and self.rise != 0):
            raise ValueError(f"rate rise must be a non-zero number, got {self.rise!r}")
        if not (math.isfinite(self.within_s) and self.within_s > 0):
            raise ValueError(f"rate within_s must be a number > 0, got {self.within_s!r}")


@dataclass(frozen=True)
class SensorLimits:
    """The limits of one sensor in force somewhere (see the module docstring).

    ``sources`` says where each part came from, oldest layer first (the regulation of a
    default, then ``map site``, ``zone Z (mission)``, ...).
    """

    sensor: str
    unit: str
    above: Mapping[Severity, float] = field(default_factory=dict)
    below: Mapping[Severity, float] = field(default_factory=dict)
    rate: RateLimit | None = None
    sources: tuple[str, ...] = ()

    @cached_property
    def quiet(self) -> tuple[float, float]:
        """``(low, high)``: a value ``v`` with ``low <= v < high`` crosses no threshold
        (the rules' fast path: most readings are normal)."""
        return (max(self.below.values(), default=-math.inf),
                min(self.above.values(), default=math.inf))

    def to_json(self) -> dict[str, Any]:
        """The limits as shown by ``fleet anomalies limits --json`` and the API."""
        return {"sensor": self.sensor, "unit": self.unit,
                "above": {s.value: v for s, v in _ordered(self.above)},
                "below": {s.value: v for s, v in _ordered(self.below)},
                "rate": ({"rise": self.rate.rise, "within_s": self.rate.within_s,
                          "severity": self.rate.severity.value} if self.rate else None),
                "sources": list(self.sources)}


def _ordered(side: Mapping[Severity, float]) -> list[tuple[Severity, float]]:
    return sorted(side.items(), key=lambda kv: kv[0].rank)


# ------------------------------------------------------------------------------ units
_UNIT_ALIASES = {"%": "%vol", "%vol": "%vol", "vol%": "%vol", "% vol": "%vol",
                 "%v/v": "%vol", "ppm": "ppm", "ppmv": "ppm", "%lel": "%LEL",
                 "lel%": "%LEL", "% lel": "%LEL", "lel": "%LEL"}
_PER_VOL = {"%vol": 1.0, "ppm": 1e-4}  # factor to %vol


def unit_name(unit: str) -> str:
    """The canonical spelling of ``unit`` (``%`` → ``%vol``, ``%lel`` → ``%LEL``); other
    units are returned stripped, as they are."""
    text = unit.strip()
    return _UNIT_ALIASES.get(text.lower(), text)


@lru_cache(maxsize=1024)
def factor(unit: str, to: str) -> float | None:
    """What a value in ``unit`` is multiplied by to be in ``to``; None when they do not
    convert (units are few, so the answers are cached)."""
    a, b = unit_name(unit), unit_name(to)
    if a == b or a.lower() == b.lower():
        return 1.0
    if a in _PER_VOL and b in _PER_VOL:
        return _PER_VOL[a] / _PER_VOL[b]
    return None


def convert(value: float, unit: str, to: str) -> float | None:
    """``value`` in ``unit`` expressed in ``to``; None when the two do not convert."""
    f = factor(unit, to)
    return None if f is None else (value if f == 1.0 else value * f)


# --------------------------------------------------------------------------- defaults
_CMSR = "China, Coal Mine Safety Regulations (煤矿安全规程)"
_GBT = "China, GB/T 50493-2019"
_W, _A, _C, _I = Severity.WARNING, Severity.ALARM, Severity.CRITICAL, Severity.INFO


def _toxic(sensor: str, ceiling: float, pct: str) -> SensorLimits:
    return SensorLimits(
        sensor, "ppm", above={_A: ceiling, _C: 2 * ceiling},
        rate=None,
        sources=(f"alarm: {_CMSR}, {sensor.upper()} at most {pct} % ({ceiling:g} ppm) in mine "
                 "air (secondary source); critical: twice that, the second alarm level of "
                 f"{_GBT} (at most 200 % of the exposure limit)",))


DEFAULT_LIMITS: Mapping[str, SensorLimits] = {
    "ch4": SensorLimits(
        "ch4", "%vol", above={_I: 0.75, _W: 1.0, _A: 1.5},
        rate=RateLimit(0.5, 3600.0),
        sources=(f"{_CMSR}: 1.0 % alarm, no electric drilling or blasting; 1.5 % stop work, "
                 "cut power, evacuate; main/wing return above 0.75 % investigate "
                 "(secondary sources); USA 30 CFR 75.323: 1.0 % de-energise, 1.5 % withdraw "
                 "people; rate: engineering default (+0.5 %vol within 1 h), not a "
                 "regulation",)),
    "co": replace(_toxic("co", 24.0, "0.0024"), rate=RateLimit(10.0, 3600.0)),
    "no2": _toxic("no2", 2.5, "0.00025"),
    "so2": _toxic("so2", 5.0, "0.0005"),
    "h2s": replace(_toxic("h2s", 6.6, "0.00066"), rate=RateLimit(5.0, 3600.0)),
    "nh3": _toxic("nh3", 40.0, "0.004"),
    "co2": SensorLimits(
        "co2", "%vol", above={_W: 0.5, _A: 1.5},
        sources=(f"{_CMSR}: at most 0.5 % in intake air (warning); 1.5 % in a panel or face "
                 "return: stop work, evacuate (alarm)",)),
    "o2": SensorLimits(
        "o2", "%vol", below={_W: 20.0, _A: 19.5}, above={_A: 23.5},
        rate=RateLimit(-1.0, 3600.0),
        sources=(f"warning below 20 %: {_CMSR} (intake air of workings at least 20 %); "
                 "alarm below 19.5 %: USA 30 CFR 75.321 and "
                 f"{_GBT}; alarm above 23.5 %: {_GBT}; rate: engineering default (a fall "
                 "of 1 %vol within 1 h), not a regulation",)),
    "lel": SensorLimits(
        "lel", "%LEL", above={_W: 25.0, _A: 50.0},
        rate=RateLimit(10.0, 3600.0),
        sources=(f"{_GBT}: flammable gas first alarm at most 25 % LEL (warning), second at "
                 "most 50 % LEL (alarm); 10 %/20 % LEL is common stricter vendor practice "
                 "(override per site); rate: engineering default (+10 % LEL within 1 h)",)),
}
"""The built-in limits, by sensor name (lower case). Sensors not listed here (temperature,
acoustic, ...) have no limits until a site sets some."""


# -------------------------------------------------------------------------- overrides
_SEVERITY_KEYS = {s.value for s in Severity}
_SENSOR_KEYS = _SEVERITY_KEYS | {"above", "below", "rate", "unit"}
_RATE_KEYS = {"rise", "within_s", "severity"}
_UNSET: Any = object()


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


def read_overrides(raw: object, *, file: str | None = None, where: str = "limits",
                   facility: Facility | None = None) -> tuple[LimitOverrides, list[Problem]]:
    """Read a ``limits`` mapping (map ``site.meta.limits`` or mission ``limits:``).

    Shape (docs/anomalies.md): sensor names map to overrides; the reserved keys ``zones``
    and ``points`` map zone ids / inspection point ids to the same kind of sensor mapping.
    Returns the overrides and every problem found (located in ``file``, elements named
    after ``where``); zone and point ids are checked against ``facility`` when given.
    """
    from fleet.facility.document import line_of

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
    for key, known in (("zones", _zone_ids(facility)), ("points", _point_ids(facility))):
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


def _zone_ids(facility: Facility | None) -> set[str] | None:
    return {z.id for z in facility.zones} if facility is not None else None


def _point_ids(facility: Facility | None) -> set[str] | None:
    return set(facility.inspection_points) if facility is not None else None


def _read_sensors(raw: Mapping[Any, Any], where: str, fail: Any) -> dict[str, SensorOverride]:
    out: dict[str, SensorOverride] = {}
    for name, body in raw.items():
        if not isinstance(name, str) or not name.strip():
            fail(raw, where, f"a sensor name must be a non-empty string, got {name!r}")
            continue
        sensor = name.strip().lower()
        override = _read_sensor(body, f"{where}.{sensor}", sensor, fail)
        if override is not None:
            out[sensor] = override
    return out


def _read_sensor(body: object, label: str, sensor: str, fail: Any) -> SensorOverride | None:
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


def _read_side(raw: object, label: str, fail: Any) -> dict[Severity, float | None] | None:
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


def _read_rate(raw: object, label: str, fail: Any) -> RateLimit | None:
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


# --------------------------------------------------------------------------- the book
class LimitBook:
    """The limits in force at each inspection point of one site and mission.

    Layers, later ones winning: the defaults, then the map's site-wide overrides, the
    mission's site-wide ones, the zones that hold the point (map, then mission; zones in
    map order), and the point's own (map, then mission). More specific always beats less
    specific; at the same level the mission beats the map. Results are cached per point.
    """

    def __init__(self, facility: Facility | None = None,
                 map_overrides: LimitOverrides | None = None,
                 mission_overrides: LimitOverrides | None = None) -> None:
        self.facility = facility
        self._map = map_overrides or LimitOverrides()
        self._mission = mission_overrides or LimitOverrides()
        self._cache: dict[str, Mapping[str, SensorLimits]] = {}

    def at(self, point: str) -> Mapping[str, SensorLimits]:
        """The limits at inspection point ``point``, by sensor name (lower case)."""
        found = self._cache.get(point)
        if found is None:
            found = self._cache[point] = self._build(point)
        return found

    def _build(self, point: str) -> Mapping[str, SensorLimits]:
        layers: list[tuple[Mapping[str, SensorOverride], str]] = [
            (self._map.site, "map site"), (self._mission.site, "mission site")]
        zones: list[str] = []
        if self.facility is not None and point in self.facility.nodes:
            inside = {z.id for z in self.facility.zones_at(point)}
            zones = [z.id for z in self.facility.zones if z.id in inside]  # map order
        for owner, overrides in (("map", self._map), ("mission", self._mission)):
            for zid in zones:
                if zid in overrides.zones:
                    layers.append((overrides.zones[zid], f"zone {zid} ({owner})"))
        for owner, overrides in (("map", self._map), ("mission", self._mission)):
            if point in overrides.points:
                layers.append((overrides.points[point], f"point {point} ({owner})"))
        limits: dict[str, SensorLimits] = dict(DEFAULT_LIMITS)
        for layer, source in layers:
            for sensor, override in layer.items():
                result = override.apply(limits.get(sensor), sensor, source)
                if result is None:
                    limits.pop(sensor, None)
                else:
                    limits[sensor] = result
        return limits


def map_overrides(facility: Facility, *, file: str | None = None
                  ) -> tuple[LimitOverrides, list[Problem]]:
    """The overrides in a map's ``site.meta.limits`` and the problems found in them."""
    meta = facility.meta if isinstance(facility.meta, Mapping) else {}
    return read_overrides(meta.get("limits"), file=file, where="site.meta.limits",
                          facility=facility)


def limit_problems(facility: Facility, mission_limits: object, *,
                   map_file: str | None = None, mission_file: str | None = None
                   ) -> list[Problem]:
    """Every problem in the map's ``site.meta.limits`` and a mission's ``limits``: what
    :func:`fleet.planning.mission.mission_from_document` reports."""
    _, problems = map_overrides(facility, file=map_file)
    _, more = read_overrides(mission_limits, file=mission_file, facility=facility)
    return [*problems, *more]
