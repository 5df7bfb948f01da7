"""A simulated robot's radio: :class:`Radio`, a link model wrapped around a transport.

A :class:`~fleet.agent.RobotAgent` talks through a :class:`~fleet.comms.Bus`, which works on
a :class:`~fleet.comms.Transport`. A simulated robot's Bus works on a :class:`Radio`: the
fleet's shared transport (a Zenoh session, or an in-memory network in unit tests) seen
through the robot's :class:`~sim.link.Link` (latency, jitter, loss), with coverage that
follows the body through the map's comms-dead zones. While the robot is out of coverage:

- nothing it publishes leaves, and nothing sent to it arrives (dropped, as on a real radio
  without a cell);
- its liveliness token is withdrawn, as a real robot's would vanish when its Zenoh
  session drops, and declared again when coverage returns;
- :meth:`Radio.reachable` answers False, so the agent keeps its results in its outbox and,
  back in coverage, announces itself again and flushes them (the protocol's reconnection
  rule).

Random loss applies to the messages the protocol makes safe to lose: ``state`` (periodic),
``inspection`` results and ``inspectionAck`` (resent until acknowledged, stored once).
Messages the protocol sends only once (``connection``, ``factsheet``, ``order``,
``instantActions``) are retransmitted after :data:`RETRANSMIT_S` instead, as the reliable
transport under Zenoh would, and hold up later messages meanwhile (ordered link).

Coverage changes are scheduled on the link's delay queue at the world times the body's
legs cross a zone's boundary, so the token goes and comes back when the robot crosses it,
not when it next publishes.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable
from functools import partial

from shapely.geometry import LineString, Point

from fleet.agent import Pose
from fleet.clock import Clock
from fleet.comms import Answer, Handle, Publisher, Transport
from fleet.comms.transport import KeyPublisher, QueryHandler, SampleCallback, TokenCallback
from fleet.errors import TransportError
from fleet.protocol.keys import Topic
from sim.body import Leg
from sim.link import Coverage, Direction, Link, Outcome

log = logging.getLogger(__name__)

DOWNLINK = frozenset({Topic.ORDER.value, Topic.INSTANT_ACTIONS.value,
                      Topic.INSPECTION_ACK.value})
"""Topics a robot receives."""

RELIABLE = frozenset({Topic.CONNECTION.value, Topic.FACTSHEET.value, Topic.ORDER.value,
                      Topic.INSTANT_ACTIONS.value})
"""Topics retransmitted rather than lost: the protocol sends them once."""

RETRANSMIT_S = 0.25
"""World seconds before a lost message of a :data:`RELIABLE` topic is sent again."""

MAX_TRIES = 20
"""Sends of one reliable message before it is given up (a link that bad is down)."""

REACH_CHECK_S = 0.25
"""Real seconds a shared transport's reachability is reused."""


def _topic(key: str) -> str:
    return key[key.rfind("/") + 1:]


class _Token:
    """A liveliness token that exists on the shared transport only while the link is up."""

    def __init__(self, radio: Radio, key: str) -> None:
        self.radio = radio
        self.key = key
        self.real: Handle | None = None
        self.withdrawn = False

    def set(self, present: bool) -> None:
        """Declare or undeclare the real token; caller holds the radio's lock."""
        if present and self.real is None and not self.withdrawn:
            self.real = self.radio.inner.declare_token(self.key)
        elif not present and self.real is not None:
            real, self.real = self.real, None
            if not self.radio.inner.closed:
                real.undeclare()

    def undeclare(self) -> None:
        """Withdraw the token for good (the agent stops), after the messages still in the
        air: a robot's ``OFFLINE`` reaches the manager before its token goes."""
        radio = self.radio
        after = radio.last_up_due
        if after is not None and not radio.cut_off and radio.link.connected:
            radio.link.queue.push(max(after, radio.clock.monotonic()) + radio.grace_s,
                                  self._withdraw)
        else:
            self._withdraw()

    def _withdraw(self) -> None:
        with self.radio.lock:
            self.set(False)
            self.withdrawn = True


class _Reach:
    """Whether a shared transport reaches a router, asked at most every
    :data:`REACH_CHECK_S` real seconds (the agents of a fleet ask on every tick)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._checked = -math.inf
        self._up = False

    def get(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= REACH_CHECK_S:
                self._up = self.inner.reachable()
                self._checked = now
            return self._up


_REACH: weakref.WeakKeyDictionary[Transport, _Reach] = weakref.WeakKeyDictionary()
_REACH_LOCK = threading.Lock()


def _reach(inner: Transport) -> _Reach:
    with _REACH_LOCK:
        reach = _REACH.get(inner)
        if reach is None:
            reach = _REACH[inner] = _Reach(inner)
        return reach


class Radio:
    """One simulated robot's transport: ``inner`` (shared, never closed here) seen through
    ``link``; ``grace_s`` (world seconds) is the pause between a clean stop's last message
    and the token's withdrawal. Give a :class:`~fleet.agent.RobotAgent` ``Bus(radio)``;
    hand :meth:`on_motion` to the body as its listener."""

    def __init__(self, inner: Transport, link: Link, clock: Clock, *,
                 grace_s: float = 0.0) -> None:
        self.inner = inner
        self.reach = _reach(inner)
        self.link = link
        self.clock = clock
        self.grace_s = grace_s
        """World seconds between the last message and the token's withdrawal on a clean
        stop (the transport does not order the two for a receiver; see
        fleet.agent.OFFLINE_GRACE)."""
        self.lock = threading.Lock()
        self.held: list[_Token] = []
        self.cut_off = False
        self.given_up = 0
        """Reliable messages abandoned after :data:`MAX_TRIES` sends."""
        self.sent = 0
        """Messages handed to the shared transport (after the link)."""
        self._generation = 0
        m = link.model
        self._perfect = m.latency_ms == 0 and m.jitter_ms == 0 and m.loss == 0
        self.last_up_due: float | None = None
        """World time the latest message sent is due to arrive (None before any)."""

    # ------------------------------------------------------------------ Transport
    @property
    def closed(self) -> bool:
        """Whether the shared transport is closed."""
        return self.inner.closed

    def close(self) -> None:
        """Nothing: the shared transport belongs to the fleet."""

    def reachable(self) -> bool:
        """In coverage, and the shared transport reaches a router."""
        return self.link.connected and not self.cut_off and self.reach.get()

    def publish(self, key: str, payload: bytes, *, attachment: bytes | None = None,
                json: bool = True) -> None:
        """Send ``payload`` over the link (silence when out of coverage or cut off); a
        simulated VDA 5050 robot sends JSON without attachments (both ignored here)."""
        if self.cut_off:
            return
        self._transmit(self.clock.monotonic(), lambda: self._up(key, payload), Direction.UP,
                       _topic(key) in RELIABLE)

    def publisher(self, key: str) -> Publisher:
        """Publishes through the link, as :meth:`publish`."""
        return KeyPublisher(self, key)

    def _up(self, key: str, payload: bytes) -> None:
        if self.cut_off or self.inner.closed:
            return
        try:
            self.inner.publish(key, payload)
        except TransportError as exc:
            log.warning("%s: publishing on %s failed: %s", self.link.robot, key, exc)
            return
        self.sent += 1

    def subscribe(self, key_expr: str, callback: SampleCallback, *,
                  remote_only: bool = False) -> Handle:
        """Samples for the robot cross the link before reaching ``callback``. The robot's
        own publications on the shared transport are never looped back to it."""
        return self.inner.subscribe(key_expr, self.downlink(callback), remote_only=True)

    def downlink(self, callback: SampleCallback) -> SampleCallback:
        """Wrap a callback so that what the robot receives crosses the link first."""
        def on_sample(key: str, payload: bytes) -> None:
            topic = _topic(key)
            if topic not in DOWNLINK or self.cut_off:
                return
            self._transmit(self.clock.monotonic(), lambda: self._down(callback, key, payload),
                           Direction.DOWN, topic in RELIABLE)
        return on_sample

    def _down(self, callback: SampleCallback, key: str, payload: bytes) -> None:
        if self.cut_off:
            return
        try:
            callback(key, payload)
        # the delay queue's thread serves every robot: one handler's bug must not stop it
        except Exception:
            log.exception("%s: handling %s failed", self.link.robot, key)

    def declare_token(self, key: str) -> Handle:
        """A token present on the shared transport while the robot is in coverage."""
        token = _Token(self, key)
        with self.lock:
            self.held.append(token)
            token.set(self.link.connected)
        return token

    def watch_tokens(self, key_expr: str, callback: TokenCallback, *,
                     history: bool = True) -> Handle:
        """The shared transport's (a robot watches no tokens; here for the contract)."""
        return self.inner.watch_tokens(key_expr, callback, history=history)

    def tokens(self, key_expr: str, *, timeout: float) -> list[str]:
        """The shared transport's, or none out of coverage."""
        return self.inner.tokens(key_expr, timeout=timeout) if self.reachable() else []

    def serve(self, key_expr: str, handler: QueryHandler, *, complete: bool = False) -> Handle:
        """The shared transport's (a robot serves no queries; here for the contract)."""
        return self.inner.serve(key_expr, handler, complete=complete)

    def query(self, key: str, payload: bytes | None, *, timeout: float,
              attachment: bytes | None = None, complete: bool = False,
              every: bool = False, json: bool = True) -> list[Answer]:
        """The shared transport's, or no answer out of coverage."""
        return self.inner.query(key, payload, timeout=timeout, attachment=attachment,
                                complete=complete, every=every,
                                json=json) if self.reachable() else []

    def _transmit(self, now: float, deliver: Callable[[], None], direction: Direction,
                  reliable: bool) -> None:
        if self._perfect:
            # nothing to delay or lose: deliver on the caller's thread, as a real session
            # would, rather than through the fleet's one queue thread
            if self.link.connected:
                deliver()
            return
        for attempt in range(MAX_TRIES if reliable else 1):
            fate = self.link.send(now + attempt * RETRANSMIT_S, deliver, direction)
            if fate.due is not None and direction is Direction.UP:
                self.last_up_due = fate.due
            if fate.outcome is not Outcome.LOST:
                return
        if reliable:
            self.given_up += 1

    # ------------------------------------------------------------------ coverage
    def on_motion(self, leg: Leg | None, pose: Pose, node: str | None) -> None:
        """The body started a leg or stopped: follow its coverage (a body listener)."""
        with self.lock:
            self._generation += 1
            generation = self._generation
        if leg is None:
            where: str | tuple[float, float] = node if node is not None else (pose.x, pose.y)
            self._cover(generation, where, pose.map_id)
            return
        stretches = _stretches(self.link.coverage, leg)
        first = True
        for f0, f1, _covered in stretches:
            mid = (f0 + f1) / 2
            x = leg.x0 + (leg.x1 - leg.x0) * mid
            y = leg.y0 + (leg.y1 - leg.y0) * mid
            level = leg.level0 if mid < 0.5 else leg.level1
            if first:
                self._cover(generation, (x, y), level)
                first = False
            else:
                at = leg.t0 + (f0 - leg.f0) / (leg.f1 - leg.f0) * (leg.t1 - leg.t0)
                self.link.queue.push(at, partial(self._cover, generation, (x, y), level))

    def _cover(self, generation: int, where: str | tuple[float, float], level: str) -> None:
        with self.lock:
            if generation != self._generation or self.cut_off:
                return
            before = self.link.connected
            after = self.link.update(where, level if not isinstance(where, str) else None)
            if after != before:
                log.info("%s: %s coverage", self.link.robot, "back in" if after else "out of")
                for token in self.held:
                    token.set(after)

    def cut(self) -> None:
        """The robot is dead: nothing goes in or out again, its token disappears now."""
        with self.lock:
            self.cut_off = True
            self.link.set_down(True)
            for token in self.held:
                token.set(False)
                token.withdrawn = True


def _stretches(coverage: Coverage, leg: Leg) -> list[tuple[float, float, bool]]:
    """The leg's fractions of its edge cut where coverage changes: ``(from, to, covered)``."""
    spans = _dead_spans(coverage, leg.x0, leg.y0, leg.x1, leg.y1, leg.level0, leg.level1)
    cuts = sorted({leg.f0, leg.f1, *(f for s in spans for f in s if leg.f0 < f < leg.f1)})
    out: list[tuple[float, float, bool]] = []
    for a, b in itertools.pairwise(cuts):
        mid = (a + b) / 2
        covered = not any(s0 <= mid <= s1 for s0, s1 in spans)
        if out and out[-1][2] == covered:
            out[-1] = (out[-1][0], b, covered)
        else:
            out.append((a, b, covered))
    return out or [(leg.f0, leg.f1, True)]


Spans = tuple[tuple[float, float], ...]
_SPANS: weakref.WeakKeyDictionary[Coverage, dict[tuple[float, float, float, float, str], Spans]] \
    = weakref.WeakKeyDictionary()
"""Dead spans of segments already seen, per coverage (robots drive the same edges)."""


def _dead_spans_of(coverage: Coverage, x0: float, y0: float, x1: float, y1: float,
                   level: str) -> tuple[tuple[float, float], ...]:
    line = LineString([(x0, y0), (x1, y1)])
    if line.length == 0:
        return ((0.0, 1.0),) if not coverage.covered((x0, y0), level) else ()
    spans: list[tuple[float, float]] = []
    for zone in coverage.dead_zones(level):
        inter = zone.polygon.intersection(line)
        for piece in getattr(inter, "geoms", [inter]):
            if piece.is_empty or piece.geom_type != "LineString":
                continue  # a corner touched: no stretch to speak of
            fs = [line.project(Point(c), normalized=True) for c in piece.coords]
            spans.append((min(fs), max(fs)))
    spans.sort()
    merged: list[tuple[float, float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return tuple(merged)


def _dead_spans(coverage: Coverage, x0: float, y0: float, x1: float, y1: float,
                level0: str, level1: str) -> tuple[tuple[float, float], ...]:
    """Fractions of the segment inside comms-dead zones (a level link has none: shafts and
    ramps carry a leaky feeder)."""
    if level0 != level1:
        return ()
    cache = _SPANS.setdefault(coverage, {})
    key = (x0, y0, x1, y1, level0)
    spans = cache.get(key)
    if spans is None:
        spans = cache[key] = _dead_spans_of(coverage, x0, y0, x1, y1, level0)
    return spans
