"""CDR payloads of ROS 2 messages: what rmw_zenoh and zenoh-bridge-ros2dds put in a sample.

Both carry plain XCDR1 (classic CDR) little-endian with the 4-byte encapsulation header
``00 01 00 00`` (rmw_zenoh ``rmw_publisher_data.cpp`` serialises with Fast-CDR after that
header; the bridge forwards the DDS payload as is). rosbags generates the (de)serialiser
from each distro's type store (:func:`fleet.ros2.interfaces.typestore`).

A caller may rely on:

* :func:`serialize` writing little-endian with that header, and :func:`deserialize` reading
  it back to an equal message (also big-endian ``00 00`` payloads, which DDS allows);
* every failure, from the bytes or from the message given, raising
  :class:`fleet.errors.ProtocolError` with a one-line reason, never another exception;
* messages being rosbags dataclasses: fields as attributes, numeric arrays and sequences
  as numpy arrays, other arrays and sequences as lists, nested messages as instances.
  :func:`message` builds one with zero values (0, ``""``, empty sequences) for the fields
  not given. These are not the ``.msg`` default values, which rosbags does not keep:
  ``geometry_msgs/Quaternion.w`` is 0 here and 1 in rclpy.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from rosbags.interfaces import Nodetype
from rosbags.serde import SerdeError

from fleet.errors import ProtocolError
from fleet.ros2.interfaces import Distro, typestore

if TYPE_CHECKING:
    from rosbags.interfaces.typing import FieldDesc

__all__ = ["HEADER", "deserialize", "message", "message_class", "serialize"]

#: The encapsulation header of a little-endian classic CDR payload (CDR_LE, options 0).
HEADER = b"\x00\x01\x00\x00"

# What rosbags' generated code raises on bad input: SerdeError for the checks it makes
# (encapsulation, string length and terminator, array length, trailing bytes), struct.error
# or numpy's ValueError when a length points past the end, UnicodeDecodeError for text that
# is not UTF-8, and on serialisation TypeError/AttributeError/OverflowError for a field of
# the wrong type or range. Caught one by one so a bug elsewhere still surfaces as itself.
_SERDE_ERRORS = (
    SerdeError,
    struct.error,
    ValueError,
    UnicodeError,
    IndexError,
    TypeError,
    AttributeError,
    OverflowError,
    KeyError,
    MemoryError,
    AssertionError,
)

# numpy dtypes rosbags uses for numeric arrays and sequences (rosbags.serde.utils SIZEMAP
# and its generated code); bool, string and message arrays are lists.
_DTYPES = {
    "byte": np.uint8,
    "char": np.uint8,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "uint16": np.uint16,
    "int32": np.int32,
    "uint32": np.uint32,
    "int64": np.int64,
    "uint64": np.uint64,
    "float32": np.float32,
    "float64": np.float64,
}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _check_type(distro: Distro | str, typename: str) -> Distro:
    try:
        distro = Distro(distro)
    except ValueError:
        raise ProtocolError(f"unknown ROS 2 distro {distro!r}") from None
    if typename not in typestore(distro).fielddefs:
        raise ProtocolError(f"unknown ROS 2 message type {typename!r} in {distro.value}")
    return distro


def serialize(distro: Distro | str, typename: str, msg: object) -> bytes:
    """``msg`` (a message of ``typename``) as little-endian CDR with :data:`HEADER`.
    Raises ProtocolError for an unknown type or a message that does not fit it."""
    distro = _check_type(distro, typename)
    try:
        data = typestore(distro).serialize_cdr(msg, typename, little_endian=True)
    except _SERDE_ERRORS as exc:
        raise ProtocolError(f"cannot serialise {typename}: {_one_line(exc)}") from exc
    return bytes(data)


def deserialize(distro: Distro | str, typename: str, data: bytes | bytearray | memoryview) -> Any:
    """The message of ``typename`` in the CDR payload ``data``. Raises ProtocolError for an
    unknown type or bytes that are not exactly one such message (up to 3 padding bytes)."""
    distro = _check_type(distro, typename)
    raw = bytes(data)
    if raw[:2] not in (b"\x00\x01", b"\x00\x00") or len(raw) < 4:
        raise ProtocolError(f"{typename}: not a classic CDR payload (header {raw[:4].hex()!r})")
    try:
        return typestore(distro).deserialize_cdr(raw, typename)
    except _SERDE_ERRORS as exc:
        raise ProtocolError(f"malformed {typename}: {_one_line(exc)}") from exc


def message_class(distro: Distro | str, typename: str) -> type[Any]:
    """The rosbags dataclass of ``typename`` in ``distro`` (all fields are required
    arguments). Raises ProtocolError for an unknown type."""
    distro = _check_type(distro, typename)
    return typestore(distro).types[typename]


def _default(distro: Distro, desc: FieldDesc) -> Any:
    # rosbags' FieldDesc is a union of differently shaped tuples; walk it untyped.
    kind, rest = desc[0], cast("Any", desc[1])
    if kind == Nodetype.NAME:
        return message(distro, str(rest))
    if kind == Nodetype.BASE:
        base = str(rest[0])
        if base in ("string", "wstring"):
            return ""
        return False if base == "bool" else 0.0 if base.startswith("float") else 0
    element, size = rest
    count = int(size) if kind == Nodetype.ARRAY else 0
    if element[0] == Nodetype.BASE and element[1][0] in _DTYPES:
        return np.zeros(count, dtype=_DTYPES[element[1][0]])
    return [_default(distro, element) for _ in range(count)]


def message(distro: Distro | str, typename: str, **fields: Any) -> Any:
    """A message of ``typename`` with ``fields`` and zero values for the rest (numbers 0,
    bool False, strings empty, nested messages zeroed, fixed arrays of that many zeros,
    sequences empty; not the ``.msg`` defaults). Raises ProtocolError for an unknown type
    or field name."""
    distro = _check_type(distro, typename)
    _, defs = typestore(distro).fielddefs[typename]
    names = {name for name, _ in defs}
    if unknown := sorted(set(fields) - names):
        raise ProtocolError(f"{typename} has no field {', '.join(unknown)}")
    values = {
        name: fields[name] if name in fields else _default(distro, desc) for name, desc in defs
    }
    return typestore(distro).types[typename](**values)
