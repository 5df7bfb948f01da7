"""Simulated robots on the real agent SDK: :class:`SimRobot` and :class:`SimFleet`.

A :class:`SimRobot` is a :class:`~fleet.agent.RobotAgent` driving a
:class:`~sim.body.SimBody` through a :class:`~sim.radio.Radio`: exactly what a real robot
runs, with a simulated body and radio underneath. A :class:`SimFleet` runs many of them in
one process sharing what can be shared: one Zenoh session (:class:`~fleet.comms.Bus`), one
:class:`~fleet.agent.Ticker` for every agent's periodic state and one link delay queue (or
a few of each, ``FleetOptions.tickers``), one world clock and one
:class:`~sim.world.World`. Each agent keeps its own worker thread (the SDK's model: a body
call blocks).

Faults (:class:`~sim.scenario.Fault`, from the scenario or :meth:`SimFleet.inject`):
sensor faults go to the World, ``stuck`` and ``battery_drain`` to the body, and ``kill``
cuts the robot off at once (its token disappears without ``OFFLINE``, as when its process
dies) and, with ``duration_s``, starts a new agent on the same body that long after.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import networkx as nx

from fleet.agent import AgentConfig, Capabilities, RobotAgent, Ticker
from fleet.agent.agent import OFFLINE_GRACE
from fleet.agent.mqtt import robot_options
from fleet.clock import ScaledClock
from fleet.comms import Bus, MqttTransport, client_config
from fleet.errors import Problem
from fleet.facility.model import NodeKind, ZoneKind
from fleet.planning.robots import Robot
from fleet.protocol.keys import DEFAULT_INTERFACE
from sim.body import BodyParams, Pace, SimBody
from sim.errors import ScenarioError
from sim.link import Coverage, DelayQueue, Link
from sim.radio import Radio
from sim.scenario import Fault, FaultKind, Scenario
from sim.space import SpaceLike
from sim.world import World

log = logging.getLogger(__name__)

DRAIN_S = 2.0
"""Real seconds :meth:`SimFleet.stop` waits at most for messages still in the air."""


@dataclass(frozen=True)
class FleetOptions:
    """How simulated robots are set up beyond the scenario.

    - ``state_interval``: world seconds between periodic states (VDA 5050 ``stateInterval``).
    - ``lease_ms``: Zenoh link lease of the fleet's own session (real milliseconds).
    - ``results_dir``: where each robot keeps unacknowledged results (``None``: memory);
      a killed robot restarted with ``duration_s`` resends them from there.
    - ``body``: :class:`~sim.body.BodyParams` for every body.
    - ``tickers``: how many state tickers, and link delay queues, the robots share (each
      a thread: one publishes some hundreds of messages per real second, waiting its turn
      for the GIL between them).
    - ``check_states``: check each state against the schema before it leaves, as a real
      robot's Bus does (a third of a large state's cost; the manager checks it anyway).
    - ``mqtt``: the broker (``mqtt://HOST:PORT``) the robots of ``mqtt_serials`` talk
      through, each with an MQTT client of its own and VDA 5050's last will
      (:mod:`fleet.agent.mqtt`); the others share the fleet's Zenoh session.
    """

    state_interval: float = 1.0
    interface: str = DEFAULT_INTERFACE
    lease_ms: int = 1000
    results_dir: Path | None = None
    body: BodyParams = field(default_factory=BodyParams)
    tickers: int = 1
    check_states: bool = True
    mqtt: str | None = None
    mqtt_serials: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.mqtt_serials and self.mqtt is None:
            raise ValueError("robots on MQTT need the broker's URL")
        if not (math.isfinite(self.state_interval) and self.state_interval > 0):
            raise ValueError(f"state_interval must be > 0 seconds, got {self.state_interval}")
        if self.tickers < 1:
            raise ValueError(f"tickers must be at least 1, got {self.tickers}")


def agent_config(robot: Robot, options: FleetOptions, *, node: str | None = None
                 ) -> AgentConfig:
    """The agent configuration of a simulated ``robot``: its class becomes its factsheet;
    ``node`` is where it stands when the agent starts."""
    caps = Capabilities.of_class(robot.robot_class)
    store = None
    if options.results_dir is not None:
        store = options.results_dir / f"{robot.manufacturer}_{robot.serial}.jsonl"
    interval = options.state_interval
    return AgentConfig(robot.manufacturer, robot.serial, caps, interface=options.interface,
                       state_interval=interval, resend_after=2.0 * interval,
                       resend_max=max(30.0, 2.0 * interval), result_store=store,
                       min_state_interval=min(0.1, interval), start_node=node or "")


@dataclass
class Shared:
    """What the robots of one process share."""

    scenario: Scenario
    world: World
    clock: ScaledClock
    bus: Bus
    tickers: tuple[Ticker, ...]
    queues: tuple[DelayQueue, ...]
    options: FleetOptions
    coverage: Coverage
    pace: Pace = field(default_factory=Pace)
    space: SpaceLike | None = None


class SimRobot:
    """One simulated robot: body, radio and agent. ``node``: where it starts (its dock)."""

    def __init__(self, robot: Robot, shared: Shared, *, node: str | None = None) -> None:
        self.robot = robot
        self.shared = shared
        self.body = SimBody(robot, shared.world.facility, shared.world, shared.clock,
                            node=node, params=shared.options.body,
                            faults=shared.scenario.faults_of(robot.serial), pace=shared.pace,
                            space=shared.space)
        self.alive = False
        self.deaths = 0
        self.own: MqttTransport | None = None
        """The robot's own MQTT client (None: it shares the fleet's Zenoh session)."""
        self.radio, self.agent = self._connect()

    @property
    def serial(self) -> str:
        """The robot's serial number."""
        return self.robot.serial

    def _connect(self) -> tuple[Radio, RobotAgent]:
        s = self.shared
        # a robot keeps its lane (ticker and link queue, by serial) across restarts
        lane = zlib.crc32(self.serial.encode())
        link = Link(s.scenario.link, s.coverage, seed=s.scenario.seed, robot=self.serial,
                    queue=s.queues[lane % len(s.queues)])
        transport = s.bus.transport
        if self.serial in s.options.mqtt_serials:
            assert s.options.mqtt is not None
            transport = self.own = MqttTransport.open(robot_options(
                s.options.mqtt, s.options.interface, self.robot.manufacturer, self.serial))
        radio = Radio(transport, link, s.clock, grace_s=s.clock.to_world(OFFLINE_GRACE))
        self.body.listener = radio.on_motion
        radio.on_motion(None, self.body.position(), self.body.node)
        ticker = s.tickers[lane % len(s.tickers)]
        agent = RobotAgent(agent_config(self.robot, s.options, node=self.body.node), self.body,
                           bus=Bus(radio, check_states=s.options.check_states),
                           clock=s.clock, ticker=ticker)
        return radio, agent

    def start(self) -> None:
        """Start the agent (it announces itself when in coverage)."""
        self.agent.start()
        self.alive = True

    def stop(self, *, grace: float = 0.0) -> None:
        """Stop the agent cleanly (``OFFLINE``, token withdrawn)."""
        self.alive = False
        self.agent.stop(grace=grace)

    def kill(self) -> None:
        """Die now: the radio goes silent and the token vanishes without ``OFFLINE``; the
        body stops where it is, and there it stays in the fleet's space (a dead robot
        still fills its node or its stretch of edge)."""
        if not self.alive:
            return
        self.alive = False
        self.deaths += 1
        self.radio.cut()
        self.agent.stop(grace=0.0)
        if self.own is not None:  # its connection dies with it: the broker sends its will
            self.own.sever()
            self.own = None
        log.info("%s killed", self.serial)

    def restart(self) -> None:
        """Come back after a kill: a new agent (and radio) on the same body, where it
        stopped; pending results are resent from ``results_dir`` when there is one."""
        if self.alive:
            return
        self.radio, self.agent = self._connect()
        self.start()
        log.info("%s restarted", self.serial)


class SimFleet:
    """Simulated robots in this process; see the module docstring.

    ``robots`` default to the scenario's fleet; each starts at its dock, or at the node
    ``starts`` gives for its serial. Give ``connect`` (router endpoints) for a
    session of the fleet's own, or ``bus`` to share one. ``clock`` defaults to a
    :class:`~fleet.clock.ScaledClock` at speed 1; ``world`` to ``World(scenario.facility,
    scenario)``. ``space`` (a :class:`~sim.space.Space`, or a client of one other
    processes share) makes the robots physical: :meth:`start` places them there first
    (ScenarioError when a node cannot hold its robots); without one they pass through each
    other. Use as a context manager or :meth:`start` / :meth:`stop`.
    """

    def __init__(self, scenario: Scenario, robots: Sequence[Robot] | None = None, *,
                 connect: Sequence[str] = (), bus: Bus | None = None,
                 clock: ScaledClock | None = None, world: World | None = None,
                 options: FleetOptions | None = None,
                 starts: Mapping[str, str] | None = None,
                 space: SpaceLike | None = None) -> None:
        if bus is None and not connect:
            raise ValueError("a simulated fleet needs router endpoints or a bus")
        self.scenario = scenario
        self.options = options if options is not None else FleetOptions()
        self.clock = clock if clock is not None else ScaledClock(1.0)
        self.world = world if world is not None else World(scenario.facility, scenario)
        self._robots = tuple(robots) if robots is not None else scenario.fleet.robots
        self._connect = tuple(connect)
        self._given_bus = bus
        self._starts = dict(starts or {})
        self.space = space
        self._lock = threading.Lock()
        self.robots: dict[str, SimRobot] = {}
        self.shared: Shared | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def pace(self) -> Pace:
        """Timing figures of every body (see :class:`~sim.body.Pace`)."""
        assert self.shared is not None, "the fleet is not started"
        return self.shared.pace

    def start(self) -> None:
        """Place the robots in the space (when there is one), open the session (unless
        given), start the shared threads and every robot, and schedule the scenario's
        kills."""
        if self.space is not None:
            self.space.place({r.serial: self._starts.get(r.serial) or r.dock
                              for r in self._robots}, self.clock.monotonic(),
                             source=str(self.scenario.path or self.scenario.name))
        bus = self._given_bus or Bus.open(client_config(self._connect,
                                                        lease_ms=self.options.lease_ms))
        if self.options.results_dir is not None:
            self.options.results_dir.mkdir(parents=True, exist_ok=True)
        tickers = tuple(Ticker(self.clock, name=f"sim-ticker-{i}")
                        for i in range(self.options.tickers))
        queues = tuple(DelayQueue() for _ in range(self.options.tickers))
        self.shared = Shared(self.scenario, self.world, self.clock, bus, tickers, queues,
                             self.options, Coverage(self.world.facility), space=self.space)
        for ticker in tickers:
            ticker.start()
        for i, queue in enumerate(queues):
            queue.start(self.clock, name=f"sim-link-{i}")
        for robot in self._robots:
            sim = SimRobot(robot, self.shared, node=self._starts.get(robot.serial))
            self.robots[robot.serial] = sim
            sim.start()
        for fault in self.scenario.faults:
            if fault.kind is FaultKind.KILL and fault.robot in self.robots:
                self._schedule_kill(fault)

    def stop(self) -> None:
        """Stop every robot (no ``OFFLINE`` pause each), the shared threads and the session
        if the fleet opened it (idempotent)."""
        shared, self.shared = self.shared, None
        if shared is None:
            return
        for sim in self.robots.values():
            if sim.alive:
                sim.stop()
        # let the last messages (OFFLINE) and token withdrawals still in the air land
        last = max((r.radio.last_up_due or 0.0 for r in self.robots.values()), default=0.0)
        deadline = time.monotonic() + DRAIN_S
        last += self.clock.to_world(OFFLINE_GRACE)
        while any(len(q) for q in shared.queues) and self.clock.monotonic() <= last + 1e-3 \
                and time.monotonic() < deadline:
            time.sleep(0.005)
        for queue in shared.queues:
            queue.close()
        for ticker in shared.tickers:
            ticker.close()
        for sim in self.robots.values():
            if sim.own is not None:  # after OFFLINE went out: a clean close, no will
                sim.own.close()
                sim.own = None
        if self._given_bus is None:
            shared.bus.close()

    def robot(self, serial: str) -> SimRobot:
        """The simulated robot with this serial; KeyError naming it when unknown."""
        try:
            return self.robots[serial]
        except KeyError:
            raise KeyError(f"no simulated robot {serial!r}") from None

    def inject(self, fault: Fault) -> None:
        """Apply a fault now or at its ``at_s`` (world time); KeyError for an unknown robot."""
        sim = self.robot(fault.robot)
        if fault.kind in (FaultKind.SENSOR_FAIL, FaultKind.SENSOR_DRIFT):
            self.world.inject(fault)
        elif fault.kind is FaultKind.KILL:
            self._schedule_kill(fault)
        else:
            sim.body.inject(fault)

    def kill(self, serial: str) -> None:
        """Kill a robot now (see :meth:`SimRobot.kill`)."""
        self.robot(serial).kill()

    def _schedule_kill(self, fault: Fault) -> None:
        assert self.shared is not None, "the fleet is not started"
        sim = self.robots[fault.robot]
        queue = self.shared.queues[0]
        # run off the queue's thread: stopping an agent waits for its worker
        queue.push(fault.at_s, lambda: _spawn(sim.kill, f"kill-{sim.serial}"))
        if fault.duration_s is not None:
            queue.push(fault.at_s + fault.duration_s,
                       lambda: _spawn(sim.restart, f"restart-{sim.serial}"))

    def serials(self) -> list[str]:
        """Serial numbers of the fleet's robots."""
        return list(self.robots)

    def alive(self) -> list[str]:
        """Serial numbers of the robots running now."""
        return [s for s, r in self.robots.items() if r.alive]


def _spawn(fn: Callable[[], None], name: str) -> None:
    threading.Thread(target=fn, name=name, daemon=True).start()


def robots_of(scenario: Scenario, count: int | None = None) -> tuple[Robot, ...]:
    """The scenario's robots, or ``count`` of them: the first ``count``, or the whole fleet
    repeated with serials ``{serial}-{n}`` (same class and dock) to reach ``count``."""
    base = scenario.fleet.robots
    if count is None:
        return base
    if count < 0:
        raise ValueError(f"robot count must be >= 0, got {count}")
    if count and not base:
        raise ValueError("the scenario's fleet has no robot to copy")
    out = list(base[:count])
    taken = {r.serial for r in base}
    copy = 1
    while len(out) < count:
        for r in base:
            if len(out) >= count:
                break
            serial = f"{r.serial}-{copy}"
            while serial in taken:
                serial += "x"
            taken.add(serial)
            out.append(Robot(r.manufacturer, serial, r.robot_class, r.dock))
        copy += 1
    return tuple(out)


PARKING = frozenset({NodeKind.DOCK, NodeKind.CHARGER, NodeKind.REFUGE})
"""Node kinds where :func:`starts_of` parks spare robots: rooms off the drift."""


def starts_of(scenario: Scenario, robots: Sequence[Robot]) -> dict[str, str]:
    """Where ``robots`` start on a physical site: the scenario's own robots at their docks
    (a dock too small for them is the scenario's problem, see
    :meth:`sim.space.Space.place`); copies made by :func:`robots_of` at their dock while it
    has room, else parked in the nearest room off the drift (:data:`PARKING`: a robot
    parked in a passing bay or on a road would block the traffic for good) with room and
    radio coverage (a robot parked in a comms-dead zone would never be heard), by driving
    distance from the dock. ScenarioError when the site has no room left for a copy."""
    fac = scenario.facility
    own = {r.serial for r in scenario.fleet.robots}
    starts: dict[str, str] = {}
    count: dict[str, int] = {}
    for r in robots:
        if r.serial in own:
            starts[r.serial] = r.dock
            count[r.dock] = count.get(r.dock, 0) + 1
    nearest: dict[str, list[str]] = {}
    for r in robots:
        if r.serial in own:
            continue
        if r.dock not in nearest:
            lengths = nx.single_source_dijkstra_path_length(fac.graph, r.dock, weight="length")
            nearest[r.dock] = [n for n in sorted(lengths, key=lambda n: (lengths[n], n))
                               if fac.nodes[n].kind in PARKING and not any(
                                   z.kind is ZoneKind.COMMS_DEAD for z in fac.zones_at(n))]
        node = next((n for n in nearest[r.dock] if count.get(n, 0) < fac.capacity(n)), None)
        if node is None:
            raise ScenarioError(Problem(
                f"no room left on the site for robot {r.serial} ({len(robots)} robots; run "
                "with ghosts to let robots pass through each other)",
                str(scenario.path or scenario.name)))
        starts[r.serial] = node
        count[node] = count.get(node, 0) + 1
    return starts
