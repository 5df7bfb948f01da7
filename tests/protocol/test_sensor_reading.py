"""Fixed-sensor readings on the wire: the key, the sensorReading schema and its decoder
(which raises ProtocolError in one line, never anything else)."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.errors import ProtocolError
from fleet.protocol.keys import parse_sensor_key, sensor_key, sensor_subscription_key
from fleet.protocol.sensor_reading import SensorReading, decode_sensor_reading
from fleet.protocol.validation import reference_validator

GOOD = {"sensorId": "T-2201-1", "sensor": "ch4", "value": 0.42, "unit": "%vol",
        "timestamp": "2025-03-01T10:00:00.000Z", "nodeId": "face-05"}


def test_keys() -> None:
    assert sensor_key("uagv", "T-2201-1") == "uagv/sensors/T-2201-1"
    assert sensor_key("site-a/uagv", "T1") == "site-a/uagv/sensors/T1"
    assert sensor_subscription_key("uagv") == "uagv/sensors/*"
    assert parse_sensor_key("site-a/uagv/sensors/T1") == ("site-a/uagv", "T1")
    for bad in ("uagv/v2/acme/r1/state", "sensors/T1", "uagv/sensors/", "T1"):
        with pytest.raises(ProtocolError):
            parse_sensor_key(bad)
    with pytest.raises(ProtocolError, match="sensor id"):
        sensor_key("uagv", "a/b")


def test_a_reading_round_trips() -> None:
    reading = decode_sensor_reading(json.dumps(GOOD).encode())
    assert reading == SensorReading("T-2201-1", "ch4", 0.42, "%vol",
                                    datetime(2025, 3, 1, 10, tzinfo=UTC), "face-05")
    assert json.loads(reading.to_bytes()) == GOOD
    placed = decode_sensor_reading(json.dumps(
        {**GOOD, "position": {"x": 1, "y": 2.5, "level": "L-420"}}).encode())
    assert placed.position == {"x": 1, "y": 2.5, "level": "L-420"}


@pytest.mark.parametrize(("payload", "message"), [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (json.dumps({**GOOD, "value": "high"}).encode(), "$.value"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "unit"}).encode(), "unit"),
    (json.dumps({**GOOD, "timestamp": "yesterday"}).encode(), "not ISO 8601"),
    (json.dumps({**GOOD, "sensorId": ""}).encode(), "$.sensorId"),
    (json.dumps({**GOOD, "position": {"x": 1}}).encode(), "$.position"),
    (b'{"sensorId": "T", "sensor": "ch4", "value": NaN, "unit": "%", '
     b'"timestamp": "2025-03-01T10:00:00Z"}', "NaN"),
])
def test_malformed_readings_are_one_line_protocol_errors(payload: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message.replace("$", r"\$")) as err:
        decode_sensor_reading(payload)
    assert "\n" not in str(err.value)


@given(st.one_of(st.binary(max_size=200), st.dictionaries(
    st.sampled_from([*GOOD, "position", "extra"]),
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
              st.dictionaries(st.sampled_from(["x", "y", "level"]),
                              st.one_of(st.floats(), st.text(max_size=5)))))
    .map(lambda d: json.dumps(d, allow_nan=True).encode())))
def test_the_decoder_raises_only_protocol_errors(payload: bytes) -> None:
    try:
        reading = decode_sensor_reading(payload)
    except ProtocolError:
        return
    assert math.isfinite(reading.value) and reading.timestamp.tzinfo is not None
    assert reference_validator("sensorReading").is_valid(reading.to_json())


def test_the_protocol_doc_example_is_a_valid_reading() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(
        encoding="utf-8")
    found = re.search(r"<!-- example-sensor-reading -->\n```json\n(.*?)\n```", text,
                      re.DOTALL)
    assert found is not None
    assert decode_sensor_reading(found.group(1).encode()).sensor_id == "T-2201-1"
    assert "{interface}/sensors/{sensorId}" in text
