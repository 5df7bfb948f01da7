"""Fixed-sensor readings on the wire: one JSON object per reading on
``{interface}/sensors/{sensorId}`` (:func:`fleet.protocol.keys.sensor_key`).

The site's gas monitoring network (or a gateway in front of it) publishes, for each fixed
sensor, its readings as they come (docs/protocol.md, schema ``sensorReading``)::

    {"sensorId": "T-2201-1", "sensor": "ch4", "value": 0.42, "unit": "%vol",
     "timestamp": "2025-03-01T10:00:00.000Z", "nodeId": "face-05"}

``nodeId`` or ``position`` (``{"x", "y", "level"}``) may say where the sensor is, as the
monitoring system knows it; the manager uses the map's placement and keeps these as given.
There is no acknowledgement: a lost reading is replaced by the next one.

:func:`decode_sensor_reading` turns a payload into a :class:`SensorReading`, or raises
:class:`~fleet.errors.ProtocolError` (one line, never anything else);
:meth:`SensorReading.to_bytes` is the other direction (checked against the schema).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet.errors import ProtocolError
from fleet.protocol.codec import from_bytes, to_bytes
from fleet.protocol.header import parse_timestamp, utc_timestamp
from fleet.protocol.validation import validate

SCHEMA = "sensorReading"
"""The name of the bundled schema of these messages."""


@dataclass(frozen=True, slots=True)
class SensorReading:
    """One reading of fixed sensor ``sensor_id``: ``value`` (finite) in ``unit`` of
    ``sensor``, taken at ``timestamp`` (aware UTC). ``node_id`` and ``position`` are what
    the message said about the sensor's place (None when it said nothing)."""

    sensor_id: str
    sensor: str
    value: float
    unit: str
    timestamp: datetime
    node_id: str | None = None
    position: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The message as a JSON object."""
        out: dict[str, Any] = {"sensorId": self.sensor_id, "sensor": self.sensor,
                               "value": self.value, "unit": self.unit,
                               "timestamp": utc_timestamp(self.timestamp)}
        if self.node_id is not None:
            out["nodeId"] = self.node_id
        if self.position is not None:
            out["position"] = dict(self.position)
        return out

    def to_bytes(self) -> bytes:
        """The message as JSON bytes; ProtocolError when it is not valid."""
        obj = self.to_json()
        validate(SCHEMA, obj)
        return to_bytes(obj)

    @classmethod
    def from_json(cls, obj: Any) -> SensorReading:
        """A reading from a parsed JSON object; ProtocolError (one line) when it is not a
        valid ``sensorReading`` (schema, a finite value, an ISO 8601 timestamp)."""
        if not isinstance(obj, Mapping):
            raise ProtocolError("sensorReading message must be a JSON object")
        validate(SCHEMA, obj)
        value = obj["value"]
        if not math.isfinite(value):
            raise ProtocolError(f"sensorReading message invalid at $.value: {value!r} is not "
                                "a finite number")
        try:
            stamp = parse_timestamp(obj["timestamp"])
        except ValueError:
            raise ProtocolError("sensorReading message invalid at $.timestamp: "
                                f"{obj['timestamp']!r} is not ISO 8601") from None
        position = obj.get("position")
        return cls(obj["sensorId"], obj["sensor"], float(value), obj["unit"], stamp,
                   obj.get("nodeId"), dict(position) if position is not None else None)


def decode_sensor_reading(payload: bytes | bytearray | memoryview) -> SensorReading:
    """The reading a payload carries; ProtocolError naming the reason (one line) when it
    is not UTF-8 JSON, not an object, or not a valid ``sensorReading``."""
    return SensorReading.from_json(from_bytes(payload))


__all__ = ["SCHEMA", "SensorReading", "decode_sensor_reading"]
