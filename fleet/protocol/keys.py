"""Zenoh key expressions of the wire protocol: build them, parse them, subscribe with them.

Every message travels on ``{interface}/v2/{manufacturer}/{serialNumber}/{topic}``:

- ``interface`` defaults to ``uagv`` (:data:`DEFAULT_INTERFACE`) and may carry a site prefix
  of any number of chunks (``site-a/uagv``); it never contains wildcards or empty chunks.
- ``manufacturer`` and ``serialNumber`` are one non-empty chunk each, without ``/``, ``*``,
  ``$``, ``?`` or ``#``, and not starting with ``@`` (Zenoh's verbatim chunks, which
  wildcards never match) (:func:`check_chunk`); anything else raises :class:`ProtocolError`.
- ``topic`` is one of :class:`Topic` for messages, or ``alive`` for the liveliness token
  (:func:`alive_key`) whose disappearance means CONNECTIONBROKEN.

Fixed sensors of the site's gas monitoring network publish on
``{interface}/sensors/{sensorId}`` (:func:`sensor_key`, :func:`sensor_subscription_key`,
:func:`parse_sensor_key`); ``sensorId`` is one chunk, as above.

:func:`parse_key` reads a concrete key from the right (the last four chunks are ``v2``,
manufacturer, serial and topic; all before is the interface), so site prefixes of any depth
parse. :func:`subscription_key` builds wildcard expressions for the manager, e.g.
``uagv/v2/*/*/state``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from fleet.errors import ProtocolError

DEFAULT_INTERFACE = "uagv"
"""The interface name VDA 5050 uses unless a site configures another."""

MAJOR_VERSION = "v2"
"""The protocol's major version as it appears in every key."""

ALIVE = "alive"
"""The last chunk of a robot's liveliness token key."""

WILDCARD = "*"
"""Matches exactly one chunk in a subscription key."""

SENSORS = "sensors"
"""The chunk before a fixed sensor's id in its key: ``{interface}/sensors/{sensorId}``."""

_FORBIDDEN = frozenset("/*$?#")


class Topic(StrEnum):
    """The message topics; the value is the key's last chunk and the schema's name."""

    ORDER = "order"
    """Manager to robot: a route with actions (VDA 5050 base/horizon)."""
    INSTANT_ACTIONS = "instantActions"
    """Manager to robot: actions to run now (cancelOrder, factsheetRequest, ...)."""
    STATE = "state"
    """Robot to manager: on every change and at least once per state interval."""
    CONNECTION = "connection"
    """Robot to manager: ONLINE at start, OFFLINE on a clean shutdown."""
    FACTSHEET = "factsheet"
    """Robot to manager: at start and on a factsheetRequest; carries ``inspection``."""
    INSPECTION = "inspection"
    """Robot to manager (extension): one inspection result, keyed by ``resultId``."""
    INSPECTION_ACK = "inspectionAck"
    """Manager to robot (extension): the resultIds committed to the store."""

    @property
    def from_manager(self) -> bool:
        """True when the manager publishes this topic and robots subscribe to it."""
        return self in _FROM_MANAGER


_FROM_MANAGER = frozenset({Topic.ORDER, Topic.INSTANT_ACTIONS, Topic.INSPECTION_ACK})


class ParsedKey(NamedTuple):
    """A concrete key split into its parts; ``topic`` is the raw last chunk."""

    interface: str
    manufacturer: str
    serial: str
    topic: str


def check_chunk(value: str, what: str) -> str:
    """Return ``value`` when it may stand as one key chunk, else raise :class:`ProtocolError`.

    A chunk is non-empty, contains none of ``/ * $ ? #`` and does not start with ``@``;
    ``what`` names it in the error.
    """
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"{what} must be a non-empty string, got {value!r}")
    if value.startswith("@"):
        raise ProtocolError(f"{what} {value!r} starts with '@', which Zenoh reserves")
    bad = _FORBIDDEN.intersection(value)
    if bad:
        chars = " ".join(sorted(bad))
        raise ProtocolError(f"{what} {value!r} contains characters not allowed in a key: {chars}")
    return value


def check_interface(interface: str) -> str:
    """Return ``interface`` when it is one or more valid chunks joined by ``/``."""
    if not isinstance(interface, str) or not interface:
        raise ProtocolError(f"interface must be a non-empty string, got {interface!r}")
    for chunk in interface.split("/"):
        if not chunk:
            raise ProtocolError(f"interface {interface!r} has an empty chunk")
        check_chunk(chunk, "interface chunk")
    return interface


def topic_key(interface: str, manufacturer: str, serial: str, topic: Topic | str) -> str:
    """The concrete key ``{interface}/v2/{manufacturer}/{serial}/{topic}``.

    Raises :class:`ProtocolError` when a part is empty or contains a forbidden character.
    """
    check_interface(interface)
    check_chunk(manufacturer, "manufacturer")
    check_chunk(serial, "serial number")
    check_chunk(str(topic), "topic")
    return f"{interface}/{MAJOR_VERSION}/{manufacturer}/{serial}/{topic}"


def alive_key(interface: str, manufacturer: str, serial: str) -> str:
    """The key of a robot's liveliness token: ``{interface}/v2/{manufacturer}/{serial}/alive``."""
    return topic_key(interface, manufacturer, serial, ALIVE)


def subscription_key(
    interface: str = DEFAULT_INTERFACE,
    topic: Topic | str = WILDCARD,
    *,
    manufacturer: str = WILDCARD,
    serial: str = WILDCARD,
) -> str:
    """A key expression matching many robots; each of manufacturer, serial, topic may be ``*``.

    ``subscription_key("uagv", Topic.STATE)`` is ``uagv/v2/*/*/state`` (every robot's state);
    ``subscription_key("uagv", ALIVE)`` matches every liveliness token.
    """
    check_interface(interface)
    parts = []
    for value, what in ((manufacturer, "manufacturer"), (serial, "serial number"),
                        (str(topic), "topic")):
        parts.append(value if value == WILDCARD else check_chunk(value, what))
    return f"{interface}/{MAJOR_VERSION}/" + "/".join(parts)


def parse_key(key: str) -> ParsedKey:
    """Split a concrete key into ``(interface, manufacturer, serial, topic)``.

    The interface is everything before the ``v2`` chunk that stands fourth from the end, so
    ``site-a/uagv/v2/acme/r1/state`` gives interface ``site-a/uagv``. Raises
    :class:`ProtocolError` naming the reason when the key has fewer than five chunks, the
    version chunk is not ``v2``, or a part is empty or holds a forbidden character.
    """
    if not isinstance(key, str):
        raise ProtocolError(f"a key must be a string, got {type(key).__name__}")
    chunks = key.split("/")
    if len(chunks) < 5:
        raise ProtocolError(
            f"key {key!r} is not {{interface}}/v2/{{manufacturer}}/{{serialNumber}}/{{topic}}")
    interface_chunks, version, manufacturer, serial, topic = (
        chunks[:-4], chunks[-4], chunks[-3], chunks[-2], chunks[-1])
    if version != MAJOR_VERSION:
        raise ProtocolError(
            f"key {key!r} has version chunk {version!r}, expected {MAJOR_VERSION!r}")
    interface = "/".join(interface_chunks)
    check_interface(interface)
    check_chunk(manufacturer, "manufacturer")
    check_chunk(serial, "serial number")
    check_chunk(topic, "topic")
    return ParsedKey(interface, manufacturer, serial, topic)


def parse_topic(name: str) -> Topic:
    """The :class:`Topic` called ``name``; :class:`ProtocolError` for anything else."""
    try:
        return Topic(name)
    except ValueError:
        known = ", ".join(t.value for t in Topic)
        raise ProtocolError(f"unknown topic {name!r} (known: {known})") from None


def sensor_key(interface: str, sensor_id: str) -> str:
    """The key a fixed sensor publishes its readings on: ``{interface}/sensors/{sensorId}``;
    :class:`ProtocolError` when a part is not a valid chunk."""
    check_interface(interface)
    check_chunk(sensor_id, "sensor id")
    return f"{interface}/{SENSORS}/{sensor_id}"


def sensor_subscription_key(interface: str = DEFAULT_INTERFACE) -> str:
    """The key expression of every fixed sensor's readings: ``{interface}/sensors/*``."""
    check_interface(interface)
    return f"{interface}/{SENSORS}/{WILDCARD}"


def parse_sensor_key(key: str) -> tuple[str, str]:
    """``(interface, sensorId)`` of a concrete fixed-sensor key; :class:`ProtocolError`
    naming the reason when it is not ``{interface}/sensors/{sensorId}``."""
    if not isinstance(key, str):
        raise ProtocolError(f"a key must be a string, got {type(key).__name__}")
    chunks = key.split("/")
    if len(chunks) < 3 or chunks[-2] != SENSORS:
        raise ProtocolError(f"key {key!r} is not {{interface}}/{SENSORS}/{{sensorId}}")
    interface = "/".join(chunks[:-2])
    check_interface(interface)
    return interface, check_chunk(chunks[-1], "sensor id")
