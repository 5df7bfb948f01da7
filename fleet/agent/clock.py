"""Time as the robot agent sees it: a :class:`Clock` that a simulator may run faster.

Every duration inside :mod:`fleet.agent` (the state interval, the resend back-off of
inspection results, the worker's idle waits) is measured on the agent's clock, never on the
wall clock directly. A real robot uses :class:`SystemClock`; the simulator passes one
:class:`ScaledClock` (``--speed X``) to all its agents and bodies so that one simulated
second lasts ``1/X`` real seconds everywhere at once.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the agent needs from time. Implementations must be thread-safe."""

    def monotonic(self) -> float:
        """Seconds on this clock since an arbitrary origin; never goes backwards."""
        ...

    def now(self) -> datetime:
        """The current time, timezone-aware UTC (header timestamps)."""
        ...

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        """Block until ``event`` is set or ``seconds`` of this clock pass (None: no limit).

        Returns True when the event is set, as ``threading.Event.wait`` does.
        """
        ...


class SystemClock:
    """Real time: ``time.monotonic`` and the system's UTC wall clock."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        """``event.wait(seconds)`` (negative durations wait not at all)."""
        return event.wait(None if seconds is None else max(0.0, seconds))


class ScaledClock:
    """Time running ``speed`` times faster than real time, from ``start`` (default now).

    ``monotonic()`` starts at 0 and advances ``speed`` seconds per real second; ``now()``
    is ``start`` plus that. Waits last ``seconds / speed`` real seconds.
    """

    def __init__(self, speed: float, *, start: datetime | None = None) -> None:
        if isinstance(speed, bool) or not isinstance(speed, int | float) \
                or not math.isfinite(speed) or speed <= 0:
            raise ValueError(f"speed must be a finite number > 0, got {speed!r}")
        self.speed = float(speed)
        self._real_origin = time.monotonic()
        start = start if start is not None else datetime.now(UTC)
        self._start = start if start.tzinfo is not None else start.replace(tzinfo=UTC)

    def monotonic(self) -> float:
        """Scaled seconds since this clock was made."""
        return (time.monotonic() - self._real_origin) * self.speed

    def now(self) -> datetime:
        """``start`` plus the scaled seconds elapsed."""
        return self._start + timedelta(seconds=self.monotonic())

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        """Wait ``seconds / speed`` real seconds for ``event``."""
        return event.wait(None if seconds is None else max(0.0, seconds) / self.speed)
