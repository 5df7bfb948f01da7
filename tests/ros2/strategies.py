"""Hypothesis strategies for ROS 2 messages, built from the type store's field definitions,
and a plain-data view of messages for comparing them (numpy arrays do not compare with ==)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from rosbags.interfaces import Nodetype

from fleet.ros2.cdr import message
from fleet.ros2.interfaces import Distro, typestore

_INTS = {
    "int8": (-(2**7), 2**7 - 1, np.int8),
    "uint8": (0, 2**8 - 1, np.uint8),
    "char": (0, 2**8 - 1, np.uint8),
    "byte": (0, 2**8 - 1, np.uint8),
    "int16": (-(2**15), 2**15 - 1, np.int16),
    "uint16": (0, 2**16 - 1, np.uint16),
    "int32": (-(2**31), 2**31 - 1, np.int32),
    "uint32": (0, 2**32 - 1, np.uint32),
    "int64": (-(2**63), 2**63 - 1, np.int64),
    "uint64": (0, 2**64 - 1, np.uint64),
}
_FLOATS = {"float32": (32, np.float32), "float64": (64, np.float64)}
# ROS strings are UTF-8 without NUL (the CDR string is NUL-terminated).
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=12)


def _scalar(base: str) -> st.SearchStrategy[Any]:
    if base in _INTS:
        low, high, _ = _INTS[base]
        return st.integers(low, high)
    if base in _FLOATS:
        return st.floats(width=_FLOATS[base][0], allow_nan=False)
    if base == "bool":
        return st.booleans()
    return _TEXT


def _field(distro: Distro, desc: Any) -> st.SearchStrategy[Any]:
    kind, rest = desc
    if kind == Nodetype.NAME:
        return messages(distro, rest)
    if kind == Nodetype.BASE:
        return _scalar(rest[0])
    element, size = rest
    if kind == Nodetype.ARRAY:
        low = high = size
    else:
        low, high = 0, min(size, 3) if size else 3
    items = st.lists(_field(distro, element), min_size=low, max_size=high)
    if element[0] == Nodetype.BASE and element[1][0] in _INTS:
        dtype = _INTS[element[1][0]][2]
        return items.map(lambda xs: np.array(xs, dtype=dtype))
    if element[0] == Nodetype.BASE and element[1][0] in _FLOATS:
        dtype = _FLOATS[element[1][0]][1]
        return items.map(lambda xs: np.array(xs, dtype=dtype))
    return items


def messages(distro: Distro | str, typename: str) -> st.SearchStrategy[Any]:
    """Messages of ``typename`` with every field drawn (sequences of up to 3 elements)."""
    distro = Distro(distro)
    _, defs = typestore(distro).fielddefs[typename]
    fields = {name: _field(distro, desc) for name, desc in defs}
    return st.fixed_dictionaries(fields).map(lambda f: message(distro, typename, **f))


def plain(value: Any) -> Any:
    """``value`` as dicts, lists and scalars, for equality checks."""
    if isinstance(value, np.ndarray):
        return [plain(x) for x in value.tolist()]
    if isinstance(value, list | tuple):
        return [plain(x) for x in value]
    if hasattr(value, "__msgtype__") and hasattr(value, "__dataclass_fields__"):
        return {
            name: plain(getattr(value, name))
            for name in value.__dataclass_fields__
            if name != "__msgtype__"
        }
    return value
