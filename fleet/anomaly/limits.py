"""The limits in force at each inspection point: defaults, then the site's overrides.

The vocabulary (sensor names, units, :class:`Severity`, :class:`SensorLimits`, the
regulatory :data:`DEFAULT_LIMITS` with their sources) lives in :mod:`fleet.sensors`, and
the override format of map and mission files in :mod:`fleet.limit_overrides`; both are
re-exported here for the anomaly code. This module adds what needs the site model:
:class:`LimitBook`, which layers the overrides per site, zone and point, and the
map-aware readers (:func:`read_overrides` with a facility, :func:`map_overrides`,
:func:`limit_problems`).
"""

from __future__ import annotations

from collections.abc import Mapping

from fleet import limit_overrides
from fleet.errors import Problem
from fleet.facility.model import Facility
from fleet.limit_overrides import LimitOverrides, SensorOverride
from fleet.sensors import (
    ABOVE,
    BELOW,
    DEFAULT_LIMITS,
    RATE,
    RateLimit,
    SensorLimits,
    Severity,
    convert,
    factor,
    unit_name,
)

__all__ = [
    "ABOVE", "BELOW", "DEFAULT_LIMITS", "RATE", "LimitBook", "LimitOverrides", "RateLimit",
    "SensorLimits", "SensorOverride", "Severity", "convert", "factor", "limit_problems",
    "map_limits", "map_overrides", "read_overrides", "unit_name",
]


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
    return set(facility.inspection_points) if facility is not None else None


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

