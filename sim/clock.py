"""World time for the simulator: one clock shared by every simulated robot and its agent.

World time is measured in seconds from the clock's origin (``monotonic()``). A
:class:`SimClock` runs it ``speed`` times faster than real time (``--speed X``); a
:class:`ManualClock` moves only when a test tells it to. Motion, dwell, battery drain,
readings and link delays all read the same clock, so scaling the speed changes nothing but
how long a run takes in real time; manager timeouts scale with :meth:`SimClock.to_wall`.

Both clocks also satisfy the robot agent's clock (:class:`fleet.agent.clock.Clock`:
``monotonic()``, ``now()`` as an aware UTC datetime, ``wait()``), so the simulator passes
one object to agents and bodies alike.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

# How often a ManualClock waiter re-checks its event: the event cannot notify the clock's
# condition, so a blocked wait polls it in real time.
_POLL_S = 0.005


class WorldClock(Protocol):
    """What simulator parts need from time. Implementations are thread-safe."""

    def monotonic(self) -> float:
        """World seconds since the clock's origin; never goes backwards."""
        ...

    def now(self) -> datetime:
        """The world's current time as an aware UTC datetime (message timestamps)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` of world time (zero or negative: return at once)."""
        ...

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        """Block until ``event`` is set or ``seconds`` of world time pass (None: no limit);
        True when the event is set, as :meth:`threading.Event.wait`."""
        ...


def _check_speed(speed: float) -> float:
    if isinstance(speed, bool) or not isinstance(speed, int | float) \
            or not math.isfinite(speed) or speed <= 0:
        raise ValueError(f"speed must be a finite number > 0, got {speed!r}")
    return float(speed)


def _aware(start: datetime | None) -> datetime:
    if start is None:
        return datetime.now(UTC)
    return start if start.tzinfo is not None else start.replace(tzinfo=UTC)


class SimClock:
    """World time running ``speed`` times faster than the monotonic wall clock.

    ``monotonic()`` is 0 when the clock is made and gains ``speed`` world seconds per real
    second; ``now()`` is ``start`` (default: the real time at creation) plus that. Sleeps and
    waits last ``world_seconds / speed`` real seconds. ``wall`` and ``sleeper`` exist for
    tests of the scaling itself; everything else uses the defaults. ``origin`` is the
    ``wall()`` reading at world time 0 (default: now): processes sharing one world pass the
    same ``time.monotonic()`` value (system-wide on Linux) and the same ``start``.
    """

    def __init__(self, speed: float = 1.0, *, start: datetime | None = None,
                 wall: Callable[[], float] = time.monotonic,
                 sleeper: Callable[[float], None] = time.sleep,
                 origin: float | None = None) -> None:
        self.speed = _check_speed(speed)
        self._wall = wall
        self._sleeper = sleeper
        self._origin = wall() if origin is None else float(origin)
        self._start = _aware(start)

    def monotonic(self) -> float:
        """World seconds since this clock was made."""
        return (self._wall() - self._origin) * self.speed

    def now(self) -> datetime:
        """``start`` plus the world seconds elapsed."""
        return self._start + timedelta(seconds=self.monotonic())

    def to_wall(self, world_seconds: float) -> float:
        """Real seconds that ``world_seconds`` of world time last (for scaling timeouts)."""
        return world_seconds / self.speed

    def to_world(self, wall_seconds: float) -> float:
        """World seconds that pass in ``wall_seconds`` of real time."""
        return wall_seconds * self.speed

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds / speed`` real seconds."""
        if seconds > 0:
            self._sleeper(seconds / self.speed)

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        """Wait up to ``seconds / speed`` real seconds for ``event``."""
        return event.wait(None if seconds is None else max(0.0, seconds) / self.speed)


class ManualClock:
    """World time that moves only through :meth:`advance` and :meth:`advance_to`.

    With ``auto=False`` (default) :meth:`sleep` and :meth:`wait` block until another thread
    advances the clock past their deadline, so a test steps a threaded simulation tick by
    tick. With ``auto=True`` a sleep or wait advances the clock itself by its duration and
    returns at once (single-threaded tests; a ``wait`` with no limit then returns whether the
    event is set without blocking).
    """

    def __init__(self, start: float = 0.0, *, date: datetime | None = None,
                 auto: bool = False) -> None:
        if not math.isfinite(start):
            raise ValueError(f"start must be a finite number of seconds, got {start!r}")
        self._t = float(start)
        self._date = _aware(date if date is not None else datetime(2025, 1, 1, tzinfo=UTC))
        self._auto = auto
        self._cond = threading.Condition()

    def monotonic(self) -> float:
        """The current world time in seconds."""
        with self._cond:
            return self._t

    def now(self) -> datetime:
        """``date`` (default 2025-01-01 UTC) plus the current world time."""
        return self._date + timedelta(seconds=self.monotonic())

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (must be ≥ 0) and wake due sleepers; the new time."""
        if not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError(f"can only advance by a finite number ≥ 0, got {seconds!r}")
        with self._cond:
            self._t += seconds
            self._cond.notify_all()
            return self._t

    def advance_to(self, t: float) -> float:
        """Move time forward to ``t`` (no-op when already past it); the new time."""
        with self._cond:
            return self.advance(max(0.0, t - self._t))

    def sleep(self, seconds: float) -> None:
        """Block until the clock reaches now + ``seconds`` (auto: advance to it)."""
        if seconds <= 0:
            return
        with self._cond:
            deadline = self._t + seconds
            if self._auto:
                self.advance_to(deadline)
                return
            while self._t < deadline:
                self._cond.wait()

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        """Block until ``event`` is set or the clock passes now + ``seconds``."""
        if event.is_set():
            return True
        with self._cond:
            deadline = None if seconds is None else self._t + max(0.0, seconds)
            if self._auto:
                if deadline is not None:
                    self.advance_to(deadline)
                return event.is_set()
            while not event.is_set() and (deadline is None or self._t < deadline):
                self._cond.wait(_POLL_S)
        return event.is_set()
