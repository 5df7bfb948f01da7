"""rmw_zenoh's sample attachment: sequence number, source timestamp and source GID.

ros2/rmw_zenoh ``rmw_zenoh_cpp/src/detail/attachment_helpers.cpp`` (``AttachmentData``)
writes it with ``zenoh::ext::Serializer``: the sequence number (int64), the source
timestamp (int64, nanoseconds) and the 16-byte GID (``std::array<uint8_t, 16>``, which the
serializer writes as a sequence: a LEB128 length, one byte ``0x10``, then the bytes). The
integers are little-endian, so the attachment is always 33 bytes. Releases before Jazzy
rmw_zenoh 0.2.4 / Humble 0.1.2 used a labelled key/value attachment instead (rmw_zenoh issue
#600), which :func:`Attachment.decode` rejects.

rmw_zenoh subscribers drop samples without it; a publisher numbers its samples from 1; a
service reply echoes the request's sequence number and GID.

A caller may rely on ``Attachment.decode(a.encode()) == a`` for every valid ``a``, and on
:meth:`Attachment.decode` raising :class:`fleet.errors.ProtocolError` for anything but
exactly such 33 bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from fleet.errors import ProtocolError

__all__ = ["GID_SIZE", "SIZE", "Attachment"]

GID_SIZE = 16  # RMW_GID_STORAGE_SIZE from Iron on
_LAYOUT = struct.Struct("<qqB16s")
SIZE = _LAYOUT.size  # 33
_INT64 = range(-(2**63), 2**63)


@dataclass(frozen=True)
class Attachment:
    """One sample's attachment: ``sequence`` and ``timestamp_ns`` are int64, ``gid`` the
    16-byte GID of the publisher, client or service that sent it."""

    sequence: int
    timestamp_ns: int
    gid: bytes

    def __post_init__(self) -> None:
        if self.sequence not in _INT64 or self.timestamp_ns not in _INT64:
            raise ProtocolError("attachment sequence and timestamp must fit in int64")
        if len(self.gid) != GID_SIZE:
            raise ProtocolError(f"attachment GID must be {GID_SIZE} bytes, not {len(self.gid)}")

    def encode(self) -> bytes:
        """The 33 bytes rmw_zenoh puts in a sample's attachment."""
        return _LAYOUT.pack(self.sequence, self.timestamp_ns, GID_SIZE, bytes(self.gid))

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Attachment:
        """The attachment in ``data``; ProtocolError unless it is exactly 33 bytes with the
        GID length byte 16."""
        raw = bytes(data)
        if len(raw) != SIZE:
            raise ProtocolError(f"rmw_zenoh attachment is {SIZE} bytes, got {len(raw)}")
        sequence, timestamp_ns, length, gid = _LAYOUT.unpack(raw)
        if length != GID_SIZE:
            raise ProtocolError(f"rmw_zenoh attachment GID length byte is {length}, not 16")
        return cls(sequence, timestamp_ns, gid)
