"""ROS 2 interface definitions per distribution: the type stores the wire layer uses.

Why rosbags: it is pure Python (no ROS install, no compiled type support), maintained, and
ships the message definitions of the ROS 2 core packages for each distribution (Humble,
Jazzy, Kilted type stores) with a CDR (de)serialiser generated from them. rclpy needs a
ROS installation and its C type support libraries, which the manager does not have.

What rosbags lacks, and this module adds:

* nav2_msgs: its ``NavigateToPose`` and ``NavigateThroughPoses`` actions, read from the
  ``.action`` text vendored under ``fleet/ros2/nav2_msgs/<distro>/`` (see the NOTICE
  there; they differ by distro: Humble's result is ``std_msgs/Empty``, Jazzy and Kilted
  return ``error_code``/``error_msg``, Kilted's NavigateThroughPoses takes
  ``nav_msgs/Goals`` and reports ``nav2_msgs/WaypointStatus``).
* services and actions at all (rosbags 0.11.9): its type stores hold messages only; its
  ``.msg`` parser (``rosbags.typesys.get_types_from_msg``) reads one message, forces the
  type name under ``<pkg>/msg/`` unless it is under ``msg`` or ``action``, and has no
  ``---`` section handling; its IDL parser (``get_types_from_idl``) names structs by their
  modules (``module example_interfaces { module srv { struct AddTwoInts_Request``  gives
  ``example_interfaces/srv/AddTwoInts_Request``) but nothing generates the wrapper types of
  a ``.srv`` or ``.action``. So we split ``.srv``/``.action`` text ourselves and name the
  parts as rosidl does (``rosidl_parser/definition.py``, classes ``Service`` and ``Action``)
  in that same ``<pkg>/<msg|srv|action>/<Name>`` spelling:

  - service ``pkg/srv/X``: ``X_Request``, ``X_Response``, ``X_Event``
    {info: service_msgs/ServiceEventInfo, request: X_Request[<=1], response: X_Response[<=1]}
    (no ``_Event`` in Humble, which predates service introspection);
  - action ``pkg/action/A``: ``A_Goal``, ``A_Result``, ``A_Feedback``;
    ``A_SendGoal_Request`` {goal_id: unique_identifier_msgs/UUID, goal: A_Goal},
    ``A_SendGoal_Response`` {accepted: bool, stamp: builtin_interfaces/Time},
    ``A_GetResult_Request`` {goal_id}, ``A_GetResult_Response`` {status: int8, result: A_Result},
    ``A_FeedbackMessage`` {goal_id, feedback}, and the ``A_SendGoal_Event`` and
    ``A_GetResult_Event`` of the two services.

  e.g. ``nav2_msgs/action/NavigateToPose_SendGoal_Request``,
  ``action_msgs/srv/CancelGoal_Response``.

A caller may rely on: :func:`typestore` returning the same store for the same distro (built
once, then only read), every name in :data:`SERVICES` and :data:`ACTIONS` being registered in
every distro's store with the parts above, and :func:`kind_of` telling messages, services
and actions apart. Nothing here does I/O beyond reading the vendored files once.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from importlib import resources
from typing import TYPE_CHECKING, Literal

from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

if TYPE_CHECKING:
    from rosbags.interfaces.typing import FieldDesc, Typesdict
    from rosbags.typesys.store import Typestore

__all__ = [
    "ACTIONS",
    "SERVICES",
    "Distro",
    "action_types",
    "kind_of",
    "service_types",
    "typestore",
]


class Distro(StrEnum):
    """The ROS 2 distributions whose robots the fleet can talk to."""

    HUMBLE = "humble"
    JAZZY = "jazzy"
    KILTED = "kilted"


_STORES = {
    Distro.HUMBLE: Stores.ROS2_HUMBLE,
    Distro.JAZZY: Stores.ROS2_JAZZY,
    Distro.KILTED: Stores.ROS2_KILTED,
}

#: The actions registered in every store (vendored per distro under ``nav2_msgs/``).
ACTIONS = ("nav2_msgs/action/NavigateToPose", "nav2_msgs/action/NavigateThroughPoses")

# action_msgs/srv/CancelGoal.srv from ros2/rcl_interfaces (Apache-2.0, same text in Humble,
# Jazzy and Kilted); comments dropped, they do not change types or wire bytes.
_CANCEL_GOAL = """\
GoalInfo goal_info
---
int8 ERROR_NONE=0
int8 ERROR_REJECTED=1
int8 ERROR_UNKNOWN_GOAL_ID=2
int8 ERROR_GOAL_TERMINATED=3
int8 return_code
GoalInfo[] goals_canceling
"""

# example_interfaces/srv/AddTwoInts.srv from ros2/example_interfaces (Apache-2.0): ROS 2's
# demo service (demo_nodes_cpp add_two_ints_server), kept for interoperability checks.
_ADD_TWO_INTS = """\
int64 a
int64 b
---
int64 sum
"""

#: The services registered in every store, with their ``.srv`` text.
SERVICES = {
    "action_msgs/srv/CancelGoal": _CANCEL_GOAL,
    "example_interfaces/srv/AddTwoInts": _ADD_TWO_INTS,
}

# rosidl splits .srv/.action files on lines equal to '---' (rosidl_adapter/parser.py,
# SERVICE_REQUEST_RESPONSE_SEPARATOR and ACTION_REQUEST_RESPONSE_SEPARATOR); we also allow
# trailing blanks, which editors leave and rosidl would reject.
_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)

_UUID = "unique_identifier_msgs/msg/UUID"
_TIME = "builtin_interfaces/msg/Time"
_EVENT_INFO = "service_msgs/msg/ServiceEventInfo"


def _name(typename: str) -> FieldDesc:
    return (Nodetype.NAME, typename)


def _at_most_one(typename: str) -> FieldDesc:
    # rosidl's event message holds a BoundedSequence(type, 1): rosbags spells a bounded
    # sequence as SEQUENCE with a nonzero bound.
    return (Nodetype.SEQUENCE, ((Nodetype.NAME, typename), 1))


def _parse_section(text: str, package: str, final_name: str) -> Typesdict:
    """One ``.msg``-style section, named ``final_name``; references without a package
    resolve to ``<package>/msg/`` as in rosidl (rosbags would put them next to the parsed
    name, i.e. under ``action/`` for an action part)."""
    parsed = get_types_from_msg(text, f"{package}/msg/_section")
    consts, fields = parsed[f"{package}/msg/_section"]
    if not fields:
        # rosidl gives an empty structure one uint8 member (rosidl_adapter msg -> idl);
        # it is on the wire and in the type hash.
        fields = [("structure_needs_at_least_one_member", (Nodetype.BASE, ("uint8", 0)))]
    return {final_name: (consts, fields)}


def _split(text: str, parts: int, typename: str) -> list[str]:
    sections = _SEPARATOR.split(text)
    if len(sections) != parts:
        msg = f"{typename}: expected {parts} sections separated by '---', got {len(sections)}"
        raise ValueError(msg)
    return sections


def service_types(typename: str, text: str, *, events: bool = True) -> Typesdict:
    """The message types of the service ``typename`` (``pkg/srv/Name``) from its ``.srv``
    text: ``Name_Request``, ``Name_Response`` and, with ``events`` (Iron on: Humble has
    no service introspection, no service_msgs), ``Name_Event``, as rosidl generates them."""
    package = typename.split("/", 1)[0]
    request, response = _split(text, 2, typename)
    types: Typesdict = {}
    types |= _parse_section(request, package, f"{typename}_Request")
    types |= _parse_section(response, package, f"{typename}_Response")
    if events:
        types |= _event(typename)
    return types


def _event(service: str) -> Typesdict:
    fields: list[tuple[str, FieldDesc]] = [
        ("info", _name(_EVENT_INFO)),
        ("request", _at_most_one(f"{service}_Request")),
        ("response", _at_most_one(f"{service}_Response")),
    ]
    return {f"{service}_Event": ([], fields)}


def action_types(typename: str, text: str, *, events: bool = True) -> Typesdict:
    """The message types of the action ``typename`` (``pkg/action/Name``) from its
    ``.action`` text: goal, result and feedback, the send_goal and get_result services'
    request, response and (with ``events``) event, and the feedback message, as rosidl
    generates them."""
    package = typename.split("/", 1)[0]
    goal, result, feedback = _split(text, 3, typename)
    types: Typesdict = {}
    types |= _parse_section(goal, package, f"{typename}_Goal")
    types |= _parse_section(result, package, f"{typename}_Result")
    types |= _parse_section(feedback, package, f"{typename}_Feedback")
    send_goal, get_result = f"{typename}_SendGoal", f"{typename}_GetResult"
    types[f"{send_goal}_Request"] = (
        [],
        [("goal_id", _name(_UUID)), ("goal", _name(f"{typename}_Goal"))],
    )
    types[f"{send_goal}_Response"] = (
        [],
        [("accepted", (Nodetype.BASE, ("bool", 0))), ("stamp", _name(_TIME))],
    )
    if events:
        types |= _event(send_goal)
    types[f"{get_result}_Request"] = ([], [("goal_id", _name(_UUID))])
    types[f"{get_result}_Response"] = (
        [],
        [("status", (Nodetype.BASE, ("int8", 0))), ("result", _name(f"{typename}_Result"))],
    )
    if events:
        types |= _event(get_result)
    types[f"{typename}_FeedbackMessage"] = (
        [],
        [("goal_id", _name(_UUID)), ("feedback", _name(f"{typename}_Feedback"))],
    )
    return types


def _vendored(distro: Distro, filename: str) -> str:
    folder = resources.files("fleet.ros2") / "nav2_msgs" / distro.value
    return (folder / filename).read_text(encoding="utf-8")


def typestore(distro: Distro | str) -> Typestore:
    """The rosbags type store of ``distro``: its core packages plus nav2_msgs' actions
    (:data:`ACTIONS`) and the services in :data:`SERVICES`. Built once per distro and
    shared: callers must not register into it. Raises ValueError for an unknown distro."""
    # Normalised first: the cache would tell 'jazzy' and Distro.JAZZY apart.
    return _build(Distro(distro))


@functools.cache
def _build(distro: Distro) -> Typestore:
    store = get_typestore(_STORES[distro])
    extra: Typesdict = {}
    if distro is Distro.KILTED:
        # Kilted's NavigateThroughPoses reports nav2_msgs/WaypointStatus (a .msg).
        extra |= get_types_from_msg(
            _vendored(distro, "WaypointStatus.msg"), "nav2_msgs/msg/WaypointStatus"
        )
    # Service event messages (and service_msgs) exist from Iron on.
    events = distro is not Distro.HUMBLE
    for action in ACTIONS:
        text = _vendored(distro, action.rsplit("/", 1)[1] + ".action")
        extra |= action_types(action, text, events=events)
    for service, text in SERVICES.items():
        extra |= service_types(service, text, events=events)
    store.register(extra)
    return store


Kind = Literal["message", "service", "action"]


def kind_of(distro: Distro | str, typename: str) -> Kind:
    """Whether ``typename`` names a message, a service (``pkg/srv/X`` or an action's
    ``pkg/action/A_SendGoal``/``A_GetResult``) or an action in ``distro``'s store.
    Raises KeyError when it is none of these."""
    names = typestore(distro).fielddefs
    if typename in names:
        return "message"
    if f"{typename}_Request" in names and f"{typename}_Response" in names:
        return "service"
    if f"{typename}_Goal" in names and f"{typename}_FeedbackMessage" in names:
        return "action"
    raise KeyError(f"unknown ROS 2 type {typename!r} in {Distro(distro).value}")
