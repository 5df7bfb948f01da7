"""Fixed-sensor readings through the anomaly rules, and the interlock check of each.

The manager (:mod:`fleet.manager.sensors`) turns each valid message of a known fixed
sensor into a :class:`FixedReading` (with the limits and interlock levels in force at the
sensor) and hands batches of them to :meth:`fleet.anomaly.log.AnomalyLog.observe_fixed`,
which stores them and applies the same rules, lifecycle and alerts as to the robots'
readings, in one transaction. The anomaly of a fixed sensor is keyed by the sensor's id
(where a robot's is keyed by its inspection point).

Each stored reading is then checked against its interlock levels: an
:class:`InterlockCheck` (sensor id, node, reading, levels, crossing) goes to every
:data:`InterlockHook` the manager was given, in measuring order, after the commit. That is
the seam the lockout and area-closure code builds on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fleet.anomaly.lifecycle import Sighting
from fleet.anomaly.rules import Previous, Verdict, evaluate
from fleet.facility.fixed_sensors import FixedSensor
from fleet.interlock import Crossing, InterlockLevels, crosses
from fleet.sensors import SensorLimits


@dataclass(frozen=True, slots=True)
class FixedReading:
    """One reading of fixed sensor ``sensor``, ready for the rules.

    ``value`` in ``unit`` (one that converts to the sensor's), taken at ``measured_at`` and
    received at ``received_at`` (aware UTC). ``limits`` are the anomaly limits of the
    reading's sensor in force at the fixed sensor (None: no limits there), ``interlock``
    its interlock levels (None: no interlock there). ``x``, ``y``, ``level`` place it on
    the map. ``reported`` is what the message said about the sensor's place (``nodeId``,
    ``position``), kept as given, or None.
    """

    sensor: FixedSensor
    value: float
    unit: str
    measured_at: datetime
    received_at: datetime
    limits: SensorLimits | None = None
    interlock: InterlockLevels | None = None
    x: float | None = None
    y: float | None = None
    level: str | None = None
    reported: Mapping[str, Any] | None = None

    def row(self) -> dict[str, Any]:
        """The reading as a row of ``sensor_readings`` (see
        :mod:`fleet.store.sensor_readings`)."""
        return {"sensor_id": self.sensor.id, "sensor": self.sensor.sensor,
                "value": self.value, "unit": self.unit, "node_id": self.sensor.node,
                "reported": dict(self.reported) if self.reported is not None else None,
                "measured_at": _naive(self.measured_at),
                "received_at": _naive(self.received_at)}


@dataclass(frozen=True, slots=True)
class InterlockCheck:
    """A stored fixed-sensor reading checked against the interlock levels of its place.

    ``sensor_id`` and ``node`` say where (the node the map places the sensor at);
    ``reading`` is the reading (value, unit, time, sensor); ``reading_id`` its row in
    ``sensor_readings``. ``levels`` are the interlock levels in force there for the
    reading's sensor (None: no interlock applies, and ``crossing`` is None);
    ``crossing`` is :func:`fleet.interlock.crosses` of the reading against them.
    """

    sensor_id: str
    node: str
    reading: FixedReading
    reading_id: int
    levels: InterlockLevels | None
    crossing: Crossing | None

    @classmethod
    def of(cls, reading: FixedReading, reading_id: int) -> InterlockCheck:
        """The check of a stored reading against its own interlock levels."""
        levels = reading.interlock
        crossing = crosses(levels, reading.value, reading.unit) if levels is not None \
            else None
        return cls(reading.sensor.id, reading.sensor.node, reading, reading_id, levels,
                   crossing)


InterlockHook = Callable[[InterlockCheck], object]
"""Called with every stored fixed-sensor reading's :class:`InterlockCheck`, on the
manager's sensor thread, after the reading is committed; it must return quickly (hand long
work to a thread of its own). What it raises is logged, never propagated."""

PreviousLookup = Callable[[str, str, datetime], Previous | None]
"""``(sensor id, sensor, before)`` → the latest stored reading of it before that time."""


def fixed_verdicts(readings: Sequence[FixedReading], previous: dict[tuple[str, str], Previous],
                   stored: PreviousLookup) -> list[tuple[int, Verdict]]:
    """The verdicts of the rules on ``readings``, as (index in ``readings``, verdict), in
    measuring order. ``previous`` is the rate-of-change memory keyed (sensor id, sensor),
    updated here; ``stored`` is asked when it knows nothing earlier."""
    out: list[tuple[int, Verdict]] = []
    for i in sorted(range(len(readings)), key=lambda i: readings[i].measured_at):
        r = readings[i]
        key = (r.sensor.id, r.sensor.sensor)
        at = r.measured_at
        known = previous.get(key)
        if known is None or at > known[0]:
            previous[key] = (at, r.value, r.unit)
        if r.limits is None:
            continue
        before: Previous | None = None
        if r.limits.rate is not None:
            before = known if known is not None and known[0] < at else stored(*key, at)
        verdict = evaluate(r.limits, r.value, r.unit, at=at, previous=before)
        if verdict is not None:
            out.append((i, verdict))
    return out


def fixed_sightings(readings: Sequence[FixedReading], ids: Sequence[int],
                    verdicts: Sequence[tuple[int, Verdict]]) -> list[Sighting]:
    """The sightings of ``verdicts`` (from :func:`fixed_verdicts`), once the readings are
    stored under ``ids``."""
    out = []
    for i, verdict in verdicts:
        r = readings[i]
        out.append(Sighting(verdict, r.sensor.id, None, None, r.measured_at, None, None, None,
                            r.x, r.y, r.level, sensor_reading_id=ids[i]))
    return out


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


__all__ = ["FixedReading", "InterlockCheck", "InterlockHook", "PreviousLookup",
           "fixed_sightings", "fixed_verdicts"]
