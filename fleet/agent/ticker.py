"""One timer thread for many agents: :class:`Ticker`.

Each :class:`~fleet.agent.agent.RobotAgent` must publish its state at least once per state
interval and resend unacknowledged inspection results on a back-off. Rather than a timer
thread per agent (1,000 simulated robots would need 1,000 more threads), agents register a
tick callback with a ticker; the ticker keeps a heap of due times and calls each callback
when it is due, on its one thread. A callback returns when it next wants to be called (a
time on the ticker's clock), or None to be dropped.

Cost: one thread per ticker, and O(log n) per tick for n registered agents. A callback runs
on the ticker's thread, so it must be quick (building and publishing a state is); a slow
callback delays every other agent's ticks.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

from fleet.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

TickCallback = Callable[[float], float | None]
"""Called with the clock's ``monotonic()``; returns the next due time, or None to stop."""

RETRY_AFTER_FAILURE = 1.0
"""Clock seconds before a callback that raised is called again."""


class TickHandle:
    """A registration with a :class:`Ticker`; pass it to :meth:`Ticker.remove`."""

    __slots__ = ("callback", "removed")

    def __init__(self, callback: TickCallback) -> None:
        self.callback = callback
        self.removed = False


class Ticker:
    """Calls registered callbacks at the times they ask for, on one daemon thread.

    The thread starts with :meth:`start` (or on entering the context manager) and ends with
    :meth:`close`. Callbacks may be added and removed from any thread, also from inside a
    callback.
    """

    def __init__(self, clock: Clock | None = None, *, name: str = "fleet-agent-ticker") -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._name = name
        self._heap: list[tuple[float, int, TickHandle]] = []
        self._count = itertools.count()
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __len__(self) -> int:
        """The number of registered callbacks."""
        with self._lock:
            return sum(1 for _, _, handle in self._heap if not handle.removed)

    def start(self) -> None:
        """Start the thread (idempotent); RuntimeError after :meth:`close`."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this ticker is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and drop every callback (idempotent)."""
        with self._lock:
            self._closed = True
            self._heap.clear()
            thread = self._thread
        self._changed.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def add(self, callback: TickCallback, due: float | None = None) -> TickHandle:
        """Register ``callback`` to be called at ``due`` (default: at once)."""
        handle = TickHandle(callback)
        when = self.clock.monotonic() if due is None else due
        with self._lock:
            if self._closed:
                raise RuntimeError("this ticker is closed")
            heapq.heappush(self._heap, (when, next(self._count), handle))
        self._changed.set()
        return handle

    def remove(self, handle: TickHandle) -> None:
        """Never call ``handle``'s callback again (a call under way finishes)."""
        handle.removed = True

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                # cleared under the lock: an add() after this point sets it again and wakes us
                self._changed.clear()
                while self._heap and self._heap[0][2].removed:
                    heapq.heappop(self._heap)
                due_entry = None
                delay: float | None = None
                if self._heap:
                    now = self.clock.monotonic()
                    if self._heap[0][0] <= now:
                        due_entry = heapq.heappop(self._heap)
                    else:
                        delay = self._heap[0][0] - now
            if due_entry is None:
                self.clock.wait(self._changed, delay)
                continue
            handle = due_entry[2]
            now = self.clock.monotonic()
            try:
                following = handle.callback(now)
            # One agent's failing tick must not stop the state publication of every other
            # agent sharing this thread: log it with its traceback and call it again later.
            except Exception:
                logger.exception("tick callback %r failed", handle.callback)
                following = now + RETRY_AFTER_FAILURE
            if following is None or handle.removed:
                continue
            with self._lock:
                if not self._closed:
                    heapq.heappush(self._heap, (following, next(self._count), handle))
