"""A running manager on the in-memory network and a manual clock, with scripted robots.

The manager is the real one (:func:`fleet.manager.build_manager`: its link, planner,
liveness and ingest threads, a real SQLite store); only the network
(:class:`~fleet.comms.MemoryNetwork`) and time (:class:`~fleet.clock.ManualClock`) are
doubles. Robots are :class:`ScriptedRobot` s: plain Buses on the same network publishing
the VDA 5050 messages a test dictates (docs/protocol.md), and recording what the manager
sends them.

Nothing here sleeps. Three ways to synchronise:

- :meth:`MemoryNetwork.drain` returns once everything published so far (and what its
  delivery published, such as order updates sent from a state callback) is delivered:
  enough for whatever the manager does on a link's callback thread;
- :meth:`ScriptedRobot.wait_for` blocks on a condition notified on each message the robot
  receives (orders planned on the planner thread, acks sent by the ingest thread);
- :meth:`Changes.wait_until` blocks on a condition notified on each write the manager makes
  to its store (:class:`ProbedStore`): events, statuses, plans (what the other threads
  change shows there).

Time moves only when a test advances the manual clock; the liveness thread then looks at
the silences at the new time, and a test may call :meth:`Liveness.check` itself for an
exact answer at that instant.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fleet.clock import ManualClock
from fleet.comms import Bus, MemoryNetwork
from fleet.comms.transport import Handle
from fleet.facility.model import Facility
from fleet.manager import Manager, ManagerSettings, RobotLink, build_manager
from fleet.manager.missions import MissionRun
from fleet.manager.registry import RobotEntry
from fleet.planning.mission import load_mission
from fleet.protocol import examples
from fleet.protocol.header import HeaderStamper, Message
from fleet.protocol.inspection import (
    InspectionAck,
    InspectionResult,
    Reading,
    is_inspect,
    new_result_id,
    read_inspect_action,
)
from fleet.protocol.keys import Topic, alive_key, topic_key
from fleet.protocol.order import Edge, InstantActions, Node, Order
from fleet.protocol.state import (
    ActionState,
    ActionStatus,
    AgvPosition,
    BatteryState,
    Connection,
    ConnectionState,
    EdgeState,
    Error,
    NodeState,
    State,
)
from fleet.store import Store

from ..conftest import DATA

TINY_MISSION = DATA / "missions" / "tiny_patrol.yaml"
"""p1 (ATEX zone 1: Gb robots) and p2 (in a comms-dead zone) of tests/data/maps/tiny.yaml,
20 s dwell each. Planned from the dock, the round is
dock a p1 top bottom p2 bottom top p1 a dock (route indexes 0 to 10)."""

TIMEOUT = 10.0
"""Real seconds to wait for something that follows at once (a plan takes about 0.5 s)."""

INTERFACE = "uagv"


class Changes:
    """A generation counter and a condition: :meth:`bump` on every change,
    :meth:`wait_until` a predicate re-checked after each.

    The predicate is evaluated without holding the condition, so it may take the manager's
    lock while the manager, holding its lock, bumps (no lock-order inversion)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    def bump(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait_until(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
        """Block until ``predicate()`` holds (re-checked after every change); its last value
        after ``timeout`` real seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                seen = self._generation
            if predicate():
                return True
            with self._cond:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait_for(lambda seen=seen: self._generation != seen, left)
        return predicate()


class ProbedStore(Store):
    """A real store that tells :attr:`changes` about every write the manager makes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changes = Changes()

    def add_event(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().add_event(*args, **kwargs)
        finally:
            self.changes.bump()

    def set_mission_status(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().set_mission_status(*args, **kwargs)
        finally:
            self.changes.bump()

    def save_plan(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().save_plan(*args, **kwargs)
        finally:
            self.changes.bump()


# -- robots ----------------------------------------------------------------------------

class ScriptedRobot:
    """A robot that says what the test tells it to, and records what the manager sends.

    It follows the order it received last (base and horizon from the first message of that
    orderId, released flags from the updates): :meth:`report` publishes the state of having
    reached route index ``reached``.
    """

    def __init__(self, net: MemoryNetwork, facility: Facility, serial: str, *,
                 node: str = "dock", manufacturer: str = examples.MANUFACTURER,
                 interface: str = INTERFACE) -> None:
        self.net = net
        self.interface = interface
        self.facility = facility
        self.manufacturer = manufacturer
        self.serial = serial
        self.node = node
        self.bus = Bus(net.transport())
        self.stamper = HeaderStamper(manufacturer, serial)
        self.received: list[Any] = []
        self.token: Handle | None = None
        self.instant_states: list[ActionState] = []
        """Answers to instant actions, listed in every state it sends from then on."""
        self._reached: int | None = None
        self._changed = threading.Condition()
        for topic in (Topic.ORDER, Topic.INSTANT_ACTIONS, Topic.INSPECTION_ACK):
            self.bus.subscribe(self.key(topic), self._on_message)

    def key(self, topic: Topic | str) -> str:
        return topic_key(self.interface, self.manufacturer, self.serial, topic)

    def _on_message(self, _key: object, message: Any) -> None:
        with self._changed:
            self.received.append(message)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
        """Block until ``predicate()`` holds, re-checked on every message received."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    # -- what it received -------------------------------------------------------------
    def _of(self, kind: type[Any]) -> list[Any]:
        with self._changed:
            return [m for m in self.received if isinstance(m, kind)]

    def orders(self) -> list[Order]:
        return self._of(Order)

    def acks(self) -> list[InspectionAck]:
        return self._of(InspectionAck)

    def instants(self) -> list[InstantActions]:
        return self._of(InstantActions)

    def wait_orders(self, count: int) -> list[Order]:
        """The orders received, once there are at least ``count``."""
        assert self.wait_for(lambda: len(self.orders()) >= count), (
            f"{self.serial} got {len(self.orders())} orders, expected {count}")
        return self.orders()

    @property
    def order(self) -> Order:
        """The first message of the current order (its whole route)."""
        orders = self.orders()
        assert orders, f"{self.serial} has no order"
        current = orders[-1].order_id
        return next(o for o in orders if o.order_id == current)

    def route(self) -> tuple[list[Node], list[Edge], dict[int, bool]]:
        """The current order's nodes and edges, and each sequenceId's released flag after
        the updates received (an update replaces the route from its first node on, as
        VDA 5050 says: a re-routed horizon)."""
        orders = self.orders()
        first = self.order
        nodes = {n.sequence_id: n for n in first.nodes}
        edges = {e.sequence_id: e for e in first.edges}
        for o in orders:
            if o.order_id != first.order_id or o is first or not o.nodes:
                continue
            start = o.nodes[0].sequence_id
            nodes = {k: v for k, v in nodes.items() if k < start}
            edges = {k: v for k, v in edges.items() if k < start}
            nodes.update({n.sequence_id: n for n in o.nodes})
            edges.update({e.sequence_id: e for e in o.edges})
        released = {k: n.released for k, n in nodes.items()}
        released.update({k: e.released for k, e in edges.items()})
        return ([nodes[k] for k in sorted(nodes)], [edges[k] for k in sorted(edges)],
                released)

    @property
    def current(self) -> list[Node]:
        """The current order's nodes, re-routes included."""
        return self.route()[0]

    def inspect_ids(self) -> dict[str, str]:
        """Point → actionId of the current order's inspect actions."""
        return {read_inspect_action(a).inspection_point_id: a.action_id
                for n in self.current for a in n.actions if is_inspect(a)}

    # -- what it says -----------------------------------------------------------------
    def send(self, message: Message) -> None:
        stamped = self.stamper.stamp(message)
        self.bus.publish(self.key(stamped.TOPIC), stamped)

    def send_raw(self, topic: Topic, payload: bytes) -> None:
        self.bus.publish_raw(self.key(topic), payload)

    def online(self) -> None:
        """What a robot does on start: token, connection ONLINE, factsheet, a first state."""
        self.token = self.bus.declare_alive(alive_key(self.interface, self.manufacturer,
                                                      self.serial))
        self.send(Connection(self.stamper.blank(), ConnectionState.ONLINE))
        self.send(replace(examples.factsheet(), header=self.stamper.blank()))
        self.idle()

    def idle(self) -> None:
        """A state standing at :attr:`node` with no order."""
        self._reached = None
        self.send(State(self.stamper.blank(), BatteryState(90.0), last_node_id=self.node,
                        agv_position=self._position(self.node),
                        action_states=tuple(self.instant_states)))

    def answer_instants(self, kind: str, status: ActionStatus, reason: str | None = None,
                        *, errors: tuple[Error, ...] = ()) -> None:
        """Answer every instant action of ``kind`` received so far with ``status`` (and
        ``reason`` as its resultDescription) in a state like the last one it sent, with
        ``errors``."""
        answered = {a.action_id for a in self.instant_states}
        for message in self.instants():
            for a in message.actions:
                if a.action_type == kind and a.action_id not in answered:
                    self.instant_states.append(ActionState(a.action_id, status, kind,
                                                           result_description=reason))
        if self._reached is None:
            self.send(State(self.stamper.blank(), BatteryState(90.0), last_node_id=self.node,
                            agv_position=self._position(self.node),
                            action_states=tuple(self.instant_states), errors=errors))
        else:
            self.report(self._reached, errors=errors)

    def offline(self) -> None:
        """A clean shutdown's first half: connection OFFLINE (the token stays)."""
        self.send(Connection(self.stamper.blank(), ConnectionState.OFFLINE))

    def drop_token(self) -> None:
        assert self.token is not None
        self.token.undeclare()
        self.token = None

    def _position(self, node_id: str) -> AgvPosition:
        n = self.facility.node(node_id)
        return AgvPosition(n.x, n.y, 0.0, n.level)

    def report(self, reached: int, statuses: Mapping[str, ActionStatus] | None = None,
               errors: tuple[Error, ...] = ()) -> State:
        """Publish the state of having reached route index ``reached`` of the current
        order: nodes and edges beyond it pending, inspect actions FINISHED up to it and
        WAITING beyond, except as ``statuses`` (by point) says; with ``errors``."""
        nodes, edges, released = self.route()
        seq = 2 * reached
        ids = self.inspect_ids()
        overrides = {ids[p]: s for p, s in (statuses or {}).items()}
        actions = []
        for n in nodes:
            for a in n.actions:
                default = ActionStatus.FINISHED if n.sequence_id <= seq else ActionStatus.WAITING
                actions.append(ActionState(a.action_id, overrides.get(a.action_id, default),
                                           a.action_type))
        last = nodes[reached]
        self.node = last.node_id
        self._reached = reached
        actions += self.instant_states
        state = State(
            self.stamper.blank(), BatteryState(80.0), order_id=self.order.order_id,
            order_update_id=max(o.order_update_id for o in self.orders()
                                if o.order_id == self.order.order_id),
            last_node_id=last.node_id, last_node_sequence_id=last.sequence_id,
            node_states=tuple(NodeState(n.node_id, n.sequence_id, released[n.sequence_id],
                                        n.position)
                              for n in nodes if n.sequence_id > seq),
            edge_states=tuple(EdgeState(e.edge_id, e.sequence_id, released[e.sequence_id])
                              for e in edges if e.sequence_id > seq),
            action_states=tuple(actions), agv_position=self._position(last.node_id),
            errors=errors)
        self.send(state)
        return state

    def result(self, point: str, *, result_id: str | None = None) -> InspectionResult:
        """The inspection result of ``point`` of the current order (not sent)."""
        return InspectionResult(
            header=self.stamper.blank(), result_id=result_id or new_result_id(),
            order_id=self.order.order_id, action_id=self.inspect_ids()[point],
            inspection_point_id=point, node_id=point, agv_position=self._position(point),
            readings=(Reading("ch4", 0.1, "%vol"), Reading("o2", 20.9, "%vol")))

    def close(self) -> None:
        self.bus.close()


# -- the site --------------------------------------------------------------------------

@dataclass
class Site:
    """One manager on a memory network and a manual clock, and the robots of a test."""

    net: MemoryNetwork
    clock: ManualClock
    store: ProbedStore
    bus: Bus
    manager: Manager
    facility: Facility
    robots: list[ScriptedRobot] = field(default_factory=list)

    def robot(self, serial: str = "r1", *, node: str = "dock",
              interface: str = INTERFACE) -> ScriptedRobot:
        """A robot come online at ``node`` (delivered)."""
        robot = ScriptedRobot(self.net, self.facility, serial, node=node, interface=interface)
        self.robots.append(robot)
        robot.online()
        self.net.drain()
        return robot

    def launch(self, path: Path = TINY_MISSION) -> MissionRun:
        """Launch a mission as ``fleet mission launch`` does (the planner picks it up)."""
        spec = load_mission(path)
        assert spec.map_path is not None
        map_path = Path(spec.map_path)
        return self.manager.launch(spec.name, spec, path.read_text(), map_doc={
            "name": map_path.name, "suffix": map_path.suffix, "text": map_path.read_text()})

    def at(self, t: float) -> None:
        """Move the manager's clock to ``t`` once what was sent before is delivered, and
        let the network settle."""
        self.net.drain()
        self.clock.advance_to(t)
        self.net.drain()

    def check(self) -> None:
        """Look at the silences now, as the liveness thread does on each tick."""
        self.manager.liveness.check()

    def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait for the manager's threads (woken by each write to the store)."""
        assert self.store.changes.wait_until(predicate), "the manager never got there"

    def entry(self, serial: str = "r1") -> RobotEntry:
        entry = self.manager.registry.find(serial)
        assert entry is not None, f"no robot {serial}"
        return entry

    def events(self, run: MissionRun, kind: str) -> list[dict[str, Any]]:
        """The details of ``run``'s events of ``kind``, in order."""
        return [e.detail for e in self.store.events(run.id) if e.kind == kind]

    def dispatched(self, robot: ScriptedRobot, run: MissionRun) -> Order:
        """Launch has happened: the robot's first order, once planned and received."""
        order = robot.wait_orders(1)[0]
        self.wait_until(lambda: bool(self.events(run, "dispatched")))
        return order


def open_site(tmp_path: Path, settings: ManagerSettings | None = None, *,
              links: Callable[[Bus], Sequence[RobotLink]] | None = None) -> Iterator[Site]:
    """A started manager and its network (with the robot ``links`` made on its bus, by
    default VDA 5050 on ``uagv``); everything stopped and closed after."""
    net = MemoryNetwork()
    store = ProbedStore.open(None, path=tmp_path / "fleet.db")
    bus = Bus(net.transport())
    clock = ManualClock()
    settings = settings or ManagerSettings(plan_time_limit=0.5)
    manager = build_manager(store, bus, settings, clock=clock,
                            links=links(bus) if links is not None else ())
    site = Site(net, clock, store, bus, manager, load_mission(TINY_MISSION).facility)
    try:
        yield site
    finally:
        manager.stop()
        for robot in site.robots:
            robot.close()
        bus.close()
        net.close()
        store.close()
