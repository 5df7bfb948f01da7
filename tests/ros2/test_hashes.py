"""RIHS01 type hashes: the golden values of docs' ROS 2 over Zenoh reference, computed with
the official rosidl generator from the Jazzy interface files."""

from __future__ import annotations

import pytest

from fleet.ros2.hashes import type_description, type_hash, wire_hash
from fleet.ros2.interfaces import Distro, kind_of, typestore

GOLDEN_JAZZY = {
    "nav2_msgs/action/NavigateToPose_SendGoal":
        "RIHS01_a4fcb3bee1bf32e21a0e541a943b221aa0826996e2c98f079b47022b256f48b5",
    "nav2_msgs/action/NavigateToPose_GetResult":
        "RIHS01_c407920357d566771e8882b4ef4d1f1a84ee922d609920ccd57faa6d6e391dc5",
    "nav2_msgs/action/NavigateToPose_FeedbackMessage":
        "RIHS01_9d1f6fa2eb975ce733b419ac2e97b134d8ff92b6478b6559feed9a50bdfd82b3",
    "action_msgs/msg/GoalStatusArray":
        "RIHS01_6c1684b00f177d37438febe6e709fc4e2b0d4248dca4854946f9ed8b30cda83e",
    "action_msgs/srv/CancelGoal":
        "RIHS01_573d8b0a534451d7bc2ac8c5ffde8ac14b8593b7001175d0cd6516dcbeb8689a",
    "sensor_msgs/msg/BatteryState":
        "RIHS01_4bee5dfce981c98faa6828b868307a0a73f992ed0789f374ee96c8f840e69741",
    "std_msgs/msg/String":
        "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18",
    "example_interfaces/srv/AddTwoInts":
        "RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a",
}


@pytest.mark.parametrize("typename", sorted(GOLDEN_JAZZY))
def test_golden_jazzy_hashes(typename: str) -> None:
    assert type_hash(Distro.JAZZY, typename) == GOLDEN_JAZZY[typename]
    assert wire_hash("jazzy", typename) == GOLDEN_JAZZY[typename]


def test_char_hashes_as_uint8_where_rosbags_does_not() -> None:
    # ServiceEventInfo.client_gid is char[16]: ROS hashes it as uint8 array (51).
    fields = type_description("jazzy", "service_msgs/msg/ServiceEventInfo")["type_description"]
    gid = next(f for f in fields["fields"] if f["name"] == "client_gid")
    assert gid["type"] == {"type_id": 51, "capacity": 16, "string_capacity": 0,
                           "nested_type_name": ""}
    rosbags_hash = typestore("jazzy").hash_rihs01("action_msgs/srv/CancelGoal_Event")
    assert rosbags_hash != type_hash("jazzy", "action_msgs/srv/CancelGoal_Event")


def test_humble_has_no_wire_hash() -> None:
    assert wire_hash(Distro.HUMBLE, "std_msgs/msg/String") is None
    with pytest.raises(ValueError, match="Humble"):
        type_hash(Distro.HUMBLE, "std_msgs/msg/String")
    # Humble services have no event message (service introspection came with Iron).
    assert "action_msgs/srv/CancelGoal_Event" not in typestore("humble").fielddefs
    assert "nav2_msgs/action/NavigateToPose_SendGoal_Event" not in typestore("humble").fielddefs


def test_nav2_results_differ_by_distro() -> None:
    humble = typestore("humble").fielddefs["nav2_msgs/action/NavigateToPose_Result"][1]
    jazzy = typestore("jazzy").fielddefs["nav2_msgs/action/NavigateToPose_Result"][1]
    assert [name for name, _ in humble] == ["result"]
    assert [name for name, _ in jazzy] == ["error_code", "error_msg"]
    # Constants are not part of a type description, so Kilted's extra error codes leave
    # NavigateToPose's hashes as Jazzy's; Kilted's NavigateThroughPoses changed fields.
    for part in ("SendGoal", "GetResult", "FeedbackMessage"):
        name = f"nav2_msgs/action/NavigateToPose_{part}"
        assert type_hash("kilted", name) == type_hash("jazzy", name)
    name = "nav2_msgs/action/NavigateThroughPoses_SendGoal"
    assert type_hash("kilted", name) != type_hash("jazzy", name)


def test_action_description_names_its_parts() -> None:
    assert kind_of("jazzy", "nav2_msgs/action/NavigateToPose") == "action"
    top = type_description("jazzy", "nav2_msgs/action/NavigateToPose")
    assert [f["name"] for f in top["type_description"]["fields"]] == [
        "goal", "result", "feedback", "send_goal_service", "get_result_service",
        "feedback_message",
    ]
    names = [t["type_name"] for t in top["referenced_type_descriptions"]]
    assert names == sorted(names)
    assert "nav2_msgs/action/NavigateToPose_SendGoal_Event" in names


def test_unknown_type() -> None:
    with pytest.raises(KeyError):
        type_hash("jazzy", "nope_msgs/msg/Nothing")
