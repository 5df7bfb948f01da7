"""Test kit for whole-system runs: a graph body that drives fast, robots in-process or in
their own process, and a manager on a random loopback port."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fleet.agent import AgentConfig, Capabilities, MoveTarget, Pose, RobotAgent
from fleet.clock import Clock
from fleet.comms.bus import Bus
from fleet.comms.config import free_port, router_config, tcp_endpoint
from fleet.facility import load
from fleet.facility.model import Facility
from fleet.manager import Manager, ManagerSettings, build_manager
from fleet.protocol.inspection import Finding, Reading
from fleet.store import Store

ROOT = Path(__file__).resolve().parents[2]
TINY_MAP = ROOT / "tests" / "data" / "maps" / "tiny.yaml"
TINY_MISSION = ROOT / "tests" / "data" / "missions" / "tiny_patrol.yaml"
QUICK_MISSION = ROOT / "tests" / "data" / "missions" / "tiny_quick_patrol.yaml"
"""One-second dwells, for robots that inspect in real time (the documented plain robot)."""


@dataclass
class GraphBody:
    """A body that teleports along the map's edges ``speedup`` times faster than real."""

    fac: Facility
    node: str
    speed: float = 1.0
    speedup: float = 20.0
    readings: dict[str, float] = field(default_factory=lambda: {"ch4": 0.2, "o2": 20.9})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def position(self) -> Pose:
        with self.lock:
            n = self.fac.nodes[self.node]
        return Pose(n.x, n.y, 0.0, n.level)

    def battery(self) -> tuple[float, bool]:
        return (90.0, False)

    def move_to(self, target: MoveTarget, cancel: threading.Event) -> bool:
        here = self.fac.nodes[self.node]
        there = self.fac.nodes[target.node_id]
        length = target.length or math.dist((here.x, here.y), (there.x, there.y))
        if cancel.wait(length / self.speed / self.speedup):
            return False
        with self.lock:
            self.node = target.node_id
        return True

    def inspect(self, point_id: str, sensors: Sequence[str], duration_s: float,
                cancel: threading.Event) -> tuple[list[Reading], list[Finding]]:
        cancel.wait(duration_s / self.speedup)
        units = {"ch4": "%", "o2": "%", "co": "ppm"}
        return ([Reading(s, self.readings.get(s, 1.0), units.get(s, "")) for s in sensors], [])


def capabilities(epl: str | Sequence[str] | None = "Gb",
                 sensors: Sequence[str] = ("ch4", "o2", "co"),
                 speed: float = 1.0) -> Capabilities:
    """A capable, generous robot."""
    return Capabilities(tuple(sensors), epl, battery_wh=5000, wh_per_metre=0.1,
                        wh_per_second=0.01, charge_w=1000, speed_max=speed)


@contextmanager
def manager_on_port(tmp: Path, *, clock: Clock | None = None, endpoint: str | None = None,
                    **settings: object) -> Iterator[tuple[Manager, str]]:
    """A manager with an embedded router on a free loopback port (or ``endpoint``) and a
    SQLite store in ``tmp`` (a second manager on the same ``tmp`` finds what the first
    stored), on ``clock`` (default: real time)."""
    endpoint = endpoint or tcp_endpoint("127.0.0.1", free_port())
    store = Store.open(None, path=tmp / "fleet.db")
    options = {"robot_timeout": 1.5, "plan_time_limit": 1.0, **settings}
    with Bus.open(router_config([endpoint])) as bus:
        manager = build_manager(store, bus, ManagerSettings(**options),  # type: ignore[arg-type]
                                clock=clock)
        try:
            yield manager, endpoint
        finally:
            manager.stop()
    store.close()


@contextmanager
def robot(endpoint: str, serial: str, node: str = "dock", *, fac: Facility | None = None,
          caps: Capabilities | None = None, speedup: float = 20.0,
          manufacturer: str = "acme") -> Iterator[RobotAgent]:
    """An in-process robot agent with a :class:`GraphBody` at ``node``."""
    body = GraphBody(fac or load(TINY_MAP), node, speedup=speedup)
    config = AgentConfig(manufacturer, serial, caps or capabilities(), state_interval=0.5,
                         resend_after=0.5)
    agent = RobotAgent(config, body, connect=[endpoint])
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()


def robot_process(endpoint: str, serial: str, node: str = "dock", *,
                  speedup: float = 20.0) -> subprocess.Popen[str]:
    """A robot agent in its own process (so a test can SIGKILL it); returns once it runs."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.robot_main", endpoint, serial, node, str(speedup)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", line
    return proc


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
