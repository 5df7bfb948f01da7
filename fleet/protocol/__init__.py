"""The wire protocol: VDA 5050 2.1 messages and this project's inspection extension.

Messages travel over Zenoh as UTF-8 JSON (encoding ``application/json``) on keys
``{interface}/v2/{manufacturer}/{serialNumber}/{topic}``; docs/protocol.md is the contract
for robot integrators. The parts:

- :mod:`~fleet.protocol.keys`: :class:`Topic`, :func:`topic_key`, :func:`parse_key`,
  :func:`subscription_key`, :func:`alive_key`.
- :mod:`~fleet.protocol.messages`: the typed models (frozen dataclasses with ``to_json`` and
  ``from_json``) of every topic; :mod:`~fleet.protocol.header` the header and
  :class:`HeaderStamper` (per-topic ``headerId``, ISO 8601 UTC millisecond timestamps).
- :mod:`~fleet.protocol.codec`: :func:`encode` and :func:`decode` (bytes <-> models; every
  failure is a :class:`~fleet.errors.ProtocolError` naming the reason), :func:`decode_json`
  (validated dict without the model, the fast path).
- :mod:`~fleet.protocol.validation`: the bundled schemas and the compiled validators.
- :mod:`~fleet.protocol.inspection`: the ``inspect`` action helpers and results.

This package imports only the standard library (and ``jsonschema`` lazily, for the reference
validator), so a robot can use it without the manager's dependencies.
"""

from fleet.protocol.codec import decode, decode_json, encode
from fleet.protocol.header import VERSION, Header, HeaderStamper, utc_timestamp
from fleet.protocol.inspection import (
    InspectParams,
    inspect_action,
    new_result_id,
    read_inspect_action,
)
from fleet.protocol.keys import (
    ALIVE,
    DEFAULT_INTERFACE,
    ParsedKey,
    Topic,
    alive_key,
    parse_key,
    subscription_key,
    topic_key,
)
from fleet.protocol.messages import AnyMessage
from fleet.protocol.order import route_order

__all__ = [
    "ALIVE", "DEFAULT_INTERFACE", "VERSION", "AnyMessage", "Header", "HeaderStamper",
    "InspectParams", "ParsedKey", "Topic", "alive_key", "decode", "decode_json", "encode",
    "inspect_action", "new_result_id", "parse_key", "read_inspect_action", "route_order",
    "subscription_key", "topic_key", "utc_timestamp",
]
