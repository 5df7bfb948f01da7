"""The limits in force at each inspection point: defaults, then the site's overrides.

The vocabulary (sensor names, units, :class:`Severity`, :class:`SensorLimits`, the
regulatory :data:`DEFAULT_LIMITS` with their sources) lives in :mod:`fleet.sensors`, the
interlock levels in :mod:`fleet.interlock`, and the override format of map and mission
files in :mod:`fleet.limit_overrides`; they are re-exported here for the anomaly code.
This module adds what needs the site model: :class:`LimitBook`, which resolves each
place's location type and layers the defaults and overrides per site, zone and point
(:class:`PlaceLimits`: anomaly limits and interlock levels), :func:`interlock_at` (the
interlock levels at a node), and the map-aware readers (:func:`read_overrides` with a
facility, :func:`map_overrides`, :func:`limit_problems`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from fleet import limit_overrides
from fleet.errors import Problem, line_of
from fleet.facility.fixed_sensors import FixedSensor, read_fixed_sensors
from fleet.facility.model import Facility
from fleet.facility.protection import ExplosionGroup, SiteKind
from fleet.interlock import (
    CHEMICAL_PLANT,
    COAL_MINE,
    Crossing,
    InterlockLevels,
    LocationType,
    crosses,
    default_levels,
    location_of_tags,
    site_kind,
    strictest,
)
from fleet.limit_overrides import LimitOverrides, SensorOverride
from fleet.sensors import (
    ABOVE,
    BELOW,
    CH4,
    DEFAULT_LIMITS,
    FLAMMABLE,
    RATE,
    RateLimit,
    SensorLimits,
    Severity,
    convert,
    factor,
    sensor_name,
    unit_name,
    unit_of,
)

log = logging.getLogger(__name__)

__all__ = [
    "ABOVE", "BELOW", "DEFAULT_LIMITS", "RATE", "Crossing", "InterlockLevels", "LimitBook",
    "LimitOverrides", "LocationType", "PlaceLimits", "RateLimit", "SensorLimits",
    "SensorOverride", "Severity", "convert", "crosses", "factor", "interlock_at",
    "limit_problems", "map_book", "map_limits", "map_overrides", "read_overrides",
    "site_problems", "unit_name",
]


@dataclass(frozen=True)
class PlaceLimits:
    """Everything in force at one place (a node, an inspection point or a fixed sensor).

    ``limits``: the anomaly limits by sensor name; ``interlocks``: the interlock levels by
    sensor name (:class:`~fleet.interlock.InterlockLevels`; usually ``ch4`` in a mine,
    ``lel`` in a plant); ``location``: the AQ1029 location type the place has (None: the
    site's general rule); ``problems``: overrides that could not apply there, one line each
    (the layers below them stay in force).
    """

    limits: Mapping[str, SensorLimits]
    interlocks: Mapping[str, InterlockLevels]
    location: LocationType | None = None
    problems: tuple[str, ...] = ()


def rules_kind(facility: Facility) -> str | None:
    """Whose interlock rules a site follows: the coal mine's (methane by location type)
    on a group I site, the plant's (flammable gas, % LEL) on a chemical plant or oil and
    gas site (the map's ``site.kind``, :mod:`fleet.facility.protection`); otherwise what
    ``site.meta.kind`` names (:func:`fleet.interlock.site_kind`), or None: each sensor
    its own rules."""
    if facility.group is ExplosionGroup.I:
        return COAL_MINE
    if facility.kind in (SiteKind.CHEMICAL_PLANT, SiteKind.OIL_AND_GAS):
        return CHEMICAL_PLANT
    return site_kind(facility.meta)


class LimitBook:
    """The limits and interlock levels in force at each place of one site and mission.

    Layers, later ones winning: the defaults; the location layer (at a place with an AQ1029
    location type, the location's alarm and power-off levels become the ``warning`` and
    ``alarm`` thresholds of its sensor); the map's site-wide overrides, the mission's
    site-wide ones, the zones that hold the place (map, then mission; zones in map order),
    and the place's own (map, then mission; for a fixed sensor, its node's then its own id's).
    More specific always beats less specific; at the same level the mission beats the map.
    An ``interlock`` override changes the interlock levels and, in the same layer, the
    ``warning`` (its alarm level) and ``alarm`` (its power-off level) thresholds, unless the
    same override sets those itself.

    The location type of a place, first found wins: a fixed sensor's own ``location``; the
    ``location`` of the place's point overrides (mission, then map); the node's tags; the
    ``location`` of the zones holding it (mission, then map per zone; the strictest when
    zones disagree); the site-wide ``location`` (mission, then map); else none (the site's
    general rule). Several location tags on one node: the strictest
    (:func:`fleet.interlock.strictest`). The rules follow the site (:func:`rules_kind`).
    Results are cached per place.
    """

    def __init__(self, facility: Facility | None = None,
                 map_overrides: LimitOverrides | None = None,
                 mission_overrides: LimitOverrides | None = None) -> None:
        self.facility = facility
        self.kind = rules_kind(facility) if facility is not None else None
        """The site kind whose interlock rules apply (None: each sensor its own)."""
        self._map = map_overrides or LimitOverrides()
        self._mission = mission_overrides or LimitOverrides()
        self._cache: dict[str, Mapping[str, SensorLimits]] = {}
        self._places: dict[tuple[str, str], PlaceLimits] = {}
        self._logged: set[str] = set()

    def at(self, point: str) -> Mapping[str, SensorLimits]:
        """The anomaly limits at inspection point (or node) ``point``, by sensor name."""
        found = self._cache.get(point)
        if found is None:
            found = self._cache[point] = self.place(point).limits
        return found

    def place(self, point: str) -> PlaceLimits:
        """Everything in force at inspection point (or node) ``point``."""
        key = ("node", point)
        found = self._places.get(key)
        if found is None:
            zones: list[str] = []
            tags: frozenset[str] = frozenset()
            fac = self.facility
            if fac is not None and point in fac.nodes:
                inside = {z.id for z in fac.zones_at(point)}
                zones = [z.id for z in fac.zones if z.id in inside]  # map order
                tags = fac.nodes[point].tags
            found = self._places[key] = self._resolve([point], tags, zones, None, None)
        return found

    def at_sensor(self, sensor: FixedSensor) -> PlaceLimits:
        """Everything in force at fixed sensor ``sensor`` (its node's tags, its own zones,
        its node's point overrides then its own id's, its own ``location`` first)."""
        key = ("sensor", sensor.id)
        found = self._places.get(key)
        if found is None:
            fac = self.facility
            tags = fac.nodes[sensor.node].tags if fac is not None and \
                sensor.node in fac.nodes else frozenset()
            found = self._places[key] = self._resolve(
                [sensor.node, sensor.id], tags, list(sensor.zones), sensor.location,
                f"fixed sensor {sensor.id}")
        return found

    def interlock(self, point: str, sensor: str) -> InterlockLevels | None:
        """The interlock levels of ``sensor`` at inspection point (or node) ``point``;
        None when none are in force there."""
        return self.place(point).interlocks.get(sensor_name(sensor))

    def location(self, point: str) -> LocationType | None:
        """The location type of inspection point (or node) ``point`` (None: none)."""
        return self.place(point).location

    def problems(self, sensors: Iterable[FixedSensor] = ()) -> list[str]:
        """Overrides that cannot apply somewhere on the site (levels out of order, an
        interlock to change where none is in force): one line each, naming the first node
        (or fixed sensor) where it happens. Looks at every node of the map and at
        ``sensors``."""
        if self._map.empty and self._mission.empty:
            return []  # the defaults are consistent (tests/test_interlock.py)
        seen: dict[str, str] = {}
        places: list[tuple[str, PlaceLimits]] = []
        if self.facility is not None:
            places = [(f"node {n}", self.place(n)) for n in self.facility.nodes]
        places += [(f"fixed sensor {s.id}", self.at_sensor(s)) for s in sensors]
        for where, found in places:
            for problem in found.problems:
                seen.setdefault(problem, where)
        return [f"{where}: {problem}" for problem, where in seen.items()]

    # ------------------------------------------------------------------ resolution
    def _location(self, points: list[str], tags: frozenset[str], zones: list[str],
                  own: LocationType | None) -> LocationType | None:
        if own is not None:
            return own
        for point in reversed(points):  # most specific first
            for overrides in (self._mission, self._map):
                if point in overrides.point_locations:
                    return overrides.point_locations[point]
        tagged = location_of_tags(tags)
        if tagged is not None:
            return tagged
        zoned = [found for z in zones
                 if (found := self._mission.zone_locations.get(z)
                     or self._map.zone_locations.get(z)) is not None]
        if zoned:
            return strictest(zoned)
        return self._mission.site_location or self._map.site_location

    def _resolve(self, points: list[str], tags: frozenset[str], zones: list[str],
                 own: LocationType | None, label: str | None) -> PlaceLimits:
        location = self._location(points, tags, zones, own)
        limits: dict[str, SensorLimits] = dict(DEFAULT_LIMITS)
        interlocks: dict[str, InterlockLevels] = {}
        for sensor in _INTERLOCKED:
            levels = default_levels(sensor, self.kind, location)
            if levels is None:
                continue
            interlocks[sensor] = levels
            if location is not None and sensor in limits:
                limits[sensor] = _follow(limits[sensor], levels, True, True,
                                         f"location {location.value}")
        layers: list[tuple[Mapping[str, SensorOverride], str]] = [
            (self._map.site, "map site"), (self._mission.site, "mission site")]
        for owner, overrides in (("map", self._map), ("mission", self._mission)):
            for zid in zones:
                if zid in overrides.zones:
                    layers.append((overrides.zones[zid], f"zone {zid} ({owner})"))
        for point in points:
            for owner, overrides in (("map", self._map), ("mission", self._mission)):
                if point in overrides.points:
                    layers.append((overrides.points[point], f"point {point} ({owner})"))
        problems: list[str] = []
        for layer, source in layers:
            for sensor, override in layer.items():
                result = override.apply(limits.get(sensor), sensor, source)
                if result is None:
                    limits.pop(sensor, None)
                else:
                    limits[sensor] = result
                change = override.interlock
                if change is None:
                    continue
                base = interlocks.get(sensor)
                unit = override.unit if base is not None else (
                    override.unit or (limits[sensor].unit if sensor in limits
                                      else unit_of(sensor)))
                try:
                    levels = change.apply(base, sensor, unit, source, kind=self.kind)
                except ValueError as exc:
                    problems.append(f"{source}: {exc}")
                    continue
                if levels is None:
                    interlocks.pop(sensor, None)
                    continue
                interlocks[sensor] = levels
                if sensor in limits:
                    limits[sensor] = _follow(
                        limits[sensor], levels,
                        change.alarm is not None and Severity.WARNING not in override.above,
                        change.power_off is not None and Severity.ALARM not in override.above,
                        f"{source} interlock")
        for problem in problems:  # fleet map validate names them all; here, once each
            if problem not in self._logged:
                self._logged.add(problem)
                log.warning("limits of %s: %s (the layers below apply there)",
                            (self.facility.name if self.facility else "the site"), problem)
        return PlaceLimits(limits, interlocks, location, tuple(problems))


_INTERLOCKED = (CH4, FLAMMABLE)  # the sensors with default interlock levels


def _follow(limits: SensorLimits, levels: InterlockLevels, warning: bool, alarm: bool,
            source: str) -> SensorLimits:
    """``limits`` whose warning threshold is the interlock's alarm level and whose alarm
    threshold is its power-off level (each when asked); unchanged when the units do not
    convert or nothing changes."""
    same = levels.in_unit(limits.unit)
    if same is None:
        return limits
    above = dict(limits.above)
    if warning:
        above[Severity.WARNING] = same.alarm
    if alarm:
        above[Severity.ALARM] = same.power_off
    if above == dict(limits.above):
        return limits
    return replace(limits, above=above, sources=(
        *limits.sources, f"{source}: warning at the interlock alarm level, alarm at the "
        "power-off level"))


def read_overrides(raw: object, *, file: str | None = None, where: str = "limits",
                   facility: Facility | None = None) -> tuple[LimitOverrides, list[Problem]]:
    """:func:`fleet.limit_overrides.read_overrides` with the zone and point ids checked
    against ``facility`` when given."""
    return limit_overrides.read_overrides(raw, file=file, where=where,
                                          zones=_zone_ids(facility),
                                          points=_point_ids(facility))


def _zone_ids(facility: Facility | None) -> set[str] | None:
    return {z.id for z in facility.zones} if facility is not None else None


def _point_ids(facility: Facility | None) -> set[str] | None:
    if facility is None:
        return None
    sensors, _ = read_fixed_sensors(facility)  # their own problems are reported apart
    return {*facility.inspection_points, *(s.id for s in sensors)}


def map_limits(facility: Facility) -> object:
    """The ``limits`` mapping of a map's ``site.meta`` as written (None when it has none)."""
    meta = facility.meta if isinstance(facility.meta, Mapping) else {}
    return meta.get("limits")


def map_overrides(facility: Facility, *, file: str | None = None
                  ) -> tuple[LimitOverrides, list[Problem]]:
    """The overrides in a map's ``site.meta.limits`` and the problems found in them."""
    return read_overrides(map_limits(facility), file=file, where="site.meta.limits",
                          facility=facility)


def limit_problems(facility: Facility, mission_limits: object, *,
                   map_file: str | None = None, mission_file: str | None = None
                   ) -> list[Problem]:
    """Every problem in the map's ``site.meta.limits`` and a mission's ``limits``
    (:func:`fleet.limit_overrides.limit_problems` against ``facility``'s ids)."""
    return limit_overrides.limit_problems(
        map_limits(facility), mission_limits, zones=_zone_ids(facility),
        points=_point_ids(facility), map_file=map_file, mission_file=mission_file)



def map_book(facility: Facility, *, file: str | None = None
             ) -> tuple[LimitBook, list[Problem]]:
    """The limits of a site as its map sets them (no mission), and the problems found in
    its ``site.meta.limits``."""
    overrides, problems = map_overrides(facility, file=file)
    return LimitBook(facility, overrides), problems


def site_problems(facility: Facility, *, file: str | None = None) -> list[Problem]:
    """Every problem of a map's gas-safety data, one line each: its fixed sensors
    (``site.meta.sensors``), its limit overrides (``site.meta.limits``), and the overrides
    that cannot apply at some node or fixed sensor (:meth:`LimitBook.problems`). What
    ``fleet map validate`` adds to the map's own checks."""
    sensors, problems = read_fixed_sensors(facility, file=file)
    book, more = map_book(facility, file=file)
    return [*problems, *more, *(Problem(p, file, line_of(map_limits(facility)),
                                        "site.meta.limits")
                                for p in book.problems(sensors))]


def interlock_at(facility: Facility | None, node: str, sensor: str,
                 overrides: LimitOverrides | LimitBook | None = None
                 ) -> InterlockLevels | None:
    """The interlock levels of ``sensor`` at ``node`` of ``facility``: the defaults for the
    site's kind and the node's location type, with ``overrides`` on top (a map's, as
    :func:`map_overrides` reads them; or a whole :class:`LimitBook`, map and mission, which
    also caches). None when no interlock applies there (another sensor, another site
    kind, or an override removed it). Pure: the same arguments give the same answer.
    Classify a reading against the answer with :func:`fleet.interlock.crosses`.
    """
    book = overrides if isinstance(overrides, LimitBook) else LimitBook(facility, overrides)
    return book.interlock(node, sensor)
