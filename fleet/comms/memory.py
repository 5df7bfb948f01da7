"""An in-process network for unit tests: :class:`MemoryNetwork` and its :class:`MemoryTransport`.

Same :class:`~fleet.comms.transport.Transport` contract as Zenoh, none of its threads or
sockets. A network delivers puts and token changes in the order they were made, on one
delivery thread of its own (as Zenoh delivers on threads of its own, so a publisher holding
a lock never re-enters itself); :meth:`MemoryNetwork.drain` blocks until everything sent so
far has been delivered, which is how a test synchronises without sleeping. Queries are
answered on the caller's thread.

Key expressions are matched by Zenoh's own :class:`zenoh.KeyExpr` (pure computation, no
session), so a test on this network matches what the product would.

A transport can be cut off (:meth:`MemoryTransport.set_reachable`): while unreachable it
neither sends nor receives, and its tokens are reported gone, as when a robot's link drops.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar, cast
from urllib.parse import parse_qsl

import zenoh

from fleet.comms.transport import (
    Answer,
    Handle,
    KeyPublisher,
    Publisher,
    Query,
    QueryHandler,
    SampleCallback,
    TokenCallback,
)
from fleet.errors import TransportError

logger = logging.getLogger(__name__)

T = TypeVar("T")


@lru_cache(maxsize=65536)
def intersects(a: str, b: str) -> bool:
    """Whether key expressions ``a`` and ``b`` match a common key (Zenoh's rule)."""
    return bool(zenoh.KeyExpr(a).intersects(zenoh.KeyExpr(b)))


@dataclass(eq=False)
class _Entry:
    owner: MemoryTransport
    key_expr: str
    callback: Callable[..., object] | None = None
    remote_only: bool = False
    live: bool = True

    def undeclare(self) -> None:
        self.owner._undeclare(self)


@dataclass
class MemoryNetwork:
    """The shared medium of a set of :class:`MemoryTransport` (one per party)."""

    _subs: list[_Entry] = field(default_factory=list)
    _tokens: list[_Entry] = field(default_factory=list)
    _watchers: list[_Entry] = field(default_factory=list)
    _queryables: list[_Entry] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _queue: queue.Queue[Callable[[], None] | None] = field(default_factory=queue.Queue)
    _idle: threading.Condition = field(default_factory=threading.Condition)
    _pending: int = 0
    _thread: threading.Thread | None = None
    delivered: int = 0
    """Deliveries made (puts and token changes, per receiving callback)."""

    def transport(self) -> MemoryTransport:
        """A new party on this network."""
        return MemoryTransport(self)

    # -- delivery -----------------------------------------------------------------------

    def _send(self, job: Callable[[], None]) -> None:
        with self._idle:
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._deliver, daemon=True,
                                                name="memory-network")
                self._thread.start()
        self._queue.put(job)

    def _deliver(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            # a receiver's bug must not stop delivery to everyone else (Zenoh's rule too)
            except Exception:
                logger.exception("memory network delivery failed")
            with self._idle:
                self._pending -= 1
                self.delivered += 1
                self._idle.notify_all()

    def drain(self, timeout: float = 10.0) -> None:
        """Block until everything sent so far (and what its delivery sent) is delivered.

        Raises TransportError when that takes longer than ``timeout`` real seconds (a
        receiver that blocks for ever)."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._pending == 0, timeout):
                raise TransportError(f"memory network still busy after {timeout:g} s")

    def when_idle(self, read: Callable[[], T], timeout: float = 10.0) -> T:
        """``read()``, called at a moment when nothing is queued or being delivered; no
        delivery starts and nothing can be sent while it runs (so ``read`` must not send
        on this network). A benchmark reads what senders and receivers counted, with
        nothing in flight. TransportError when the network is not idle within ``timeout``
        real seconds."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._pending == 0, timeout):
                raise TransportError(f"memory network still busy after {timeout:g} s")
            return read()

    def close(self) -> None:
        """Stop the delivery thread (after what is queued)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    # -- the medium ---------------------------------------------------------------------

    def _put(self, sender: MemoryTransport, key: str, payload: bytes) -> None:
        with self._lock:
            targets = [s for s in self._subs if s.live and s.owner.reachable()
                       and not (s.remote_only and s.owner is sender)
                       and intersects(s.key_expr, key)]
        for sub in targets:
            self._send(_call(sub, key, payload))

    def _token_changed(self, token: _Entry, present: bool) -> None:
        with self._lock:
            watchers = [w for w in self._watchers if w.live and w.owner.reachable()
                        and intersects(w.key_expr, token.key_expr)]
        for w in watchers:
            self._send(_call(w, token.key_expr, present))

    def _present(self, key_expr: str) -> list[str]:
        with self._lock:
            return sorted({t.key_expr for t in self._tokens
                           if t.live and t.owner.reachable()
                           and intersects(key_expr, t.key_expr)})


def _call(entry: _Entry, *args: object) -> Callable[[], None]:
    def job() -> None:
        if entry.live and entry.callback is not None:
            entry.callback(*args)
    return job


class MemoryTransport:
    """One party on a :class:`MemoryNetwork` (a :class:`~fleet.comms.transport.Transport`)."""

    _ids = itertools.count()

    def __init__(self, network: MemoryNetwork) -> None:
        self.network = network
        self.name = f"memory-{next(self._ids)}"
        self._closed = False
        self._reachable = True
        self._mine: list[_Entry] = []

    @property
    def closed(self) -> bool:
        return self._closed

    def _check(self) -> None:
        if self._closed:
            raise TransportError(f"{self.name} is closed")

    def _declare(self, entries: list[_Entry], entry: _Entry) -> _Entry:
        self._check()
        with self.network._lock:
            entries.append(entry)
            self._mine.append(entry)
        return entry

    def _undeclare(self, entry: _Entry) -> None:
        net = self.network
        with net._lock:
            if not entry.live:
                return
            entry.live = False
            for entries in (net._subs, net._tokens, net._watchers, net._queryables):
                if entry in entries:
                    entries.remove(entry)
                    if entries is net._tokens and self._reachable:
                        net._token_changed(entry, False)

    def publish(self, key: str, payload: bytes, *, attachment: bytes | None = None,
                json: bool = True) -> None:
        self._check()
        if self._reachable:
            self.network._put(self, key, bytes(payload))

    def publisher(self, key: str) -> Publisher:
        self._check()
        return KeyPublisher(self, key)

    def subscribe(self, key_expr: str, callback: SampleCallback, *,
                  remote_only: bool = False) -> Handle:
        return self._declare(self.network._subs, _Entry(self, key_expr, callback, remote_only))

    def declare_token(self, key: str) -> Handle:
        token = self._declare(self.network._tokens, _Entry(self, key))
        if self._reachable:
            self.network._token_changed(token, True)
        return token

    def watch_tokens(self, key_expr: str, callback: TokenCallback, *,
                     history: bool = True) -> Handle:
        watcher = self._declare(self.network._watchers, _Entry(self, key_expr, callback))
        if history and self._reachable:
            for key in self.network._present(key_expr):
                self.network._send(_call(watcher, key, True))
        return watcher

    def tokens(self, key_expr: str, *, timeout: float) -> list[str]:
        self._check()
        return self.network._present(key_expr) if self._reachable else []

    def serve(self, key_expr: str, handler: QueryHandler, *, complete: bool = False) -> Handle:
        return self._declare(self.network._queryables, _Entry(self, key_expr, handler))

    def query(self, key: str, payload: bytes | None, *, timeout: float,
              attachment: bytes | None = None, complete: bool = False,
              every: bool = False, json: bool = True) -> list[Answer]:
        self._check()
        if not self._reachable:
            return []
        path, _, selector = key.partition("?")
        params = dict(parse_qsl(selector.replace(";", "&"), keep_blank_values=True))
        with self.network._lock:
            handlers = [q for q in self.network._queryables if q.live and q.owner.reachable()
                        and intersects(q.key_expr, path)]
        answers: list[Answer] = []
        for q in handlers:
            assert q.callback is not None
            try:
                answers.append(cast(Answer, q.callback(Query(path, params, payload, attachment))))
            # as a Zenoh queryable would: the caller gets an error answer, the bug is logged
            except Exception:
                logger.exception("query handler for %s failed", path)
                answers.append(Answer(b'{"error": "internal error"}', error=True))
        return answers

    def reachable(self) -> bool:
        return self._reachable and not self._closed

    def set_reachable(self, up: bool) -> None:
        """Cut this party off the network (False) or bring it back (True): its tokens are
        reported gone and back, and nothing crosses while it is cut off."""
        if up == self._reachable or self._closed:
            return
        net = self.network
        with net._lock:
            mine = [t for t in net._tokens if t.owner is self and t.live]
            if not up:
                for token in mine:
                    net._token_changed(token, False)
                self._reachable = False
            else:
                self._reachable = True
                for token in mine:
                    net._token_changed(token, True)

    def close(self) -> None:
        if self._closed:
            return
        for entry in reversed(self._mine):
            entry.undeclare()
        self._mine.clear()
        self._closed = True
