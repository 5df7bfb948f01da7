"""The 5G link between one simulated robot and the manager: latency, jitter, loss, dead zones.

``tc netem`` is not available here, so the simulator models the radio in its own link layer:
every message a simulated robot sends (``UP``) or receives (``DOWN``) goes through its
:class:`Link`, which drops it, or schedules its delivery after a delay on a
:class:`DelayQueue`. Inside the map's ``comms_dead`` zones the robot is offline and every
message is dropped; the agent above buffers its results and flushes them on reconnection.

Times are world seconds (see :mod:`fleet.clock`); the model's parameters are milliseconds.
Draws come from per-robot, per-direction generators seeded from (seed, serial, direction),
so a run's drops and delays do not depend on how threads of different robots interleave.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from shapely.geometry import Point

from fleet.clock import Clock
from fleet.facility.model import Facility, Zone, ZoneKind


def derive_seed(*parts: object) -> int:
    """A 64-bit seed from ``parts`` that is the same in every process (``hash()`` of a str
    is salted per process, so it cannot be used)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class LinkModel:
    """Radio quality, the same for every robot of a scenario.

    A delivered message arrives after ``latency_ms ± jitter_ms`` (uniform, never below 0);
    each message is lost independently with probability ``loss`` (0 ≤ loss ≤ 1).
    """

    latency_ms: float = 30.0
    jitter_ms: float = 10.0
    loss: float = 0.0

    def __post_init__(self) -> None:
        for key in ("latency_ms", "jitter_ms"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or value < 0:
                raise ValueError(f"{key} must be a number ≥ 0, got {value!r}")
        if isinstance(self.loss, bool) or not isinstance(self.loss, int | float) \
                or not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss must be a probability between 0 and 1, got {self.loss!r}")

    def draw(self, rng: random.Random) -> float | None:
        """One message's fate: its delay in seconds, or None when it is lost.

        Always consumes exactly two draws, so the sequence of fates does not shift when
        ``loss`` changes.
        """
        lost = rng.random() < self.loss
        spread = rng.uniform(-self.jitter_ms, self.jitter_ms)
        if lost:
            return None
        return max(0.0, self.latency_ms + spread) / 1000.0


class Direction(StrEnum):
    """Which way a message travels."""

    UP = "up"
    """Robot to manager: state, connection, results."""
    DOWN = "down"
    """Manager to robot: orders, instant actions, acknowledgements."""


class Outcome(StrEnum):
    """What happened to one sent message."""

    SCHEDULED = "scheduled"
    """It will be delivered at :attr:`Delivery.due`."""
    LOST = "lost"
    """The radio lost it (random loss)."""
    OFFLINE = "offline"
    """The robot had no coverage (inside a comms-dead zone, or marked down)."""


@dataclass(frozen=True)
class Delivery:
    """The fate of one message; ``due`` (world seconds) is set when it was scheduled."""

    outcome: Outcome
    due: float | None = None

    @property
    def delivered(self) -> bool:
        """Whether the message will arrive."""
        return self.outcome is Outcome.SCHEDULED


@dataclass(order=True)
class _Item:
    due: float
    seq: int
    fn: Callable[[], None] = field(compare=False)


class DelayQueue:
    """Callables due at world times, run in due order (ties: in push order).

    Drain it from the caller's own tick with :meth:`run_due`, or let one thread do it with
    :meth:`start` / :meth:`close`. Callables run outside the queue's lock and may push more.
    An exception raised by one propagates to whoever drains the queue.
    """

    def __init__(self) -> None:
        self._heap: list[_Item] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._heap)

    def push(self, due: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` when world time reaches ``due``."""
        with self._lock:
            heapq.heappush(self._heap, _Item(due, next(self._seq), fn))
        self._wake.set()

    def next_due(self) -> float | None:
        """The earliest due time waiting, or None when empty."""
        with self._lock:
            return self._heap[0].due if self._heap else None

    def pop_due(self, now: float) -> list[Callable[[], None]]:
        """Remove and return, in order, every callable due at or before ``now``."""
        out: list[Callable[[], None]] = []
        with self._lock:
            while self._heap and self._heap[0].due <= now:
                out.append(heapq.heappop(self._heap).fn)
        return out

    def run_due(self, now: float) -> int:
        """Run every callable due at or before ``now``; how many ran."""
        fns = self.pop_due(now)
        for fn in fns:
            fn()
        return len(fns)

    def serve(self, clock: Clock) -> None:
        """Run callables as they fall due on ``clock`` until :meth:`close` (blocks)."""
        while not self._closed:
            # cleared before looking, so a push made after the look still wakes the wait
            self._wake.clear()
            self.run_due(clock.monotonic())
            nxt = self.next_due()
            if self._closed:
                break
            clock.wait(self._wake, None if nxt is None else nxt - clock.monotonic())

    def start(self, clock: Clock, *, name: str = "link-delay") -> None:
        """Serve the queue from a daemon thread."""
        if self._thread is not None:
            raise RuntimeError("delay queue already started")
        self._thread = threading.Thread(target=self.serve, args=(clock,), name=name,
                                        daemon=True)
        self._thread.start()

    def close(self, timeout: float | None = 5.0) -> None:
        """Stop serving (pending callables are dropped) and join the thread if any."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)


class Coverage:
    """Where a facility has 5G coverage: everywhere but its ``comms_dead`` zones."""

    def __init__(self, facility: Facility) -> None:
        self.facility = facility
        self._dead: dict[str, list[Zone]] = {}
        for z in facility.zones:
            if z.kind is ZoneKind.COMMS_DEAD:
                self._dead.setdefault(z.level, []).append(z)
        self._node_cache: dict[str, bool] = {}

    def dead_zones(self, level: str | None = None) -> list[Zone]:
        """The comms-dead zones (of one level when given)."""
        if level is not None:
            return list(self._dead.get(level, ()))
        return [z for zs in self._dead.values() for z in zs]

    def covered(self, where: str | tuple[float, float], level: str | None = None) -> bool:
        """Whether a node (by id) or an ``(x, y)`` point on ``level`` has coverage.

        A zone's boundary counts as inside it. A point needs its level; a node id unknown to
        the facility raises ``KeyError``.
        """
        if isinstance(where, str):
            hit = self._node_cache.get(where)
            if hit is None:
                hit = not any(z.kind is ZoneKind.COMMS_DEAD
                              for z in self.facility.zones_at(where))
                self._node_cache[where] = hit
            return hit
        if level is None:
            raise ValueError("a position needs its level to test coverage")
        p = Point(float(where[0]), float(where[1]))
        return not any(z.polygon.intersects(p) for z in self._dead.get(level, ()))


class Link:
    """One robot's radio link: coverage at its position plus the :class:`LinkModel`.

    The simulated robot calls :meth:`update` whenever it moves (or :meth:`set_down` for a
    fault) and :meth:`send` for every message in either direction; a scheduled message's
    callable runs on ``queue`` at its due time. ``ordered`` links (default, like one TCP or
    QUIC session) never let a message overtake an earlier one in the same direction.
    """

    def __init__(self, model: LinkModel, coverage: Coverage | Facility, *, seed: int,
                 robot: str, queue: DelayQueue | None = None, ordered: bool = True) -> None:
        self.model = model
        self.coverage = coverage if isinstance(coverage, Coverage) else Coverage(coverage)
        self.robot = robot
        self.queue = queue if queue is not None else DelayQueue()
        self.ordered = ordered
        self._rng = {d: random.Random(derive_seed(seed, "link", robot, d.value))
                     for d in Direction}
        self._last_due = dict.fromkeys(Direction, -math.inf)
        self._lock = threading.Lock()
        self._in_coverage = True
        self._forced_down = False
        self.counts: dict[Outcome, int] = dict.fromkeys(Outcome, 0)

    def online(self, where: str | tuple[float, float], level: str | None = None) -> bool:
        """Whether the robot would be online at a node or ``(x, y)`` point on ``level``
        (ignores :meth:`set_down`; does not change the link's state)."""
        return self.coverage.covered(where, level)

    def update(self, where: str | tuple[float, float], level: str | None = None) -> bool:
        """Record the robot's position; whether it is now connected."""
        covered = self.coverage.covered(where, level)
        with self._lock:
            self._in_coverage = covered
        return self.connected

    def set_down(self, down: bool) -> None:
        """Force the link down (a fault) or release it."""
        with self._lock:
            self._forced_down = down

    @property
    def connected(self) -> bool:
        """Whether messages can currently pass."""
        with self._lock:
            return self._in_coverage and not self._forced_down

    def send(self, now: float, deliver: Callable[[], None],
             direction: Direction = Direction.UP) -> Delivery:
        """Offer one message at world time ``now``; ``deliver`` runs on arrival, if ever.

        Offline: dropped (:attr:`Outcome.OFFLINE`) without consuming a random draw, so the
        draws of later messages do not depend on how long the robot stayed in a dead zone.
        """
        with self._lock:
            if not (self._in_coverage and not self._forced_down):
                self.counts[Outcome.OFFLINE] += 1
                return Delivery(Outcome.OFFLINE)
            delay = self.model.draw(self._rng[direction])
            if delay is None:
                self.counts[Outcome.LOST] += 1
                return Delivery(Outcome.LOST)
            due = now + delay
            if self.ordered:
                due = max(due, self._last_due[direction])
                self._last_due[direction] = due
            self.counts[Outcome.SCHEDULED] += 1
        self.queue.push(due, deliver)
        return Delivery(Outcome.SCHEDULED, due)
