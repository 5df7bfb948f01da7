"""Robot links: how the manager reaches robots, behind one seam.

The manager core works on typed VDA 5050 messages only: it receives
:class:`~fleet.manager.stateview.StateView`, :class:`~fleet.protocol.state.Connection`,
:class:`~fleet.protocol.factsheet.Factsheet` and
:class:`~fleet.protocol.inspection.InspectionResult` through :class:`LinkEvents`, and sends
:class:`~fleet.protocol.order.Order`, :class:`~fleet.protocol.order.InstantActions` and
:class:`~fleet.protocol.inspection.InspectionAck` through :meth:`RobotLink.send`. How
those reach a robot is the link's business:

- :class:`VdaZenohLink` (this module): VDA 5050 JSON over a :class:`~fleet.comms.Bus`
  (Zenoh), keys ``{interface}/v2/{manufacturer}/{serial}/{topic}``, presence from liveliness
  tokens (docs/protocol.md). It numbers every outgoing header per robot and topic, checks
  that what a robot publishes is valid and carries the identity of the key it came on,
  speaks to each robot in the VDA 5050 version the robot's messages say (2.0 or 2.1,
  :mod:`fleet.protocol.versions`; any other is refused with the reason), and answers a
  refused inspection result on ``inspectionAck`` with the reason, so that the robot stops
  resending it.
- A second kind (ROS 2 robots, an MQTT broker) implements :class:`RobotLink` and translates
  to and from the same typed messages; nothing in the core changes (docs/architecture.md).

A link calls :class:`LinkEvents` on its own threads, possibly several at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, NamedTuple, Protocol

from fleet.comms.bus import Bus
from fleet.comms.transport import Handle
from fleet.errors import ProtocolError, TransportError
from fleet.manager.stateview import StateView
from fleet.protocol import versions
from fleet.protocol.codec import check_object, decode_object, from_bytes, to_bytes
from fleet.protocol.factsheet import Factsheet
from fleet.protocol.header import Header, HeaderStamper, Message
from fleet.protocol.inspection import InspectionAck, InspectionResult, Rejection, result_reference
from fleet.protocol.keys import (
    ALIVE,
    ParsedKey,
    Topic,
    parse_key,
    parse_topic,
    subscription_key,
    topic_key,
)
from fleet.protocol.state import Connection, ConnectionState

log = logging.getLogger(__name__)


REFUSED_ROBOT_TOPIC = "robot"
"""The topic a link names in :meth:`LinkEvents.on_refused` when it refuses a whole robot
(it cannot drive it at all: another ROS 2 distribution, no Nav2, out of reach), not one
message: the manager raises an anomaly so that a supervisor is alerted."""


class RobotId(NamedTuple):
    """A robot's identity across every kind of link: VDA 5050's manufacturer and serial."""

    manufacturer: str
    serial: str

    def __str__(self) -> str:
        return f"{self.manufacturer}/{self.serial}"


class LinkEvents(Protocol):
    """What a link tells the manager core (implemented by the core)."""

    def on_state(self, robot: RobotId, state: StateView) -> None:
        """A valid state from ``robot``."""
        ...

    def on_connection(self, robot: RobotId, message: Connection) -> None:
        """A valid connection message from ``robot``."""
        ...

    def on_factsheet(self, robot: RobotId, factsheet: Factsheet) -> None:
        """A valid factsheet from ``robot``."""
        ...

    def on_result(self, robot: RobotId, result: InspectionResult) -> None:
        """A valid inspection result from ``robot`` (to be committed, then acknowledged)."""
        ...

    def on_presence(self, robot: RobotId, present: bool) -> None:
        """``robot``'s presence appeared (True) or went (False)."""
        ...

    def on_refused(self, robot: RobotId, topic: str, reason: str) -> None:
        """A message from ``robot`` on ``topic`` was refused for ``reason`` (one line)."""
        ...


class RobotLink(Protocol):
    """One way of reaching robots (see the module docstring)."""

    def start(self, events: LinkEvents) -> None:
        """Begin delivering what robots send to ``events``."""
        ...

    def send(self, robot: RobotId, message: Message) -> None:
        """Send an order, instant actions or an inspection ack to ``robot`` (its header is
        numbered here); TransportError when the network refuses it."""
        ...

    def close(self) -> None:
        """Stop delivering and release what :meth:`start` declared (idempotent)."""
        ...

    def reachable(self, robot: RobotId) -> bool:
        """Whether the manager's own side of the link to ``robot`` is up now. False (an
        MQTT broker gone, say) means the robot's silence says nothing about the robot:
        liveness does not judge it meanwhile."""
        ...


class VdaZenohLink:
    """VDA 5050 2.0 and 2.1 robots over a Bus (see the module docstring)."""

    def __init__(self, bus: Bus, interface: str) -> None:
        self.bus = bus
        self.interface = interface
        self.refused = 0
        """Messages refused (invalid, or claiming another robot's identity)."""
        self._stampers: dict[RobotId, HeaderStamper] = {}
        self._versions: dict[RobotId, versions.Version] = {}
        self._lock = threading.Lock()
        self._handles: list[Handle] = []
        self._events: LinkEvents | None = None
        self.attachment: bytes | None = None
        """Sent beside every message (Zenoh attachment): a leader's name and epoch when
        managers stand by (:mod:`fleet.manager.leadership`)."""

    def start(self, events: LinkEvents) -> None:
        self._events = events
        itf = self.interface
        self._handles = [
            self.bus.subscribe_raw(subscription_key(itf, Topic.STATE), self._on_state),
            *(self.bus.subscribe_raw(subscription_key(itf, topic), self._on_message)
              for topic in (Topic.CONNECTION, Topic.FACTSHEET, Topic.INSPECTION)),
            *self._watch_presence(),
        ]

    def _watch_presence(self) -> list[Handle]:
        """What tells robots' presence: their liveliness tokens on Zenoh."""
        return [self.bus.watch_alive(subscription_key(self.interface, ALIVE), self._on_alive)]

    def close(self) -> None:
        handles, self._handles = self._handles, []
        for handle in reversed(handles):
            try:
                handle.undeclare()
            except TransportError as exc:
                log.debug("closing the robot link: %s", exc)

    def send(self, robot: RobotId, message: Message) -> None:
        stamped = self._stamper(robot).stamp(message)
        key = topic_key(self.interface, robot.manufacturer, robot.serial, stamped.TOPIC)
        version = self.version(robot)
        if version is versions.DEFAULT:
            self.bus.publish(key, stamped, attachment=self.attachment)
            return
        shaped = versions.lower(stamped.TOPIC, stamped.to_json(), version)
        self.bus.publish_raw(key, to_bytes(shaped), attachment=self.attachment)

    def reachable(self, robot: RobotId) -> bool:
        """Always: the manager runs (or is a client of) the Zenoh router robots reach, and
        a robot's presence is its own token there."""
        return True

    def version(self, robot: RobotId) -> versions.Version:
        """The VDA 5050 version ``robot`` is spoken to in: that of its latest valid message
        (2.1 before any)."""
        return self._versions.get(robot, versions.DEFAULT)

    def _stamper(self, robot: RobotId) -> HeaderStamper:
        with self._lock:
            stamper = self._stampers.get(robot)
            if stamper is None:
                stamper = self._stampers[robot] = HeaderStamper(*robot)
            return stamper

    # -- incoming ---------------------------------------------------------------------
    @staticmethod
    def _sender(raw_key: str) -> tuple[ParsedKey, RobotId] | None:
        """The key a message came on and its robot; None (logged) for a key that is not a
        robot's (nobody to answer)."""
        try:
            key = parse_key(raw_key)
        except ProtocolError as exc:
            log.warning("ignored a message on %s: %s", raw_key, exc)
            return None
        return key, RobotId(key.manufacturer, key.serial)

    def _on_state(self, raw_key: str, payload: bytes) -> None:
        # states take the light path (checked JSON → StateView), not the full model
        events = self._events
        sender = self._sender(raw_key)
        if sender is None:
            return
        key, robot = sender
        try:
            obj = from_bytes(payload)
            version = self._read(Topic.STATE, obj)
            view = StateView.from_json(check_object(Topic.STATE, obj)
                                       if version is versions.DEFAULT else obj)
        except ProtocolError as exc:
            self._refuse(robot, key, str(exc), payload)
            return
        if events is not None and self._genuine(robot, key, view.manufacturer,
                                                view.serial_number):
            self._versions[robot] = version
            events.on_state(robot, view)

    def _on_message(self, raw_key: str, payload: bytes) -> None:
        events = self._events
        sender = self._sender(raw_key)
        if sender is None:
            return
        key, robot = sender
        try:
            topic = parse_topic(key.topic)
            obj = from_bytes(payload)
            version = self._read(topic, obj)
            message: Any = decode_object(topic, versions.lift(topic, obj, version))
        except ProtocolError as exc:
            self._refuse(robot, key, str(exc), payload)
            return
        if events is None or not self._genuine(robot, key, message.header.manufacturer,
                                               message.header.serial_number, payload):
            return
        self._versions[robot] = version
        if isinstance(message, InspectionResult):
            events.on_result(robot, message)
        elif isinstance(message, Connection):
            self._connection(events, robot, message)
        elif isinstance(message, Factsheet):
            events.on_factsheet(robot, message)

    def _connection(self, events: LinkEvents, robot: RobotId, message: Connection) -> None:
        """A valid ``connection`` message (presence is the token's business on Zenoh)."""
        events.on_connection(robot, message)

    @staticmethod
    def _read(topic: Topic, obj: Any) -> versions.Version:
        """The version of a parsed message (a 2.0 one checked against its 2.0 schema)."""
        if not isinstance(obj, dict):
            return versions.DEFAULT  # refused as not an object by the 2.1 check
        return versions.read(topic, obj)

    def _on_alive(self, key: ParsedKey, present: bool) -> None:
        if self._events is not None:
            self._events.on_presence(RobotId(key.manufacturer, key.serial), present)

    def _genuine(self, robot: RobotId, key: ParsedKey, manufacturer: str, serial: str,
                 payload: bytes | None = None) -> bool:
        """Whether a message carries the identity of the key it came on (a robot may only
        speak for itself); refused with the reason otherwise (a result, answered on the
        key's robot: it would be refused again however often it came)."""
        if manufacturer == robot.manufacturer and serial == robot.serial:
            return True
        self._refuse(robot, key, f"the header says {manufacturer}/{serial}, the key "
                     f"{robot}: a robot may only speak for itself", payload)
        return False

    def _refuse(self, robot: RobotId, key: ParsedKey, reason: str,
                payload: bytes | None) -> None:
        """Tell the core, and answer a refused inspection result so the robot stops
        resending it (only when its resultId can be read: nothing else could name it)."""
        self.refused += 1
        self.bus.dropped += 1
        if self._events is not None:
            self._events.on_refused(robot, key.topic, reason)
        if key.topic != Topic.INSPECTION.value or payload is None:
            return
        result_id = result_reference(payload)
        if result_id is None:
            return
        try:
            self.send(robot, InspectionAck.of(Header(*robot), (),
                                              rejected=(Rejection.of(result_id, reason),)))
        except (ProtocolError, TransportError) as exc:
            log.warning("could not tell %s why its result was refused: %s", robot, exc)


class Links:
    """Several links as one (a :class:`RobotLink`): each robot is answered on the link it
    was last heard on (the first link for a robot never heard of), and only that link's
    word on its going counts."""

    def __init__(self, links: list[RobotLink]) -> None:
        if not links:
            raise ValueError("a manager needs at least one robot link")
        self.links = links
        self._via: dict[RobotId, RobotLink] = {}

    def start(self, events: LinkEvents) -> None:
        if len(self.links) == 1:  # nothing to route: the link talks to the core directly
            self.links[0].start(events)
            return
        for link in self.links:
            link.start(_Via(events, link, self._via))

    def send(self, robot: RobotId, message: Message) -> None:
        self._via.get(robot, self.links[0]).send(robot, message)

    def reachable(self, robot: RobotId) -> bool:
        return self._via.get(robot, self.links[0]).reachable(robot)

    def close(self) -> None:
        for link in reversed(self.links):
            link.close()


class _Via:
    """The core's events, noting which link each robot spoke on."""

    def __init__(self, events: LinkEvents, link: RobotLink,
                 via: dict[RobotId, RobotLink]) -> None:
        self._events = events
        self._link = link
        self._via = via

    def _heard(self, robot: RobotId) -> None:
        self._via[robot] = self._link

    def _elsewhere(self, robot: RobotId) -> bool:
        """Whether ``robot`` was last heard on another link: what this one says of its
        going is old news (a retained MQTT will of a robot now on Zenoh, say)."""
        return self._via.get(robot, self._link) is not self._link

    def on_state(self, robot: RobotId, state: StateView) -> None:
        self._heard(robot)
        self._events.on_state(robot, state)

    def on_connection(self, robot: RobotId, message: Connection) -> None:
        if message.state is ConnectionState.ONLINE:
            self._heard(robot)
        elif self._elsewhere(robot):
            return
        self._events.on_connection(robot, message)

    def on_factsheet(self, robot: RobotId, factsheet: Factsheet) -> None:
        self._heard(robot)
        self._events.on_factsheet(robot, factsheet)

    def on_result(self, robot: RobotId, result: InspectionResult) -> None:
        self._heard(robot)
        self._events.on_result(robot, result)

    def on_presence(self, robot: RobotId, present: bool) -> None:
        if present:
            self._heard(robot)
        elif self._elsewhere(robot):
            return
        self._events.on_presence(robot, present)

    def on_refused(self, robot: RobotId, topic: str, reason: str) -> None:
        self._events.on_refused(robot, topic, reason)
