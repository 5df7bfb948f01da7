"""The robots file of ``fleet serve --robots``: ROS 2 robots and how to reach them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.errors import MissionError
from fleet.manager.ros2_robots import load_robots
from fleet.ros2.interfaces import Distro
from fleet.ros2.keys import Profile

CLASSES = """\
classes:
  - {name: ex-crawler, speed: 0.8, battery_wh: 1200, wh_per_metre: 0.05,
     wh_per_second: 0.02, charge_w: 600, sensors: [ch4, temperature], epl: Mb}
"""

GOOD = CLASSES + """\
robots:
  - manufacturer: tb
    serial: nav2-1
    class: ex-crawler
    link:
      kind: ros2
      profile: rmw_zenoh
      connect: tcp/127.0.0.1:7448
      domain: 3
      namespace: /nav2_1
      distro: jazzy
      map_frame: {x: 10, y: -5, yaw: 1.5707963, level: L-420}
      sensors:
        ch4: {topic: gas/ch4, type: std_msgs/msg/Float32, unit: "%vol"}
        temperature: {topic: temperature, type: sensor_msgs/msg/Temperature}
  - manufacturer: tb
    serial: dds-1
    class: ex-crawler
    dock: D2
    link: {kind: ros2, profile: ros2dds, connect: [tcp/127.0.0.1:7449], distro: humble}
"""


def test_a_robots_file_gives_each_robot_its_class_and_link(tmp_path: Path) -> None:
    path = tmp_path / "robots.yaml"
    path.write_text(GOOD, encoding="utf-8")
    nav2, dds = load_robots(path)
    assert (nav2.robot.serial, nav2.robot.robot_class.name, nav2.robot.dock) == \
        ("nav2-1", "ex-crawler", "")
    link = nav2.link
    assert (link.profile, link.distro, link.connect, link.domain, link.namespace) == \
        (Profile.RMW_ZENOH, Distro.JAZZY, ("tcp/127.0.0.1:7448",), 3, "/nav2_1")
    assert [(s.sensor, s.topic, s.unit) for s in link.sensors] == [
        ("ch4", "gas/ch4", "%vol"), ("temperature", "temperature", "°C")]  # known unit
    # the robot's frame is turned a quarter and shifted: its (1, 0) is the site's (10, -4)
    x, y, yaw = link.map_frame.to_site(1.0, 0.0, 0.0)
    assert (round(x, 6), round(y, 6), round(yaw, 6)) == (10.0, -4.0, round(math.pi / 2, 6))
    back = link.map_frame.to_robot(x, y, yaw)
    assert [round(v, 6) for v in back] == [1.0, 0.0, 0.0]
    assert (dds.link.profile, dds.link.distro, dds.robot.dock, dds.link.namespace) == \
        (Profile.ROS2DDS, Distro.HUMBLE, "D2", "/")


@pytest.mark.parametrize(("link", "says"), [
    ("{kind: mqtt, connect: tcp/h:1, distro: jazzy}", "link kind must be ros2"),
    ("{kind: ros2, connect: tcp/h:1, distro: rolling}", "distro must be one of humble, jazzy"),
    ("{kind: ros2, connect: tcp/h:1, distro: jazzy, profile: dds}", "profile must be one of"),
    ("{kind: ros2, distro: jazzy}", "connect must be the robot's Zenoh endpoint"),
    ("{kind: ros2, connect: tcp/h:1, distro: jazzy, domain: 300}", "domain must be a ROS"),
    ("{kind: ros2, connect: tcp/h:1, distro: jazzy, namespace: nav}", "namespace must start"),
    ("{kind: ros2, connect: tcp/h:1, distro: jazzy, map_frame: {x: a}}", "map_frame x must"),
    ("{kind: ros2, connect: tcp/h:1, distro: jazzy, sensors: {ch4: {topic: g, "
     "type: std_msgs/msg/String}}}", "sensor ch4: type must be one of"),
    ("{kind: ros2, connect: tcp/h:1, distro: jazzy, sensors: {smell: {topic: g}}}",
     "sensor smell: needs a unit"),
    ("{kind: ros2, connect: tcp/h:1, distro: jazzy, colour: red}", "unknown field 'colour'"),
])
def test_a_bad_link_is_one_located_line(tmp_path: Path, link: str, says: str) -> None:
    path = tmp_path / "robots.yaml"
    path.write_text(CLASSES + "robots:\n  - {manufacturer: tb, serial: r1, class: ex-crawler,"
                    f"\n     link: {link}}}\n", encoding="utf-8")
    with pytest.raises(MissionError) as err:
        load_robots(path)
    lines = str(err.value).splitlines()
    assert len(lines) == 1 and says in lines[0] and "robot r1" in lines[0]
    assert lines[0].startswith(f"{path}:")


def test_a_robot_without_a_link_or_class_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "robots.yaml"
    path.write_text(CLASSES + "robots:\n  - {manufacturer: tb, serial: r1, class: nope}\n",
                    encoding="utf-8")
    with pytest.raises(MissionError) as err:
        load_robots(path)
    text = str(err.value)
    assert "unknown robot class 'nope'" in text and "link must be a mapping" in text


def test_fleet_serve_refuses_a_bad_robots_file_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "robots.yaml"
    path.write_text(CLASSES + "robots:\n  - {manufacturer: tb, serial: r1, class: ex-crawler,"
                    "\n     link: {kind: ros2, connect: tcp/h:1, distro: rolling}}\n",
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["serve", "--robots", str(path), "--db",
                                      f"sqlite:///{tmp_path / 'f.db'}"])
    assert result.exit_code != 0
    assert "distro must be one of" in result.output and "Traceback" not in result.output
