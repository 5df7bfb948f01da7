"""ROS 2 robots as a robot link: a Nav2 robot joins the fleet with nothing of ours on it.

:class:`Ros2Link` is the second kind of :class:`~fleet.manager.links.RobotLink`. For each
robot of a robots file (:mod:`fleet.manager.ros2_robots`) it hosts the project's own robot
agent (:class:`~fleet.agent.RobotAgent`, the SDK a VDA 5050 robot would run) driving a
:class:`~fleet.agent.nav2.Nav2Body` that talks ROS 2 to the robot over a Zenoh client
session of its own. Between those agents and the manager core it is VDA 5050 as for any
robot, on an in-process network (:class:`~fleet.comms.memory.MemoryNetwork`): orders,
states, inspection results and their acknowledgements, factsheets, presence. So nothing in
the core changes, results are stored exactly once like every robot's, and a robot's
methane readings feed the same rules and interlock.

Each robot has a keeper thread that, over and over:

1. opens a client session to the robot's router (``connect``); an unreachable router is
   refused with the reason (``fleet robots show``) and tried again every
   :data:`RETRY_S` real seconds;
2. checks the robot's liveliness tokens (:meth:`Nav2Body.check`): a robot without Nav2's
   ``navigate_to_pose`` server, or speaking another distribution's type hashes, is refused
   with the reason and looked at again later;
3. waits for its first pose, then starts its agent (the manager then hears its factsheet
   and states);
4. while it runs, takes it off the air (its presence goes: the manager declares it lost and
   hands its points to others) whenever its tokens go or its pose falls silent beyond the
   timeout, and back on when it returns.

A sample from the robot that is not the CDR of its topic's type is dropped, and each one is
a refused message of that robot on that ROS topic (``/nav2_1/amcl_pose``), as an invalid
VDA 5050 message is: counted in the robot's ``refused``, the latest in its
``last_rejected`` with the reason (``fleet robots show``, ``fleet robots --json``), and
logged by the manager as refusals are: each distinct reason at most once a minute of its
clock, not once per sample. No anomaly: the robot stays driven; one whose pose is only
garbage goes silent and is lost as in 4.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from fleet.agent import AgentConfig, Capabilities, RobotAgent
from fleet.agent.nav2 import Nav2Body, Nav2Config
from fleet.clock import Clock
from fleet.comms.bus import Bus
from fleet.comms.config import client_config
from fleet.comms.memory import MemoryNetwork, MemoryTransport
from fleet.comms.transport import Transport
from fleet.comms.zenoh_transport import ZenohTransport
from fleet.errors import TransportError
from fleet.manager.links import REFUSED_ROBOT_TOPIC, LinkEvents, RobotId, VdaZenohLink
from fleet.manager.ros2_robots import Ros2Robot
from fleet.protocol.header import Message

log = logging.getLogger(__name__)

RETRY_S = 5.0
"""Real seconds between two attempts to reach or accept a robot."""
WATCH_S = 0.2
"""Real seconds between two looks at a running robot's liveness."""


def open_client(config: Nav2Config) -> Transport:
    """A Zenoh client session to the robot's router (NotReachable when none answers)."""
    return ZenohTransport.open(client_config(list(config.connect)))


class _Keeper:
    """One robot: its session, body and agent, kept up by a thread (module docstring)."""

    def __init__(self, link: Ros2Link, spec: Ros2Robot) -> None:
        self.link = link
        self.spec = spec
        r = spec.robot
        self.id = RobotId(r.manufacturer, r.serial)
        self.air: MemoryTransport = link.network.transport()
        self.session: Transport | None = None
        self.body: Nav2Body | None = None
        self.agent: RobotAgent | None = None
        self.thread = threading.Thread(target=self._run, name=f"ros2-{r.serial}", daemon=True)
        self._said: str | None = None

    def refuse(self, reason: str) -> None:
        """Tell the core why the robot is not driven (once per distinct reason)."""
        if reason != self._said and self.link.events is not None:
            self._said = reason
            log.warning("ROS 2 robot %s: %s", self.id, reason)
            self.link.events.on_refused(self.id, REFUSED_ROBOT_TOPIC, reason)

    def _malformed(self, topic: str, reason: str) -> None:
        """A malformed sample on ``topic`` (Nav2Body's thread): a refused message of the
        robot, shown per robot (module docstring)."""
        events = self.link.events
        if events is not None:
            events.on_refused(self.id, topic, f"malformed CDR sample dropped: {reason}")

    def _run(self) -> None:
        stop = self.link.stopping
        while not stop.is_set():
            if self.agent is None:
                self._try_start()
                if self.agent is None:
                    stop.wait(RETRY_S)
                    continue
            assert self.body is not None
            up = self.body.alive()
            if up != self.air.reachable():
                if not up:
                    log.warning("ROS 2 robot %s went silent (no pose or no Nav2 server)",
                                self.id)
                self.air.set_reachable(up)
            stop.wait(WATCH_S)

    def _try_start(self) -> None:
        link, cfg = self.link, self.spec.link
        if self.session is None:
            try:
                self.session = link.open_transport(cfg)
            except TransportError as exc:
                self.refuse(f"cannot reach its Zenoh router {', '.join(cfg.connect)}: {exc}")
                return
        try:
            problem = Nav2Body(cfg, self.session, link.clock).check()
        except TransportError as exc:
            problem = f"cannot read its liveliness tokens: {exc}"
        if problem is not None:
            self.refuse(problem)
            return
        body = Nav2Body(cfg, self.session, link.clock, node=f"fleet_{self.spec.robot.serial}",
                        on_malformed=self._malformed)
        body.check()
        body.start()
        if not body.heard(RETRY_S):
            body.close()
            self.refuse("no pose on amcl_pose yet")
            return
        self.body = body
        self.agent = RobotAgent(link.agent_config(self.spec), body, bus=Bus(self.air),
                                clock=link.clock)
        self.agent.start()
        self._said = None
        log.info("ROS 2 robot %s joined (%s, %s)", self.id, cfg.profile.value,
                 cfg.distro.value)

    def close(self) -> None:
        if self.agent is not None:
            self.agent.stop(grace=0.0)
        if self.body is not None:
            self.body.close()
        if self.session is not None:
            with contextlib.suppress(TransportError):
                self.session.close()
        self.air.close()


class Ros2Link:
    """ROS 2 robots through hosted agents (see the module docstring)."""

    def __init__(self, robots: Sequence[Ros2Robot], *, clock: Clock,
                 interface: str = "uagv", state_interval: float = 1.0,
                 results: Path | None = None,
                 open_transport: Callable[[Nav2Config], Transport] = open_client) -> None:
        self.clock = clock
        self.interface = interface
        self.state_interval = state_interval
        self.results = results
        """Directory for each agent's unacknowledged results (None: memory only)."""
        self.open_transport = open_transport
        self.network = MemoryNetwork()
        self.stopping = threading.Event()
        self.events: LinkEvents | None = None
        self._inner = VdaZenohLink(Bus(self.network.transport()), interface)
        self.keepers = {k.id: k for k in (_Keeper(self, r) for r in robots)}

    def agent_config(self, spec: Ros2Robot) -> AgentConfig:
        """The hosted agent's configuration: the robot's class becomes its factsheet."""
        r = spec.robot
        caps = Capabilities.of_class(r.robot_class)
        store = None if self.results is None else \
            self.results / f"{r.manufacturer}_{r.serial}.jsonl"
        interval = self.state_interval
        return AgentConfig(r.manufacturer, r.serial, caps, interface=self.interface,
                           state_interval=interval, resend_after=2.0 * interval,
                           resend_max=max(30.0, 2.0 * interval), result_store=store,
                           start_node=r.dock)

    def start(self, events: LinkEvents) -> None:
        self.events = events
        self._inner.start(events)
        for k in self.keepers.values():
            k.thread.start()

    def send(self, robot: RobotId, message: Message) -> None:
        self._inner.send(robot, message)

    def reachable(self, robot: RobotId) -> bool:
        """Always: each robot's keeper takes it off the air itself when it cannot reach it."""
        return True

    def close(self) -> None:
        self.stopping.set()
        for k in self.keepers.values():
            if k.thread.is_alive():
                k.thread.join(RETRY_S + 5.0)
            k.close()
        self._inner.close()
        self.network.close()
