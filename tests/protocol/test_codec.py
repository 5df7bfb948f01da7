"""encode/decode: round trips, every rejection reason, and decode's only exception."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.errors import ProtocolError
from fleet.protocol import examples
from fleet.protocol.codec import (
    MAX_PAYLOAD,
    decode,
    decode_json,
    decode_object,
    encode,
    warm_up,
)
from fleet.protocol.keys import Topic
from fleet.protocol.state import BatteryState


@pytest.mark.parametrize("message", examples.all_examples(), ids=lambda m: str(m.TOPIC))
def test_encode_then_decode_round_trip(message: Any) -> None:
    payload = encode(message)
    assert json.loads(payload)["headerId"] == message.header.header_id
    assert decode(message.TOPIC, payload) == message
    assert decode(str(message.TOPIC), bytearray(payload)) == message


@pytest.mark.parametrize("topic, payload, reason", [
    ("state", b"{nope", "not JSON"),
    ("state", b"\xff\xfe\x00", "not UTF-8"),
    ("state", b"[1, 2]", "must be a JSON object, got an array"),
    ("state", b'"state"', "got a string"),
    ("state", b"null", "got null"),
    ("state", b"{}", "missing required property 'headerId'"),
    ("state", b'{"x": NaN}', "NaN is not a JSON number"),
    ("visualization", b"{}", "unknown topic 'visualization'"),
    ("alive", b"{}", "unknown topic"),
    ("state", b"[" * 100_000, "nested too deeply"),
])
def test_decode_rejects_with_a_reason(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        decode(topic, payload)


def test_decode_rejects_oversized_payloads() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        decode(Topic.STATE, b" " * (MAX_PAYLOAD + 1))


def test_decode_rejects_a_message_of_another_topic() -> None:
    with pytest.raises(ProtocolError, match="order message invalid at"):
        decode(Topic.ORDER, encode(examples.state()))


def test_encode_refuses_invalid_messages() -> None:
    state = examples.state()
    bad = type(state)(state.header, BatteryState(float("nan")))
    with pytest.raises(ProtocolError, match="cannot encode as JSON"):
        encode(bad, check=False)
    wrong = type(state)(state.header, BatteryState("full"))  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match="batteryCharge"):
        encode(wrong)


@pytest.mark.parametrize("message", examples.all_examples(), ids=lambda m: str(m.TOPIC))
def test_decode_json_returns_the_valid_object(message: Any) -> None:
    assert decode_json(message.TOPIC, encode(message)) == message.to_json()


def test_decode_json_rejects_like_decode() -> None:
    with pytest.raises(ProtocolError, match="got an array"):
        decode_json(Topic.STATE, b"[]")
    doc = examples.factsheet().to_json()
    doc["inspection"]["batteryWh"] = 0
    with pytest.raises(ProtocolError, match=r"extension 'inspection'.*batteryWh"):
        decode_json(Topic.FACTSHEET, json.dumps(doc).encode())


def test_decode_object_skips_parsing() -> None:
    warm_up()
    doc = examples.connection().to_json()
    assert decode_object("connection", doc) == examples.connection()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([t.value for t in Topic] + ["nope", ""]), st.binary(max_size=200))
def test_decode_of_random_bytes_raises_only_protocol_error(topic: str, payload: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(topic, payload)
    with contextlib.suppress(ProtocolError):
        decode_json(topic, payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(Topic)), json_values)
def test_decode_of_random_json_raises_only_protocol_error(topic: Topic, value: Any) -> None:
    # infinities are written as Infinity, which decode must refuse like NaN
    payload = json.dumps(value).encode()
    with contextlib.suppress(ProtocolError):
        decode(topic, payload)
    with contextlib.suppress(ProtocolError):
        decode_json(topic, payload)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(examples.all_examples()), st.data())
def test_decode_of_valid_messages_with_random_extra_fields_still_decodes(
        message: Any, data: st.DataObject) -> None:
    doc = message.to_json()
    extra = data.draw(st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=3))
    for key, value in extra.items():
        doc.setdefault("x-" + key, value)
    payload = json.dumps(doc, allow_nan=True).encode()
    try:
        assert decode(message.TOPIC, payload) == message
    except ProtocolError as exc:
        assert "not a JSON number" in str(exc)  # an Infinity drawn into an extra field
