"""Nav2Body (fleet.agent.nav2) drives a simulated Nav2 robot (sim.nav2) over real Zenoh on
loopback, for both profiles: the token check, goals per node, cancel, rejection, dwell
sampling, garbage and a robot that vanishes. Time runs 50x (ScaledClock)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from fleet.agent.body import MoveTarget
from fleet.agent.nav2 import MapFrame, Nav2Body, Nav2Config, SensorTopic
from fleet.clock import ScaledClock
from fleet.comms import ZenohTransport, client_config, free_port, tcp_endpoint
from fleet.errors import InspectionFailed, MoveFailed
from fleet.ros2.interfaces import Distro
from fleet.ros2.keys import Profile
from sim.nav2 import SensorSpec, SimNav2Robot

pytestmark = pytest.mark.timeout(60)

FRAME = MapFrame(100.0, 50.0, math.pi / 2, "L1")
"""The robot's map frame sits at site (100, 50), turned a quarter."""


@dataclass
class Rig:
    robot: SimNav2Robot
    body: Nav2Body
    session: ZenohTransport
    clock: ScaledClock


def _rig(profile: Profile, *, distro: Distro = Distro.JAZZY, robot_distro: Distro | None = None,
         reject: bool = False) -> Iterator[Rig]:
    clock = ScaledClock(50.0)
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    robot = SimNav2Robot("nav2", "/nav2_1", profile, robot_distro or distro, listen=endpoint,
                         clock=clock, speed=1.0, reject_goals=reject,
                         sensors={"ch4": SensorSpec("gas/ch4", "std_msgs/msg/Float32",
                                                    lambda x, y: 0.1 + 0.01 * x)})
    robot.start()
    session = ZenohTransport.open(client_config([endpoint]))
    config = Nav2Config(profile, distro, (endpoint,), namespace="/nav2_1", map_frame=FRAME,
                        sensors=(SensorTopic("ch4", "gas/ch4", "std_msgs/msg/Float32",
                                             "%vol"),), pose_timeout=2.0)
    body = Nav2Body(config, session, clock)
    try:
        yield Rig(robot, body, session, clock)
    finally:
        body.close()
        session.close()
        robot.close()


@pytest.fixture(params=[Profile.RMW_ZENOH, Profile.ROS2DDS])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    yield from _rig(request.param)


def _started(rig: Rig) -> Nav2Body:
    assert rig.body.check() is None
    rig.body.start()
    assert rig.body.heard(5.0)
    return rig.body


def test_goals_per_node_reach_the_site_positions(rig: Rig) -> None:
    body = _started(rig)
    start = body.position()
    # the robot starts at its frame's origin: site (100, 50), on the frame's level
    assert (round(start.x, 3), round(start.y, 3), start.map_id) == (100.0, 50.0, "L1")
    cancel = threading.Event()
    for x, y in ((100.0, 52.0), (98.0, 52.0)):
        assert body.move_to(MoveTarget("n", 2, x=x, y=y, map_id="L1"), cancel)
        here = body.position()
        assert math.hypot(here.x - x, here.y - y) < 0.1
    # in the robot's own frame it drove 2 m along its x then 2 m along its y
    assert math.hypot(rig.robot.pose.x - 2.0, rig.robot.pose.y - 2.0) < 0.1
    assert body.battery().charge < 100.0


def test_a_cancelled_goal_stops_the_robot(rig: Rig) -> None:
    body = _started(rig)
    cancel = threading.Event()
    done: list[bool] = []
    t = threading.Thread(target=lambda: done.append(body.move_to(
        MoveTarget("far", 2, x=100.0, y=550.0, map_id="L1"), cancel)))
    t.start()
    cancel.set()
    t.join(10)
    assert done == [False]
    assert rig.robot.pose.x < 400  # it did not drive the 500 m


def test_dwell_samples_the_sensor_topic(rig: Rig) -> None:
    body = _started(rig)
    readings, findings = body.inspect("P1", ["ch4"], 10.0, threading.Event())
    assert [(r.sensor, r.unit) for r in readings] == [("ch4", "%vol")] and findings == []
    assert readings[0].value == pytest.approx(0.1, abs=1e-6)  # at the robot's x = 0
    with pytest.raises(InspectionFailed, match="no topic configured for co"):
        body.inspect("P1", ["co"], 1.0, threading.Event())


def test_garbage_is_dropped_and_a_vanished_robot_is_not_alive(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    """Malformed samples are counted per topic and warned of once per topic (no one hosts
    this body to tell): the robot stays alive and its poses keep coming."""
    body = _started(rig)
    with caplog.at_level(logging.WARNING, logger="fleet.agent.nav2"):
        for _ in range(3):
            rig.robot.publish_garbage("amcl_pose")
        rig.robot.publish_garbage("battery_state")
        end = time.monotonic() + 10.0
        while body.malformed_on["amcl_pose"] < 3 or body.malformed_on["battery_state"] < 1:
            assert time.monotonic() < end, f"the garbage never arrived: {body.malformed_on}"
            time.sleep(0.02)
        poses = body.received["amcl_pose"]
        end = time.monotonic() + 10.0
        while body.received["amcl_pose"] < poses + 3:
            assert time.monotonic() < end, "no pose after the garbage"
            time.sleep(0.02)
    assert body.alive() and body.malformed == 4
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2, warned  # once per topic, not once per sample
    for topic in ("/nav2_1/amcl_pose", "/nav2_1/battery_state"):
        line, = (w for w in warned if f"malformed CDR sample on {topic} dropped" in w)
        assert "\n" not in line and "Could not deserialize" in line
    rig.robot.kill()
    deadline = rig.clock.monotonic() + 20.0
    while body.alive():
        assert rig.clock.monotonic() < deadline, "still alive long after the robot vanished"
        threading.Event().wait(0.05)


def test_a_silent_sensor_fails_the_inspection_but_a_vanished_robot_does_not(rig: Rig) -> None:
    """A robot heard while one sensor stays silent: the inspection fails with the reason.
    A robot gone in the dwell: no verdict (its points are the manager's to hand on once
    it declares the robot lost) until it is heard again or the agent shuts down."""
    co = SensorTopic("co", "gas/co", "std_msgs/msg/Float32", "ppm")
    config = replace(rig.body.config, sensors=(*rig.body.config.sensors, co))
    body = Nav2Body(config, rig.session, rig.clock)
    try:
        assert body.check() is None
        body.start()
        assert body.heard(5.0)
        with pytest.raises(InspectionFailed, match=r"no reading in the dwell from co \(gas/co\)"):
            body.inspect("P1", ["ch4", "co"], 1.0, threading.Event())
        rig.robot.kill()
        cancel = threading.Event()
        outcome: list[BaseException | None] = []

        def dwell() -> None:
            try:
                body.inspect("P1", ["ch4"], 1.0, cancel)
                outcome.append(None)
            except InspectionFailed as exc:
                outcome.append(exc)

        t = threading.Thread(target=dwell)
        t.start()
        # well past the dwell and the pose timeout (2 s): still no verdict
        rig.clock.wait(threading.Event(), 1.0 + 3 * config.pose_timeout)
        assert t.is_alive() and outcome == []
        cancel.set()  # the agent shuts down
        t.join(5.0)
        assert not t.is_alive() and len(outcome) == 1
    finally:
        body.close()


@pytest.mark.parametrize("profile", [Profile.RMW_ZENOH, Profile.ROS2DDS])
def test_a_rejected_goal_fails_the_move(profile: Profile) -> None:
    for rig in _rig(profile, reject=True):
        body = _started(rig)
        with pytest.raises(MoveFailed, match="rejected"):
            body.move_to(MoveTarget("n", 2, x=101.0, y=50.0, map_id="L1"), threading.Event())


def test_a_robot_of_another_distro_is_refused_with_the_reason() -> None:
    for rig in _rig(Profile.RMW_ZENOH, distro=Distro.JAZZY, robot_distro=Distro.HUMBLE):
        problem = rig.body.check()
        assert problem is not None
        assert "TypeHashNotSupported" in problem and "another ROS 2 distribution" in problem


def test_an_unreachable_router_is_one_line() -> None:
    from fleet.errors import NotReachable

    with pytest.raises(NotReachable) as err:
        ZenohTransport.open(client_config([tcp_endpoint("127.0.0.1", free_port())],
                                          timeout_ms=300))
    assert "\n" not in str(err.value)
