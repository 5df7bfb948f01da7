"""The manager's ROS 2 link refusing robots it cannot drive: another distribution's type
hashes, an unreachable router. Each is shown per robot with the reason and raises an
anomaly (a supervisor is alerted); the manager goes on. And a driven robot's malformed
samples: refused messages shown per robot, the robot kept. Real Zenoh on loopback."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fleet.agent.nav2 import Nav2Config
from fleet.clock import ScaledClock
from fleet.comms import free_port, tcp_endpoint
from fleet.manager.lifecycle import RobotStatus
from fleet.manager.links import RobotId
from fleet.manager.registry import RobotEntry
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


def test_a_malformed_sample_is_refused_and_shown_per_robot_and_the_robot_stays(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Garbage on a driven robot's pose topic: each sample is a refused message of that
    robot on that ROS topic (counted, the latest shown with the reason, logged once), no
    anomaly, and the robot stays online with its poses still coming."""
    clock = ScaledClock(10.0)
    at = tcp_endpoint("127.0.0.1", free_port())
    spec = Ros2Robot(Robot("tb", "n1", CLS, ""),
                     Nav2Config(Profile.RMW_ZENOH, Distro.JAZZY, (at,), namespace="/n1"))
    with SimNav2Robot("nav2", "/n1", Profile.RMW_ZENOH, Distro.JAZZY, listen=at,
                      clock=clock) as robot, \
            EmbeddedManager(tmp_path, manager_settings(10.0), clock, ros2=[spec]) as em:
        m = em.manager

        def entry() -> RobotEntry | None:
            with m.lock:
                return m.registry.find("n1")

        def online() -> bool:
            e = entry()
            return e is not None and e.factsheet is not None and \
                e.status is RobotStatus.ONLINE
        assert _wait(online), "the Nav2 robot never joined"
        assert em.ros2_link is not None
        body = em.ros2_link.keepers[RobotId("tb", "n1")].body
        assert body is not None
        with caplog.at_level(logging.WARNING, logger="fleet.manager.service"):
            for _ in range(3):
                robot.publish_garbage("amcl_pose")
            assert _wait(lambda: body.malformed_on["amcl_pose"] == 3), body.malformed_on
            e = entry()
            assert e is not None and _wait(lambda: e.refused >= 3)
            assert e.last_rejected is not None
            assert e.last_rejected.topic == "/n1/amcl_pose"
            assert e.last_rejected.reason.startswith("malformed CDR sample dropped: ")
            assert "PoseWithCovarianceStamped" in e.last_rejected.reason
            shown = next(r for r in em.manager.registry.all() if r.serial == "n1").to_json()
            assert shown["refused"] == e.refused
            assert shown["last_rejected"]["topic"] == "/n1/amcl_pose"
            # the robot stays: poses keep coming and it is neither lost nor alerted of
            poses = body.received["amcl_pose"]
            assert _wait(lambda: body.received["amcl_pose"] >= poses + 3)
            assert online()
        said = [r.getMessage() for r in caplog.records if "malformed CDR" in r.getMessage()]
        assert len(said) == 1 and "\n" not in said[0], said  # once, not once per sample
        assert "tb/n1 on /n1/amcl_pose" in said[0]
        assert not [a for a in em.store.anomalies(status="open") if a.sensor == "refused:n1"]
