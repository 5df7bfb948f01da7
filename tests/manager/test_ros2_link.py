"""The manager's ROS 2 link refusing robots it cannot drive: another distribution's type
hashes, an unreachable router. Each is shown per robot with the reason and raises an
anomaly (a supervisor is alerted); the manager goes on. Real Zenoh on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fleet.agent.nav2 import Nav2Config
from fleet.clock import ScaledClock
from fleet.comms import free_port, tcp_endpoint
from fleet.manager.ros2_robots import Ros2Robot
from fleet.planning.robots import Robot, RobotClass
from fleet.ros2.interfaces import Distro
from fleet.ros2.keys import Profile
from sim.nav2 import SimNav2Robot
from sim.runner import EmbeddedManager, manager_settings

pytestmark = pytest.mark.timeout(60)

CLS = RobotClass(name="ex-crawler", speed=1.0, battery_wh=1000.0, wh_per_metre=0.05,
                 wh_per_second=0.02, charge_w=500.0, sensors=frozenset({"ch4"}))


def _wait(predicate: Callable[[], bool], seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _refusal(em: EmbeddedManager, serial: str) -> str:
    with em.manager.lock:
        entry = em.manager.registry.find(serial)
        return "" if entry is None or entry.last_rejected is None else \
            entry.last_rejected.reason


def test_a_robot_of_another_distro_and_an_unreachable_one_are_refused_and_alerted(
        tmp_path: Path) -> None:
    clock = ScaledClock(20.0)
    humble_at = tcp_endpoint("127.0.0.1", free_port())
    nobody_at = tcp_endpoint("127.0.0.1", free_port())
    specs = [Ros2Robot(Robot("tb", "humble-1", CLS, ""),
                       Nav2Config(Profile.RMW_ZENOH, Distro.JAZZY, (humble_at,),
                                  namespace="/h1")),
             Ros2Robot(Robot("tb", "far-1", CLS, ""),
                       Nav2Config(Profile.RMW_ZENOH, Distro.JAZZY, (nobody_at,)))]
    with SimNav2Robot("nav2", "/h1", Profile.RMW_ZENOH, Distro.HUMBLE, listen=humble_at,
                      clock=clock), \
            EmbeddedManager(tmp_path, manager_settings(20.0), clock, ros2=specs) as em:
        assert _wait(lambda: "another ROS 2 distribution" in _refusal(em, "humble-1"))
        assert "TypeHashNotSupported" in _refusal(em, "humble-1")
        assert _wait(lambda: "cannot reach its Zenoh router" in _refusal(em, "far-1"))
        assert "\n" not in _refusal(em, "far-1")

        def alerted() -> set[str]:
            return {a.sensor for a in em.store.anomalies(status="open")}
        assert _wait(lambda: {"refused:humble-1", "refused:far-1"} <= alerted())
        # neither was taken for a working robot
        with em.manager.lock:
            assert all(r.factsheet is None for r in em.manager.registry.all())
