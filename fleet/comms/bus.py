"""Messages over a transport: :class:`Bus`, what the manager, the agent and the CLI use.

A :class:`Bus` works on a :class:`~fleet.comms.transport.Transport` (Zenoh in the product,
an in-memory network in unit tests, a simulated radio link around either) and adds the
protocol's rules:

- :meth:`Bus.publish`: a message model as JSON on a key whose topic must match the
  message's; :meth:`Bus.publish_raw` bytes as they are.
- :meth:`Bus.subscribe`: decoded messages for a key expression (wildcards allowed). A sample
  that does not decode is logged (sender key and reason, logger ``fleet.comms.bus``) and
  dropped; the next one is delivered as usual. :meth:`Bus.subscribe_raw`: the bytes, for
  hot paths that decode lightly (the manager's states).
- :meth:`Bus.declare_alive` / :meth:`Bus.watch_alive` / :meth:`Bus.alive`: liveliness
  tokens, their appearance and disappearance (with history: tokens already there are
  reported at once), and a snapshot of those present.
- :meth:`Bus.serve` / :meth:`Bus.request`: request/response over queries, JSON in and
  JSON out; no answer within the timeout raises :class:`~fleet.errors.NotReachable`, an
  error answer raises :class:`~fleet.errors.FleetError` with the server's one-line reason.

Callbacks may run on the transport's threads, several at once: hand work over to a queue or
guard shared state with a lock. An exception escaping a callback is logged with its
traceback and counted in :attr:`Bus.callback_errors`; it never reaches the transport. A Bus
is a context manager: leaving it closes the transport, which a process with callback
subscribers needs in order to exit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from fleet.comms.transport import Answer, Handle, Query, Transport
from fleet.errors import FleetError, NotReachable, ProtocolError
from fleet.protocol.codec import decode, encode, from_bytes, to_bytes
from fleet.protocol.header import Message
from fleet.protocol.keys import ParsedKey, Topic, parse_key
from fleet.protocol.messages import AnyMessage

logger = logging.getLogger(__name__)

MessageCallback = Callable[[ParsedKey, AnyMessage], object]
"""Receives the sender's parsed key and the decoded message."""

AliveCallback = Callable[[ParsedKey, bool], object]
"""Receives a token's parsed key and True when it appeared, False when it disappeared."""


@dataclass(frozen=True, slots=True)
class Request:
    """A query as :meth:`Bus.serve` hands it to its handler."""

    key: str
    """The key the query was sent to."""
    params: dict[str, str]
    """Selector parameters (``key?a=1;b=2``)."""
    body: Any
    """The JSON payload, or None when the query carried none."""


RequestHandler = Callable[[Request], Any]
"""Returns the JSON-serialisable answer, or raises FleetError for a one-line error answer."""


class Bus:
    """A transport with the protocol's publish, subscribe, liveliness and query helpers."""

    def __init__(self, transport: Transport, *, check_states: bool = True) -> None:
        """Work on ``transport``; the Bus closes it when closed. Every message published is
        checked against its schema, states too unless ``check_states`` is False (a load
        generator may skip it: a manager checks what it receives anyway)."""
        self.transport = transport
        self.check_states = check_states
        self.dropped = 0
        """Samples dropped because they did not decode."""
        self.callback_errors = 0
        """Exceptions raised by callbacks (logged, never propagated into the transport)."""

    @classmethod
    def open(cls, config: Any) -> Bus:
        """A Bus on a new Zenoh session opened with ``config`` (see :mod:`fleet.comms.config`);
        NotReachable with one line when no router answers."""
        from fleet.comms.zenoh_transport import ZenohTransport

        return cls(ZenohTransport.open(config))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self.transport.closed

    def close(self) -> None:
        """Undeclare everything declared through this Bus and close the transport
        (idempotent)."""
        self.transport.close()

    def reachable(self) -> bool:
        """Whether the transport reaches a router or peer now."""
        return self.transport.reachable()

    # -- publish / subscribe ------------------------------------------------------------

    def publish(self, key: str, message: Message, *, attachment: bytes | None = None) -> None:
        """Publish ``message`` on ``key`` (with ``attachment``, Zenoh metadata beside the
        payload); ProtocolError when the key's topic is not the message's or the message is
        invalid."""
        topic = parse_key(key).topic
        if topic != message.TOPIC:
            raise ProtocolError(f"a {message.TOPIC} message cannot be published on {key!r}")
        check = self.check_states or message.TOPIC is not Topic.STATE
        self.transport.publish(key, encode(message, check=check), attachment=attachment)

    def publish_raw(self, key: str, payload: bytes, *, attachment: bytes | None = None) -> None:
        """Publish bytes as they are, marked JSON (no check at all)."""
        self.transport.publish(key, payload, attachment=attachment)

    def subscribe(self, key_expr: str, callback: MessageCallback) -> Handle:
        """Call ``callback(parsed_key, message)`` for every valid message matching ``key_expr``.

        The topic is read from each sample's key, so one subscription may span topics
        (``uagv/v2/acme/r1/*``). Samples that do not decode are logged and dropped.
        """
        def on_sample(key: str, payload: bytes) -> None:
            try:
                parsed = parse_key(key)
                message = decode(parsed.topic, payload)
            except ProtocolError as exc:
                self.dropped += 1
                logger.warning("dropped message on %s: %s", key, exc)
                return
            self._call(callback, key, parsed, message)

        return self.transport.subscribe(key_expr, on_sample)

    def subscribe_raw(self, key_expr: str, callback: Callable[[str, bytes], object], *,
                      remote_only: bool = False) -> Handle:
        """Call ``callback(key, payload)`` for every put matching ``key_expr``, undecoded
        (with ``remote_only``, not this Bus's own puts). The hot path (a manager's states):
        the callback goes to the transport as it is, which logs what it raises."""
        return self.transport.subscribe(key_expr, callback, remote_only=remote_only)

    def _call(self, callback: Callable[..., object], key: str, *args: Any) -> None:
        try:
            callback(*args)
        # A callback runs on a transport thread: an exception escaping it would at best be
        # printed there. Logging it with its traceback is the most that can be done here.
        except Exception:
            self.callback_errors += 1
            logger.exception("callback for %s failed", key)

    # -- liveliness -----------------------------------------------------------------------

    def declare_alive(self, key: str) -> Handle:
        """Declare the liveliness token ``key`` (see fleet.protocol.keys.alive_key).

        It disappears when undeclared, when the Bus closes, or when the link is lost.
        """
        parse_key(key)
        return self.transport.declare_token(key)

    def watch_alive(self, key_expr: str, callback: AliveCallback, *,
                    history: bool = True) -> Handle:
        """Call ``callback(parsed_key, present)`` when a matching token appears or goes.

        With ``history`` the tokens already present are reported at once as appeared.
        """
        def on_token(key: str, present: bool) -> None:
            try:
                parsed = parse_key(key)
            except ProtocolError as exc:
                logger.warning("ignored liveliness token %s: %s", key, exc)
                return
            self._call(callback, key, parsed, present)

        return self.transport.watch_tokens(key_expr, on_token, history=history)

    def alive(self, key_expr: str, *, timeout: float = 1.0) -> list[ParsedKey]:
        """The tokens matching ``key_expr`` present now (asks the routers; waits <= timeout)."""
        found = []
        for key in self.transport.tokens(key_expr, timeout=timeout):
            try:
                found.append(parse_key(key))
            except ProtocolError as exc:
                logger.warning("ignored liveliness token %s: %s", key, exc)
        return sorted(set(found))

    # -- queries --------------------------------------------------------------------------

    def serve(self, key_expr: str, handler: RequestHandler) -> Handle:
        """Answer queries on ``key_expr`` with ``handler(request)`` as JSON.

        A FleetError from the handler becomes an error answer carrying its message; any other
        exception is logged and answered as an internal error.
        """
        def on_query(query: Query) -> Answer:
            try:
                body = from_bytes(query.payload) if query.payload else None
                return Answer(to_bytes(handler(Request(query.key, query.params, body))))
            except FleetError as exc:
                return Answer(to_bytes({"error": str(exc)}), error=True)
            # the handler runs on a transport thread: log the bug, answer the caller
            except Exception:
                self.callback_errors += 1
                logger.exception("query handler for %s failed", query.key)
                return Answer(to_bytes({"error": f"internal error answering {query.key}"}),
                              error=True)

        return self.transport.serve(key_expr, on_query)

    def request(self, key: str, body: Any = None, *, timeout: float = 2.0) -> Any:
        """Send a query to ``key`` (optionally with a JSON ``body``) and return the JSON answer.

        NotReachable when nothing answers within ``timeout`` seconds; FleetError carrying the
        server's reason for an error answer; ProtocolError when the answer is not JSON.
        """
        payload = to_bytes(body) if body is not None else None
        error: str | None = None
        for answer in self.transport.query(key, payload, timeout=timeout):
            if not answer.error:
                return from_bytes(answer.payload)
            if error is None:
                error = _error_text(answer.payload)
        if error is not None:
            raise FleetError(error)
        raise NotReachable(f"no answer on {key} within {timeout:g} s")


    def gather(self, key_expr: str, body: Any = None, *, timeout: float = 2.0) -> list[Any]:
        """Every JSON answer to a query on ``key_expr`` within ``timeout`` seconds, from
        every queryable (none merged; error answers and non-JSON ones left out): an empty
        list when nobody answers."""
        payload = to_bytes(body) if body is not None else None
        found = []
        for answer in self.transport.query(key_expr, payload, timeout=timeout, every=True):
            if not answer.error:
                try:
                    found.append(from_bytes(answer.payload))
                except ProtocolError:
                    continue
        return found


def _error_text(payload: bytes) -> str:
    try:
        obj = from_bytes(payload)
    except ProtocolError:
        return payload.decode("utf-8", "replace").strip() or "error answer without a reason"
    if isinstance(obj, dict) and isinstance(obj.get("error"), str):
        return str(obj["error"])
    return str(obj)
