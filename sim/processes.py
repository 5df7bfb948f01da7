"""One process per simulated robot: :class:`ProcessFleet`.

Isolation at the price of a Python process (and a Zenoh session) per robot: a test can kill
one robot for real (``SIGKILL``: its session dies, its liveliness token vanishes after the
link lease) while the others go on. Each child runs ``python -m sim robot SPEC``, a
:class:`~sim.robots.SimFleet` of one robot on its own session, and shares the parent's
world time: the parent passes the ``time.monotonic()`` of world time 0 (system-wide on
Linux) and the start date, so readings, faults and timestamps agree across processes.

Scheduled ``kill`` faults are carried out by the parent with ``SIGKILL`` (and, with
``duration_s``, a new process started where the robot was last seen); the other faults are
scheduled inside the child. At run time only kills can be injected.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import pickle
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from fleet.clock import ScaledClock
from fleet.comms import Bus, client_config
from fleet.errors import ProtocolError
from fleet.planning.robots import Robot
from fleet.protocol.codec import from_bytes
from fleet.protocol.keys import Topic, parse_key, subscription_key
from sim.errors import ChildFailed as ChildFailed  # re-exported
from sim.robots import FleetOptions
from sim.scenario import Fault, FaultKind, Scenario
from sim.space_server import SpaceAddress, SpaceClient

log = logging.getLogger(__name__)

READY_TIMEOUT = 60.0
"""Real seconds a child may take to say it runs."""

STOP_TIMEOUT = 10.0
"""Real seconds a child may take to stop cleanly after SIGTERM before it is killed."""

SWITCH_INTERVAL_S = 0.001
"""The GIL switch interval of a robot process (Python's default is 5 ms)."""

STATS = "stats "
"""Prefix of the line a child prints when it stops."""


@dataclass(frozen=True)
class ChildSpec:
    """Everything a robot process needs (pickled to a file it reads): its robots (one, or
    a whole fleet for a benchmark), where they start, the router, the world time and the
    space server they share (None: robots pass through each other)."""

    scenario: Scenario
    robots: tuple[Robot, ...]
    starts: Mapping[str, str]
    connect: tuple[str, ...]
    speed: float
    origin: float
    start: datetime
    options: FleetOptions
    space: SpaceAddress | None = None


def child_scenario(scenario: Scenario, serials: Iterable[str], *,
                   kills: bool = False) -> Scenario:
    """The scenario a child needs: no mission, its robots' faults (kills only with
    ``kills``: otherwise they are the parent's job), and a facility without cached indexes
    (they are rebuilt on use)."""
    wanted = set(serials)
    faults = tuple(f for f in scenario.faults
                   if f.robot in wanted and (kills or f.kind is not FaultKind.KILL))
    return replace(scenario, facility=replace(scenario.facility), mission=None, faults=faults)


class RobotProcess:
    """A process running the robots of ``spec`` (one robot for :class:`ProcessFleet`)."""

    def __init__(self, spec: ChildSpec, spec_path: Path) -> None:
        self.spec = spec
        self.serial = ",".join(r.serial for r in spec.robots)
        self._drainer: threading.Thread | None = None
        self.stats: dict[str, Any] = {}
        """What the child reported when it stopped (``stats`` line, see :func:`run_child`)."""
        with spec_path.open("wb") as f:
            pickle.dump(spec, f)
        root = Path(__file__).resolve().parents[1]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH"))
                                            if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sim", "robot", str(spec_path)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Block until the child says ``ready``; ChildFailed with its output otherwise."""
        assert self.proc.stdout is not None
        lines: list[str] = []
        done = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                lines.append(line.rstrip())
                if line.strip() == "ready":
                    done.set()
                    break
            done.set()

        threading.Thread(target=read, daemon=True).start()
        if not done.wait(timeout) or not lines or lines[-1] != "ready":
            self.kill()
            tail = " | ".join(lines[-5:]) or "no output"
            raise ChildFailed(f"robot process {self.serial} did not start: {tail}")
        # keep draining its output so that the child never blocks on a full pipe
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(STATS):
                self.stats = json.loads(line[len(STATS):])
            else:
                log.debug("%s: %s", self.serial, line.rstrip())

    @property
    def alive(self) -> bool:
        """Whether the process runs."""
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the robot dies without a word."""
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """SIGTERM: the robot stops cleanly (OFFLINE); SIGKILL if it does not in time."""
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._drainer is not None:
            self._drainer.join(STOP_TIMEOUT)  # its last line (stats) read


class ProcessFleet:
    """Simulated robots, one process each; the interface of
    :class:`~sim.robots.SimFleet` where it makes sense (no shared pace figures).

    ``clock`` is the world clock of the run (its origin and start date go to every child);
    ``workdir`` holds the children's spec files; ``starts`` where robots start (default:
    their docks); ``space`` the space server the robots share.
    """

    def __init__(self, scenario: Scenario, robots: Sequence[Robot] | None = None, *,
                 connect: Sequence[str], clock: ScaledClock, workdir: Path,
                 options: FleetOptions | None = None, origin: float,
                 start: datetime, starts: Mapping[str, str] | None = None,
                 space: SpaceAddress | None = None) -> None:
        if not connect:
            raise ValueError("robot processes need router endpoints to connect to")
        self.scenario = scenario
        self.clock = clock
        self.options = options if options is not None else FleetOptions()
        self._robots = {r.serial: r for r in (robots if robots is not None
                                              else scenario.fleet.robots)}
        self._connect = tuple(connect)
        self._workdir = workdir
        self._origin = origin
        self._start = start
        self._starts = dict(starts or {})
        self._space = space
        self.processes: dict[str, RobotProcess] = {}
        self.last_node: dict[str, str] = {}
        """Serial → the last node each robot reported (where a restart puts it)."""
        self._timers: list[threading.Timer] = []
        self._observer: Bus | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Start every robot's process (in parallel) and schedule the scenario's kills."""
        self._workdir.mkdir(parents=True, exist_ok=True)
        self._observer = Bus.open(client_config(self._connect))
        itf = self.options.interface
        self._observer.subscribe_raw(subscription_key(itf, Topic.STATE), self._on_state)
        started = [self._spawn(r, self._starts.get(r.serial)) for r in self._robots.values()]
        try:
            for p in started:
                p.wait_ready()
        except ChildFailed:
            self.stop()
            raise
        for fault in self.scenario.faults:
            if fault.kind is FaultKind.KILL and fault.robot in self._robots:
                self._schedule_kill(fault)

    def _spawn(self, robot: Robot, node: str | None = None) -> RobotProcess:
        spec = ChildSpec(child_scenario(self.scenario, [robot.serial]), (robot,),
                         {robot.serial: node} if node else {}, self._connect,
                         self.clock.speed, self._origin, self._start, self.options,
                         self._space)
        n = sum(1 for p in self._workdir.glob(f"{robot.serial}*.pickle"))
        process = RobotProcess(spec, self._workdir / f"{robot.serial}.{n}.pickle")
        with self._lock:
            self.processes[robot.serial] = process
        return process

    def _on_state(self, key: str, payload: bytes) -> None:
        try:
            serial = parse_key(key).serial
            state = from_bytes(payload)
        except ProtocolError:
            return
        node = state.get("lastNodeId") if isinstance(state, Mapping) else None
        if serial in self._robots and isinstance(node, str) and node:
            self.last_node[serial] = node

    def stop(self) -> None:
        """Stop every robot cleanly (idempotent)."""
        with self._lock:
            self._stopped = True
            timers, self._timers = self._timers, []
            processes = list(self.processes.values())
        for t in timers:
            t.cancel()
        for p in processes:
            if p.alive:
                p.proc.send_signal(signal.SIGTERM)
        for p in processes:
            p.stop()
        if self._observer is not None:
            self._observer.close()
            self._observer = None

    def serials(self) -> list[str]:
        """Serial numbers of the fleet's robots."""
        return list(self._robots)

    def alive(self) -> list[str]:
        """Serial numbers of the robots whose process runs."""
        with self._lock:
            return [s for s, p in self.processes.items() if p.alive]

    def kill(self, serial: str) -> None:
        """SIGKILL one robot's process now."""
        with self._lock:
            process = self.processes.get(serial)
        if process is None:
            raise KeyError(f"no robot process {serial!r}")
        process.kill()
        log.info("%s killed (process %d)", serial, process.proc.pid)

    def restart(self, serial: str) -> None:
        """Start a killed robot again at the last node it reported."""
        with self._lock:
            if self._stopped:
                return
        robot = self._robots[serial]
        self._spawn(robot, self.last_node.get(serial)).wait_ready()
        log.info("%s restarted", serial)

    def inject(self, fault: Fault) -> None:
        """Schedule a ``kill`` (the only kind a process fleet takes at run time)."""
        if fault.robot not in self._robots:
            raise KeyError(f"no robot process {fault.robot!r}")
        if fault.kind is not FaultKind.KILL:
            raise ValueError(f"robot processes take only kill faults at run time, not "
                             f"{fault.kind.value}: schedule it in the scenario")
        self._schedule_kill(fault)

    def _schedule_kill(self, fault: Fault) -> None:
        self._after(fault.at_s, lambda: self.kill(fault.robot))
        if fault.duration_s is not None:
            self._after(fault.at_s + fault.duration_s, lambda: self.restart(fault.robot))

    def _after(self, world_t: float, action: Callable[[], None]) -> None:
        delay = max(0.0, self.clock.to_wall(world_t - self.clock.monotonic()))
        timer = threading.Timer(delay if math.isfinite(delay) else 0.0, action)
        timer.daemon = True
        with self._lock:
            if self._stopped:
                return
            self._timers.append(timer)
        timer.start()


class FleetProcess:
    """Every robot of a fleet in one process of its own, beside the manager: the mode for
    hundreds of robots, which would otherwise share one GIL with the manager. The child is
    a :class:`~sim.robots.SimFleet`; the scenario's faults, kills included, are scheduled
    there, and none can be injected from here. ``starts`` and ``space`` as for
    :class:`ProcessFleet`."""

    def __init__(self, scenario: Scenario, robots: Sequence[Robot] | None = None, *,
                 connect: Sequence[str], clock: ScaledClock, workdir: Path, origin: float,
                 start: datetime, options: FleetOptions | None = None,
                 starts: Mapping[str, str] | None = None,
                 space: SpaceAddress | None = None) -> None:
        self._robots = tuple(robots if robots is not None else scenario.fleet.robots)
        serials = [r.serial for r in self._robots]
        mine = {s: n for s, n in (starts or {}).items() if s in set(serials)}
        self.spec = ChildSpec(child_scenario(scenario, serials, kills=True), self._robots,
                              mine, tuple(connect), clock.speed, origin, start,
                              options if options is not None else FleetOptions(), space)
        self._workdir = workdir
        self.process: RobotProcess | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self, timeout: float = 600.0) -> None:
        """Start the process; returns once every robot runs (ChildFailed otherwise)."""
        self._workdir.mkdir(parents=True, exist_ok=True)
        self.process = RobotProcess(self.spec, self._workdir / "fleet.pickle")
        self.process.wait_ready(timeout)

    def stop(self) -> None:
        """Stop every robot cleanly (idempotent); :attr:`stats` is then filled."""
        if self.process is not None:
            self.process.stop()

    @property
    def stats(self) -> dict[str, Any]:
        """What the process reported when it stopped (see :func:`run_child`)."""
        return self.process.stats if self.process is not None else {}

    def serials(self) -> list[str]:
        """Serial numbers of the fleet's robots."""
        return [r.serial for r in self._robots]

    def alive(self) -> list[str]:
        """Every robot while the process runs (kills inside it are not seen from here)."""
        return self.serials() if self.process is not None and self.process.alive else []

    def kill(self, serial: str) -> None:
        """Not possible from outside: ValueError."""
        raise ValueError("robots sharing a fleet process cannot be killed one by one from "
                         "outside: schedule the kill in the scenario, or use one process "
                         "per robot")

    def inject(self, fault: Fault) -> None:
        """Not possible from outside: ValueError."""
        raise ValueError("faults of a fleet process are scheduled in its scenario")


def run_child(spec_path: Path) -> None:
    """The body of ``python -m sim robot SPEC``: run the spec's robots until SIGTERM, then
    print one ``stats {json}`` line: CPU seconds, the bodies' pace, states published."""
    from sim.robots import SimFleet

    with spec_path.open("rb") as f:
        spec: ChildSpec = pickle.load(f)  # our own file, written by the parent
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    clock = ScaledClock(spec.speed, origin=spec.origin, start=spec.start)
    space = SpaceClient(spec.space) if spec.space is not None else None
    fleet = SimFleet(spec.scenario, spec.robots, connect=spec.connect, clock=clock,
                     options=spec.options, starts=spec.starts, space=space)
    pauses = GcPauses()
    # hundreds of threads each taking the GIL briefly (a publish, a wake-up) wait up to the
    # switch interval behind a busy one: a shorter interval keeps their latency down
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    with fleet:
        # the robots' long-lived objects (agents, bodies, maps) need no scanning by every
        # full collection: with a thousand robots a scan stops every thread for 100s of ms
        gc.freeze()
        print("ready", flush=True)
        parent = os.getppid()
        # a parent killed without stopping us leaves us to init: stop too, rather than
        # simulate hundreds of robots for nobody
        while not stop.wait(0.5) and os.getppid() == parent:
            pass
        pace = fleet.pace
        stats = {"world_s": clock.monotonic(), "pace_world_s": pace.world_s,
                 "pace_wall_s": pace.wall_s, "worst_late_s": pace.worst_late_s,
                 "robots": len(spec.robots), "gc_worst_pause_s": pauses.worst,
                 "messages_sent": sum(r.radio.sent for r in fleet.robots.values())}
    if space is not None:
        space.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats["cpu_s"] = usage.ru_utime + usage.ru_stime
    print(STATS + json.dumps(stats), flush=True)


class GcPauses:
    """The longest garbage collection pause of this process, in seconds, from creation
    until :meth:`close`."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._start = 0.0
        gc.callbacks.append(self._on_gc)

    def close(self) -> None:
        """Stop watching."""
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._start = now
        else:
            self.worst = max(self.worst, now - self._start)
