"""Bytes on the wire <-> message models.

:func:`encode` turns a model into UTF-8 JSON bytes (checked against the topic's schema, so a
bug never leaves the process as an invalid message). :func:`decode` turns the bytes received
on a topic into its model, and raises :class:`~fleet.errors.ProtocolError` - never anything
else - with a message naming the reason when the payload is too large, not UTF-8 JSON, not
an object, invalid against the topic's schema (path and reason), inconsistent (an order
breaking the base/horizon rules), or when the topic is unknown.

:func:`decode_json` stops before building the model, for consumers that read a few fields
of many messages. Validation uses the compiled validators of
:mod:`fleet.protocol.validation`, built once per topic on first use; :func:`warm_up` builds
them all ahead of time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

from fleet.errors import ProtocolError
from fleet.protocol.header import Message
from fleet.protocol.keys import Topic, parse_topic
from fleet.protocol.messages import MODELS, AnyMessage
from fleet.protocol.validation import fast_validator, validate

MAX_PAYLOAD = 4 * 1024 * 1024
"""Largest payload :func:`decode` accepts, in bytes (a 1,000-node order is ~300 kB)."""


def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"payload is not JSON: {name} is not a JSON number")


def to_bytes(obj: Mapping[str, Any] | list[Any]) -> bytes:
    """Compact UTF-8 JSON; ProtocolError for values JSON cannot carry (NaN, infinities)."""
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"cannot encode as JSON: {exc}") from None


def from_bytes(payload: bytes | bytearray | memoryview) -> Any:
    """Parse UTF-8 JSON; ProtocolError naming the reason when it is not."""
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD} bytes")
    # orjson parses a state in under half the time of json (the manager takes thousands a
    # second); it is strict JSON too (no NaN). What it refuses goes through json below, which
    # either accepts it (integers beyond 64 bits) or names the reason precisely.
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        pass
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"payload is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"payload is not JSON: {exc.msg} at line {exc.lineno} "
                            f"column {exc.colno}") from None
    except RecursionError:
        raise ProtocolError("payload is not JSON this decoder accepts: nested too deeply") \
            from None


def encode(message: Message, *, check: bool = True) -> bytes:
    """The message as JSON bytes; with ``check`` (default) ProtocolError if it is invalid."""
    obj = message.to_json()
    if check:
        validate(message.TOPIC, obj)
    return to_bytes(obj)


def decode(topic: Topic | str, payload: bytes | bytearray | memoryview) -> AnyMessage:
    """The model of the message ``payload`` received on ``topic``; ProtocolError if invalid."""
    kind = parse_topic(str(topic))
    obj = from_bytes(payload)
    return decode_object(kind, obj)


def decode_json(topic: Topic | str, payload: bytes | bytearray | memoryview) -> dict[str, Any]:
    """The message as a schema-valid JSON object, without building its model.

    The fast path for a consumer that needs a few fields of many messages (about 40 % less
    work than :func:`decode` for a state). Order consistency is not checked (that is the
    model's job); every other rejection is as in :func:`decode`.
    """
    return check_object(topic, from_bytes(payload))


def check_object(topic: Topic | str, obj: Any) -> dict[str, Any]:
    """Like :func:`decode_json` for an already parsed JSON value."""
    kind = parse_topic(str(topic))
    if not isinstance(obj, dict):
        raise ProtocolError(f"{kind} message must be a JSON object, got {_json_type(obj)}")
    validate(kind, obj)
    if kind is Topic.FACTSHEET and "inspection" in obj:
        try:
            validate("factsheetInspection", obj["inspection"])
        except ProtocolError as exc:
            raise ProtocolError(f"factsheet extension 'inspection': {exc}") from None
    return obj


def decode_object(topic: Topic | str, obj: Any) -> AnyMessage:
    """Like :func:`decode` for an already parsed JSON value."""
    kind = parse_topic(str(topic))
    if not isinstance(obj, dict):
        raise ProtocolError(f"{kind} message must be a JSON object, got {_json_type(obj)}")
    try:
        return MODELS[kind](obj)
    except ProtocolError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # pragma: no cover
        # the schema is checked first, so this means the schema and model disagree
        raise ProtocolError(f"{kind} message could not be read: {exc!r}") from None


def warm_up() -> None:
    """Compile every topic's validator now rather than on the first message."""
    for topic in Topic:
        fast_validator(topic)
    fast_validator("factsheetInspection")


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
