"""Zenoh key expressions of ROS 2 entities: data keys and liveliness tokens, per profile.

Two ways a ROS 2 robot appears on Zenoh (:class:`Profile`):

* ``rmw_zenoh`` (ros2/rmw_zenoh ``rmw_zenoh_cpp/src/detail/liveliness_utils.cpp``,
  ``TopicInfo`` and ``Entity``; ``docs/design.md``): data key
  ``<domain>/<fully qualified name without leading '/'>/<DDS type>/<type hash>``, e.g.
  ``0/chatter/std_msgs::msg::dds_::String_/RIHS01_df66...``; Humble writes the literal
  ``TypeHashNotSupported`` as the hash. Liveliness tokens
  ``@ros2_lv/<domain>/<zid>/<nid>/<eid>/<kind>/<enclave>/<ns>/<node>[/<name>/<type>/<hash>/<qos>]``
  with kinds NN (node, no topic part), MP, MS, SS, SC; '/' inside a field is written '%'
  (``mangle_name``), so the root namespace '/' is '%'.
* ``ros2dds`` (eclipse-zenoh/zenoh-plugin-ros2dds ``src/ros2_utils.rs``
  ``ros2_name_to_key_expr``, ``src/liveliness_mgt.rs``): data key ``[namespace/]<name>``
  (no domain, type or hash); liveliness tokens
  ``@/<zid>/@ros2_lv/<kind>/<name with '/' as '§'>/<ROS type with '/' as '§'>[/<qos>]``,
  kinds MP, MS (with QoS), SS, SC, AS, AC (without).

Services and actions: rmw_zenoh names a service by its response DDS type with
``Response_`` removed (``rmw_service_data.cpp``), e.g. ``example_interfaces::srv::dds_::
AddTwoInts_``, and keys it with the service type hash. An action ``<name>`` is the services
``<name>/_action/send_goal``, ``get_result``, ``cancel_goal`` and the topics
``<name>/_action/feedback``, ``status`` (both profiles).

A caller may rely on: keys never starting or ending with '/', :meth:`Entity.parse` and
:meth:`BridgeEntity.parse` inverting ``token()`` (up to '' read back as '/' for rmw_zenoh
fields, the two being one name on the wire), and every malformed token raising
:class:`fleet.errors.ProtocolError`. Pure string work: nothing here talks to Zenoh.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fleet.errors import ProtocolError
from fleet.ros2.hashes import wire_hash
from fleet.ros2.interfaces import Distro
from fleet.ros2.qos import DdsQos, ZenohQos

__all__ = [
    "ACTION_STATUS_TYPE",
    "CANCEL_GOAL_TYPE",
    "TYPE_HASH_NOT_SUPPORTED",
    "ActionKeys",
    "BridgeEntity",
    "BridgeKind",
    "Entity",
    "EntityKind",
    "Profile",
    "action_keys",
    "data_key",
    "dds_type",
    "fully_qualified",
    "liveliness_selector",
    "ros_type",
    "service_key",
    "topic_key",
]


class Profile(StrEnum):
    """How the robot is on Zenoh: its RMW is rmw_zenoh, or DDS behind zenoh-bridge-ros2dds."""

    RMW_ZENOH = "rmw_zenoh"
    ROS2DDS = "ros2dds"


#: What Humble's rmw_zenoh writes where later distros write the RIHS01 hash.
TYPE_HASH_NOT_SUPPORTED = "TypeHashNotSupported"
CANCEL_GOAL_TYPE = "action_msgs/srv/CancelGoal"
ACTION_STATUS_TYPE = "action_msgs/msg/GoalStatusArray"

_ADMIN = "@ros2_lv"
_SLASH = "%"  # rmw_zenoh's SLASH_REPLACEMENT
_BRIDGE_SLASH = "§"  # zenoh-plugin-ros2dds' SLASH_REPLACEMSNT_CHAR
# Characters a Zenoh key chunk may not hold, or that would make a token ambiguous.
_FORBIDDEN = frozenset("*$?#")


def fully_qualified(name: str, namespace: str = "/") -> str:
    """``name`` in ``namespace`` as ROS writes it: ``/ns/name``; a name starting with '/'
    is already absolute. Raises ProtocolError for an empty name."""
    if not name.strip("/"):
        raise ProtocolError("a ROS 2 name must not be empty")
    if name.startswith("/"):
        return "/" + name.strip("/")
    ns = namespace.strip("/")
    return f"/{ns}/{name.strip('/')}" if ns else f"/{name.strip('/')}"


def dds_type(typename: str) -> str:
    """The DDS type name of a ROS type: ``pkg/msg/X`` -> ``pkg::msg::dds_::X_``, and for a
    service (``pkg/srv/X`` or an action's ``pkg/action/A_SendGoal``) the name rmw_zenoh
    keys it by, ``pkg::srv::dds_::X_`` (rosidl_typesupport_fastrtps naming)."""
    package, middle, name = _split_type(typename)
    return f"{package}::{middle}::dds_::{name}_"


def ros_type(dds: str) -> str:
    """The inverse of :func:`dds_type`; raises ProtocolError for other strings."""
    parts = dds.split("::")
    if len(parts) != 4 or parts[2] != "dds_" or not parts[3].endswith("_") or not all(parts):
        raise ProtocolError(f"not a ROS 2 DDS type name: {dds!r}")
    return f"{parts[0]}/{parts[1]}/{parts[3][:-1]}"


def _split_type(typename: str) -> tuple[str, str, str]:
    parts = typename.split("/")
    if len(parts) != 3 or not all(parts):
        raise ProtocolError(f"not a ROS 2 type name pkg/msg|srv|action/Name: {typename!r}")
    return parts[0], parts[1], parts[2]


def data_key(
    profile: Profile, name: str, typename: str, type_hash: str | None, domain: int = 0
) -> str:
    """The data key of the fully qualified ``name`` carrying ``typename`` (a message or
    service type). ``type_hash`` None means Humble (``TypeHashNotSupported``); ros2dds
    keys have neither domain, type nor hash."""
    stripped = fully_qualified(name).strip("/")
    if Profile(profile) is Profile.ROS2DDS:
        return stripped
    hash_chunk = TYPE_HASH_NOT_SUPPORTED if type_hash is None else type_hash
    return f"{domain}/{stripped}/{dds_type(typename)}/{hash_chunk}"


def topic_key(
    profile: Profile,
    distro: Distro | str,
    name: str,
    typename: str,
    *,
    namespace: str = "/",
    domain: int = 0,
) -> str:
    """The data key of topic ``name`` (relative to ``namespace``) of message ``typename``."""
    return data_key(
        profile, fully_qualified(name, namespace), typename, wire_hash(distro, typename), domain
    )


def service_key(
    profile: Profile,
    distro: Distro | str,
    name: str,
    service_type: str,
    *,
    namespace: str = "/",
    domain: int = 0,
) -> str:
    """The key a service server answers queries on (``service_type`` e.g.
    ``action_msgs/srv/CancelGoal``)."""
    return data_key(
        profile,
        fully_qualified(name, namespace),
        service_type,
        wire_hash(distro, service_type),
        domain,
    )


@dataclass(frozen=True)
class ActionKeys:
    """The five data keys of one action."""

    send_goal: str
    get_result: str
    cancel_goal: str
    feedback: str
    status: str


def action_keys(
    profile: Profile,
    distro: Distro | str,
    name: str,
    action_type: str,
    *,
    namespace: str = "/",
    domain: int = 0,
) -> ActionKeys:
    """The keys of action ``name`` of ``action_type`` (e.g. ``nav2_msgs/action/
    NavigateToPose``): the services ``_action/send_goal``, ``get_result``, ``cancel_goal``
    and the topics ``_action/feedback`` and ``status``."""
    base = fully_qualified(name, namespace) + "/_action/"

    def key(sub: str, typename: str) -> str:
        return data_key(profile, base + sub, typename, wire_hash(distro, typename), domain)

    return ActionKeys(
        send_goal=key("send_goal", f"{action_type}_SendGoal"),
        get_result=key("get_result", f"{action_type}_GetResult"),
        cancel_goal=key("cancel_goal", CANCEL_GOAL_TYPE),
        feedback=key("feedback", f"{action_type}_FeedbackMessage"),
        status=key("status", ACTION_STATUS_TYPE),
    )


def liveliness_selector(profile: Profile, domain: int = 0) -> str:
    """The key expression matching every liveliness token of ``profile`` (in ``domain`` for
    rmw_zenoh, whose own graph cache subscribes to ``@ros2_lv/<domain>/**``)."""
    if Profile(profile) is Profile.ROS2DDS:
        return f"@/*/{_ADMIN}/**"
    return f"{_ADMIN}/{domain}/**"


class EntityKind(StrEnum):
    """rmw_zenoh entity kinds (``liveliness_utils.cpp``: NODE_STR, PUB_STR, ...)."""

    NODE = "NN"
    PUBLISHER = "MP"
    SUBSCRIPTION = "MS"
    SERVICE = "SS"
    CLIENT = "SC"


def _mangle(value: str, slash: str, what: str) -> str:
    if slash in value or _FORBIDDEN & set(value):
        raise ProtocolError(f"{what} {value!r} holds a character a token cannot carry")
    return value.replace("/", slash) or slash


def _demangle(value: str, slash: str, what: str) -> str:
    if not value:
        raise ProtocolError(f"liveliness token has an empty {what}")
    return value.replace(slash, "/")


@dataclass(frozen=True)
class Entity:
    """One rmw_zenoh liveliness token. ``topic`` is the fully qualified topic or service
    name, ``type_name`` its DDS type, ``type_hash`` None for Humble's
    ``TypeHashNotSupported``; the four are None exactly for a node (kind NN)."""

    domain: int
    zid: str
    nid: str
    eid: str
    kind: EntityKind
    namespace: str
    node: str
    enclave: str = "/"
    topic: str | None = None
    type_name: str | None = None
    type_hash: str | None = None
    qos: ZenohQos | None = None

    def token(self) -> str:
        """The liveliness key expression; raises ProtocolError for fields it cannot carry."""
        parts = [_ADMIN, str(self.domain), self.zid, self.nid, self.eid, self.kind.value]
        for value, what in ((self.zid, "zid"), (self.nid, "nid"), (self.eid, "eid")):
            if not value or "/" in value or _FORBIDDEN & set(value):
                raise ProtocolError(f"{what} {value!r} is not a token chunk")
        parts += [
            _mangle(self.enclave, _SLASH, "enclave"),
            _mangle(self.namespace, _SLASH, "namespace"),
            _mangle(self.node, _SLASH, "node name"),
        ]
        if self.kind is EntityKind.NODE:
            return "/".join(parts)
        if self.topic is None or self.type_name is None:
            raise ProtocolError(f"a {self.kind.value} token needs a topic and a type")
        parts += [
            _mangle(self.topic, _SLASH, "topic"),
            _mangle(self.type_name, _SLASH, "type"),
            _mangle(
                TYPE_HASH_NOT_SUPPORTED if self.type_hash is None else self.type_hash,
                _SLASH,
                "type hash",
            ),
            (self.qos or ZenohQos()).encode(),
        ]
        return "/".join(parts)

    @classmethod
    def parse(cls, key: str) -> Entity:
        """The entity of a token; raises ProtocolError for anything else. Parts past the
        QoS are ignored, as rmw_zenoh's own parser (``Entity::make``) does."""
        parts = key.split("/")
        if len(parts) < 9 or parts[0] != _ADMIN:
            raise ProtocolError(f"not an rmw_zenoh liveliness token: {key!r}")
        try:
            kind = EntityKind(parts[5])
        except ValueError:
            raise ProtocolError(f"unknown entity kind {parts[5]!r} in {key!r}") from None
        if not parts[1].isdigit():
            raise ProtocolError(f"domain {parts[1]!r} is not a number in {key!r}")
        if not all(parts[2:5]):
            raise ProtocolError(f"liveliness token has an empty id: {key!r}")
        common = {
            "domain": int(parts[1]),
            "zid": parts[2],
            "nid": parts[3],
            "eid": parts[4],
            "kind": kind,
            "enclave": _demangle(parts[6], _SLASH, "enclave"),
            "namespace": _demangle(parts[7], _SLASH, "namespace"),
            "node": _demangle(parts[8], _SLASH, "node name"),
        }
        if kind is EntityKind.NODE:
            return cls(**common)  # type: ignore[arg-type]
        if len(parts) < 13:
            raise ProtocolError(f"a {kind.value} token needs 13 parts: {key!r}")
        type_hash = _demangle(parts[11], _SLASH, "type hash")
        return cls(
            **common,  # type: ignore[arg-type]
            topic=_demangle(parts[9], _SLASH, "topic"),
            type_name=_demangle(parts[10], _SLASH, "type"),
            type_hash=None if type_hash == TYPE_HASH_NOT_SUPPORTED else type_hash,
            qos=ZenohQos.parse(parts[12]),
        )


class BridgeKind(StrEnum):
    """zenoh-bridge-ros2dds token kinds (``liveliness_mgt.rs``, ``ke_liveliness_*``)."""

    PUBLISHER = "MP"
    SUBSCRIPTION = "MS"
    SERVICE_SERVER = "SS"
    SERVICE_CLIENT = "SC"
    ACTION_SERVER = "AS"
    ACTION_CLIENT = "AC"


_WITH_QOS = (BridgeKind.PUBLISHER, BridgeKind.SUBSCRIPTION)


@dataclass(frozen=True)
class BridgeEntity:
    """One zenoh-bridge-ros2dds liveliness token: the bridge ``zid`` announces a route
    of ``kind`` on data key ``key`` for ROS type ``ros_type`` (e.g. ``std_msgs/msg/String``,
    ``nav2_msgs/action/NavigateToPose``); ``qos`` only for MP and MS."""

    zid: str
    kind: BridgeKind
    key: str
    ros_type: str
    qos: DdsQos | None = None

    def token(self) -> str:
        """The liveliness key expression; raises ProtocolError for fields it cannot carry."""
        if not self.zid or "/" in self.zid or _FORBIDDEN & set(self.zid):
            raise ProtocolError(f"zid {self.zid!r} is not a token chunk")
        if not self.key or not self.ros_type:
            raise ProtocolError("a bridge token needs a key and a type")
        parts = [
            "@",
            self.zid,
            _ADMIN,
            self.kind.value,
            _mangle(self.key, _BRIDGE_SLASH, "key"),
            _mangle(self.ros_type, _BRIDGE_SLASH, "type"),
        ]
        if self.kind in _WITH_QOS:
            parts.append((self.qos or DdsQos()).encode())
        return "/".join(parts)

    @classmethod
    def parse(cls, key: str) -> BridgeEntity:
        """The entity of a token; raises ProtocolError for anything else."""
        parts = key.split("/")
        if len(parts) < 6 or parts[0] != "@" or parts[2] != _ADMIN or not parts[1]:
            raise ProtocolError(f"not a zenoh-bridge-ros2dds liveliness token: {key!r}")
        try:
            kind = BridgeKind(parts[3])
        except ValueError:
            raise ProtocolError(f"unknown bridge entity kind {parts[3]!r} in {key!r}") from None
        expected = 7 if kind in _WITH_QOS else 6
        if len(parts) != expected:
            raise ProtocolError(f"a {kind.value} bridge token has {expected} parts: {key!r}")
        return cls(
            zid=parts[1],
            kind=kind,
            key=_demangle(parts[4], _BRIDGE_SLASH, "key"),
            ros_type=_demangle(parts[5], _BRIDGE_SLASH, "type"),
            qos=DdsQos.parse(parts[6]) if kind in _WITH_QOS else None,
        )
