"""The product's transport: :class:`ZenohTransport`, a Zenoh session behind the seam.

This module and :mod:`fleet.comms.config` are the only places that call Zenoh (the
configuration writer in :mod:`fleet.security` builds Zenoh configurations too). Every
``zenoh.ZError`` is translated here into :class:`~fleet.errors.TransportError`; opening a
session that finds no router raises :class:`~fleet.errors.NotReachable`.

Zenoh facts this relies on (eclipse-zenoh 1.x): callbacks run on Zenoh's threads and an
exception escaping one is only printed, so callbacks are guarded here; a process with a
callback subscriber hangs at exit unless the session is closed; ``allowed_origin=REMOTE``
keeps a session's own puts from being delivered back to it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import zenoh

from fleet.comms.config import open_session
from fleet.comms.transport import (
    Answer,
    Handle,
    Publisher,
    Query,
    QueryHandler,
    SampleCallback,
    TokenCallback,
)
from fleet.errors import TransportError

logger = logging.getLogger(__name__)

JSON = zenoh.Encoding.APPLICATION_JSON


def _guarded(what: str, call: Any, *args: Any) -> None:
    try:
        call(*args)
    # a callback runs on a Zenoh thread, where an exception would only be printed
    except Exception:
        logger.exception("callback for %s failed", what)


class _Entity:
    """A declared Zenoh entity whose undeclaration survives a closed session."""

    def __init__(self, transport: ZenohTransport, entity: Any) -> None:
        self._transport = transport
        self._entity: Any = entity

    def undeclare(self) -> None:
        entity, self._entity = self._entity, None
        if entity is None or self._transport.closed:
            return
        try:
            entity.undeclare()
        except zenoh.ZError as exc:
            raise TransportError(f"cannot undeclare: {exc}") from None


class _Publisher:
    def __init__(self, publisher: Any) -> None:
        self._publisher = publisher

    def put(self, payload: bytes) -> None:
        try:
            self._publisher.put(payload)
        except zenoh.ZError as exc:
            raise TransportError(f"cannot publish: {exc}") from None


class ZenohTransport:
    """A Zenoh session as a :class:`~fleet.comms.transport.Transport`; closes it when closed."""

    def __init__(self, session: zenoh.Session) -> None:
        self._session = session
        self._entities: list[_Entity] = []
        self._lock = threading.Lock()

    @classmethod
    def open(cls, config: zenoh.Config) -> ZenohTransport:
        """Open a session with ``config`` (see :mod:`fleet.comms.config`); NotReachable with
        one line when no router answers or a router cannot listen."""
        return cls(open_session(config))

    @property
    def closed(self) -> bool:
        return bool(self._session.is_closed())

    def close(self) -> None:
        with self._lock:
            entities, self._entities = self._entities, []
        for entity in reversed(entities):
            entity.undeclare()
        if not self._session.is_closed():
            try:
                self._session.close()  # type: ignore[no-untyped-call]
            except zenoh.ZError as exc:
                # closing is best effort: a session too busy to close in Zenoh's time is
                # dropped with the process; raising here would hide why the caller stops
                logger.warning("Zenoh session did not close cleanly: %s", exc)

    def _keep(self, entity: Any) -> _Entity:
        kept = _Entity(self, entity)
        with self._lock:
            self._entities.append(kept)
        return kept

    def publish(self, key: str, payload: bytes, *, attachment: bytes | None = None,
                json: bool = True) -> None:
        try:
            self._session.put(key, payload, encoding=JSON if json else None,
                              attachment=attachment)
        except zenoh.ZError as exc:
            raise TransportError(f"cannot publish on {key}: {exc}") from None

    def publisher(self, key: str) -> Publisher:
        try:
            return _Publisher(self._session.declare_publisher(
                key, encoding=JSON, congestion_control=zenoh.CongestionControl.BLOCK))
        except zenoh.ZError as exc:
            raise TransportError(f"cannot declare a publisher on {key}: {exc}") from None

    def subscribe(self, key_expr: str, callback: SampleCallback, *,
                  remote_only: bool = False) -> Handle:
        put = zenoh.SampleKind.PUT

        def on_sample(sample: zenoh.Sample) -> None:
            if sample.kind == put:
                key = str(sample.key_expr)
                try:
                    callback(key, sample.payload.to_bytes())
                # a callback runs on a Zenoh thread, where an exception would only be printed
                except Exception:
                    logger.exception("callback for %s failed", key)

        origin = zenoh.Locality.REMOTE if remote_only else zenoh.Locality.ANY
        try:
            return self._keep(self._session.declare_subscriber(
                key_expr, on_sample, allowed_origin=origin))
        except zenoh.ZError as exc:
            raise TransportError(f"cannot subscribe to {key_expr}: {exc}") from None

    def declare_token(self, key: str) -> Handle:
        try:
            return self._keep(self._session.liveliness().declare_token(key))
        except zenoh.ZError as exc:
            raise TransportError(f"cannot declare the token {key}: {exc}") from None

    def watch_tokens(self, key_expr: str, callback: TokenCallback, *,
                     history: bool = True) -> Handle:
        def on_sample(sample: zenoh.Sample) -> None:
            key = str(sample.key_expr)
            _guarded(key, callback, key, sample.kind == zenoh.SampleKind.PUT)

        try:
            return self._keep(self._session.liveliness().declare_subscriber(
                key_expr, on_sample, history=history))
        except zenoh.ZError as exc:
            raise TransportError(f"cannot watch tokens {key_expr}: {exc}") from None

    def tokens(self, key_expr: str, *, timeout: float) -> list[str]:
        try:
            return [str(reply.ok.key_expr)
                    for reply in self._session.liveliness().get(key_expr, timeout=timeout)
                    if reply.ok is not None]
        except zenoh.ZError as exc:
            raise TransportError(f"cannot list tokens {key_expr}: {exc}") from None

    def serve(self, key_expr: str, handler: QueryHandler, *, complete: bool = False) -> Handle:
        reply_key = None if "*" in key_expr or "$" in key_expr else key_expr

        def on_query(query: zenoh.Query) -> None:
            with query:
                payload, attachment = query.payload, query.attachment
                # the stub types __iter__ as returning a list; it yields (key, value) pairs
                pairs: Any = query.parameters
                request = Query(str(query.key_expr), {str(k): str(v) for k, v in pairs},
                                payload.to_bytes() if payload else None,
                                attachment.to_bytes() if attachment is not None else None)
                try:
                    answer = handler(request)
                # the handler runs on a Zenoh thread: log the bug, answer the caller
                except Exception:
                    logger.exception("query handler for %s failed", request.key)
                    answer = Answer(b'{"error": "internal error answering %s"}'
                                    % request.key.encode(), error=True)
                encoding = JSON if answer.json else None
                if answer.error:
                    query.reply_err(answer.payload, encoding=encoding)
                else:
                    # a reply's key must be concrete: a query on a wildcard (``**/x``) is
                    # answered on the key this queryable serves (when that is concrete)
                    query.reply(reply_key if "*" in str(query.key_expr) and reply_key
                                else query.key_expr, answer.payload, encoding=encoding,
                                attachment=answer.attachment)

        try:
            return self._keep(self._session.declare_queryable(key_expr, on_query,
                                                              complete=complete))
        except zenoh.ZError as exc:
            raise TransportError(f"cannot serve {key_expr}: {exc}") from None

    def query(self, key: str, payload: bytes | None, *, timeout: float,
              attachment: bytes | None = None, complete: bool = False,
              every: bool = False, json: bool = True) -> list[Answer]:
        # a ROS 2 service call (rmw_zenoh): every complete server, nothing merged
        how: dict[str, Any] = {"target": zenoh.QueryTarget.ALL_COMPLETE,
                               "consolidation": zenoh.ConsolidationMode.NONE} if complete else {}
        if every:  # several processes answer on one key (who manages a site): each counts
            how = {"target": zenoh.QueryTarget.ALL,
                   "consolidation": zenoh.ConsolidationMode.NONE}
        try:
            replies = self._session.get(key, payload=payload,
                                        encoding=JSON if payload and json else None,
                                        timeout=timeout, attachment=attachment, **how)
            answers = []
            for reply in replies:
                if reply.ok is not None:
                    extra = reply.ok.attachment
                    answers.append(Answer(reply.ok.payload.to_bytes(), attachment=None
                                          if extra is None else extra.to_bytes(), json=json))
                elif reply.err is not None:
                    answers.append(Answer(reply.err.payload.to_bytes(), error=True))
            return answers
        except zenoh.ZError as exc:
            raise TransportError(f"cannot query {key}: {exc}") from None

    def reachable(self) -> bool:
        info = self._session.info
        try:
            return bool(info.routers_zid()) or bool(info.peers_zid())
        except zenoh.ZError:
            return False
