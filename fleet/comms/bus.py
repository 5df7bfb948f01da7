"""The one seam between the project and Zenoh: :class:`Bus`.

A :class:`Bus` owns a Zenoh session and offers what the manager, the robot agent and the
CLI need, with the protocol's rules built in:

- :meth:`Bus.publish`: a message model as JSON (encoding ``application/json``) on a key whose
  topic must match the message's.
- :meth:`Bus.subscribe`: decoded messages for a key expression (wildcards allowed). A sample
  that does not decode is logged (sender key and reason, logger ``fleet.comms.bus``) and
  dropped; the next one is delivered as usual.
- :meth:`Bus.declare_alive` / :meth:`Bus.watch_alive` / :meth:`Bus.alive`: liveliness
  tokens, their appearance and disappearance (with history: tokens already there are
  reported at once), and a snapshot of those present.
- :meth:`Bus.serve` / :meth:`Bus.request`: request/response over Zenoh queries, JSON in and
  JSON out; no answer within the timeout raises :class:`~fleet.errors.NotReachable`, an
  error answer raises :class:`~fleet.errors.FleetError` with the server's one-line reason.

Callbacks run on Zenoh's threads, possibly several at once: hand work over to a queue or
guard shared state with a lock. An exception escaping a callback is logged with its
traceback (Zenoh would only print it) and counted in :attr:`Bus.callback_errors`; it never
reaches Zenoh. A Bus is a context manager: leaving it closes the session, which a process
with callback subscribers needs in order to exit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import zenoh

from fleet.comms.config import open_session
from fleet.errors import FleetError, NotReachable, ProtocolError
from fleet.protocol.codec import decode, encode, from_bytes, to_bytes
from fleet.protocol.header import Message
from fleet.protocol.keys import ParsedKey, parse_key
from fleet.protocol.messages import AnyMessage

logger = logging.getLogger(__name__)

JSON = zenoh.Encoding.APPLICATION_JSON

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
    """A Zenoh session with the protocol's publish, subscribe, liveliness and query helpers."""

    def __init__(self, session: zenoh.Session) -> None:
        """Wrap ``session``; the Bus closes it when closed."""
        self.session = session
        self.dropped = 0
        """Samples dropped because they did not decode."""
        self.callback_errors = 0
        """Exceptions raised by callbacks (logged, never propagated into Zenoh)."""
        self._entities: list[Any] = []
        self._lock = threading.Lock()

    @classmethod
    def open(cls, config: zenoh.Config) -> Bus:
        """Open a session with ``config`` (see fleet.comms.config); NotReachable on failure."""
        return cls(open_session(config))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run (or the session was closed elsewhere)."""
        return bool(self.session.is_closed())

    def close(self) -> None:
        """Undeclare everything this Bus declared and close the session (idempotent)."""
        with self._lock:
            entities, self._entities = self._entities, []
        for entity in reversed(entities):
            if not self.session.is_closed():
                entity.undeclare()
        if not self.session.is_closed():
            self.session.close()  # type: ignore[no-untyped-call]

    def _keep(self, entity: Any) -> Any:
        with self._lock:
            self._entities.append(entity)
        return entity

    # -- publish / subscribe ------------------------------------------------------------

    def publish(self, key: str, message: Message) -> None:
        """Publish ``message`` on ``key``; ProtocolError when the key's topic is not the message's
        or the message is invalid."""
        topic = parse_key(key).topic
        if topic != message.TOPIC:
            raise ProtocolError(f"a {message.TOPIC} message cannot be published on {key!r}")
        self.session.put(key, encode(message), encoding=JSON)

    def publish_raw(self, key: str, payload: bytes) -> None:
        """Publish bytes as they are, marked JSON (tests and diagnostics; no check at all)."""
        self.session.put(key, payload, encoding=JSON)

    def subscribe(self, key_expr: str, callback: MessageCallback) -> zenoh.Subscriber[None]:
        """Call ``callback(parsed_key, message)`` for every valid message matching ``key_expr``.

        The topic is read from each sample's key, so one subscription may span topics
        (``uagv/v2/acme/r1/*``). Samples that do not decode are logged and dropped.
        """
        def on_sample(sample: zenoh.Sample) -> None:
            key = str(sample.key_expr)
            if sample.kind != zenoh.SampleKind.PUT:
                return
            try:
                parsed = parse_key(key)
                message = decode(parsed.topic, sample.payload.to_bytes())
            except ProtocolError as exc:
                self.dropped += 1
                logger.warning("dropped message on %s: %s", key, exc)
                return
            self._call(callback, key, parsed, message)

        return self._keep(self.session.declare_subscriber(key_expr, on_sample))  # type: ignore[no-any-return]

    def _call(self, callback: Callable[..., object], key: str, *args: Any) -> None:
        try:
            callback(*args)
        # A callback runs on a Zenoh thread: an exception escaping it would only be printed
        # by Zenoh. Logging it with its traceback is the most that can be done here.
        except Exception:
            self.callback_errors += 1
            logger.exception("callback for %s failed", key)

    # -- liveliness -----------------------------------------------------------------------

    def declare_alive(self, key: str) -> zenoh.LivelinessToken:
        """Declare the liveliness token ``key`` (see fleet.protocol.keys.alive_key).

        It disappears when undeclared, when the Bus closes, or when the link is lost.
        """
        parse_key(key)
        return self._keep(self.session.liveliness().declare_token(key))  # type: ignore[no-any-return]

    def watch_alive(self, key_expr: str, callback: AliveCallback, *,
                    history: bool = True) -> zenoh.Subscriber[None]:
        """Call ``callback(parsed_key, present)`` when a matching token appears or goes.

        With ``history`` the tokens already present are reported at once as appeared.
        """
        def on_sample(sample: zenoh.Sample) -> None:
            key = str(sample.key_expr)
            try:
                parsed = parse_key(key)
            except ProtocolError as exc:
                logger.warning("ignored liveliness token %s: %s", key, exc)
                return
            self._call(callback, key, parsed, sample.kind == zenoh.SampleKind.PUT)

        subscriber = self.session.liveliness().declare_subscriber(
            key_expr, on_sample, history=history)
        return self._keep(subscriber)  # type: ignore[no-any-return]

    def alive(self, key_expr: str, *, timeout: float = 1.0) -> list[ParsedKey]:
        """The tokens matching ``key_expr`` present now (asks the routers; waits <= timeout)."""
        found = []
        for reply in self.session.liveliness().get(key_expr, timeout=timeout):
            if reply.ok is not None:
                try:
                    found.append(parse_key(str(reply.ok.key_expr)))
                except ProtocolError as exc:
                    logger.warning("ignored liveliness token %s: %s", reply.ok.key_expr, exc)
        return sorted(set(found))

    # -- queries --------------------------------------------------------------------------

    def serve(self, key_expr: str, handler: RequestHandler) -> zenoh.Queryable[None]:
        """Answer queries on ``key_expr`` with ``handler(request)`` as JSON.

        A FleetError from the handler becomes an error answer carrying its message; any other
        exception is logged and answered as an internal error.
        """
        def on_query(query: zenoh.Query) -> None:
            with query:
                key = str(query.key_expr)
                try:
                    payload = query.payload
                    body = from_bytes(payload.to_bytes()) if payload else None
                    params = _params(query.parameters)
                    answer = to_bytes(handler(Request(key, params, body)))
                except FleetError as exc:
                    query.reply_err(to_bytes({"error": str(exc)}), encoding=JSON)
                    return
                # the handler runs on a Zenoh thread: log the bug, answer the caller
                except Exception:
                    self.callback_errors += 1
                    logger.exception("query handler for %s failed", key)
                    query.reply_err(to_bytes({"error": f"internal error answering {key}"}),
                                    encoding=JSON)
                    return
                query.reply(query.key_expr, answer, encoding=JSON)

        return self._keep(self.session.declare_queryable(key_expr, on_query))  # type: ignore[no-any-return]

    def request(self, key: str, body: Any = None, *, timeout: float = 2.0) -> Any:
        """Send a query to ``key`` (optionally with a JSON ``body``) and return the JSON answer.

        NotReachable when nothing answers within ``timeout`` seconds; FleetError carrying the
        server's reason for an error answer; ProtocolError when the answer is not JSON.
        """
        payload = to_bytes(body) if body is not None else None
        replies = self.session.get(key, payload=payload, encoding=JSON if payload else None,
                                   timeout=timeout)
        error: str | None = None
        for reply in replies:
            if reply.ok is not None:
                return from_bytes(reply.ok.payload.to_bytes())
            if reply.err is not None and error is None:
                error = _error_text(reply.err.payload.to_bytes())
        if error is not None:
            raise FleetError(error)
        raise NotReachable(f"no answer on {key} within {timeout:g} s")


def _params(parameters: zenoh.Parameters) -> dict[str, str]:
    # the stub types __iter__ as returning a list; at run time it yields (key, value) pairs
    pairs: Any = parameters
    return {str(k): str(v) for k, v in pairs}


def _error_text(payload: bytes) -> str:
    try:
        obj = from_bytes(payload)
    except ProtocolError:
        return payload.decode("utf-8", "replace").strip() or "error answer without a reason"
    if isinstance(obj, dict) and isinstance(obj.get("error"), str):
        return str(obj["error"])
    return str(obj)
