"""``fleet bench ros2``: many simulated Nav2 robots driven through the manager's ROS 2 link.

``robots`` simulated Nav2 robots (:class:`sim.nav2.SimNav2Robot`, each with a Zenoh router
of its own on a loopback port) run in a child process (``multiprocessing`` spawn: their
routers and publishers do not share the manager's interpreter), in real time
(:class:`~fleet.clock.SystemClock`): ``amcl_pose`` (and ``tf``) at :data:`POSE_HZ`,
``battery_state`` at :data:`BATTERY_HZ`, one methane topic (:data:`SENSOR_TOPIC`) at
:data:`SENSOR_HZ`. They stand at the docks of a generated mine with room for them
(:func:`~sim.generated.generated_scenario`, two to a dock: Nav2 robots are not physical
here). The manager runs in this process (:class:`~sim.runner.EmbeddedManager`, SQLite
store in a temporary directory) with a :class:`~fleet.manager.ros2_link.Ros2Link` hosting
one SDK agent per robot, each with its own Zenoh client session to its robot's router.

Once every robot has joined (the manager holds its factsheet and a state), the figures are
measured over ``seconds`` real seconds:

- samples: what the robots published on the topics the link reads (pose, battery, sensor)
  against what the Nav2 bodies took (:attr:`fleet.agent.nav2.Nav2Body.received`);
  ``samples_keep_up`` is their equality. The window is bounded by pausing the robots'
  publishing (:attr:`sim.nav2.SimNav2Robot.paused`) for :data:`SETTLE_S` at both ends, so
  nothing is in flight when the counts are read;
- VDA 5050 states: what the hosted agents sent on the link's in-process network against
  what the manager handled (``Manager.states_handled``), both read while that network is
  idle (:meth:`fleet.comms.memory.MemoryNetwork.when_idle`); ``states_keep_up`` is their
  equality;
- order-to-goal latency: probes sent one at a time to idle robots (a two-node order from
  the node the robot stands at to a neighbour, through the link as the core sends any
  order), from the manager sending the order to the robot receiving the ``NavigateToPose``
  send_goal request (:attr:`sim.nav2.SimNav2Robot.goal_requests`; both sides read
  ``time.monotonic()``, system-wide on Linux): p50, p99, max in ms; also order to the
  manager handling the first state carrying it (``order_to_state_*``);
- CPU: seconds of the manager's process and of the robots' process over the window, as
  a percentage of one core, in total and per robot;
- ``startup_s``: real seconds from starting the robots' process to every robot joined,
  ``robots_start_s`` of them until the process had started every robot.

A robot the manager declared lost during the window counts in ``robots_lost``.
"""

from __future__ import annotations

import multiprocessing
import random
import resource
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from fleet.agent.nav2 import MapFrame, Nav2Config, SensorTopic
from fleet.clock import SystemClock
from fleet.comms import free_port, tcp_endpoint
from fleet.errors import NotReachable
from fleet.facility.model import Facility
from fleet.manager.lifecycle import RobotStatus
from fleet.manager.ros2_link import Ros2Link
from fleet.manager.ros2_robots import Ros2Robot
from fleet.manager.service import Manager
from fleet.planning.robots import Robot
from fleet.protocol.header import Header
from fleet.protocol.keys import Topic, subscription_key
from fleet.protocol.order import NodePosition, RouteLeg, RouteStop, route_order
from fleet.ros2.interfaces import Distro
from fleet.ros2.keys import Profile
from sim.bench import _latency
from sim.generated import generated_scenario
from sim.nav2 import SensorSpec, SimNav2Robot
from sim.robots import robots_of
from sim.runner import EmbeddedManager, manager_settings
from sim.scenario import load_scenario

POSE_HZ = 10.0
"""Samples per second on ``amcl_pose`` (and ``tf``) of each robot."""
BATTERY_HZ = 1.0
"""Samples per second on ``battery_state``."""
SENSOR_HZ = 2.0
"""Samples per second on the sensor topic."""
SENSOR_TOPIC = "gas/ch4"
"""The one sensor topic each robot publishes (``std_msgs/Float32``) and the link reads."""
FLOAT32 = "std_msgs/msg/Float32"
READ_TOPICS = ("amcl_pose", "battery_state", SENSOR_TOPIC)
"""The topics the link reads, whose samples are counted."""
SETTLE_S = 0.3
"""Real seconds the robots stay paused before their counts are read (a pose period and
the delivery of what was in flight)."""
STATE_INTERVAL_S = 1.0
"""Seconds between two periodic VDA 5050 states of a hosted agent."""
READY_TIMEOUT_S = 120.0
"""Real seconds the robots' process may take to start its robots."""
PORT_ATTEMPTS = 5
"""Ports tried for a robot's router (one found free may be taken before it is bound)."""
PROBE_WAIT_S = 10.0
"""Real seconds a probe waits for the manager to see its order in a state."""


@dataclass(frozen=True)
class _RobotSpec:
    """What the robots' process needs of one robot (pickled to it)."""

    serial: str
    namespace: str
    x: float
    y: float
    speed: float


def _methane(_x: float, _y: float) -> float:
    return 0.2


def _report(sims: Mapping[str, SimNav2Robot]) -> dict[str, Any]:
    published: Counter[str] = Counter()
    for s in sims.values():
        published.update(s.published)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"published": dict(published), "cpu_s": usage.ru_utime + usage.ru_stime,
            "goals": {serial: [t for t, _ in s.goal_requests] for serial, s in sims.items()}}


def _start(r: _RobotSpec, profile: str, distro: str) -> SimNav2Robot:
    """Start one robot on a free loopback port (another, should the port be taken since
    it was found free)."""
    for attempt in range(PORT_ATTEMPTS):
        sim = SimNav2Robot(
            "nav2", r.namespace, Profile(profile), Distro(distro),
            listen=tcp_endpoint("127.0.0.1", free_port()), clock=SystemClock(),
            pose=(r.x, r.y, 0.0), speed=r.speed,
            sensors={"ch4": SensorSpec(SENSOR_TOPIC, FLOAT32, _methane)},
            pose_hz=POSE_HZ, battery_hz=BATTERY_HZ, sensor_hz=SENSOR_HZ)
        try:
            return sim.start()
        except NotReachable:
            if attempt == PORT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _robots_main(conn: Connection, robots: Sequence[_RobotSpec], profile: str,
                 distro: str) -> None:
    """The robots' process: start them, report (with each robot's router endpoint under
    ``listen``), then answer ``pause``, ``resume``, ``report`` and ``stop`` with a report
    each (counts, goal request times, CPU)."""
    sims: dict[str, SimNav2Robot] = {}
    try:
        for r in robots:
            sims[r.serial] = _start(r, profile, distro)
        conn.send({**_report(sims), "listen": {k: s.listen for k, s in sims.items()}})
        while True:
            try:
                command = conn.recv()
            except EOFError:  # the parent is gone
                return
            if command in ("pause", "resume"):
                for s in sims.values():
                    s.paused = command == "pause"
                if command == "pause":
                    time.sleep(SETTLE_S)
            if command == "stop":
                break
            conn.send(_report(sims))
    finally:
        for s in sims.values():
            s.close()
    conn.send(_report(sims))


class _Robots:
    """The robots' child process and the conversation with it."""

    def __init__(self, robots: Sequence[_RobotSpec], profile: Profile, distro: Distro) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_robots_main, name="bench-ros2-robots", daemon=True,
                                   args=(child, tuple(robots), profile.value, distro.value))
        self.process.start()
        child.close()
        self.ready = self._answer(READY_TIMEOUT_S)

    def _answer(self, timeout: float) -> dict[str, Any]:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"the robots' process did not answer in {timeout:g} s")
        try:
            answer: dict[str, Any] = self.conn.recv()
        except EOFError:
            raise RuntimeError("the robots' process ended (its error is above)") from None
        return answer

    def ask(self, command: str) -> dict[str, Any]:
        self.conn.send(command)
        return self._answer(30.0)

    def stop(self) -> dict[str, Any] | None:
        """Stop the robots; their last report (None when the process did not give one)."""
        report = None
        if self.process.is_alive():
            try:
                report = self.ask("stop")
            except (OSError, EOFError, TimeoutError):
                report = None
        self.process.join(10.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5.0)
        self.conn.close()
        return report


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_ros2(*, robots: int = 100, seconds: float = 60.0, profile: str = "rmw_zenoh",
               distro: str = "jazzy", probes: int = 100,
               progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Run the benchmark; its figures (see the module docstring). ``probes``: the most
    order-to-goal probes sent in the window (one at a time, spread over it). ``progress``
    is called about once a real second with the seconds of the window gone.
    ValueError for a bad count or profile; TimeoutError when the robots do not join."""
    if robots < 1 or seconds <= 0 or probes < 0:
        raise ValueError("robots must be at least 1, seconds > 0 and probes >= 0")
    prof, dist = Profile(profile), Distro(distro)
    with tempfile.TemporaryDirectory(prefix="fleet-bench-ros2-") as tmp:
        return _bench(Path(tmp), robots, seconds, prof, dist, probes, progress)


def _namespace(robot: Robot) -> str:
    return "/" + robot.serial.lower().replace("-", "_")


def _sims(fac: Facility, fleet: Sequence[Robot]) -> list[_RobotSpec]:
    return [_RobotSpec(r.serial, _namespace(r), fac.node(r.dock).x, fac.node(r.dock).y,
                       r.robot_class.speed) for r in fleet]


def _specs(fac: Facility, fleet: Sequence[Robot], listen: Mapping[str, str],
           profile: Profile, distro: Distro) -> list[Ros2Robot]:
    """What the manager's robots file would say of the robots (routers at ``listen``)."""
    return [Ros2Robot(r, Nav2Config(
        profile, distro, (listen[r.serial],), namespace=_namespace(r),
        map_frame=MapFrame(0.0, 0.0, 0.0, fac.node(r.dock).level),
        sensors=(SensorTopic("ch4", SENSOR_TOPIC, FLOAT32, "%vol"),))) for r in fleet]


def _bench(work: Path, count: int, seconds: float, profile: Profile, distro: Distro,
           probes: int, progress: Callable[[float], None] | None) -> dict[str, Any]:
    sc = load_scenario(generated_scenario(work / "site", count))
    fac = sc.facility
    fleet = robots_of(sc, count)
    t0 = time.monotonic()
    child = _Robots(_sims(fac, fleet), profile, distro)
    robots_up = time.monotonic() - t0
    result: dict[str, Any] = {}
    try:
        specs = _specs(fac, fleet, child.ready["listen"], profile, distro)
        clock = SystemClock()
        settings = manager_settings(1.0, state_interval=STATE_INTERVAL_S)
        with EmbeddedManager(work, settings, clock, ros2=specs,
                             state_interval=STATE_INTERVAL_S) as embedded:
            link = embedded.ros2_link
            assert link is not None
            manager = embedded.manager
            _until(lambda: _joined(manager) >= count, 60.0 + count,
                   lambda: f"{_joined(manager)} of {count} ROS 2 robots joined")
            startup = time.monotonic() - t0
            window = _Window(manager, link, child, fac, probes, seconds)
            window.open()
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                time.sleep(min(1.0, left))
                if progress is not None:
                    progress(seconds - max(0.0, end - time.monotonic()))
            result = window.close()
            result.update(startup_s=round(startup, 1), robots_start_s=round(robots_up, 1))
    finally:
        last = child.stop()
    if last is not None:
        result.update(window.latency(last["goals"]))
    return result


def _joined(manager: Manager) -> int:
    with manager.lock:
        return sum(1 for r in manager.registry.all()
                   if r.factsheet is not None and r.state is not None)


class _Window:
    """The measured window: counts at both ends, the prober in between."""

    def __init__(self, manager: Manager, link: Ros2Link, robots: _Robots, fac: Facility,
                 probes: int, seconds: float) -> None:
        self.manager, self.link, self.robots, self.fac = manager, link, robots, fac
        self.probes_max = probes
        self.gap = seconds / probes if probes else seconds
        self.states_sent = 0
        self._air = link.network.transport()
        self._air.subscribe(subscription_key(manager.settings.interface, Topic.STATE),
                            self._on_state)
        self.sent: list[tuple[str, float, float, str]] = []
        """Probes: (serial, monotonic, perf_counter at sending, order id)."""
        self._stop = threading.Event()
        self._prober = threading.Thread(target=self._probe, name="bench-ros2-probe",
                                        daemon=True)
        self._start: dict[str, Any] = {}
        self.lost0 = 0

    def _on_state(self, _key: str, _payload: bytes) -> None:
        self.states_sent += 1  # on the network's one delivery thread

    def _counts(self) -> dict[str, Any]:
        """Counts with the robots paused and nothing in flight; the robots' report."""
        report = self.robots.ask("pause")
        time.sleep(SETTLE_S)  # what the robots sent last reaches the bodies
        received: Counter[str] = Counter()
        for k in self.link.keepers.values():
            if k.body is not None:
                received.update(k.body.received)
        m = self.manager
        states = self.link.network.when_idle(lambda: (self.states_sent, m.states_handled))
        return {"report": report, "received": received, "states": states}

    def open(self) -> None:
        self.lost0 = self._lost()
        self._start = self._counts()
        report = self.robots.ask("resume")
        self._start.update(wall=time.monotonic(), cpu=_cpu_self(), robots_cpu=report["cpu_s"])
        if self.probes_max:
            self._prober.start()

    def close(self) -> dict[str, Any]:
        wall, cpu = time.monotonic() - self._start["wall"], _cpu_self() - self._start["cpu"]
        self._stop.set()
        if self._prober.is_alive():
            self._prober.join(PROBE_WAIT_S + 5.0)
        end = self._counts()
        self.robots.ask("resume")  # not silent while the manager stops: none declared lost
        n = len(self.link.keepers)
        start = self._start
        sent_by = {t: end["report"]["published"].get(t, 0)
                   - start["report"]["published"].get(t, 0) for t in READ_TOPICS}
        got_by = {t: end["received"][t] - start["received"][t] for t in READ_TOPICS}
        states_sent = end["states"][0] - start["states"][0]
        handled = end["states"][1] - start["states"][1]
        robots_cpu = end["report"]["cpu_s"] - start["robots_cpu"]
        self._air.close()
        return {
            "robots": n, "wall_s": round(wall, 1),
            "pose_hz": POSE_HZ, "battery_hz": BATTERY_HZ, "sensor_hz": SENSOR_HZ,
            "samples_sent": sum(sent_by.values()), "samples_received": sum(got_by.values()),
            "samples_sent_by_topic": sent_by, "samples_received_by_topic": got_by,
            "samples_keep_up": sent_by == got_by,
            "samples_per_s": round(sum(sent_by.values()) / max(wall, 1e-9)),
            "states_sent": states_sent, "states_handled": handled,
            "states_keep_up": states_sent == handled,
            "states_per_s": round(handled / max(wall, 1e-9), 1),
            "robots_lost": self._lost() - self.lost0,
            "manager_cpu_s": round(cpu, 2),
            "manager_cpu_pct": round(100 * cpu / max(wall, 1e-9), 1),
            "manager_cpu_pct_per_robot": round(100 * cpu / max(wall, 1e-9) / n, 3),
            "robots_cpu_s": round(robots_cpu, 2),
            "robots_cpu_pct": round(100 * robots_cpu / max(wall, 1e-9), 1),
            "robots_cpu_pct_per_robot": round(100 * robots_cpu / max(wall, 1e-9) / n, 3),
            "probes_sent": len(self.sent),
        }

    def _lost(self) -> int:
        with self.manager.lock:
            return sum(1 for r in self.manager.registry.all()
                       if r.status is RobotStatus.CONNECTION_BROKEN)

    def latency(self, goals: Mapping[str, Sequence[float]]) -> dict[str, Any]:
        """Order-to-goal and order-to-state latency of the probes (ms), given the robots'
        goal request times."""
        to_goal, missed = [], 0
        for serial, at, _, _ in self.sent:
            arrived = [t for t in goals.get(serial, ()) if t >= at]
            if arrived:
                to_goal.append((min(arrived) - at) * 1000)
            else:
                missed += 1
        with self.manager.lock:
            seen = dict(self.manager.order_seen)
        to_state = [(seen[o] - perf) * 1000 for _, _, perf, o in self.sent if o in seen]
        return {**_latency("order_to_goal", to_goal), "probes_without_goal": missed,
                **_latency("order_to_state", to_state)}

    def _probe(self) -> None:
        m, fac = self.manager, self.fac
        rng = random.Random(0)
        last: dict[str, str] = {}
        k = 0
        while k < self.probes_max and not self._stop.is_set():
            with m.lock:
                idle = [(r.manufacturer, r.serial, node) for r in m.registry.all()
                        if r.state is not None and not r.busy
                        and last.get(r.serial) in (None, r.state.order_id)
                        and (node := r.node_in(fac)) is not None]
            if not idle:
                self._stop.wait(0.05)
                continue
            manufacturer, serial, node = rng.choice(idle)
            here = fac.node(node)
            there = sorted(n for n in fac.graph.successors(node)
                           if fac.node(n).level == here.level)
            if not there:
                last[serial] = "stuck"  # never picked again
                continue
            k += 1
            nb = fac.node(rng.choice(there))
            edge = fac.edge_between(here.id, nb.id)
            order_id = f"ros2-probe-{k}-{serial}"
            order = route_order(
                Header(manufacturer, serial), order_id,
                [RouteStop(here.id, NodePosition(here.x, here.y, here.level)),
                 RouteStop(nb.id, NodePosition(nb.x, nb.y, nb.level))],
                [RouteLeg(f"{here.id}-{nb.id}", None if edge is None else edge.length)],
                base_end=1)
            last[serial] = order_id
            self.sent.append((serial, time.monotonic(), time.perf_counter(), order_id))
            m.core.send(manufacturer, serial, order)
            end = time.monotonic() + PROBE_WAIT_S
            while order_id not in m.order_seen and time.monotonic() < end \
                    and not self._stop.is_set():
                time.sleep(0.002)
            self._stop.wait(self.gap)


def _until(predicate: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(what())
        time.sleep(0.1)
