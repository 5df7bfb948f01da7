"""The dashboard's side of the manager: :class:`Feed`, one Bus session kept alive.

A feed

- opens a Bus with the ``opener`` it is given (Zenoh in the product, the in-memory network
  in tests) and subscribes to ``{interface}/manager/live`` and ``.../live/events``;
- asks ``{interface}/manager/live/snapshot`` at the start, and again whenever a message is
  missing (a gap in ``seq``), then applies the messages that came after the snapshot
  (:class:`~fleet.dashboard.state.LiveState`);
- counts the manager as gone after ``silence_s`` seconds without a message: it says so
  (``connected`` False, ``error`` "manager not reachable at ...") and keeps trying: it
  reopens the session and asks the snapshot again until the manager answers;
- hands every change to its listeners (:meth:`listen`): asyncio queues fed from the
  transport's threads with ``loop.call_soon_threadsafe``; a listener that falls
  ``LISTENER_QUEUE`` items behind is dropped (its page reconnects and starts afresh).

Items a listener receives are ``(kind, data)`` pairs: ``("state", whole state)`` first, then
``("delta", manager message)``, ``("event", mission event)``, ``("status", {"connected",
"error"})`` and, after a snapshot, ``("state", ...)`` again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from fleet.comms.bus import Bus
from fleet.dashboard.state import Applied, LiveState
from fleet.errors import FleetError, NotReachable, TransportError
from fleet.manager.api import api_key

logger = logging.getLogger(__name__)

SILENCE_S = 3.0
"""Seconds without a live message after which the manager counts as not reachable (it
publishes every 0.5 s)."""

RETRY_S = 1.0
"""Seconds between two attempts to reach a manager that is not reachable."""

LISTENER_QUEUE = 2000
"""Items a listener may fall behind before it is dropped."""

BUFFERED = 200
"""Live messages kept while a snapshot is awaited (those after it are applied)."""

Item = tuple[str, Any]


class Listener:
    """One page's stream: :attr:`queue` receives ``(kind, data)`` items; :attr:`dropped` is
    set (and ``("closed", None)`` queued when there is room) when it fell behind."""

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Item] = asyncio.Queue(maxsize)
        self.dropped = False

    def _offer(self, item: Item) -> None:
        # runs on the listener's event loop (call_soon_threadsafe)
        if self.dropped:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped = True
            self.queue.get_nowait()
            self.queue.put_nowait(("closed", None))


class Feed:
    """The live state of one manager and the sessions that keep it current.

    ``opener`` returns a new Bus or raises NotReachable; ``where`` names the manager in
    messages (its endpoint). Call :meth:`start` to begin and :meth:`close` to end; the
    state is readable at any time (:meth:`state`). ``clock`` gives seconds (monotonic).
    """

    def __init__(self, opener: Callable[[], Bus], interface: str, *, where: str,
                 silence_s: float = SILENCE_S, retry_s: float = RETRY_S,
                 request_timeout: float = 3.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interface = interface
        self.where = where
        self._opener = opener
        self._silence_s = silence_s
        self._retry_s = retry_s
        self._timeout = request_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._live = LiveState()
        self._buffer: list[dict[str, Any]] = []
        self._need_snapshot = True
        self._connected = False
        self._error: str | None = f"connecting to the manager at {where}"
        self._heard = clock()
        self._bus: Bus | None = None
        self._listeners: list[Listener] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- reading ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the manager answered and has been heard within the silence limit."""
        return self._connected

    @property
    def at(self) -> str | None:
        """The manager's time in the last message applied (ISO 8601), if any."""
        return self._live.at

    def state(self) -> dict[str, Any]:
        """The whole merged state with ``connected`` and ``error`` (a copy)."""
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> dict[str, Any]:
        return {"connected": self._connected, "error": self._error, **self._live.to_json()}

    def listen(self, loop: asyncio.AbstractEventLoop, *,
               maxsize: int = LISTENER_QUEUE) -> Listener:
        """A new listener whose queue starts with the whole state (atomically: nothing is
        missed or repeated between the state and the items after it)."""
        listener = Listener(loop, maxsize)
        with self._lock:
            listener.queue.put_nowait(("state", self._state_locked()))
            self._listeners.append(listener)
        return listener

    def unlisten(self, listener: Listener) -> None:
        """Stop feeding ``listener`` (idempotent)."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def end_streams(self) -> None:
        """End every listener's stream (``("closed", None)``): a server shutting down lets
        its pages go instead of cutting them off."""
        with self._lock:
            self._emit("closed", None)
            self._listeners.clear()

    def _emit(self, kind: str, data: Any) -> None:
        # under self._lock: the order of items is the order of changes
        for listener in list(self._listeners):
            if listener.dropped:
                self._listeners.remove(listener)
                continue
            try:
                listener.loop.call_soon_threadsafe(listener._offer, (kind, data))
            except RuntimeError:  # its event loop is closed: the page is gone
                self._listeners.remove(listener)

    # -- asking the manager -------------------------------------------------------------

    def ask(self, verb: str, body: Any = None, *, timeout: float | None = None) -> Any:
        """One query to the manager's API (``fleet.manager.api``); NotReachable (one line)
        when there is no session or no answer, FleetError with the manager's reason when it
        refuses. Blocks: call it from a worker thread."""
        bus = self._bus
        if bus is None or bus.closed:
            raise NotReachable(self._unreachable())
        try:
            return bus.request(api_key(self.interface, verb), body,
                               timeout=timeout or self._timeout)
        # a session closed under the request (the manager went away) is no answer either
        except TransportError:
            raise NotReachable(self._unreachable()) from None

    def _unreachable(self) -> str:
        return f"manager not reachable at {self.where} (interface {self.interface})"

    # -- the session --------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread that connects, asks snapshots and watches for silence."""
        self._thread = threading.Thread(target=self._run, name="dashboard-feed", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and close the session (idempotent)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._drop_bus()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._wake.wait(self._retry_s if not self._connected else 0.25)
            self._wake.clear()

    def step(self) -> None:
        """One round of upkeep (the thread calls it; tests may call it themselves): open a
        session when there is none, ask a snapshot when one is needed, and notice silence."""
        if self._bus is None:
            try:
                self._open()
            # no router (NotReachable) or a session that fails under Zenoh (TransportError):
            # either way the manager is out of reach until the next try
            except FleetError as exc:
                self._set_status(False, f"{self._unreachable()}: {exc}")
                return
        if self._need_snapshot:
            self._snapshot()
        elif self._connected and self._clock() - self._heard > self._silence_s:
            logger.warning("no live message from the manager for %.0f s", self._silence_s)
            self._set_status(False, self._unreachable())
            # a new session: the old one may be tied to a router that went away for good
            self._drop_bus()
            with self._lock:
                self._need_snapshot = True

    def _open(self) -> None:
        bus = self._opener()
        try:
            bus.subscribe_raw(api_key(self.interface, "live"), self._on_live)
            bus.subscribe_raw(api_key(self.interface, "live/events"), self._on_event)
        except FleetError:
            bus.close()
            raise
        self._bus = bus

    def _drop_bus(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.close()

    def _snapshot(self) -> None:
        try:
            answer = self.ask("live/snapshot")
        except FleetError as exc:
            self._set_status(False, str(exc))
            if self._clock() - self._heard > self._silence_s:
                self._drop_bus()
            return
        if not isinstance(answer, dict) or not answer.get("full"):
            self._set_status(False, f"the manager at {self.where} sent no live snapshot "
                             "(is it older than the dashboard?)")
            return
        with self._lock:
            if (not self._need_snapshot and self._live.seq is not None
                    and answer.get("seq", 0) < self._live.seq):
                return  # a full message on the feed overtook the snapshot: it is older
            self._live.apply(answer)
            # what came while the snapshot was asked and is newer than it, in order
            later = sorted((m for m in self._buffer if m["seq"] > (self._live.seq or 0)),
                           key=lambda m: int(m["seq"]))
            self._buffer.clear()
            self._need_snapshot = False
            for message in later:
                if self._live.apply(message) is Applied.GAP:
                    self._need_snapshot = True
                    self._wake.set()
                    break
            self._heard = self._clock()
            self._connected, self._error = True, None
            self._emit("state", self._state_locked())

    def _set_status(self, connected: bool, error: str | None) -> None:
        with self._lock:
            if (connected, error) == (self._connected, self._error):
                return
            self._connected, self._error = connected, error
            self._emit("status", {"connected": connected, "error": error})

    # -- transport callbacks (transport threads) ----------------------------------------

    def _on_live(self, key: str, payload: bytes) -> None:
        message = _decode(key, payload)
        if message is None or not isinstance(message.get("seq"), int):
            return
        with self._lock:
            self._heard = self._clock()
            if self._need_snapshot:
                if message.get("full"):
                    self._need_snapshot = False
                    self._buffer.clear()
                    self._live.apply(message)
                    self._reconnected()
                    self._emit("state", self._state_locked())
                elif len(self._buffer) < BUFFERED:
                    self._buffer.append(message)
                return
            applied = self._live.apply(message)
            if applied is Applied.GAP:
                logger.info("live message %s after %s: asking a snapshot",
                            message["seq"], self._live.seq)
                self._need_snapshot = True
                self._buffer = [message]
                self._wake.set()
            elif applied is Applied.MERGED:
                self._reconnected()
                if message.get("full"):
                    self._emit("state", self._state_locked())
                else:
                    self._emit("delta", message)

    def _reconnected(self) -> None:
        if not self._connected:
            self._connected, self._error = True, None
            self._emit("status", {"connected": True, "error": None})

    def _on_event(self, key: str, payload: bytes) -> None:
        event = _decode(key, payload)
        if event is None:
            return
        with self._lock:
            self._live.add_event(event)
            self._emit("event", event)


def _decode(key: str, payload: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(payload)  # a thousand robots' records, twice a second
    except orjson.JSONDecodeError as exc:
        logger.warning("dropped a message on %s that is not JSON: %s", key, exc)
        return None
    if not isinstance(value, dict):
        logger.warning("dropped a message on %s that is not a JSON object", key)
        return None
    return value
