"""Agents on real Zenoh over loopback, a scriptable test body, and a manager-side recorder.

The recorder subscribes to everything a robot publishes and keeps the raw payloads; each
one is checked against the topic's schema with the reference validator (jsonschema, the
official VDA 5050 schemas and ours) and decoded, so every test also checks that all the
agent publishes is valid.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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
)
from fleet.comms import Bus, client_config, free_port, router_config, tcp_endpoint
from fleet.protocol.codec import decode
from fleet.protocol.header import Header
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
SETTLE = 0.2
"""Seconds for a new subscription to reach the router before publishing to it."""


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# -- the body ------------------------------------------------------------------------------

@dataclass
class FakeBody:
    """A robot that drives each edge in ``move_s`` seconds and jumps onto the node.

    ``blocked`` node ids raise MoveFailed, ``broken`` inspection points InspectionFailed.
    ``moves`` lists every move_to call's node id, ``arrivals`` the nodes reached.
    """

    pose: Pose = field(default_factory=lambda: Pose(0.0, 0.0, 0.0, MAP))
    move_s: float = 0.0
    blocked: set[str] = field(default_factory=set)
    broken: set[str] = field(default_factory=set)
    moves: list[str] = field(default_factory=list)
    arrivals: list[str] = field(default_factory=list)
    inspections: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def position(self) -> Pose:
        with self.lock:
            return self.pose

    def battery(self) -> tuple[float, bool]:
        return 87.5, False

    def move_to(self, target: MoveTarget, cancel: threading.Event) -> bool:
        self.moves.append(target.node_id)
        if target.node_id in self.blocked:
            raise MoveFailed("path blocked by a rock fall")
        if cancel.wait(self.move_s):
            return False
        assert target.x is not None and target.y is not None and target.map_id is not None
        with self.lock:
            self.pose = Pose(target.x, target.y, 0.0, target.map_id)
        self.arrivals.append(target.node_id)
        return True

    def inspect(self, point_id: str, sensors: Sequence[str], duration_s: float,
                cancel: threading.Event) -> tuple[list[Reading], list[Finding]]:
        self.inspections.append(point_id)
        if point_id in self.broken:
            raise InspectionFailed("sensor h2s unavailable")
        cancel.wait(duration_s)
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
    goings; :meth:`send` publishes manager-to-robot messages to it."""

    def __init__(self, bus: Bus, serial: str) -> None:
        self.bus, self.serial = bus, serial
        self.messages: list[tuple[str, Any]] = []
        self.raw: list[tuple[str, dict[str, Any]]] = []
        self.invalid: list[str] = []
        self.presence: list[bool] = []
        self.timeline: list[str] = []  # connection states and token changes, as received
        self._lock = threading.Lock()
        key = subscription_key("uagv", manufacturer="acme", serial=serial)
        self._subscriber = bus.subscribe_raw(key, self._on_sample)
        bus.watch_alive(topic_key("uagv", "acme", serial, ALIVE), self._on_alive)

    def _on_alive(self, _key: object, present: bool) -> None:
        with self._lock:
            self.presence.append(present)
            self.timeline.append("token" if present else "no token")

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
        with self._lock:
            if errors:
                self.invalid.append(f"{topic}: {errors}")
            self.raw.append((topic, obj))
            self.messages.append((topic, message))
            if topic == Topic.CONNECTION:
                self.timeline.append(obj["connectionState"])

    def of(self, topic: Topic) -> list[Any]:
        with self._lock:
            return [m for t, m in self.messages if t == topic]

    def states(self) -> list[State]:
        return self.of(Topic.STATE)

    def state(self) -> State:
        states = self.states()
        assert states, "no state received"
        return states[-1]

    def results(self) -> list[InspectionResult]:
        return self.of(Topic.INSPECTION)

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

    def wait_state(self, predicate: Callable[[State], bool], timeout: float = 5.0) -> State:
        """The first state (from now on, or the latest) that satisfies ``predicate``."""
        assert wait_until(lambda: bool(self.states()) and predicate(self.state()), timeout), (
            f"no such state; last: {self.states()[-1] if self.states() else None}")
        return self.state()

    def check_valid(self) -> None:
        assert not self.invalid, self.invalid


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def router_endpoint() -> Iterator[str]:
    """A router (scouting off) on a free loopback port, for the module."""
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    with Bus.open(router_config([endpoint])):
        yield endpoint


@pytest.fixture
def manager(router_endpoint: str) -> Iterator[Bus]:
    """The manager's client bus."""
    with Bus.open(client_config([router_endpoint])) as bus:
        yield bus


Launch = Callable[..., tuple[RobotAgent, FakeBody, Recorder]]


@pytest.fixture
def launch(router_endpoint: str, manager: Bus, tmp_path: Path) -> Iterator[Launch]:
    """Starts an agent for serial ``serial`` with a recorder watching it; stops them after."""
    agents: list[RobotAgent] = []

    def _launch(serial: str = "r1", *, body: FakeBody | None = None,
                capabilities: Capabilities | None = None, bus: Bus | None = None,
                **config: Any) -> tuple[RobotAgent, FakeBody, Recorder]:
        body = body if body is not None else FakeBody()
        recorder = Recorder(manager, serial)
        time.sleep(SETTLE)
        settings: dict[str, Any] = {"state_interval": 0.5, "resend_after": 0.2,
                                    "resend_max": 0.4} | config
        cfg = AgentConfig("acme", serial, capabilities or Capabilities(("ch4", "o2", "co")),
                          **settings)
        agent = RobotAgent(cfg, body, bus=bus, connect=[router_endpoint])
        agent.start()
        agents.append(agent)
        assert wait_until(lambda: bool(recorder.states()))
        time.sleep(SETTLE)  # the agent's subscriptions reach the router
        return agent, body, recorder

    yield _launch
    for agent in agents:
        agent.stop()
