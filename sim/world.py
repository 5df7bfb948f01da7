"""The world a simulated robot measures: gas levels, temperatures and noise at every node.

A :class:`World` turns a scenario's world model (:class:`WorldSpec`) into
readings. A reading at a node is the sensor's background there (by the node's tags), plus
the contribution of every anomaly source, plus gaussian noise, then clipped to the sensor's
range:

- ``gas_leak``: ``peak * strength(t) * exp(-d / decay_m)`` added to its sensor, where ``d``
  is the shortest distance from the source along open corridors (gas follows the drifts; a
  point behind a rock pillar is as far as the walk around it). Closed edges (shut
  ventilation doors) block it. Leaks in %vol (or ppm / 10⁴) also dilute the air's oxygen.
- ``lel`` (flammable gas, %LEL) also sees methane: ``+ ch4 / 4.4 × 100`` (methane's lower
  explosive limit is 4.4 %vol, IEC 60079-20-1).
- ``hot_spot``: ``thermal`` (the hottest surface a thermal camera sees) is the hotter of
  the background and the spot's surface temperature attenuated with distance.
- ``o2_deficiency``: oxygen falls towards the source's level inside its zone, or around its
  node decaying with distance.

Readings are deterministic: :meth:`World.measure` draws noise from a generator seeded by
(scenario seed, robot serial, point, visit index, sensor), never from a shared stream, so
results do not depend on thread scheduling. Sensor faults (``sensor_fail`` → NaN,
``sensor_drift`` → an offset growing per hour) come from the scenario or :meth:`World.inject`.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import networkx as nx

from fleet import sensors as vocab
from fleet.facility.model import Facility
from sim.link import derive_seed

if TYPE_CHECKING:  # scenario.py imports this module for the types below
    from sim.scenario import Fault, Scenario

CONCENTRATION_UNITS = vocab.CONCENTRATION_UNITS
"""Units of sensors that a ``gas_leak`` may raise (a plume adds concentration)."""


@dataclass(frozen=True)
class SensorSpec:
    """How the world reads one sensor: ``unit``; ``background`` level everywhere, or the
    value of the first ``by_tag`` entry whose tag the point carries; gaussian noise of
    standard deviation ``sigma``; readings clipped to ``[low, high]``."""

    unit: str
    background: float
    sigma: float
    low: float
    high: float
    by_tag: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        values = (self.background, self.sigma, self.low, self.high, *(v for _, v in self.by_tag))
        if not all(math.isfinite(v) for v in values):
            raise ValueError("sensor values must be finite numbers")
        if self.sigma < 0:
            raise ValueError(f"sigma must be ≥ 0, got {self.sigma}")
        if not self.low < self.high:
            raise ValueError(f"range must be [low, high] with low < high, got "
                             f"[{self.low}, {self.high}]")
        for tag, v in (("background", self.background), *self.by_tag):
            if not self.low <= v <= self.high:
                raise ValueError(f"{tag} {v} {self.unit} is outside the range "
                                 f"[{self.low}, {self.high}]")

    def background_at(self, tags: frozenset[str]) -> float:
        """The background at a point carrying ``tags``."""
        for tag, value in self.by_tag:
            if tag in tags:
                return value
        return self.background


DEFAULT_SENSORS: Mapping[str, SensorSpec] = {
    # fresh surface air; a scenario sets site levels (a coal mine's methane is not zero);
    # (background, sigma, low, high) in the unit of the sensor vocabulary
    name: SensorSpec(vocab.SENSORS[name].unit, *model) for name, model in (
        (vocab.CH4, (0.0002, 0.01, 0.0, 100.0)),
        (vocab.CO, (1.0, 0.5, 0.0, 1e6)),
        (vocab.O2, (vocab.FRESH_AIR_O2_VOL, 0.05, 0.0, 100.0)),
        (vocab.H2S, (0.0, 0.2, 0.0, 1e6)),
        (vocab.FLAMMABLE, (0.0, 0.5, 0.0, 100.0)),
        (vocab.TEMPERATURE, (20.0, 0.2, -60.0, 1000.0)),
        (vocab.THERMAL, (22.0, 0.5, -60.0, 2000.0)),
        (vocab.CO2, (0.04, 0.005, 0.0, 100.0)),
        (vocab.ACOUSTIC, (45.0, 1.0, 0.0, 194.0)),
    )
}
"""Sensors the world knows without being told, with their defaults (units, background,
noise sigma, clipping range)."""


@dataclass(frozen=True, kw_only=True)
class Source:
    """An anomaly that starts at ``start_s``, rises linearly to full strength over
    ``ramp_s`` and then grows by ``growth_per_h`` (a fraction of full strength) per hour,
    until ``end_s`` (None: never), when it is removed at once (a leak sealed, a machine
    switched off)."""

    start_s: float = 0.0
    ramp_s: float = 0.0
    growth_per_h: float = 0.0
    end_s: float | None = None

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.start_s, self.ramp_s, self.growth_per_h)):
            raise ValueError("start_s, ramp_s and growth_per_h must be finite")
        if self.ramp_s < 0 or self.growth_per_h < 0:
            raise ValueError("ramp_s and growth_per_h must be ≥ 0")
        if self.end_s is not None and not (math.isfinite(self.end_s)
                                           and self.end_s > self.start_s):
            raise ValueError(f"end_s must be a number after start_s ({self.start_s:g}), "
                             f"got {self.end_s:g}")

    def strength(self, t: float) -> float:
        """0 before the start and from the end on, 1 at full strength, more once it
        grows."""
        if t < self.start_s or (self.end_s is not None and t >= self.end_s):
            return 0.0
        age = t - self.start_s
        if self.ramp_s > 0 and age < self.ramp_s:
            return age / self.ramp_s
        return 1.0 + self.growth_per_h * (age - self.ramp_s) / 3600.0

    @property
    def full_at(self) -> float:
        """World time at which it first reaches full strength."""
        return self.start_s + self.ramp_s


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value}")


@dataclass(frozen=True, kw_only=True)
class GasLeak(Source):
    """A leak at ``node`` adding ``peak`` (the sensor's unit) at the source, falling off as
    ``exp(-d / decay_m)`` with ``d`` the shortest distance along open corridors."""

    sensor: str
    node: str
    peak: float
    decay_m: float

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive("peak", self.peak)
        _positive("decay_m", self.decay_m)


@dataclass(frozen=True, kw_only=True)
class HotSpot(Source):
    """A hot surface at ``node`` (a conveyor drive, a pump) of ``peak_c`` °C; a thermal
    camera at distance ``d`` along corridors sees ``bg + (peak_c - bg) * exp(-d / decay_m)``
    with ``bg`` the thermal background at the source."""

    node: str
    peak_c: float
    decay_m: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive("decay_m", self.decay_m)
        if not -60.0 <= self.peak_c <= 2000.0:
            raise ValueError(f"peak_c must be between -60 and 2000 °C, got {self.peak_c}")


@dataclass(frozen=True, kw_only=True)
class O2Deficiency(Source):
    """Oxygen down to ``o2`` %vol: at every point inside ``zone``, or at ``node`` and
    recovering to the background as ``exp(-d / decay_m)`` along corridors."""

    o2: float
    node: str | None = None
    zone: str | None = None
    decay_m: float = 30.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive("decay_m", self.decay_m)
        if not 0.0 <= self.o2 < 100.0:
            raise ValueError(f"o2 must be a percentage between 0 and 100, got {self.o2}")
        if (self.node is None) == (self.zone is None):
            raise ValueError("an o2_deficiency needs exactly one of node and zone")


AnySource = GasLeak | HotSpot | O2Deficiency


@dataclass(frozen=True)
class WorldSpec:
    """The world model of a scenario: every known sensor and the anomaly sources."""

    sensors: Mapping[str, SensorSpec] = field(default_factory=lambda: dict(DEFAULT_SENSORS))
    sources: tuple[AnySource, ...] = ()


METHANE_LEL_VOL = vocab.METHANE_LEL_VOL
"""Methane's lower explosive limit in %vol (IEC 60079-20-1)."""

# Dijkstra stops this many decay lengths out: exp(-30) is below any sensor's resolution.
_CUTOFF_DECAYS = 30.0


def _to_vol(value: float, unit: str) -> float:
    """A concentration in %vol (0 for %LEL, whose gas is unspecified)."""
    vol = vocab.convert(value, unit, vocab.VOL)
    return 0.0 if vol is None else vol


class World:
    """Readings on ``facility`` under ``scenario``'s world model, seed and sensor faults.

    ``facility`` is usually ``scenario.facility``; it is passed separately so a scenario can
    be replayed on an edited map. Shortest distances from every source are computed once,
    here; afterwards the world is read-only except for :meth:`inject`, and safe to share
    between robot threads.
    """

    def __init__(self, facility: Facility, scenario: Scenario) -> None:
        self.facility = facility
        self.scenario = scenario
        self.seed = scenario.seed
        self.sensors = scenario.world.sensors
        self.sources: tuple[AnySource, ...] = scenario.world.sources
        for s in self.sources:
            if s.node is not None and s.node not in facility.nodes:
                raise KeyError(f"unknown node {s.node!r} in a {type(s).__name__} source")
            if isinstance(s, GasLeak) and s.sensor not in self.sensors:
                raise KeyError(f"unknown sensor {s.sensor!r} in a gas leak")
        graph = nx.Graph()
        graph.add_nodes_from(facility.nodes)
        for e in facility.edges:
            if e.closed:
                continue
            old = graph.get_edge_data(e.source, e.target)
            if old is None or e.length < old["length"]:
                graph.add_edge(e.source, e.target, length=e.length)
        self._graph = graph
        self._reach = [self._reach_of(s) for s in self.sources]
        self._lock = threading.Lock()
        self._faults: dict[str, tuple[Fault, ...]] = {}
        for f in scenario.faults:
            self._add_fault(f)

    # ------------------------------------------------------------------ set-up
    def _reach_of(self, source: AnySource) -> dict[str, float]:
        """Node -> corridor distance (m) from the source; a zone's nodes are at 0."""
        if isinstance(source, O2Deficiency) and source.zone is not None:
            zone = self.facility.zone(source.zone)
            return {n.id: 0.0 for n in self.facility.level_nodes(zone.level)
                    if zone.polygon.intersects(n.point)}
        assert source.node is not None  # the other kinds always have a node
        dist: dict[str, float] = nx.single_source_dijkstra_path_length(
            self._graph, source.node, cutoff=source.decay_m * _CUTOFF_DECAYS, weight="length")
        return dist

    def distance(self, source: int, node_id: str) -> float:
        """Corridor distance (m) from source number ``source`` to a node; ``inf`` when out of
        its reach (unconnected, or beyond 30 decay lengths)."""
        return self._reach[source].get(node_id, math.inf)

    # ------------------------------------------------------------------ sensors
    def knows(self, sensor: str) -> bool:
        """Whether the world can produce readings of ``sensor``."""
        return sensor in self.sensors

    def spec(self, sensor: str) -> SensorSpec:
        """The sensor's model; ``KeyError`` naming it when unknown."""
        try:
            return self.sensors[sensor]
        except KeyError:
            raise KeyError(f"unknown sensor {sensor!r}") from None

    def unit(self, sensor: str) -> str:
        """The unit readings of ``sensor`` are in (``%vol``, ``ppm``, ``%LEL``, ``°C``, ``dB``)."""
        return self.spec(sensor).unit

    # ------------------------------------------------------------------ model
    def _background(self, sensor: str, node_id: str) -> float:
        return self.spec(sensor).background_at(self.facility.node(node_id).tags)

    def _leaks(self, sensor: str, node_id: str, t: float) -> float:
        total = 0.0
        for i, s in enumerate(self.sources):
            if isinstance(s, GasLeak) and s.sensor == sensor:
                d = self._reach[i].get(node_id)
                if d is not None:
                    total += s.peak * s.strength(t) * math.exp(-d / s.decay_m)
        return total

    def _raw(self, sensor: str, node_id: str, t: float) -> float:
        spec = self.spec(sensor)
        value = spec.background_at(self.facility.node(node_id).tags)
        if sensor == vocab.O2:
            displaced = sum(
                _to_vol(self._leaks(g, node_id, t), self.sensors[g].unit)
                for g in {s.sensor for s in self.sources if isinstance(s, GasLeak)})
            value *= max(0.0, 1.0 - displaced / 100.0)
            drop = 0.0
            for i, s in enumerate(self.sources):
                if isinstance(s, O2Deficiency):
                    d = self._reach[i].get(node_id)
                    if d is None:
                        continue
                    ref = value if s.zone is not None else self._background(vocab.O2, s.node or "")
                    drop = max(drop, (ref - s.o2) * s.strength(t) * math.exp(-d / s.decay_m))
            return value - max(0.0, drop)
        if sensor == vocab.THERMAL:
            for i, s in enumerate(self.sources):
                if isinstance(s, HotSpot):
                    d = self._reach[i].get(node_id)
                    if d is None:
                        continue
                    bg = self._background(vocab.THERMAL, s.node)
                    seen = bg + (s.peak_c - bg) * s.strength(t) * math.exp(-d / s.decay_m)
                    value = max(value, seen)
            return value
        if vocab.is_concentration(spec.unit):
            value += self._leaks(sensor, node_id, t)
            if sensor == vocab.FLAMMABLE and vocab.CH4 in self.sensors:
                value += self._raw(vocab.CH4, node_id, t) / METHANE_LEL_VOL * 100.0
        return value

    def expected(self, sensor: str, node_id: str, t: float) -> float:
        """The noise-free, fault-free value at a node at world time ``t``, clipped."""
        spec = self.spec(sensor)
        return min(spec.high, max(spec.low, self._raw(sensor, node_id, t)))

    # ------------------------------------------------------------------ readings
    def rng_for(self, robot: str, point: str, visit: int, sensor: str) -> random.Random:
        """The noise generator of one reading: seeded by (seed, robot, point, visit, sensor)."""
        return random.Random(derive_seed(self.seed, "reading", robot, point, visit, sensor))

    def reading(self, sensor: str, node_id: str, t: float, rng: random.Random | None = None,
                *, robot: str | None = None) -> tuple[float, str]:
        """``(value, unit)`` of ``sensor`` at a node at world time ``t``.

        With ``rng``, gaussian noise of the sensor's sigma is added (one draw). With
        ``robot``, that robot's sensor faults apply: a failed sensor reads NaN (the body
        reports the reading missing), a drifting one reads high by its drift. The value is
        clipped to the sensor's range (NaN stays NaN). ``KeyError`` for an unknown sensor or
        node.
        """
        spec = self.spec(sensor)
        value = self._raw(sensor, node_id, t)
        if rng is not None and spec.sigma > 0:
            value += rng.gauss(0.0, spec.sigma)
        if robot is not None:
            for f in self.faults_of(robot):
                if f.sensor != sensor or not f.active(t):
                    continue
                if f.kind == "sensor_fail":
                    return math.nan, spec.unit
                if f.kind == "sensor_drift" and f.per_hour is not None:
                    value += f.per_hour * (t - f.at_s) / 3600.0
        return min(spec.high, max(spec.low, value)), spec.unit

    def measure(self, sensor: str, node_id: str, t: float, *, robot: str,
                visit: int = 0) -> tuple[float, str]:
        """A robot's reading at its ``visit``-th visit (0-based) of a point: the same
        arguments always give the same value, whatever other robots do meanwhile."""
        rng = self.rng_for(robot, node_id, visit, sensor)
        return self.reading(sensor, node_id, t, rng, robot=robot)

    # ------------------------------------------------------------------ faults
    def _add_fault(self, fault: Fault) -> None:
        # kinds compared by value: FaultKind (a StrEnum) lives in sim.scenario, which
        # imports this module
        if fault.kind in ("sensor_fail", "sensor_drift"):
            self._faults[fault.robot] = (*self._faults.get(fault.robot, ()), fault)

    def inject(self, fault: Fault) -> None:
        """Add a sensor fault at run time (other kinds concern the robot's body and are
        ignored here)."""
        with self._lock:
            self._add_fault(fault)

    def faults_of(self, robot: str) -> tuple[Fault, ...]:
        """The sensor faults (active or not) of one robot."""
        with self._lock:
            return self._faults.get(robot, ())

    def sensor_failed(self, robot: str, sensor: str, t: float) -> bool:
        """Whether the robot's ``sensor`` gives no reading at world time ``t``."""
        return any(f.kind == "sensor_fail" and f.sensor == sensor and f.active(t)
                   for f in self.faults_of(robot))

    # ------------------------------------------------------------------ expectations
    def full_strength_at(self) -> float:
        """The first world time at which every source has reached full strength."""
        return max((s.full_at for s in self.sources), default=0.0)

    def expected_above(self, sensor: str, threshold: float, *, t: float | None = None,
                       points: Iterable[str] | None = None) -> set[str]:
        """Points whose noise-free value exceeds ``threshold`` at ``t`` (default: when every
        source is at full strength, before any growth). ``points`` default to the
        facility's inspection points."""
        when = self.full_strength_at() if t is None else t
        ids = self.facility.inspection_points if points is None else points
        return {p for p in ids if self.expected(sensor, p, when) > threshold}

    def expected_below(self, sensor: str, threshold: float, *, t: float | None = None,
                       points: Iterable[str] | None = None) -> set[str]:
        """As :meth:`expected_above`, for values below ``threshold`` (oxygen deficiency)."""
        when = self.full_strength_at() if t is None else t
        ids = self.facility.inspection_points if points is None else points
        return {p for p in ids if self.expected(sensor, p, when) < threshold}
