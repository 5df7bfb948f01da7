"""The one time model of the project: a :class:`Clock` protocol and its three clocks.

Every duration the manager, the robot agent, the anomaly log, the alerts and the simulator
measure is read from a clock passed in, never from :mod:`time` directly:

- :class:`SystemClock`: real time (``fleet serve`` on a real site, a real robot's agent);
- :class:`ScaledClock`: time running ``speed`` times faster than real time (the simulator's
  world, and ``fleet serve --speed`` beside it); processes sharing one world pass the same
  ``origin`` and ``start``;
- :class:`ManualClock`: time that moves only when a test advances it.

Clock readings are *world* seconds: on a scaled clock a timeout of 3 s lasts 3/speed real
seconds, and a test on a manual clock decides when it has passed. :func:`silence_timeout`
is the one rule that keeps a robot-silence timeout above what the real machine can honour
when the world runs faster than real time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

WALL_TIMEOUT_FLOOR_S = 0.75
"""Real seconds of silence a manager should tolerate at least, whatever the speed of its
world: below this, thread scheduling and Zenoh's delivery on a loaded machine look like a
lost robot. See :func:`silence_timeout`."""

# How often a ManualClock waiter re-checks its event: the event cannot notify the clock's
# condition, so a blocked wait polls it in real time.
_POLL_S = 0.005


class Clock(Protocol):
    """What every part needs from time. Implementations are thread-safe."""

    def monotonic(self) -> float:
        """Seconds on this clock since an arbitrary origin; never goes backwards."""
        ...

    def now(self) -> datetime:
        """The current time, timezone-aware UTC (header timestamps, stored instants)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` of this clock (zero or negative: return at once)."""
        ...

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        """Block until ``event`` is set or ``seconds`` of this clock pass (None: no limit).

        Returns True when the event is set, as :meth:`threading.Event.wait` does.
        """
        ...

    def to_world(self, wall_seconds: float) -> float:
        """Seconds of this clock that pass in ``wall_seconds`` of real time."""
        ...


def silence_timeout(requested: float, clock: Clock) -> float:
    """The robot-silence timeout to use on ``clock``: ``requested`` (clock seconds), raised
    to :data:`WALL_TIMEOUT_FLOOR_S` real seconds when the clock runs faster than real time.

    ``fleet serve --speed``, the simulator's embedded manager and the benchmarks all take
    their timeout from here, so the rule lives in one place.
    """
    return max(requested, clock.to_world(WALL_TIMEOUT_FLOOR_S))


def _check_speed(speed: float) -> float:
    if isinstance(speed, bool) or not isinstance(speed, int | float) \
            or not math.isfinite(speed) or speed <= 0:
        raise ValueError(f"speed must be a finite number > 0, got {speed!r}")
    return float(speed)


def _aware(start: datetime | None) -> datetime:
    if start is None:
        return datetime.now(UTC)
    return start if start.tzinfo is not None else start.replace(tzinfo=UTC)


class SystemClock:
    """Real time: ``time.monotonic`` and the system's UTC wall clock."""

    speed = 1.0

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """``time.sleep(seconds)`` (negative durations sleep not at all)."""
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        """``event.wait(seconds)`` (negative durations wait not at all)."""
        return event.wait(None if seconds is None else max(0.0, seconds))

    def to_world(self, wall_seconds: float) -> float:
        """``wall_seconds`` itself."""
        return wall_seconds


class ScaledClock:
    """Time running ``speed`` times faster than the monotonic wall clock.

    ``monotonic()`` is 0 when the clock is made (or at ``origin``, a ``wall()`` reading) and
    gains ``speed`` seconds per real second; ``now()`` is ``start`` (default: the real time
    at creation) plus that. Sleeps and waits last ``seconds / speed`` real seconds. Processes
    sharing one world pass the same ``origin`` (``time.monotonic()`` is system-wide on Linux)
    and the same ``start``. ``wall`` and ``sleeper`` exist for tests of the scaling itself.
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
        """Scaled seconds since the origin."""
        return (self._wall() - self._origin) * self.speed

    def now(self) -> datetime:
        """``start`` plus the scaled seconds elapsed."""
        return self._start + timedelta(seconds=self.monotonic())

    def to_wall(self, world_seconds: float) -> float:
        """Real seconds that ``world_seconds`` of this clock last."""
        return world_seconds / self.speed

    def to_world(self, wall_seconds: float) -> float:
        """Seconds of this clock that pass in ``wall_seconds`` of real time."""
        return wall_seconds * self.speed

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds / speed`` real seconds."""
        if seconds > 0:
            self._sleeper(seconds / self.speed)

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        """Wait up to ``seconds / speed`` real seconds for ``event``."""
        return event.wait(None if seconds is None else max(0.0, seconds) / self.speed)


class ManualClock:
    """Time that moves only through :meth:`advance` and :meth:`advance_to`.

    With ``auto=False`` (default) :meth:`sleep` and :meth:`wait` block until another thread
    advances the clock past their deadline, so a test steps a threaded system tick by tick.
    With ``auto=True`` a sleep or wait advances the clock itself by its duration and returns
    at once (single-threaded tests; a ``wait`` with no limit then returns whether the event
    is set without blocking).
    """

    speed = 1.0

    def __init__(self, start: float = 0.0, *, date: datetime | None = None,
                 auto: bool = False) -> None:
        if not math.isfinite(start):
            raise ValueError(f"start must be a finite number of seconds, got {start!r}")
        self._t = float(start)
        self._date = _aware(date if date is not None else datetime(2025, 1, 1, tzinfo=UTC))
        self._auto = auto
        self._cond = threading.Condition()

    def monotonic(self) -> float:
        """The current time in seconds."""
        with self._cond:
            return self._t

    def now(self) -> datetime:
        """``date`` (default 2025-01-01 UTC) plus the current time."""
        return self._date + timedelta(seconds=self.monotonic())

    def to_world(self, wall_seconds: float) -> float:
        """``wall_seconds`` itself: a manual clock has no relation to real time."""
        return wall_seconds

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
