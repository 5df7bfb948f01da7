"""The VDA 5050 header every message carries, and the stamper that issues headers.

Each message starts with ``headerId`` (a per-topic counter of the sender, +1 per message
sent), ``timestamp`` (ISO 8601 UTC with milliseconds, ``2024-05-01T10:00:00.123Z``),
``version`` (``"2.1.0"``), ``manufacturer`` and ``serialNumber`` (the robot's, also on
manager-to-robot topics, as VDA 5050 does). :class:`Header` holds them;
:class:`HeaderStamper` issues consecutive headers for one robot identity, and
:meth:`HeaderStamper.stamp` re-headers a message right before it is published.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, TypeVar

from fleet.protocol.keys import Topic

VERSION = "2.1.0"
"""The VDA 5050 version every message states."""

JsonDict = dict[str, Any]
"""A JSON object as ``json.loads`` returns it."""


def utc_timestamp(moment: datetime | None = None) -> str:
    """``moment`` (default now) as ISO 8601 UTC with milliseconds: ``YYYY-MM-DDTHH:MM:SS.fffZ``.

    A naive ``moment`` is taken to be UTC.
    """
    if moment is None:
        moment = datetime.now(UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """A header timestamp as an aware UTC datetime; ValueError when it is not ISO 8601."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Header:
    """The five header fields; ``timestamp`` defaults to now and ``header_id`` to 0."""

    manufacturer: str
    serial_number: str
    header_id: int = 0
    timestamp: str = field(default_factory=utc_timestamp)
    version: str = VERSION

    def to_json(self) -> JsonDict:
        """The header as the leading fields of a message object."""
        return {
            "headerId": self.header_id,
            "timestamp": self.timestamp,
            "version": self.version,
            "manufacturer": self.manufacturer,
            "serialNumber": self.serial_number,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Header:
        """The header fields of a message object (``headerId`` 0 and now when absent)."""
        return cls(
            manufacturer=d["manufacturer"],
            serial_number=d["serialNumber"],
            header_id=d.get("headerId", 0),
            timestamp=d.get("timestamp") or utc_timestamp(),
            version=d["version"],
        )


class Message(Protocol):
    """What every message model offers: its topic, its header, and a JSON form.

    Every model also has ``from_json(d)``, a classmethod that validates ``d`` against the
    topic's schema and raises :class:`~fleet.errors.ProtocolError` when it is not valid.
    """

    TOPIC: ClassVar[Topic]

    @property
    def header(self) -> Header: ...

    def to_json(self) -> JsonDict: ...


M = TypeVar("M", bound=Message)


class HeaderStamper:
    """Issues headers for one robot identity, counting ``headerId`` per topic from 0.

    Thread-safe: a robot may publish its state from a timer thread and on every change. The
    manager keeps one stamper per robot it talks to. ``clock`` (default: now, UTC) is for
    tests.
    """

    def __init__(
        self,
        manufacturer: str,
        serial_number: str,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.manufacturer = manufacturer
        self.serial_number = serial_number
        self._clock = clock
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, topic: Topic | str) -> Header:
        """A header for the next message on ``topic``: ``headerId`` one more than the last."""
        with self._lock:
            header_id = self._next.get(str(topic), 0)
            self._next[str(topic)] = header_id + 1
        moment = self._clock() if self._clock is not None else None
        return Header(self.manufacturer, self.serial_number, header_id, utc_timestamp(moment))

    def stamp(self, message: M) -> M:
        """``message`` with a fresh header for its topic (the other fields unchanged)."""
        return replace(message, header=self.next(message.TOPIC))  # type: ignore[type-var]

    def blank(self) -> Header:
        """A header for building a message that :meth:`stamp` will number when it is sent."""
        return Header(self.manufacturer, self.serial_number)


def drop_none(d: JsonDict) -> JsonDict:
    """``d`` without the keys whose value is None (optional fields are left out on the wire)."""
    return {k: v for k, v in d.items() if v is not None}

