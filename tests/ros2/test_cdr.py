"""CDR round trips of the types the ROS 2 link uses, and malformed payloads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet.errors import ProtocolError
from fleet.ros2 import cdr
from fleet.ros2.interfaces import Distro

from .strategies import messages, plain

LINK_TYPES = [
    "geometry_msgs/msg/PoseStamped",
    "geometry_msgs/msg/PoseWithCovarianceStamped",
    "tf2_msgs/msg/TFMessage",
    "sensor_msgs/msg/BatteryState",
    "std_msgs/msg/Float32",
    "sensor_msgs/msg/Temperature",
    "action_msgs/msg/GoalStatusArray",
    "action_msgs/srv/CancelGoal_Request",
    "action_msgs/srv/CancelGoal_Response",
] + [
    f"nav2_msgs/action/{action}_{part}"
    for action in ("NavigateToPose", "NavigateThroughPoses")
    for part in (
        "SendGoal_Request", "SendGoal_Response", "GetResult_Request", "GetResult_Response",
        "FeedbackMessage",
    )
]

_CASES = st.sampled_from([(d, t) for d in Distro for t in LINK_TYPES])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_round_trip(data: st.DataObject) -> None:
    distro, typename = data.draw(_CASES)
    msg = data.draw(messages(distro, typename))
    raw = cdr.serialize(distro, typename, msg)
    assert raw[:4] == cdr.HEADER
    assert plain(cdr.deserialize(distro, typename, raw)) == plain(msg)
    # Payloads may be padded to 4 bytes (Fast-CDR does); up to 3 bytes are accepted.
    assert plain(cdr.deserialize(distro, typename, raw + b"\0" * 3)) == plain(msg)


def test_known_bytes() -> None:
    assert cdr.serialize("jazzy", "std_msgs/msg/String", cdr.message(
        "jazzy", "std_msgs/msg/String", data="hi")) == bytes.fromhex("0001000003000000686900")
    raw = bytes.fromhex("000100000000c03f")
    assert cdr.deserialize("jazzy", "std_msgs/msg/Float32", raw).data == 1.5


def test_message_defaults() -> None:
    msg = cdr.message("jazzy", "nav2_msgs/action/NavigateToPose_SendGoal_Request")
    assert msg.goal.behavior_tree == ""
    assert msg.goal_id.uuid.tolist() == [0] * 16
    assert msg.goal.pose.header.stamp.sec == 0
    humble = cdr.message("humble", "nav2_msgs/action/NavigateToPose_GetResult_Response")
    assert humble.result.result.structure_needs_at_least_one_member == 0
    with pytest.raises(ProtocolError, match="no field"):
        cdr.message("jazzy", "std_msgs/msg/String", text="x")


MALFORMED: list[tuple[str, bytes]] = [
    ("std_msgs/msg/String", b""),
    ("std_msgs/msg/String", b"\x00\x01\x00"),
    ("std_msgs/msg/String", b"\x00\x07\x00\x00\x03\x00\x00\x00hi\x00"),  # XCDR2
    ("std_msgs/msg/String", b"\x00\x01\x00\x00\x00\x00\x00\x00"),  # length 0, no NUL
    ("std_msgs/msg/String", b"\x00\x01\x00\x00\xff\xff\xff\x7fhi\x00"),  # length too long
    ("std_msgs/msg/String", b"\x00\x01\x00\x00\x02\x00\x00\x00\xff\x00"),  # not UTF-8
    ("std_msgs/msg/Float32", b"\x00\x01\x00\x00\x00\x00"),  # truncated
    ("std_msgs/msg/Float32", b"\x00\x01\x00\x00" + b"\x00" * 12),  # trailing bytes
    ("tf2_msgs/msg/TFMessage", b"\x00\x01\x00\x00\xff\xff\xff\xff"),  # huge sequence
    ("sensor_msgs/msg/BatteryState", b"\x00\x01\x00\x00" + b"\x01" * 30),
]


@pytest.mark.parametrize(("typename", "raw"), MALFORMED)
def test_malformed_raises_protocol_error(typename: str, raw: bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        cdr.deserialize("jazzy", typename, raw)
    assert "\n" not in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(LINK_TYPES), st.binary(max_size=80), st.integers(0, 200))
def test_garbage_only_raises_protocol_error(typename: str, tail: bytes, cut: int) -> None:
    good = cdr.serialize("jazzy", typename, cdr.message("jazzy", typename))
    for raw in (cdr.HEADER + tail, good[:cut] + tail, good[: max(4, cut)]):
        try:
            cdr.deserialize("jazzy", typename, raw)
        except ProtocolError as exc:
            assert "\n" not in str(exc)


def test_bad_message_and_unknown_type() -> None:
    uuid: Any = cdr.message("jazzy", "unique_identifier_msgs/msg/UUID", uuid=np.zeros(3))
    with pytest.raises(ProtocolError, match="cannot serialise"):
        cdr.serialize("jazzy", "unique_identifier_msgs/msg/UUID", uuid)
    with pytest.raises(ProtocolError, match="unknown ROS 2 message type"):
        cdr.deserialize("jazzy", "nav2_msgs/action/NavigateToPose", b"\x00\x01\x00\x00")
    with pytest.raises(ProtocolError, match="unknown ROS 2 distro"):
        cdr.serialize("rolling", "std_msgs/msg/String", None)
