"""A simulated robot's radio: :class:`Radio`, the Bus its agent talks through.

A :class:`~fleet.agent.RobotAgent` publishes and subscribes through a
:class:`~fleet.comms.Bus`. A simulated robot's agent is given a :class:`Radio` instead: a
Bus over the fleet's shared session whose every message crosses the robot's
:class:`~sim.link.Link` (latency, jitter, loss) and whose coverage follows the body through
the map's comms-dead zones. While the robot is out of coverage:

- nothing it publishes leaves, and nothing sent to it arrives (dropped, as on a real radio
  without a cell);
- its liveliness token is withdrawn, as a real robot's would vanish when its Zenoh
  session drops, and declared again when coverage returns;
- the agent's link check (``session.info.routers_zid()``) answers "no router", so the
  agent keeps its results in its outbox and, back in coverage, announces itself again and
  flushes them (the protocol's reconnection rule).

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
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import zenoh
from shapely.geometry import LineString, Point

from fleet.agent import Pose
from fleet.comms import Bus
from fleet.errors import ProtocolError
from fleet.protocol.codec import encode
from fleet.protocol.header import Message
from fleet.protocol.keys import Topic, parse_key
from sim.body import Leg
from sim.clock import WorldClock
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
"""Real seconds a shared session's router check is reused."""


@dataclass(frozen=True, slots=True)
class _Payload:
    data: bytes

    def to_bytes(self) -> bytes:
        return self.data


@dataclass(frozen=True, slots=True)
class _Sample:
    """What the agent reads of a delivered sample (copied: delivery may come later)."""

    key_expr: str
    kind: zenoh.SampleKind
    payload: _Payload


class _Token:
    """A liveliness token that exists on the real session only while the link is up."""

    def __init__(self, radio: Radio, key: str) -> None:
        self.radio = radio
        self.key = key
        self.real: Any = None
        self.withdrawn = False

    def set(self, present: bool) -> None:
        """Declare or undeclare the real token; caller holds the radio's lock."""
        if present and self.real is None and not self.withdrawn:
            self.real = self.radio.bus.session.liveliness().declare_token(self.key)
        elif not present and self.real is not None:
            real, self.real = self.real, None
            if not self.radio.bus.closed:
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


class _Liveliness:
    def __init__(self, radio: Radio) -> None:
        self.radio = radio

    def declare_token(self, key: str) -> _Token:
        token = _Token(self.radio, key)
        with self.radio.lock:
            self.radio.tokens.append(token)
            token.set(self.radio.link.connected)
        return token


class _Reach:
    """Whether a shared session reaches a router, asked of Zenoh at most every
    :data:`REACH_CHECK_S` real seconds (the agents of a fleet ask on every tick)."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._lock = threading.Lock()
        self._checked = -math.inf
        self._routers: list[Any] = []
        self._peers: list[Any] = []

    def get(self) -> tuple[list[Any], list[Any]]:
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= REACH_CHECK_S:
                info = self.bus.session.info
                try:
                    self._routers, self._peers = list(info.routers_zid()), list(info.peers_zid())
                except zenoh.ZError:
                    self._routers, self._peers = [], []
                self._checked = now
            return self._routers, self._peers


_REACH: weakref.WeakKeyDictionary[Bus, _Reach] = weakref.WeakKeyDictionary()
_REACH_LOCK = threading.Lock()


def _reach(bus: Bus) -> _Reach:
    with _REACH_LOCK:
        reach = _REACH.get(bus)
        if reach is None:
            reach = _REACH[bus] = _Reach(bus)
        return reach


class _Info:
    def __init__(self, radio: Radio) -> None:
        self.radio = radio

    def routers_zid(self) -> list[Any]:
        if not self.radio.link.connected:
            return []
        return self.radio.reach.get()[0]

    def peers_zid(self) -> list[Any]:
        if not self.radio.link.connected:
            return []
        return self.radio.reach.get()[1]


class _Session:
    """The part of a zenoh.Session a robot agent uses, seen through the radio."""

    def __init__(self, radio: Radio) -> None:
        self.radio = radio
        self.info = _Info(radio)

    def declare_subscriber(self, key_expr: str, handler: Callable[[Any], None]) -> Any:
        # REMOTE: the robot's own publications on the shared session (its state under the
        # same key prefix) are not looped back to it
        return self.radio.bus.session.declare_subscriber(
            key_expr, self.radio.downlink(handler), allowed_origin=zenoh.Locality.REMOTE)

    def liveliness(self) -> _Liveliness:
        return _Liveliness(self.radio)

    def is_closed(self) -> bool:
        return bool(self.radio.bus.closed)


class Radio(Bus):
    """The Bus of one simulated robot: ``bus`` (shared, never closed here) seen through
    ``link``; ``grace_s`` (world seconds) is the pause between a clean stop's last message
    and the token's withdrawal. Pass it as a :class:`~fleet.agent.RobotAgent`'s ``bus``; hand
    :meth:`on_motion` to the body as its listener."""

    def __init__(self, bus: Bus, link: Link, clock: WorldClock, *, grace_s: float = 0.0,
                 check_states: bool = True) -> None:
        # The agent reaches the session as bus.session; this view is duck-typed to the
        # few Session methods it calls (subscriber, liveliness token, info).
        super().__init__(cast(zenoh.Session, _Session(self)))
        self.bus = bus
        self.reach = _reach(bus)
        self.link = link
        self.clock = clock
        self.check_states = check_states
        """Check every state against the schema before it leaves, as Bus.publish does (a
        load generator may skip it: the manager checks what it receives anyway)."""
        self.grace_s = grace_s
        """World seconds between the last message and the token's withdrawal on a clean
        stop (Zenoh does not order the two for a receiver; see fleet.agent.OFFLINE_GRACE)."""
        self.lock = threading.Lock()
        self.tokens: list[_Token] = []
        self.cut_off = False
        self.given_up = 0
        self.sent = 0
        """Messages handed to the session (after the link)."""
        """Reliable messages abandoned after :data:`MAX_TRIES` sends."""
        self._generation = 0
        m = link.model
        self._perfect = m.latency_ms == 0 and m.jitter_ms == 0 and m.loss == 0
        self.last_up_due: float | None = None
        """World time the latest message sent is due to arrive (None before any)."""

    # ------------------------------------------------------------------ Bus
    @property
    def closed(self) -> bool:
        """Whether the shared session is closed."""
        return bool(self.bus.closed)

    def close(self) -> None:
        """Nothing: the shared session belongs to the fleet."""

    def publish(self, key: str, message: Message) -> None:
        """Send ``message`` over the link; ProtocolError at once for a bad key or message
        (as :meth:`Bus.publish`), silence when out of coverage."""
        if parse_key(key).topic != message.TOPIC:
            raise ProtocolError(f"a {message.TOPIC} message cannot be published on {key!r}")
        # invalid messages fail here, in the agent's thread (states too, unless told not to)
        payload = encode(message, check=self.check_states or message.TOPIC is not Topic.STATE)
        if self.cut_off:
            return
        topic = message.TOPIC.value
        self._transmit(self.clock.monotonic(), lambda: self._up(key, payload), Direction.UP,
                       topic in RELIABLE)

    def _up(self, key: str, payload: bytes) -> None:
        if self.cut_off or self.bus.closed:
            return
        try:
            self.bus.publish_raw(key, payload)
        except zenoh.ZError as exc:
            log.warning("%s: publishing on %s failed: %s", self.link.robot, key, exc)
            return
        self.sent += 1

    def downlink(self, handler: Callable[[Any], None]) -> Callable[[zenoh.Sample], None]:
        """Wrap a subscriber callback so that samples cross the link before reaching it."""
        def on_sample(sample: zenoh.Sample) -> None:
            key = str(sample.key_expr)
            topic = key[key.rfind("/") + 1:]
            if topic not in DOWNLINK or sample.kind != zenoh.SampleKind.PUT or self.cut_off:
                return
            copy = _Sample(key, sample.kind, _Payload(sample.payload.to_bytes()))
            self._transmit(self.clock.monotonic(), lambda: self._down(handler, copy),
                           Direction.DOWN, topic in RELIABLE)
        return on_sample

    def _down(self, handler: Callable[[Any], None], sample: _Sample) -> None:
        if self.cut_off:
            return
        try:
            handler(sample)
        # the delay queue's thread serves every robot: one handler's bug must not stop it
        except Exception:
            log.exception("%s: handling %s failed", self.link.robot, sample.key_expr)

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
                for token in self.tokens:
                    token.set(after)

    def cut(self) -> None:
        """The robot is dead: nothing goes in or out again, its token disappears now."""
        with self.lock:
            self.cut_off = True
            self.link.set_down(True)
            for token in self.tokens:
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
