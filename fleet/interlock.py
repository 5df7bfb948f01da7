"""Interlock levels: the gas levels at which power is cut, and restored, where a reading is
taken; the vocabulary and the regulatory defaults, as pure values and functions.

A fixed methane sensor in a coal mine does more than alarm: at its *power-off* level it cuts
the power of the electrical equipment around it, which may be switched on again only once the
reading falls below its *restore* level. Which levels apply depends on where the sensor is
(AQ1029, the methane sensor settings; docs/gas-safety.md has the table):

- :class:`LocationType`: the kinds of place AQ1029 distinguishes (coal face, face return,
  heading face, ...), chosen per node by map tags or by the ``location`` of the limit
  overrides (:mod:`fleet.limit_overrides`; :class:`fleet.anomaly.limits.LimitBook`
  resolves which one a node has);
- :class:`InterlockLevels`: the alarm, power-off and restore levels of one sensor at one
  place, each with its source;
- :func:`default_levels`: the defaults by site kind, sensor and location type
  (:data:`MINE_LEVELS`, :data:`GENERAL_MINE_LEVELS`, :data:`PLANT_LEVELS`);
- :class:`Crossing` and :func:`crosses`: which band a reading falls in.

Chemical plants have the analogue: flammable gas (``lel``, % LEL) at the second alarm level
of GB/T 50493-2019 (50 % LEL) makes the area unfit for equipment certified for zone 2 only
(EPL Gc); there are no location types in a plant.

The site kind (the map's ``site.kind``: :func:`fleet.anomaly.limits.rules_kind`) chooses
the rules; without it, each sensor picks its own: ``ch4`` the mine's, ``lel`` the plant's.

Below :mod:`fleet.limit_overrides`: imports nothing from :mod:`fleet` but the sensor
vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from fleet.sensors import CH4, FLAMMABLE, LEL, VOL, convert, sensor_name, unit_name

COAL_MINE = "coal-mine"
"""Site kind (``site.meta.kind``) of an underground coal mine: methane interlocks."""
CHEMICAL_PLANT = "chemical-plant"
"""Site kind of a chemical plant: flammable-gas (% LEL) interlocks."""
SITE_KINDS = (COAL_MINE, CHEMICAL_PLANT)
"""The site kinds whose interlock rules this module knows."""


class LocationType(StrEnum):
    """Where a methane reading is taken, as AQ1029 distinguishes places (underground coal
    mines only). The value is the map tag and the ``location`` override that select it."""

    COAL_FACE = "coal-face"
    """A longwall or other coal face, and the shearer on it: 1.0 / 1.5 / <1.0 % CH4."""
    FACE_RETURN = "face-return"
    """The return airway of a coal face (tailgate, panel return): 1.0 / 1.0 / <1.0."""
    HEADING_FACE = "heading-face"
    """The face of a development heading: 1.0 / 1.5 / <1.0."""
    HEADING_RETURN = "heading-return"
    """The return of a development heading: 1.0 / 1.0 / <1.0."""
    HIGH_GAS_INTAKE = "high-gas-intake"
    """An intake airway of a high-gas or outburst mine: 0.5 / 0.5 / <0.5."""
    GAS_DRAINAGE_ROADWAY = "gas-drainage-roadway"
    """A roadway dedicated to draining gas: 2.5 / 2.5 / <2.5."""
    MAIN_RETURN = "main-return"
    """The mine's main or a wing return: 0.75 / 1.0 / <0.75 (see :data:`MINE_LEVELS`)."""


class Crossing(StrEnum):
    """The band a reading falls in against :class:`InterlockLevels` (:func:`crosses`)."""

    POWER_OFF = "power_off"
    """At or above the power-off level. In a mine: cut the power of the equipment there
    (equipment that is not rated to stay energised in an explosive atmosphere must be
    de-energised). In a plant: the area is unfit for zone-2-only (Gc) equipment."""
    ALARM = "alarm"
    """At or above the alarm level, below power-off: alarm; in a mine no electric drilling
    and no blasting."""
    RESTORE = "restore"
    """Strictly below the restore level: power may be restored, the area is fit again."""


@dataclass(frozen=True)
class InterlockLevels:
    """The interlock levels of one sensor at one place.

    ``alarm``, ``power_off`` and ``restore`` are in ``unit``; a reading at or above
    ``power_off`` cuts power, at or above ``alarm`` alarms, strictly below ``restore``
    allows power back (:func:`crosses`). Always ``restore <= alarm <= power_off``, all
    finite and non-negative (ValueError with one line otherwise). ``location`` is the
    location type the defaults came from (None: the site's general rule). ``site_kind`` says
    whose rules these are (:data:`COAL_MINE` or :data:`CHEMICAL_PLANT`), hence what
    power-off means (:attr:`Crossing.POWER_OFF`). ``sources`` name where each part came
    from, oldest layer first (the regulation of a default, then ``map site``, ...).
    """

    sensor: str
    unit: str
    alarm: float
    power_off: float
    restore: float
    location: LocationType | None = None
    site_kind: str = COAL_MINE
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("alarm", "power_off", "restore"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or value < 0:
                raise ValueError(f"{self.sensor} interlock {name} must be a number >= 0, "
                                 f"got {value!r}")
        if self.alarm > self.power_off:
            raise ValueError(f"{self.sensor} interlock alarm {self.alarm:g} is above "
                             f"power_off {self.power_off:g} {self.unit}")
        if self.restore > self.alarm:
            raise ValueError(f"{self.sensor} interlock restore {self.restore:g} is above "
                             f"alarm {self.alarm:g} {self.unit}")

    def in_unit(self, unit: str) -> InterlockLevels | None:
        """The same levels in ``unit``; None when the units do not convert."""
        if unit_name(unit) == self.unit:
            return self
        values = [convert(v, self.unit, unit) for v in (self.alarm, self.power_off,
                                                        self.restore)]
        if any(v is None for v in values):
            return None
        alarm, power_off, restore = (float(v) for v in values if v is not None)
        return replace(self, unit=unit_name(unit), alarm=alarm, power_off=power_off,
                       restore=restore)

    def to_json(self) -> dict[str, Any]:
        """The levels as JSON (``fleet anomalies limits --json``, alerts, the API)."""
        return {"sensor": self.sensor, "unit": self.unit, "alarm": self.alarm,
                "power_off": self.power_off, "restore": self.restore,
                "location": self.location.value if self.location else None,
                "site_kind": self.site_kind, "sources": list(self.sources)}


def crosses(levels: InterlockLevels, value: float, unit: str | None = None
            ) -> Crossing | None:
    """The band ``value`` (in ``unit``, default the levels' unit) falls in.

    :attr:`Crossing.POWER_OFF` at or above ``power_off``; :attr:`Crossing.ALARM` at or
    above ``alarm``; :attr:`Crossing.RESTORE` strictly below ``restore``; None between
    ``restore`` and ``alarm`` (hold whatever state the place is in: the hysteresis band,
    empty when restore equals alarm as in every AQ1029 setting), and None for a value that
    is not a finite number or is in a unit that does not convert. Stateless: the caller
    keeps the state (power on or off) and decides what a band means for it.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    v: float | None = value
    if unit is not None and unit != levels.unit:
        v = convert(value, unit, levels.unit)
        if v is None:
            return None
    assert v is not None
    if v >= levels.power_off:
        return Crossing.POWER_OFF
    if v >= levels.alarm:
        return Crossing.ALARM
    if v < levels.restore:
        return Crossing.RESTORE
    return None


# ------------------------------------------------------------------------- defaults
_AQ1029 = ("AQ1029 (methane sensor settings of coal mine safety monitoring systems), "
           "secondary source")
_CMSR = "China, Coal Mine Safety Regulations (煤矿安全规程)"
_GBT = "China, GB/T 50493-2019"


def _mine(location: LocationType, alarm: float, power_off: float, restore: float,
          source: str | None = None) -> InterlockLevels:
    text = source or (f"{_AQ1029}: {location.value} alarm {alarm:g} %, power off "
                      f"{power_off:g} %, restore below {restore:g} %")
    return InterlockLevels(CH4, VOL, alarm, power_off, restore, location, COAL_MINE, (text,))


MINE_LEVELS: Mapping[LocationType, InterlockLevels] = {lv.location: lv for lv in (
    _mine(LocationType.COAL_FACE, 1.0, 1.5, 1.0),
    _mine(LocationType.FACE_RETURN, 1.0, 1.0, 1.0),
    _mine(LocationType.HEADING_FACE, 1.0, 1.5, 1.0),
    _mine(LocationType.HEADING_RETURN, 1.0, 1.0, 1.0),
    _mine(LocationType.HIGH_GAS_INTAKE, 0.5, 0.5, 0.5),
    _mine(LocationType.GAS_DRAINAGE_ROADWAY, 2.5, 2.5, 2.5),
    _mine(LocationType.MAIN_RETURN, 0.75, 1.0, 0.75, source=(
        f"alarm 0.75 %: {_CMSR}, main or wing return above 0.75 % investigate (secondary "
        "source); power off 1.0 % and restore below 0.75 %: not in the reference, an "
        "engineering default (the face-return power-off level, restore below the alarm as "
        "every AQ1029 setting does): set the site's own")),
) if lv.location is not None}
"""AQ1029's methane levels (% CH4) by location type, each naming its source."""

GENERAL_MINE_LEVELS = InterlockLevels(
    CH4, VOL, 1.0, 1.5, 1.0, None, COAL_MINE,
    (f"{_CMSR}: at a working face or within 20 m of motors and switches, 1.0 % alarm, "
     "1.5 % stop work and cut power, restore only below 1.0 % (secondary sources; the same "
     "as AQ1029's coal face); applies where a mine's node has no location type",))
"""A mine's methane levels at a node without a location type: the Regulations' general
rule for working places."""

PLANT_LEVELS = InterlockLevels(
    FLAMMABLE, LEL, 25.0, 50.0, 25.0, None, CHEMICAL_PLANT,
    (f"{_GBT}: flammable gas first alarm at most 25 % LEL (alarm), second alarm at most "
     "50 % LEL: the area is unfit for zone-2-only (Gc) equipment (power off); restore below "
     "25 % LEL: not in the standard, an engineering default (below the first alarm, as "
     "AQ1029 restores below its alarm)",))
"""A chemical plant's flammable-gas levels (% LEL), anywhere in the plant."""


def site_kind(meta: object) -> str | None:
    """The site kind a map's ``site.meta`` names (``kind``: :data:`COAL_MINE` or
    :data:`CHEMICAL_PLANT`); None when it names none this module knows."""
    kind = meta.get("kind") if isinstance(meta, Mapping) else None
    return kind if isinstance(kind, str) and kind in SITE_KINDS else None


def default_levels(sensor: str, kind: str | None = None,
                   location: LocationType | None = None) -> InterlockLevels | None:
    """The default interlock levels of ``sensor`` on a site of ``kind`` at a place of
    ``location`` type.

    Methane (``ch4``) in a coal mine (or on a site of unknown kind): the location's
    :data:`MINE_LEVELS`, or :data:`GENERAL_MINE_LEVELS` without one. Flammable gas
    (``lel``) in a chemical plant (or on a site of unknown kind): :data:`PLANT_LEVELS`,
    whatever the location. None for every other sensor and site: no interlock unless a
    site sets one (:mod:`fleet.limit_overrides`).
    """
    name = sensor_name(sensor)
    if name == CH4 and kind in (COAL_MINE, None):
        return MINE_LEVELS[location] if location is not None else GENERAL_MINE_LEVELS
    if name == FLAMMABLE and kind in (CHEMICAL_PLANT, None):
        return PLANT_LEVELS
    return None


def strictness(location: LocationType) -> tuple[float, float, float, int]:
    """Sort key of location types, strictest first: the lower power-off, then the lower
    alarm and restore levels of their defaults (ties in the order of the enum)."""
    lv = MINE_LEVELS[location]
    return (lv.power_off, lv.alarm, lv.restore, list(LocationType).index(location))


def strictest(locations: Iterable[LocationType]) -> LocationType | None:
    """The strictest of ``locations`` (:func:`strictness`); None when there are none. A
    place that several rules claim gets the one that cuts power first."""
    return min(locations, key=strictness, default=None)


def location_of_tags(tags: Iterable[str]) -> LocationType | None:
    """The location type a node's tags name (the strictest when they name several);
    None when no tag is a :class:`LocationType` value."""
    found = []
    for tag in tags:
        try:
            found.append(LocationType(tag))
        except ValueError:
            continue
    return strictest(found)


def parse_location(text: object) -> LocationType:
    """The location type named ``text``; ValueError naming the choices (one line)."""
    if isinstance(text, str):
        try:
            return LocationType(text.strip().lower())
        except ValueError:
            pass
    raise ValueError(f"unknown location type {text!r} (expected one of: "
                     f"{', '.join(t.value for t in LocationType)})")


__all__ = [
    "CHEMICAL_PLANT", "COAL_MINE", "GENERAL_MINE_LEVELS", "MINE_LEVELS", "PLANT_LEVELS",
    "SITE_KINDS", "Crossing", "InterlockLevels", "LocationType", "crosses",
    "default_levels", "location_of_tags", "parse_location", "site_kind", "strictest",
    "strictness",
]
