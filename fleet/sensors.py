"""The sensor vocabulary: sensor names, their units and conversions, severities and the
regulatory default limits, in one place for the anomaly rules, mission files, the planner,
the protocol's inspection extension and the simulator.

- **Sensors** (:data:`SENSORS`): the names the project knows (lower case, e.g. ``ch4``) and
  the unit each is measured in. Other names are allowed and carried through everywhere (a
  site may fit any sensor); they just have no defaults.
- **Units**: :func:`unit_name` spells a unit canonically (``%`` is ``%vol``), :func:`convert`
  converts between units that convert (``ppm`` ↔ ``%vol``: 1 %vol = 10,000 ppm) and says
  None for those that do not (``%LEL`` is not ``%vol``: its gas is unknown).
- **Severity** (:class:`Severity`): info, warning, alarm, critical; the inspection
  extension's findings carry INFO, WARNING or CRITICAL (:meth:`Severity.to_wire`,
  :meth:`Severity.from_wire`).
- **Limits**: a sensor's limits are thresholds on the high side (``above``: a reading at or
  above the threshold has that severity) and on the low side (``below``: a reading strictly
  below it, oxygen), plus an optional rate-of-change rule (:class:`RateLimit`). Each side
  maps a :class:`Severity` to its threshold; the worst severity crossed wins. Values are in
  the limit's ``unit``; a reading in a unit that does not convert to it is not compared.
  :data:`DEFAULT_LIMITS` are the defaults, each naming its source (``docs/anomalies.md`` has
  the same table); values marked *secondary* in the reference were quoted from secondary
  sources, so a site must be able to override them, and can: per site, per zone and per
  inspection point, in the map (``site.meta.limits``) and the mission (``limits:``), read
  and checked by :mod:`fleet.limit_overrides`;
  :class:`fleet.anomaly.limits.LimitBook` combines the layers at a point.

Bottom layer: imports nothing from :mod:`fleet` but :mod:`fleet.errors`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any

from fleet.errors import ProtocolError

# ----------------------------------------------------------------------------- units
VOL = "%vol"
"""Percent by volume (also written ``%``)."""
PPM = "ppm"
"""Parts per million by volume; 1 %vol = 10,000 ppm."""
LEL = "%LEL"
"""Percent of the lower explosive limit of the flammable gas the sensor is calibrated for."""
DEG_C = "°C"
"""Degrees Celsius."""
DB = "dB"
"""Sound level in decibels."""

CONCENTRATION_UNITS = frozenset({VOL, PPM, LEL})
"""Units of gas concentrations (what a gas leak raises)."""

_UNIT_ALIASES = {"%": VOL, "%vol": VOL, "vol%": VOL, "% vol": VOL,
                 "%v/v": VOL, "ppm": PPM, "ppmv": PPM, "%lel": LEL,
                 "lel%": LEL, "% lel": LEL, "lel": LEL}
_PER_VOL = {VOL: 1.0, PPM: 1e-4}  # factor to %vol


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


def is_concentration(unit: str) -> bool:
    """Whether ``unit`` is one of a gas concentration (:data:`CONCENTRATION_UNITS`)."""
    return unit_name(unit) in CONCENTRATION_UNITS


# --------------------------------------------------------------------------- sensors
CH4 = "ch4"
CO = "co"
H2S = "h2s"
O2 = "o2"
NO2 = "no2"
SO2 = "so2"
NH3 = "nh3"
CO2 = "co2"
FLAMMABLE = "lel"
TEMPERATURE = "temperature"
THERMAL = "thermal"
ACOUSTIC = "acoustic"


@dataclass(frozen=True)
class Sensor:
    """A sensor the project knows: its ``name`` (lower case), the ``unit`` its readings
    are in, and what it measures."""

    name: str
    unit: str
    what: str


SENSORS: Mapping[str, Sensor] = {s.name: s for s in (
    Sensor(CH4, VOL, "methane"),
    Sensor(CO, PPM, "carbon monoxide"),
    Sensor(H2S, PPM, "hydrogen sulphide"),
    Sensor(O2, VOL, "oxygen"),
    Sensor(NO2, PPM, "nitrogen dioxide"),
    Sensor(SO2, PPM, "sulphur dioxide"),
    Sensor(NH3, PPM, "ammonia"),
    Sensor(CO2, VOL, "carbon dioxide"),
    Sensor(FLAMMABLE, LEL, "flammable gas (catalytic or infrared LEL sensor)"),
    Sensor(TEMPERATURE, DEG_C, "air temperature"),
    Sensor(THERMAL, DEG_C, "hottest surface a thermal camera sees"),
    Sensor(ACOUSTIC, DB, "sound level (leaks, failing bearings)"),
)}
"""The sensors the project knows, by name; others are allowed and carried through."""

METHANE_LEL_VOL = 4.4
"""Methane's lower explosive limit in %vol (IEC 60079-20-1): 100 %LEL of methane."""

FRESH_AIR_O2_VOL = 20.9
"""Oxygen in fresh air, %vol."""


def sensor_name(name: str) -> str:
    """The canonical spelling of a sensor's name (stripped, lower case)."""
    return name.strip().lower()


def unit_of(sensor: str) -> str | None:
    """The unit of a known sensor's readings; None for a sensor the project does not know."""
    known = SENSORS.get(sensor_name(sensor))
    return known.unit if known is not None else None


# -------------------------------------------------------------------------- severity
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

    def to_wire(self) -> str:
        """The spelling of the inspection extension's findings (``INFO``, ``WARNING``,
        ``CRITICAL``); ProtocolError for :attr:`ALARM`, which the wire does not carry (a
        robot's own analysis says that something needs attention or immediate action;
        regulatory alarm levels are the manager's to judge)."""
        try:
            return _TO_WIRE[self]
        except KeyError:
            raise ProtocolError(f"severity {self.value!r} has no wire form "
                                f"({', '.join(WIRE_SEVERITIES)})") from None

    @classmethod
    def from_wire(cls, text: object) -> Severity:
        """The severity of a finding's ``severity`` on the wire (exact spelling);
        ProtocolError naming the choices."""
        found = _FROM_WIRE.get(text) if isinstance(text, str) else None
        if found is None:
            raise ProtocolError(f"unknown finding severity {text!r} "
                                f"({', '.join(WIRE_SEVERITIES)})")
        return found


_RANK = {s: i for i, s in enumerate(Severity)}
_TO_WIRE = {Severity.INFO: "INFO", Severity.WARNING: "WARNING",
            Severity.CRITICAL: "CRITICAL"}
_FROM_WIRE = {wire: s for s, wire in _TO_WIRE.items()}
WIRE_SEVERITIES = tuple(_TO_WIRE.values())
"""A finding's severities on the wire (the inspection extension's schema)."""

ABOVE = "above"
"""Rule name of a high-side threshold (reading >= threshold)."""
BELOW = "below"
"""Rule name of a low-side threshold (reading < threshold)."""
RATE = "rate"
"""Rule name of the rate-of-change rule."""


# ---------------------------------------------------------------------------- limits
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



# -------------------------------------------------------------------------- defaults
_CMSR = "China, Coal Mine Safety Regulations (煤矿安全规程)"
_GBT = "China, GB/T 50493-2019"
_W, _A, _C, _I = Severity.WARNING, Severity.ALARM, Severity.CRITICAL, Severity.INFO


def _toxic(sensor: str, ceiling: float, pct: str) -> SensorLimits:
    return SensorLimits(
        sensor, PPM, above={_A: ceiling, _C: 2 * ceiling},
        rate=None,
        sources=(f"alarm: {_CMSR}, {sensor.upper()} at most {pct} % ({ceiling:g} ppm) in mine "
                 "air (secondary source); critical: twice that, the second alarm level of "
                 f"{_GBT} (at most 200 % of the exposure limit)",))


DEFAULT_LIMITS: Mapping[str, SensorLimits] = {
    CH4: SensorLimits(
        CH4, VOL, above={_I: 0.75, _W: 1.0, _A: 1.5},
        rate=RateLimit(0.5, 3600.0),
        sources=(f"{_CMSR}: 1.0 % alarm, no electric drilling or blasting; 1.5 % stop work, "
                 "cut power, evacuate; main/wing return above 0.75 % investigate "
                 "(secondary sources); USA 30 CFR 75.323: 1.0 % de-energise, 1.5 % withdraw "
                 "people; rate: engineering default (+0.5 %vol within 1 h), not a "
                 "regulation",)),
    CO: replace(_toxic(CO, 24.0, "0.0024"), rate=RateLimit(10.0, 3600.0)),
    NO2: _toxic(NO2, 2.5, "0.00025"),
    SO2: _toxic(SO2, 5.0, "0.0005"),
    H2S: replace(_toxic(H2S, 6.6, "0.00066"), rate=RateLimit(5.0, 3600.0)),
    NH3: _toxic(NH3, 40.0, "0.004"),
    CO2: SensorLimits(
        CO2, VOL, above={_W: 0.5, _A: 1.5},
        sources=(f"{_CMSR}: at most 0.5 % in intake air (warning); 1.5 % in a panel or face "
                 "return: stop work, evacuate (alarm)",)),
    O2: SensorLimits(
        O2, VOL, below={_W: 20.0, _A: 19.5}, above={_A: 23.5},
        rate=RateLimit(-1.0, 3600.0),
        sources=(f"warning below 20 %: {_CMSR} (intake air of workings at least 20 %); "
                 "alarm below 19.5 %: USA 30 CFR 75.321 and "
                 f"{_GBT}; alarm above 23.5 %: {_GBT}; rate: engineering default (a fall "
                 "of 1 %vol within 1 h), not a regulation",)),
    FLAMMABLE: SensorLimits(
        FLAMMABLE, LEL, above={_W: 25.0, _A: 50.0},
        rate=RateLimit(10.0, 3600.0),
        sources=(f"{_GBT}: flammable gas first alarm at most 25 % LEL (warning), second at "
                 "most 50 % LEL (alarm); 10 %/20 % LEL is common stricter vendor practice "
                 "(override per site); rate: engineering default (+10 % LEL within 1 h)",)),
}
"""The built-in limits, by sensor name (lower case). Sensors not listed here (temperature,
acoustic, ...) have no limits until a site sets some."""
