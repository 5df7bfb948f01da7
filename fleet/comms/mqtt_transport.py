"""A :class:`~fleet.comms.transport.Transport` over an MQTT broker: :class:`MqttTransport`.

VDA 5050 is specified over MQTT; this transport lets robots (and a manager) that speak it
through a broker (Mosquitto, EMQX, HiveMQ, ...) use the same :class:`~fleet.comms.bus.Bus`
as on Zenoh. Zenoh keys and VDA 5050 MQTT topics are the same slash-separated strings
(``uagv/v2/acme/r1/state``), so a key is published on the topic of the same name.

What a caller may rely on:

- **Opening** (:meth:`MqttTransport.open`) connects synchronously: it returns once the
  broker has accepted the connection, or raises :class:`~fleet.errors.NotReachable` (one
  line naming the URL and why) within about ``connect_timeout`` seconds. Afterwards paho's
  network loop runs on its own thread, reconnects by itself (1 s, backing off to 5 s) and
  subscribes again to everything after each reconnect.
- **Protocol**: MQTT 5. A broker serves MQTT 5 and 3.1.1 clients side by side and converts
  between them, so VDA 5050 robots that speak 3.1.1 hear this transport's messages; MQTT 5
  gives what 3.1.1 lacks and the seam needs: ``remote_only`` (the *No Local* subscription
  option, MQTT 5 section 3.8.3.1), one delivery per subscription (subscription identifiers,
  section 3.8.2.1.2) and a place for attachments (user properties, section 3.3.2.3.7).
- **Delivery**: QoS and retain come from a :data:`~fleet.comms.mqtt_config.DeliveryPolicy`,
  by default :func:`~fleet.comms.mqtt_config.vda5050_delivery` (VDA 5050's table; the
  inspection extension at QoS 1). Subscriptions ask for QoS 1 so that what was published at
  QoS 1 arrives at QoS 1 (a message is delivered at the lower of the two QoS). While the
  broker is unreachable, QoS 0 messages are dropped (as Zenoh drops puts with no route) and
  QoS 1 messages are kept and sent after reconnecting.
- **Attachments** travel as the MQTT 5 user property ``fleet-attachment`` (UTF-8 text; other
  bytes base64 under ``fleet-attachment-base64``). Subscribers of the seam never receive
  attachments, on any transport, so this only informs other MQTT 5 clients.
- **Subscriptions** take Zenoh key expressions: ``*`` (one chunk) becomes ``+``; ``**``
  becomes ``#`` as the last chunk only; any other wildcard form raises TransportError.
  Callbacks run one at a time on one dispatcher thread of this transport, never on paho's
  network thread, so a slow callback delays other callbacks but not keep-alives; a callback
  that raises is logged and the next message delivered.
- **Liveliness tokens** do not exist on MQTT: presence is the retained ``connection`` topic
  and the :class:`~fleet.comms.mqtt_config.Will` the broker publishes when a client dies.
  :meth:`MqttTransport.declare_token` returns a handle that does nothing,
  :meth:`MqttTransport.watch_tokens` reports nothing and :meth:`MqttTransport.tokens` is
  always empty. **Queries** are not carried: :meth:`MqttTransport.serve` and
  :meth:`MqttTransport.query` raise TransportError.
- **Reconnecting** publishes again the last retained message sent on each topic (a
  robot's ``connection`` ONLINE): the broker replaced it with the will when the connection
  broke, and the robot is back.
- **Closing** disconnects cleanly (the broker discards the will: MQTT 5 section 3.14.4) and
  is idempotent; messages published before :meth:`MqttTransport.close` go out first.
"""

from __future__ import annotations

import base64
import itertools
import logging
import queue
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from fleet.comms.mqtt_config import DeliveryPolicy, MqttOptions, vda5050_delivery
from fleet.comms.transport import (
    Answer,
    Handle,
    KeyPublisher,
    Publisher,
    QueryHandler,
    SampleCallback,
    TokenCallback,
)
from fleet.errors import NotReachable, TransportError

logger = logging.getLogger(__name__)

ATTACHMENT_PROPERTY = "fleet-attachment"
"""The MQTT 5 user property carrying a UTF-8 attachment (``-base64`` suffix: other bytes)."""

RECONNECT_DELAY_S = (1, 5)
"""paho's reconnect back-off, first and longest delay (seconds)."""

SUBSCRIBE_TIMEOUT_S = 3.0
"""How long :meth:`MqttTransport.subscribe` waits for the broker's SUBACK while connected."""


def mqtt_filter(key_expr: str) -> str:
    """The MQTT topic filter for a Zenoh key expression; TransportError when it has none.

    ``*`` (one chunk) becomes ``+``, ``**`` as the last chunk becomes ``#`` (which, like
    Zenoh's ``a/**``, also matches ``a`` itself). Refused: ``**`` elsewhere, partial-chunk
    wildcards (``a*``, ``$*``), empty chunks, and the characters MQTT reserves (``+``,
    ``#``) or Zenoh does (``$``, ``?``).
    """
    chunks = key_expr.split("/")
    out = []
    for i, chunk in enumerate(chunks):
        if chunk == "*":
            out.append("+")
        elif chunk == "**" and i == len(chunks) - 1:
            out.append("#")
        elif not chunk or any(c in chunk for c in "*$?+#"):
            raise TransportError(f"key expression {key_expr!r} has no MQTT equivalent (only "
                                 "whole-chunk '*' and a final '**' translate)")
        else:
            out.append(chunk)
    return "/".join(out)


def _check_topic(key: str) -> None:
    if not key or any(c in key for c in "*$?+#") or "//" in key or key.startswith("/"):
        raise TransportError(f"cannot publish on {key!r}: not a concrete key")


def _properties(packet_type: int) -> Properties:
    return Properties(packet_type)  # type: ignore[no-untyped-call]  # paho leaves it untyped


def _reason(rc: ReasonCode | MQTTErrorCode | int) -> str:
    if isinstance(rc, ReasonCode):
        return str(rc.getName())
    return str(mqtt.error_string(rc))


@dataclass(eq=False)
class _Filter:
    """One broker subscription and the seam's callbacks sharing it (an MQTT client holds
    one subscription per filter: subscribing again would replace it)."""

    topic: str
    ident: int
    remote_only: bool
    callbacks: list[tuple[object, SampleCallback]] = field(default_factory=list)


class _Nothing:
    """The handle of something MQTT does not carry (tokens, token watches)."""

    def undeclare(self) -> None:
        return None


class _Subscription:
    def __init__(self, transport: MqttTransport, topic: str, entry: object) -> None:
        self._transport = transport
        self._topic: str | None = topic
        self._entry = entry

    def undeclare(self) -> None:
        topic, self._topic = self._topic, None
        if topic is not None:
            self._transport._unsubscribe(topic, self._entry)


class MqttTransport:
    """An MQTT 5 client as a :class:`~fleet.comms.transport.Transport` (see the module
    docstring for what differs from Zenoh). Build one with :meth:`open`."""

    def __init__(self, options: MqttOptions, *,
                 delivery: DeliveryPolicy = vda5050_delivery) -> None:
        """Prepare a client; nothing is sent until :meth:`open` (use that instead)."""
        self.options = options
        self._delivery = delivery
        self._lock = threading.Lock()
        self._filters: dict[str, _Filter] = {}
        self._retained: dict[str, tuple[bytes, Properties]] = {}
        """The last retained message published on each topic: published again after a
        reconnection (see :meth:`_on_connect`)."""
        self._by_ident: dict[int, _Filter] = {}
        self._idents = itertools.count(1)
        self._closed = False
        self._answered = threading.Event()  # the first CONNACK, or the first failure
        self._failure: str | None = None
        self._subacks: dict[int, tuple[threading.Event, list[ReasonCode]]] = {}
        self._suback_lock = threading.Lock()
        self._inbox: queue.SimpleQueue[tuple[list[int], str, bytes] | None] = (
            queue.SimpleQueue())
        self._dispatcher = threading.Thread(target=self._dispatch, daemon=True,
                                            name=f"mqtt-dispatch {options.url}")
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=options.client_id,
                             protocol=MQTTProtocolVersion.MQTTv5, reconnect_on_failure=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.connect_timeout = options.connect_timeout
        client.reconnect_delay_set(*RECONNECT_DELAY_S)
        if options.tls:
            try:
                client.tls_set(ca_certs=str(options.ca),
                               certfile=str(options.cert) if options.cert else None,
                               keyfile=str(options.key) if options.key else None,
                               cert_reqs=ssl.CERT_REQUIRED,
                               tls_version=ssl.PROTOCOL_TLS_CLIENT)
            except (OSError, ValueError) as exc:
                raise TransportError(f"cannot use the TLS files for {options.url}: "
                                     f"{exc}") from None
        if options.will is not None:
            will = options.will
            client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        self._client = client

    @classmethod
    def open(cls, options: MqttOptions | str, *,
             delivery: DeliveryPolicy = vda5050_delivery) -> MqttTransport:
        """Connect to the broker of ``options`` (or of a bare URL: no TLS files, no will);
        returns once the broker accepted. NotReachable (one line with the URL and the
        reason) when it cannot be reached, the TLS handshake fails, or it refuses us."""
        if isinstance(options, str):
            options = MqttOptions(options)
        transport = cls(options, delivery=delivery)
        transport._connect()
        return transport

    # ------------------------------------------------------------------ connection
    def _connect(self) -> None:
        url, timeout = self.options.url, self.options.connect_timeout
        try:
            self._client.connect(self.options.host, self.options.port,
                                 keepalive=self.options.keepalive, clean_start=True)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
            raise NotReachable(f"no MQTT broker reachable at {url}: {reason}") from None
        self._dispatcher.start()
        self._client.loop_start()
        answered = self._answered.wait(timeout)
        if answered and self._failure is None and self._client.is_connected():
            return
        failure = self._failure or f"no answer within {timeout:g} s"
        self._stop()
        raise NotReachable(f"the MQTT broker at {url} did not accept the connection: "
                           f"{failure}")

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any,
                    reason: ReasonCode, _properties: Properties | None) -> None:
        if reason.is_failure:
            self._fail(_reason(reason))
            return
        with self._lock:
            filters = list(self._filters.values())
        again = self._answered.is_set()
        if again:
            logger.info("reconnected to %s; subscribing again to %d filters",
                        self.options.url, len(filters))
        for f in filters:  # the broker forgot them: every connection starts clean
            self._send_subscribe(f)
        if again:
            # The broker published our will when the connection broke; the retained
            # messages we last sent (a robot's ONLINE) say again what holds now, however
            # short the break was (a robot's agent may not even have noticed it)
            with self._lock:
                retained = list(self._retained.items())
            for key, (payload, properties) in retained:
                client.publish(key, payload, qos=1, retain=True, properties=properties)
        self._answered.set()

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        self._fail("connection failed")

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any,
                       reason: ReasonCode, _properties: Properties | None) -> None:
        if not self._answered.is_set():
            # before any CONNACK: the broker (or its TLS layer) turned us away, and paho
            # only knows that the socket closed; say what usually causes it
            if not self.options.tls:
                hint = "is it a TLS port? then use mqtts://"
            elif self.options.cert is None:
                hint = "it may require a client certificate"
            else:
                hint = "is the client certificate signed by the broker's CA, and not revoked?"
            self._fail(f"it closed the connection before accepting it ({hint})")
        elif not self._closed:
            logger.warning("lost the MQTT broker at %s (%s); reconnecting", self.options.url,
                           _reason(reason))

    def _fail(self, why: str) -> None:
        if not self._answered.is_set():
            self._failure = why
            self._answered.set()

    @property
    def closed(self) -> bool:
        return self._closed

    def reachable(self) -> bool:
        return not self._closed and self._client.is_connected()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop()

    def sever(self) -> None:
        """End the connection as a crash or a lost network would: no DISCONNECT, so the
        broker publishes the will (for simulated robots and tests); closed after that."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._client.loop_stop()  # no reconnection from here on
        sock = self._client.socket()
        if sock is not None:
            try:
                if isinstance(sock, socket.socket):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError as exc:
                logger.debug("severing %s: %s", self.options.url, exc)
        self._inbox.put(None)

    def _stop(self) -> None:
        self._closed = True
        # DISCONNECT with reason 0 (normal): the broker discards the will; it is queued
        # behind every message published before, which therefore still go out
        self._client.disconnect()
        self._client.loop_stop()
        self._inbox.put(None)
        if self._dispatcher.is_alive() and threading.current_thread() is not self._dispatcher:
            self._dispatcher.join(timeout=5)

    # ------------------------------------------------------------------ publishing
    def publish(self, key: str, payload: bytes, *, attachment: bytes | None = None,
                json: bool = True) -> None:
        if self._closed:
            raise TransportError(f"cannot publish on {key}: the MQTT transport is closed")
        _check_topic(key)
        qos, retain = self._delivery(key)
        properties = _properties(PacketTypes.PUBLISH)
        if json:
            properties.ContentType = "application/json"
        if attachment is not None:
            try:
                properties.UserProperty = (ATTACHMENT_PROPERTY, attachment.decode("utf-8"))
            except UnicodeDecodeError:
                properties.UserProperty = (f"{ATTACHMENT_PROPERTY}-base64",
                                           base64.b64encode(attachment).decode("ascii"))
        if retain:
            with self._lock:
                self._retained[key] = (payload, properties)
        try:
            info = self._client.publish(key, payload, qos=qos, retain=retain,
                                        properties=properties)
        except ValueError as exc:
            raise TransportError(f"cannot publish on {key}: {exc}") from None
        # NO_CONN: QoS 0 is dropped while the broker is away, QoS 1 waits in paho's queue
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise TransportError(f"cannot publish on {key}: {_reason(info.rc)}")

    def publisher(self, key: str) -> Publisher:
        _check_topic(key)
        return KeyPublisher(self, key)

    # ------------------------------------------------------------------ subscribing
    def subscribe(self, key_expr: str, callback: SampleCallback, *,
                  remote_only: bool = False) -> Handle:
        """As :meth:`Transport.subscribe`; returns once the broker has acknowledged the
        subscription (when connected), so later publications reach ``callback``. Retained
        messages on matching topics are delivered at once. TransportError when the
        expression has no MQTT form, the broker refuses it, or the same expression is
        subscribed both with and without ``remote_only`` on this transport."""
        if self._closed:
            raise TransportError(f"cannot subscribe to {key_expr}: the transport is closed")
        topic = mqtt_filter(key_expr)
        entry = object()
        with self._lock:
            f = self._filters.get(topic)
            if f is not None and f.remote_only != remote_only:
                raise TransportError(f"{key_expr} is already subscribed with remote_only="
                                     f"{f.remote_only} on this MQTT transport (one MQTT "
                                     "subscription per filter)")
            new = f is None
            if f is None:
                f = _Filter(topic, next(self._idents), remote_only)
                self._filters[topic] = f
                self._by_ident[f.ident] = f
            f.callbacks.append((entry, callback))
        if new:
            refused = self._send_subscribe(f, wait=True)
            if refused:
                self._unsubscribe(topic, entry)
                raise TransportError(f"the MQTT broker refused the subscription to "
                                     f"{key_expr}: {refused}")
        return _Subscription(self, topic, entry)

    def _send_subscribe(self, f: _Filter, *, wait: bool = False) -> str | None:
        """Subscribe ``f`` at the broker; with ``wait``, the refusal reason if any."""
        properties = _properties(PacketTypes.SUBSCRIBE)
        properties.SubscriptionIdentifier = f.ident
        done = threading.Event()
        codes: list[ReasonCode] = []
        # held until the SUBACK's waiter is registered, so that _on_subscribe (paho's
        # thread) cannot see the SUBACK first (client.subscribe only queues the packet)
        with self._suback_lock:
            rc, mid = self._client.subscribe(f.topic, options=SubscribeOptions(
                qos=1, noLocal=f.remote_only), properties=properties)
            if rc == MQTTErrorCode.MQTT_ERR_NO_CONN or mid is None:
                return None  # subscribed again on connecting
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return _reason(rc)
            if not wait:
                return None
            self._subacks[mid] = (done, codes)
        done.wait(SUBSCRIBE_TIMEOUT_S)
        with self._suback_lock:
            self._subacks.pop(mid, None)
        failed = [c for c in codes if c.is_failure]
        return _reason(failed[0]) if failed else None

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, mid: int,
                      codes: list[ReasonCode], _properties: Properties | None) -> None:
        with self._suback_lock:
            waiting = self._subacks.get(mid)
        if waiting is not None:
            waiting[1].extend(codes)
            waiting[0].set()
        elif any(c.is_failure for c in codes):
            logger.warning("the MQTT broker at %s refused a subscription: %s",
                           self.options.url, ", ".join(_reason(c) for c in codes))

    def _unsubscribe(self, topic: str, entry: object) -> None:
        with self._lock:
            f = self._filters.get(topic)
            if f is None:
                return
            f.callbacks = [(e, c) for e, c in f.callbacks if e is not entry]
            if f.callbacks:
                return
            del self._filters[topic]
            del self._by_ident[f.ident]
        if not self._closed:
            self._client.unsubscribe(topic)  # NO_CONN is fine: a reconnect forgets it

    def _on_message(self, _client: mqtt.Client, _userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        idents = getattr(message.properties, "SubscriptionIdentifier", None) or []
        self._inbox.put((list(idents), message.topic, bytes(message.payload)))

    def _dispatch(self) -> None:
        while (item := self._inbox.get()) is not None:
            idents, topic, payload = item
            with self._lock:
                if idents:  # which of our subscriptions this copy is for (MQTT 5)
                    targets = [self._by_ident[i] for i in idents if i in self._by_ident]
                else:  # a broker that sends no identifiers: match the filters ourselves
                    targets = [f for f in self._filters.values()
                               if mqtt.topic_matches_sub(f.topic, topic)]
                callbacks = [c for f in targets for _, c in f.callbacks]
            for callback in callbacks:
                try:
                    callback(topic, payload)
                # a callback's bug must not stop delivery to every other subscription
                except Exception:
                    logger.exception("callback for %s failed", topic)

    # ------------------------------------------------------------------ not on MQTT
    def declare_token(self, key: str) -> Handle:
        """A handle that does nothing: presence on MQTT is the retained ``connection``
        message and the will (see the module docstring)."""
        return _Nothing()

    def watch_tokens(self, key_expr: str, callback: TokenCallback, *,
                     history: bool = True) -> Handle:
        """Reports nothing, ever (MQTT has no liveliness tokens); watch ``connection``."""
        return _Nothing()

    def tokens(self, key_expr: str, *, timeout: float) -> list[str]:
        """Always empty (MQTT has no liveliness tokens)."""
        return []

    def serve(self, key_expr: str, handler: QueryHandler, *, complete: bool = False) -> Handle:
        """Always TransportError: queries are not carried over MQTT."""
        raise TransportError(f"queries are not carried over MQTT (cannot serve {key_expr}); "
                             "use a Zenoh transport for the manager's API")

    def query(self, key: str, payload: bytes | None, *, timeout: float,
              attachment: bytes | None = None, complete: bool = False,
              every: bool = False, json: bool = True) -> list[Answer]:
        """Always TransportError: queries are not carried over MQTT."""
        raise TransportError(f"queries are not carried over MQTT (cannot query {key}); "
                             "use a Zenoh transport for the manager's API")
