"""RIHS01 type hashes, as ROS 2 computes them and rmw_zenoh puts them in keys.

The algorithm is ros2/rosidl ``rosidl_generator_type_description/__init__.py`` (REP-2011):
a type description lists the type's fields (``serialize_field``: name, then type as
``type_id``, ``capacity``, ``string_capacity``, ``nested_type_name``), and
``extract_full_type_description`` adds every type it references, transitively, sorted by
name; ``calculate_type_hash`` drops the default values and takes the sha256 of
``json.dumps(..., separators=(', ', ': '), ensure_ascii=True, sort_keys=False)``.

Services and actions are hashed as the composite types rosidl describes (``add_srv``,
``add_action``): a service ``pkg/srv/X`` has the fields ``request_message``,
``response_message`` and ``event_message``; an action ``pkg/action/A`` has ``goal``,
``result``, ``feedback``, ``send_goal_service`` (the service ``A_SendGoal``),
``get_result_service`` and ``feedback_message``. rmw_zenoh puts the *service* hash in a
service's key (``rmw_service_data.cpp``: ``type_support->get_type_hash_func``), e.g. the hash
of ``nav2_msgs/action/NavigateToPose_SendGoal`` for an action's ``send_goal``.

We hash from rosbags' field definitions, not with rosbags' ``Typestore.hash_rihs01``: rosbags
0.11.9 hashes ``char`` as FIELD_TYPE_CHAR (13), but ``.msg`` ``char`` becomes ``uint8`` in
IDL (rosidl_adapter), so ROS hashes it as FIELD_TYPE_UINT8 (3). ``ServiceEventInfo`` has a
``char[16] client_gid``, so rosbags gets every service and action hash wrong; it also cannot
describe services or actions at all.

A caller may rely on :func:`type_hash` being deterministic and equal to the hash in the
official generator's JSON for the same definitions (golden and oracle tests check it).
Humble has no type hashes (REP-2011 starts with Iron): :func:`wire_hash` gives None there and
:mod:`fleet.ros2.keys` writes rmw_zenoh's ``TypeHashNotSupported``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import TYPE_CHECKING, Any

from rosbags.interfaces import Nodetype

from fleet.ros2.interfaces import Distro, kind_of, typestore

if TYPE_CHECKING:
    from rosbags.interfaces.typing import FieldDesc

__all__ = ["RIHS01_PREFIX", "type_description", "type_hash", "wire_hash"]

RIHS01_PREFIX = "RIHS01_"

# type_description_interfaces/msg/FieldType.msg ids, by rosbags' base type names.
# 'char' is uint8 (3), see the module docstring; 'byte' is IDL octet (16).
_TYPE_IDS = {
    "int8": 2,
    "uint8": 3,
    "char": 3,
    "int16": 4,
    "uint16": 5,
    "int32": 6,
    "uint32": 7,
    "int64": 8,
    "uint64": 9,
    "float32": 10,
    "float64": 11,
    "float128": 12,
    "bool": 15,
    "byte": 16,
    "string": 17,
    "wstring": 18,
}
_NESTED = 1
_BOUNDED_STRING = 21
_BOUNDED_WSTRING = 22
# rosidl's NESTED_FIELD_TYPE_SUFFIXES, as offsets in FieldType.msg
_ARRAY, _BOUNDED_SEQUENCE, _UNBOUNDED_SEQUENCE = 48, 96, 144

Individual = dict[str, Any]


def _field(name: str, desc: FieldDesc) -> dict[str, Any]:
    offset = capacity = string_capacity = 0
    element: Any = desc
    if desc[0] == Nodetype.ARRAY:
        element, capacity = desc[1]
        offset = _ARRAY
    elif desc[0] == Nodetype.SEQUENCE:
        element, capacity = desc[1]
        offset = _BOUNDED_SEQUENCE if capacity else _UNBOUNDED_SEQUENCE
    nested = ""
    if element[0] == Nodetype.NAME:
        type_id = _NESTED
        nested = element[1]
    else:
        base, bound = element[1]
        if base in ("string", "wstring") and bound:
            type_id = _BOUNDED_STRING if base == "string" else _BOUNDED_WSTRING
            string_capacity = bound
        else:
            type_id = _TYPE_IDS[base]
    return {
        "name": name,
        "type": {
            "type_id": type_id + offset,
            "capacity": capacity,
            "string_capacity": string_capacity,
            "nested_type_name": nested,
        },
    }


def _nested(name: str, typename: str) -> dict[str, Any]:
    return _field(name, (Nodetype.NAME, typename))


def _individual(distro: Distro, typename: str) -> Individual:
    kind = kind_of(distro, typename)
    if kind == "service":
        fields = [
            _nested("request_message", f"{typename}_Request"),
            _nested("response_message", f"{typename}_Response"),
            _nested("event_message", f"{typename}_Event"),
        ]
    elif kind == "action":
        fields = [
            _nested("goal", f"{typename}_Goal"),
            _nested("result", f"{typename}_Result"),
            _nested("feedback", f"{typename}_Feedback"),
            _nested("send_goal_service", f"{typename}_SendGoal"),
            _nested("get_result_service", f"{typename}_GetResult"),
            _nested("feedback_message", f"{typename}_FeedbackMessage"),
        ]
    else:
        _, defs = typestore(distro).fielddefs[typename]
        fields = [_field(name, desc) for name, desc in defs]
    return {"type_name": typename, "fields": fields}


def type_description(distro: Distro | str, typename: str) -> dict[str, Any]:
    """The full type description of ``typename`` without default values, as rosidl
    hashes it: ``{"type_description": ..., "referenced_type_descriptions": [...]}``
    (referenced types sorted by name). Raises KeyError for an unknown type."""
    distro = Distro(distro)
    top = _individual(distro, typename)
    seen: dict[str, Individual] = {}
    queue = [f["type"]["nested_type_name"] for f in top["fields"]]
    while queue:
        name = queue.pop()
        if name and name not in seen:
            seen[name] = _individual(distro, name)
            queue.extend(f["type"]["nested_type_name"] for f in seen[name]["fields"])
    return {
        "type_description": top,
        "referenced_type_descriptions": [seen[name] for name in sorted(seen)],
    }


def type_hash(distro: Distro | str, typename: str) -> str:
    """``RIHS01_<sha256 hex>`` of ``typename`` (a message, service or action, e.g.
    ``std_msgs/msg/String``, ``action_msgs/srv/CancelGoal``,
    ``nav2_msgs/action/NavigateToPose_SendGoal``) under ``distro``'s definitions.
    Raises KeyError for an unknown type, ValueError for Humble: type hashes (REP-2011)
    start with Iron, and Humble's services have no event message to describe."""
    distro = Distro(distro)
    if distro is Distro.HUMBLE:
        raise ValueError("ROS 2 Humble has no type hashes; see wire_hash")
    return _hash(distro, typename)


@functools.cache
def _hash(distro: Distro, typename: str) -> str:
    text = json.dumps(
        type_description(distro, typename),
        ensure_ascii=True,
        allow_nan=False,
        separators=(", ", ": "),
        sort_keys=False,
    )
    return RIHS01_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()


def wire_hash(distro: Distro | str, typename: str) -> str | None:
    """The hash a robot of ``distro`` puts in its rmw_zenoh keys: :func:`type_hash`, or None
    for Humble, which has no type hashes (its rmw_zenoh writes ``TypeHashNotSupported``)."""
    if Distro(distro) is Distro.HUMBLE:
        return None
    return type_hash(distro, typename)
