"""Keys, liveliness tokens and attachments of a simulated Nav2 robot's entities, per profile
(:class:`Entities`, :class:`Stream`); :mod:`sim.nav2` declares and publishes them.

rmw_zenoh (ros2/rmw_zenoh ``liveliness_utils.cpp``, ``rmw_node.cpp``, ``rmw_publisher_data
.cpp``): the node token is ``NN`` with node id and entity id 0; each entity takes the next
id of the same counter (1, 2, ...) and its token carries the fully qualified name, the DDS
type, the type hash (``TypeHashNotSupported`` for Humble) and the QoS as rmw_zenoh writes it
(:class:`~fleet.ros2.qos.ZenohQos`). QoS used, as the real publishers/servers ask for them:
``amcl_pose`` reliable transient-local depth 1 (nav2_amcl), ``tf`` depth 100 (tf2_ros
``DynamicBroadcasterQoS``), sensors best-effort depth 5 (``SensorDataQoS``), action
services reliable volatile depth 10 (``rmw_qos_profile_services_default``), action status
transient-local depth 1 (``rcl_action_qos_profile_status_default``), others depth 10.

zenoh-bridge-ros2dds (zenoh-plugin-ros2dds ``liveliness_mgt.rs``, ``ros2_utils.rs``): MP per
routed topic with the DDS QoS (Cyclone kinds: reliability 0 best effort / 1 reliable,
durability 0 volatile / 1 transient local, history 0 keep last) and, from Iron on, the user
data ``typehash=<RIHS01>;`` that rmw_cyclonedds sets; AS per action server, whose
sub-topics and services get no tokens of their own.

GIDs (rmw_zenoh only): rmw_zenoh hashes the entity's liveliness token with XXH3-128 and
stores the low then the high 64 bits (``Entity::Entity``); we take the first 16 bytes of
the token's sha256 instead (no xxhash dependency for a simulator): just as stable, unique
per entity and derivable from the token, but not byte-equal to what rmw_zenoh would send.

A caller may rely on :meth:`Entities.tokens` listing every token in declaration order and
on :meth:`Stream.attachment` numbering samples from 1 (None for ros2dds). Not thread-safe:
the robot calls it under its lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from fleet.errors import ProtocolError
from fleet.ros2.attachment import Attachment
from fleet.ros2.hashes import wire_hash
from fleet.ros2.interfaces import Distro
from fleet.ros2.keys import (
    ACTION_STATUS_TYPE,
    CANCEL_GOAL_TYPE,
    ActionKeys,
    BridgeEntity,
    BridgeKind,
    Entity,
    EntityKind,
    Profile,
    action_keys,
    dds_type,
    fully_qualified,
    topic_key,
)
from fleet.ros2.qos import DdsQos, Durability, Reliability, ZenohQos

__all__ = ["Entities", "RequestTag", "Stream", "gid_of"]

_SERVICE_DEPTH = 10


def gid_of(token: str) -> bytes:
    """The 16-byte GID the robot gives the entity of liveliness token ``token``."""
    return hashlib.sha256(token.encode()).digest()[:16]


@dataclass
class Stream:
    """One publisher: its data key, message type and (rmw_zenoh) GID and sequence."""

    key: str
    type_name: str
    gid: bytes | None = None
    sequence: int = field(default=0)

    def attachment(self, timestamp_ns: int) -> bytes | None:
        """The next sample's attachment (rmw_zenoh), None without a GID (ros2dds)."""
        if self.gid is None:
            return None
        self.sequence += 1
        return Attachment(self.sequence, timestamp_ns, self.gid).encode()


@dataclass(frozen=True)
class RequestTag:
    """A service request's attachment, to echo in the reply."""

    request: Attachment

    def reply(self, timestamp_ns: int) -> bytes:
        """The reply's attachment: the request's sequence number and GID, our timestamp."""
        return Attachment(self.request.sequence, timestamp_ns, self.request.gid).encode()


class Entities:
    """The robot's entities for one profile: data keys and liveliness tokens."""

    def __init__(self, profile: Profile, distro: Distro, domain: int, zid: str,
                 namespace: str, node: str) -> None:
        self.profile, self.distro, self.domain, self.zid = profile, distro, domain, zid
        self.namespace, self.node = namespace, node
        self._tokens: list[str] = []
        self._next_id = 1
        if profile is Profile.RMW_ZENOH:
            self._tokens.append(self._entity(EntityKind.NODE, "0").token())

    def tokens(self) -> list[str]:
        """Every token, in declaration order."""
        return list(self._tokens)

    def _entity(self, kind: EntityKind, eid: str, topic: str | None = None,
                typename: str | None = None, qos: ZenohQos | None = None) -> Entity:
        return Entity(
            domain=self.domain, zid=self.zid, nid="0", eid=eid, kind=kind,
            namespace=self.namespace, node=self.node, topic=topic,
            type_name=None if typename is None else dds_type(typename),
            type_hash=None if typename is None else wire_hash(self.distro, typename), qos=qos)

    def _rmw_token(self, kind: EntityKind, fq_name: str, typename: str, qos: ZenohQos) -> str:
        token = self._entity(kind, str(self._next_id), fq_name, typename, qos).token()
        self._next_id += 1
        self._tokens.append(token)
        return token

    def publisher(self, name: str, typename: str, *, depth: int = 10,
                  transient_local: bool = False, best_effort: bool = False) -> Stream:
        """Declare a publisher of ``typename`` on topic ``name`` (relative to the
        namespace): its token, and the stream to publish on."""
        key = topic_key(self.profile, self.distro, name, typename, namespace=self.namespace,
                        domain=self.domain)
        fq_name = fully_qualified(name, self.namespace)
        if self.profile is Profile.RMW_ZENOH:
            qos = ZenohQos(
                reliability=Reliability.BEST_EFFORT if best_effort else Reliability.RELIABLE,
                durability=Durability.TRANSIENT_LOCAL if transient_local else Durability.VOLATILE,
                depth=depth)
            return Stream(key, typename, gid_of(self._rmw_token(
                EntityKind.PUBLISHER, fq_name, typename, qos)))
        type_hash = wire_hash(self.distro, typename)
        dds = DdsQos(reliability=0 if best_effort else 1, durability=1 if transient_local else 0,
                     history=(0, depth),
                     user_data=None if type_hash is None else f"typehash={type_hash};")
        self._tokens.append(BridgeEntity(self.zid, BridgeKind.PUBLISHER, key, typename,
                                         dds).token())
        return Stream(key, typename)

    def action(self, name: str, action_type: str) -> ActionKeys:
        """The five data keys of action ``name``."""
        return action_keys(self.profile, self.distro, name, action_type,
                           namespace=self.namespace, domain=self.domain)

    def action_server(self, name: str, action_type: str) -> tuple[Stream, Stream]:
        """Declare action server ``name``'s tokens; its feedback and status streams."""
        keys = self.action(name, action_type)
        feedback_type = f"{action_type}_FeedbackMessage"
        if self.profile is Profile.ROS2DDS:
            key = fully_qualified(name, self.namespace).strip("/")
            self._tokens.append(BridgeEntity(self.zid, BridgeKind.ACTION_SERVER, key,
                                             action_type).token())
            return Stream(keys.feedback, feedback_type), Stream(keys.status, ACTION_STATUS_TYPE)
        base = fully_qualified(name, self.namespace) + "/_action/"
        services = ZenohQos(depth=_SERVICE_DEPTH)
        # rcl_action_server_init's order: goal, cancel, result services, then the topics
        for sub, typename in (("send_goal", f"{action_type}_SendGoal"),
                              ("cancel_goal", CANCEL_GOAL_TYPE),
                              ("get_result", f"{action_type}_GetResult")):
            self._rmw_token(EntityKind.SERVICE, base + sub, typename, services)
        feedback = self._rmw_token(EntityKind.PUBLISHER, base + "feedback", feedback_type,
                                   ZenohQos(depth=10))
        status = self._rmw_token(EntityKind.PUBLISHER, base + "status", ACTION_STATUS_TYPE,
                                 ZenohQos(durability=Durability.TRANSIENT_LOCAL, depth=1))
        return (Stream(keys.feedback, feedback_type, gid_of(feedback)),
                Stream(keys.status, ACTION_STATUS_TYPE, gid_of(status)))

    def request_attachment(self, raw: bytes | None) -> RequestTag:
        """The rmw_zenoh request attachment; ProtocolError when missing or malformed (a real
        rmw_zenoh server drops such a request)."""
        if raw is None:
            raise ProtocolError("rmw_zenoh service request without an attachment")
        return RequestTag(Attachment.decode(raw))
