"""Agents on the in-memory network, a scriptable test body, and a manager-side recorder.

Every agent test runs on :class:`~fleet.comms.MemoryNetwork` (one transport per party) and
synchronises without sleeping: the recorder and the body each have a condition that is
notified on every message or call, and :meth:`Recorder.wait_for` / :meth:`FakeBody.wait_for`
block on it; :meth:`MemoryNetwork.drain` returns once everything published has been handled.

Time: a test of behaviour runs the agent on real time (its states flow as they would on a
robot), while its body's moves and inspections last *body clock* seconds on a
:class:`ManualClock` of the body's own, so the test decides when a move ends. A test of
timing (state interval, resends) runs the agent on a ManualClock too, with a
:class:`Ticker` the test owns: :meth:`ManualTime.advance` moves the clock, waits until the
ticker has run everything due by then, and lets the network deliver what it published.

Only tests/agent/test_on_zenoh.py uses a real Zenoh router (see there).

The recorder keeps the raw payloads of everything a robot publishes; each one is checked
against the topic's schema with the reference validator (jsonschema, the official VDA 5050
schemas and ours) and decoded, so every test also checks that all the agent publishes is
valid.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from fleet.agent import (
    AgentConfig,
    Capabilities,
    InspectionFailed,
    MoveFailed,
    MoveTarget,
    Pose,
    RobotAgent,
    Ticker,
)
from fleet.clock import ManualClock
from fleet.comms import Bus, MemoryNetwork
from fleet.protocol.codec import decode
from fleet.protocol.header import Header, parse_timestamp
from fleet.protocol.inspection import (
    Finding,
    InspectionResult,
    InspectParams,
    Reading,
    Severity,
    inspect_action,
)
from fleet.protocol.keys import ALIVE, Topic, parse_key, subscription_key, topic_key
from fleet.protocol.order import NodePosition, Order, RouteLeg, RouteStop, route_order
from fleet.protocol.state import ActionStatus, ConnectionState, State
from fleet.protocol.validation import reference_validator

MAP = "L1"
TIMEOUT = 5.0
"""Real seconds a test waits for something that should follow at once."""


# -- the body ------------------------------------------------------------------------------

@dataclass
class FakeBody:
    """A robot that drives each edge in ``move_s`` and inspects in the action's duration,
    both in seconds of its own manual ``clock`` (0: at once), then jumps onto the node.

    ``blocked`` node ids raise MoveFailed, ``broken`` inspection points InspectionFailed.
    ``moves`` lists every move_to call's node id (recorded on entry), ``arrivals`` the nodes
    reached, ``inspections`` the points inspected (on entry). :meth:`wait_for` blocks until
    a predicate on them holds, woken by each call.
    """

    pose: Pose = field(default_factory=lambda: Pose(0.0, 0.0, 0.0, MAP))
    move_s: float = 0.0
    clock: ManualClock = field(default_factory=ManualClock)
    blocked: set[str] = field(default_factory=set)
    broken: set[str] = field(default_factory=set)
    moves: list[str] = field(default_factory=list)
    arrivals: list[str] = field(default_factory=list)
    inspections: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def _record(self, into: list[str], item: str) -> None:
        with self.changed:
            into.append(item)
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
        """Block until ``predicate()`` holds (re-checked on every call the body records)."""
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def position(self) -> Pose:
        with self.changed:
            return self.pose

    def battery(self) -> tuple[float, bool]:
        return 87.5, False

    def move_to(self, target: MoveTarget, cancel: threading.Event) -> bool:
        seconds = self.move_s if target.edge_id is not None else 0.0
        deadline = self.clock.monotonic() + seconds
        self._record(self.moves, target.node_id)
        if target.node_id in self.blocked:
            raise MoveFailed("path blocked by a rock fall")
        if seconds and self.clock.wait(cancel, deadline - self.clock.monotonic()):
            return False
        assert target.x is not None and target.y is not None and target.map_id is not None
        with self.changed:
            self.pose = Pose(target.x, target.y, 0.0, target.map_id)
        self._record(self.arrivals, target.node_id)
        return True

    def inspect(self, point_id: str, sensors: Sequence[str], duration_s: float,
                cancel: threading.Event) -> tuple[list[Reading], list[Finding]]:
        deadline = self.clock.monotonic() + duration_s
        self._record(self.inspections, point_id)
        if point_id in self.broken:
            raise InspectionFailed("sensor h2s unavailable")
        if duration_s:
            self.clock.wait(cancel, deadline - self.clock.monotonic())
        readings = [Reading(s, 0.8, "%vol") for s in sensors]
        return readings, [Finding("gasLeak", Severity.WARNING, "CH4 above 0.5 %vol", 0.9)]


# -- orders --------------------------------------------------------------------------------

def route(count: int = 5, *, inspect_at: Sequence[int] = (1,), duration: float = 0.0,
          sensors: tuple[str, ...] = ("ch4", "o2")) -> tuple[list[RouteStop], list[RouteLeg]]:
    """Stops n0..n{count-1} one metre apart on the x axis, with inspections where asked."""
    stops = []
    for i in range(count):
        actions = ()
        if i in inspect_at:
            actions = (inspect_action(f"inspect-{i}", InspectParams(f"ip{i}", sensors,
                                                                     duration)),)
        stops.append(RouteStop(f"n{i}", NodePosition(float(i), 0.0, MAP, 0.0), actions))
    legs = [RouteLeg(f"e{i}", length=1.0, max_speed=1.0) for i in range(count - 1)]
    return stops, legs


def order(serial: str, order_id: str = "o1", *, base_end: int = 2, start: int = 0,
          update: int = 0, count: int = 5, **options: Any) -> Order:
    """An order (update) over :func:`route` for robot acme/``serial``."""
    stops, legs = route(count, **options)
    return route_order(Header("acme", serial), order_id, stops, legs, base_end=base_end,
                       start=start, order_update_id=update)


# -- the manager's side --------------------------------------------------------------------

class Recorder:
    """Everything one robot publishes, validated, plus its liveliness token's comings and
    goings; :meth:`send` publishes manager-to-robot messages to it, :meth:`wait_for` waits
    for what it records. Works on any Bus (the memory network, or Zenoh)."""

    def __init__(self, bus: Bus, serial: str, net: MemoryNetwork | None = None) -> None:
        self.bus, self.serial, self.net = bus, serial, net
        self.messages: list[tuple[str, Any]] = []
        self.raw: list[tuple[str, dict[str, Any]]] = []
        self.invalid: list[str] = []
        self.presence: list[bool] = []
        self.timeline: list[str] = []  # connection states and token changes, as received
        self._changed = threading.Condition(threading.RLock())
        key = subscription_key("uagv", manufacturer="acme", serial=serial)
        self._subscriber = bus.subscribe_raw(key, self._on_sample)
        bus.watch_alive(topic_key("uagv", "acme", serial, ALIVE), self._on_alive)

    def _on_alive(self, _key: object, present: bool) -> None:
        with self._changed:
            self.presence.append(present)
            self.timeline.append("token" if present else "no token")
            self._changed.notify_all()

    def _on_sample(self, key: str, payload: bytes) -> None:
        topic = parse_key(key).topic
        if topic in (Topic.ORDER, Topic.INSTANT_ACTIONS, Topic.INSPECTION_ACK):
            return
        obj = json.loads(payload)
        errors = [e.message for e in reference_validator(topic).iter_errors(obj)]
        if topic == Topic.FACTSHEET:
            errors += [e.message for e in reference_validator("factsheetInspection")
                       .iter_errors(obj.get("inspection"))]
        message = decode(topic, payload)
        with self._changed:
            if errors:
                self.invalid.append(f"{topic}: {errors}")
            self.raw.append((topic, obj))
            self.messages.append((topic, message))
            if topic == Topic.CONNECTION:
                self.timeline.append(obj["connectionState"])
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
        """Block until ``predicate()`` holds, re-checked whenever something is recorded;
        its last value after ``timeout`` real seconds."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def drain(self) -> None:
        """On the memory network: return once everything published so far is handled."""
        if self.net is not None:
            self.net.drain()

    def of(self, topic: Topic) -> list[Any]:
        with self._changed:
            return [m for t, m in self.messages if t == topic]

    def states(self) -> list[State]:
        return self.of(Topic.STATE)

    def state(self) -> State:
        states = self.states()
        assert states, "no state received"
        return states[-1]

    def results(self) -> list[InspectionResult]:
        return self.of(Topic.INSPECTION)

    def times(self, topic: Topic) -> list[float]:
        """When each message of ``topic`` was sent, in seconds of an agent's manual clock
        (read from the header timestamps)."""
        origin = ManualClock().now()
        return [(parse_timestamp(m.header.timestamp) - origin).total_seconds()
                for m in self.of(topic)]

    def connections(self) -> list[ConnectionState]:
        return [c.state for c in self.of(Topic.CONNECTION)]

    def statuses(self, action_id: str) -> list[ActionStatus]:
        """The successive distinct statuses of ``action_id`` across the states received."""
        out: list[ActionStatus] = []
        for state in self.states():
            found = state.action_state(action_id)
            if found is not None and (not out or out[-1] is not found.status):
                out.append(found.status)
        return out

    def send(self, message: Any) -> None:
        self.bus.publish(topic_key("uagv", "acme", self.serial, message.TOPIC), message)

    def wait_state(self, predicate: Callable[[State], bool], timeout: float = TIMEOUT) -> State:
        """The latest state once one satisfies ``predicate``."""
        assert self.wait_for(lambda: bool(self.states()) and predicate(self.state()), timeout), (
            f"no such state; last: {self.states()[-1] if self.states() else None}")
        return self.state()

    def check_valid(self) -> None:
        assert not self.invalid, self.invalid


@dataclass
class ManualTime:
    """The manual clock of agents under a timing test, their shared ticker, the network."""

    clock: ManualClock
    ticker: Ticker
    net: MemoryNetwork

    def advance(self, seconds: float, *, step: float | None = None) -> None:
        """Move the clock forward ``seconds`` (by ``step`` at a time), each time waiting
        until the ticker has run every callback due by then and the network has delivered
        what they published."""
        step = seconds if step is None else step
        target = self.clock.monotonic() + seconds
        while self.clock.monotonic() < target:
            due = min(self.clock.monotonic() + step, target)
            reached = threading.Event()
            # queued after every tick already due at `due`: the ticker runs them in order
            self.ticker.add(lambda _now, reached=reached: reached.set(), due)
            self.clock.advance_to(due)
            assert reached.wait(TIMEOUT), f"the ticker did not reach {due}"
            self.net.drain()


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture
def net() -> Iterator[MemoryNetwork]:
    """The network of one test."""
    network = MemoryNetwork()
    yield network
    network.close()


@pytest.fixture
def manager(net: MemoryNetwork) -> Iterator[Bus]:
    """The manager's bus."""
    with Bus(net.transport()) as bus:
        yield bus


@pytest.fixture
def manual(net: MemoryNetwork) -> Iterator[ManualTime]:
    """A manual clock and a ticker on it, for agents launched with ``clock=manual.clock``."""
    clock = ManualClock()
    with Ticker(clock) as ticker:
        yield ManualTime(clock, ticker, net)


Launch = Callable[..., tuple[RobotAgent, FakeBody, Recorder]]

AGENT_SETTINGS: dict[str, Any] = {"state_interval": 0.5, "resend_after": 0.25,
                                  "resend_max": 0.5, "min_state_interval": 0.03125}
"""Real-time agents: frequent states, quick resends, changes batched over ~30 ms."""

MANUAL_SETTINGS: dict[str, Any] = {"state_interval": 1.0, "resend_after": 1.0,
                                   "resend_max": 2.0, "min_state_interval": 0.125}
"""Agents on a manual clock: intervals that add up exactly in binary floating point."""


@pytest.fixture
def launch(net: MemoryNetwork, manager: Bus, manual: ManualTime) -> Iterator[Launch]:
    """Starts an agent for serial ``serial`` on its own memory transport, with a recorder
    watching it; ``manual=True`` puts it on the ``manual`` clock and ticker. Stops them after."""
    agents: list[RobotAgent] = []
    buses: list[Bus] = []

    def _launch(serial: str = "r1", *, body: FakeBody | None = None,
                capabilities: Capabilities | None = None, bus: Bus | None = None,
                manual_clock: bool = False, ticker: Ticker | None = None,
                **config: Any) -> tuple[RobotAgent, FakeBody, Recorder]:
        body = body if body is not None else FakeBody()
        recorder = Recorder(manager, serial, net)
        settings = (MANUAL_SETTINGS if manual_clock else AGENT_SETTINGS) | config
        cfg = AgentConfig("acme", serial, capabilities or Capabilities(("ch4", "o2", "co")),
                          **settings)
        if bus is None:
            bus = Bus(net.transport())
            buses.append(bus)
        if manual_clock:
            ticker = manual.ticker
        agent = RobotAgent(cfg, body, bus=bus, ticker=ticker)
        agent.start()
        agents.append(agent)
        assert recorder.wait_for(lambda: bool(recorder.states()))
        return agent, body, recorder

    yield _launch
    for agent in agents:
        agent.stop(grace=0)  # the memory network delivers in order: no grace needed
    for bus in buses:
        bus.close()

