"""fleet.ros2 against real ROS 2 Jazzy: rclpy's serialisation and the type hashes in the
message packages' generated JSON. Needs the ``ros2-oracle`` extra (third-party wheels of
rclpy and the message packages); skips cleanly without it."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet.ros2 import cdr
from fleet.ros2.hashes import type_hash
from fleet.ros2.interfaces import kind_of

from .strategies import messages, plain

serialization = pytest.importorskip("rclpy.serialization")
pytest.importorskip("geometry_msgs.msg")
pytest.importorskip("sensor_msgs.msg")
pytest.importorskip("action_msgs.srv")

# The link's types that have Jazzy wheels (tf2_msgs and nav2_msgs have none).
ORACLE_TYPES = [
    "geometry_msgs/msg/PoseStamped",
    "geometry_msgs/msg/PoseWithCovarianceStamped",
    "sensor_msgs/msg/BatteryState",
    "std_msgs/msg/Float32",
    "sensor_msgs/msg/Temperature",
    "action_msgs/msg/GoalStatusArray",
    "action_msgs/srv/CancelGoal_Request",
    "action_msgs/srv/CancelGoal_Response",
    "action_msgs/srv/CancelGoal_Event",
    "service_msgs/msg/ServiceEventInfo",
    "unique_identifier_msgs/msg/UUID",
]
PACKAGES = ["std_msgs", "geometry_msgs", "sensor_msgs", "action_msgs",
            "unique_identifier_msgs", "builtin_interfaces", "service_msgs"]


def rclpy_class(typename: str) -> Any:
    package, kind, name = typename.split("/")
    module = importlib.import_module(f"{package}.{kind}")
    if kind == "srv":
        base, _, part = name.rpartition("_")
        return getattr(getattr(module, base), part)
    return getattr(module, name)


# rclpy (Fast-CDR) leaves alignment padding uninitialised, so its bytes are compared with
# ours after a pass through our deserialiser and serialiser, which writes padding as zeros:
# equal lengths and equal bytes then mean the same layout and the same values.


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_bytes_match_rclpy_both_ways(data: st.DataObject) -> None:
    typename = data.draw(st.sampled_from(ORACLE_TYPES))
    msg = data.draw(messages("jazzy", typename))
    ours = cdr.serialize("jazzy", typename, msg)
    theirs = serialization.serialize_message(
        serialization.deserialize_message(ours, rclpy_class(typename)))
    assert len(theirs) == len(ours)
    read = cdr.deserialize("jazzy", typename, theirs)
    assert plain(read) == plain(msg)
    assert cdr.serialize("jazzy", typename, read) == ours


@pytest.mark.parametrize("typename", ORACLE_TYPES)
def test_rclpy_defaults_read_back(typename: str) -> None:
    # rclpy's defaults include .msg default values (Quaternion.w = 1), which rosbags does
    # not keep, so only the round trip is compared here.
    theirs = serialization.serialize_message(rclpy_class(typename)())
    read = cdr.deserialize("jazzy", typename, theirs)
    again = cdr.serialize("jazzy", typename, read)
    assert len(again) == len(theirs)
    back = serialization.deserialize_message(again, rclpy_class(typename))
    assert back == rclpy_class(typename)()


def _share() -> Path:
    return Path(sys.prefix) / "share"


def test_hashes_match_generated_json() -> None:
    files = [path for package in PACKAGES
             for path in sorted((_share() / package).glob("*/*.json"))]
    if not files:
        pytest.skip(f"no generated type description JSON under {_share()}")
    checked, wrong = 0, []
    for path in files:
        for entry in json.loads(path.read_text())["type_hashes"]:
            name = entry["type_name"]
            try:
                kind_of("jazzy", name)
            except KeyError:
                continue  # a type rosbags' Jazzy store does not hold
            checked += 1
            if type_hash("jazzy", name) != entry["hash_string"]:
                wrong.append(name)
    assert not sorted(set(wrong))
    assert checked > 200


# The vendored nav2 actions whose dependencies have Jazzy wheels (Humble has no hashes;
# Kilted's NavigateThroughPoses needs nav_msgs/Goals and nav2_msgs/WaypointStatus, which
# have none).
GENERATED = [
    ("jazzy", "NavigateToPose"),
    ("jazzy", "NavigateThroughPoses"),
    ("kilted", "NavigateToPose"),
]


@pytest.mark.parametrize(("distro", "action"), GENERATED)
def test_nav2_hashes_match_official_generator(distro: str, action: str, tmp_path: Path) -> None:
    """Run ROS's own rosidl_adapter and rosidl_generator_type_description (shipped with the
    oracle wheels) on the vendored .action file and compare every hash it writes."""
    adapter = pytest.importorskip("rosidl_adapter.action")
    generator = pytest.importorskip("rosidl_generator_type_description")
    source = Path(__file__).parents[2] / "fleet" / "ros2" / "nav2_msgs" / distro
    package = tmp_path / "nav2_msgs"
    (package / "action").mkdir(parents=True)
    text = (source / f"{action}.action").read_text()
    (package / "action" / f"{action}.action").write_text(text)
    idl = tmp_path / "idl"
    adapter.convert_action_to_idl(package, "nav2_msgs", Path(f"action/{action}.action"),
                                  idl / "action")
    includes = ["std_msgs", "geometry_msgs", "builtin_interfaces", "unique_identifier_msgs",
                "service_msgs", "action_msgs"]
    args = tmp_path / "args.json"
    args.write_text(json.dumps({
        "package_name": "nav2_msgs",
        "output_dir": str(tmp_path / "out"),
        "idl_tuples": [f"{idl}:action/{action}.idl"],
        "include_paths": [f"{name}:{_share() / name}" for name in includes],
    }))
    hashes = {
        entry["type_name"]: entry["hash_string"]
        for path in generator.generate_type_hash(str(args))
        for entry in json.loads(Path(path).read_text())["type_hashes"]
    }
    assert f"nav2_msgs/action/{action}_SendGoal" in hashes
    assert {name: type_hash(distro, name) for name in hashes} == hashes
