"""Simulated ROS 2 robots beside the simulated VDA 5050 ones: :class:`Ros2Fleet`.

Some robots of a scenario run as Nav2 robots on Zenoh (:class:`sim.nav2.SimNav2Robot`,
each with a router of its own on a free loopback port) instead of as SDK agents. They
stand at their docks, each with its map frame where the site puts it (the dock's level,
origin and axes the site's, so a pose in the robot's frame is a site position), read the
scenario's world at the node nearest to them, and are listed as the manager's robots file
would list them (:class:`~fleet.manager.ros2_robots.Ros2Robot`), so a
:class:`~fleet.manager.ros2_link.Ros2Link` drives them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from fleet.agent.nav2 import MapFrame, Nav2Config, SensorTopic
from fleet.clock import Clock
from fleet.comms import free_port, tcp_endpoint
from fleet.facility.model import NodeKind
from fleet.manager.ros2_robots import Ros2Robot
from fleet.planning.robots import Robot
from fleet.ros2.interfaces import Distro
from fleet.ros2.keys import Profile
from fleet.sensors import SENSORS, TEMPERATURE
from sim.nav2 import SensorSpec, SimNav2Robot
from sim.scenario import Scenario
from sim.world import World

FLOAT32 = "std_msgs/msg/Float32"
TEMPERATURE_MSG = "sensor_msgs/msg/Temperature"


class Ros2Fleet:
    """Simulated Nav2 robots for ``robots`` of ``scenario`` (see the module docstring)."""

    def __init__(self, scenario: Scenario, robots: Sequence[Robot], *, clock: Clock,
                 profile: Profile = Profile.RMW_ZENOH, distro: Distro = Distro.JAZZY) -> None:
        self.scenario = scenario
        self.clock = clock
        self.world = World(scenario.facility, scenario)
        self.robots: dict[str, SimNav2Robot] = {}
        self._dead: set[str] = set()
        self.specs: list[Ros2Robot] = []
        fac = scenario.facility

        def rate(hz: float) -> float:
            """A real Nav2 robot's topic rate (world Hz), lowered for a fast world."""
            return min(hz, REAL_HZ / clock.to_world(1.0))

        for robot in robots:
            dock, cls = fac.node(robot.dock), robot.robot_class
            # every dock and charger of its level is a charging dock it may stand on
            docks = [(n.x, n.y) for n in fac.nodes.values() if n.level == dock.level
                     and n.kind in (NodeKind.DOCK, NodeKind.CHARGER)]
            endpoint = tcp_endpoint("127.0.0.1", free_port())
            namespace = "/" + robot.serial.lower().replace("-", "_")
            sensors = sorted(robot.robot_class.sensors)
            sim_sensors = {s: SensorSpec(f"gas/{s}", TEMPERATURE_MSG if s == TEMPERATURE
                                         else FLOAT32, self._field(s, dock.level))
                           for s in sensors}
            self.robots[robot.serial] = SimNav2Robot(
                "nav2", namespace, profile, distro, listen=endpoint, clock=clock,
                pose=(dock.x, dock.y, 0.0), speed=robot.robot_class.speed,
                drain_per_m=100.0 * cls.wh_per_metre / cls.battery_wh, docks=docks,
                charge_per_s=100.0 * cls.charge_w / 3600.0 / cls.battery_wh,
                sensors=sim_sensors, pose_hz=rate(10.0), battery_hz=rate(1.0),
                sensor_hz=rate(2.0))
            link = Nav2Config(
                profile, distro, (endpoint,), namespace=namespace,
                map_frame=MapFrame(0.0, 0.0, 0.0, dock.level),
                sensors=tuple(SensorTopic(s, spec.topic, spec.ros_type, _unit(s))
                              for s, spec in sim_sensors.items()))
            self.specs.append(Ros2Robot(robot, link))

    def _field(self, sensor: str, level: str) -> Callable[[float, float], float]:
        """The world's reading of ``sensor`` at the node of ``level`` nearest to a pose."""
        fac, world = self.scenario.facility, self.world
        nodes = [n for n in fac.nodes.values() if n.level == level]

        def value(x: float, y: float) -> float:
            nearest = min(nodes, key=lambda n: math.hypot(n.x - x, n.y - y))
            reading, _ = world.reading(sensor, nearest.id, self.clock.monotonic())
            return reading
        return value

    def start(self) -> None:
        for r in self.robots.values():
            r.start()

    def kill(self, serial: str) -> None:
        """The robot vanishes (its tokens go, it stops publishing)."""
        self.robots[serial].kill()
        self._dead.add(serial)

    def alive(self) -> list[str]:
        """Serial numbers of the robots not killed."""
        return [s for s in self.robots if s not in self._dead]

    def stop(self) -> None:
        for r in self.robots.values():
            r.close()


REAL_HZ = 20.0
"""The most samples a simulated Nav2 robot publishes per real second on each topic: a
real robot's 10 Hz pose, sped up 60 times, would be 600 a second for each robot."""


def _unit(sensor: str) -> str:
    known = SENSORS.get(sensor)
    return known.unit if known is not None else "1"
