"""Data keys and liveliness tokens of both profiles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.errors import ProtocolError
from fleet.ros2.keys import (
    BridgeEntity,
    BridgeKind,
    Entity,
    EntityKind,
    Profile,
    action_keys,
    dds_type,
    fully_qualified,
    liveliness_selector,
    ros_type,
    service_key,
    topic_key,
)
from fleet.ros2.qos import DdsQos, Durability, History, Reliability, ZenohQos

STRING_HASH = "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18"


def test_golden_rmw_zenoh_key() -> None:
    key = topic_key(Profile.RMW_ZENOH, "jazzy", "chatter", "std_msgs/msg/String")
    assert key == f"0/chatter/std_msgs::msg::dds_::String_/{STRING_HASH}"


def test_humble_writes_type_hash_not_supported() -> None:
    key = topic_key("rmw_zenoh", "humble", "/chatter", "std_msgs/msg/String", domain=7)
    assert key == "7/chatter/std_msgs::msg::dds_::String_/TypeHashNotSupported"


def test_ros2dds_keys_are_names() -> None:
    assert topic_key("ros2dds", "jazzy", "battery_state", "sensor_msgs/msg/BatteryState",
                     namespace="/robot1") == "robot1/battery_state"
    keys = action_keys("ros2dds", "humble", "navigate_to_pose",
                       "nav2_msgs/action/NavigateToPose", namespace="robot1")
    assert keys.send_goal == "robot1/navigate_to_pose/_action/send_goal"
    assert keys.status == "robot1/navigate_to_pose/_action/status"


def test_rmw_zenoh_action_keys() -> None:
    keys = action_keys("rmw_zenoh", "jazzy", "navigate_to_pose",
                       "nav2_msgs/action/NavigateToPose", namespace="/robot1")
    base = "0/robot1/navigate_to_pose/_action"
    assert keys.send_goal == (
        f"{base}/send_goal/nav2_msgs::action::dds_::NavigateToPose_SendGoal_/"
        "RIHS01_a4fcb3bee1bf32e21a0e541a943b221aa0826996e2c98f079b47022b256f48b5")
    assert keys.cancel_goal == (
        f"{base}/cancel_goal/action_msgs::srv::dds_::CancelGoal_/"
        "RIHS01_573d8b0a534451d7bc2ac8c5ffde8ac14b8593b7001175d0cd6516dcbeb8689a")
    assert keys.feedback.startswith(
        f"{base}/feedback/nav2_msgs::action::dds_::NavigateToPose_FeedbackMessage_/RIHS01_9d1f")
    assert keys.status.startswith(f"{base}/status/action_msgs::msg::dds_::GoalStatusArray_/")
    assert keys.get_result.startswith(
        f"{base}/get_result/nav2_msgs::action::dds_::NavigateToPose_GetResult_/RIHS01_c407")


def test_service_key_and_type_names() -> None:
    assert service_key("rmw_zenoh", "jazzy", "add_two_ints",
                       "example_interfaces/srv/AddTwoInts").startswith(
        "0/add_two_ints/example_interfaces::srv::dds_::AddTwoInts_/RIHS01_e118de6b")
    assert dds_type("nav2_msgs/action/NavigateToPose_SendGoal") == (
        "nav2_msgs::action::dds_::NavigateToPose_SendGoal_")
    assert ros_type("std_msgs::msg::dds_::String_") == "std_msgs/msg/String"
    with pytest.raises(ProtocolError):
        ros_type("std_msgs/msg/String")
    assert fully_qualified("a/b", "/ns/") == "/ns/a/b"
    assert fully_qualified("/abs", "/ns") == "/abs"
    with pytest.raises(ProtocolError):
        fully_qualified("/", "/ns")


def test_selectors() -> None:
    assert liveliness_selector(Profile.RMW_ZENOH, 3) == "@ros2_lv/3/**"
    assert liveliness_selector(Profile.ROS2DDS) == "@/*/@ros2_lv/**"


def test_zenoh_qos_encoding() -> None:
    # ROS's default profile after rmw_zenoh's best_available_qos.
    assert ZenohQos(depth=10).encode() == "::,10:,:,:,,"
    assert ZenohQos().encode() == "::,:,:,:,,"
    latched = ZenohQos(durability=Durability.TRANSIENT_LOCAL, depth=1)
    assert latched.encode() == ":1:,1:,:,:,,"
    best = ZenohQos(reliability=Reliability.BEST_EFFORT, history=History.KEEP_ALL,
                    deadline=(1, 500))
    assert best.encode() == "2::2,:1,500:,:,,"
    for qos in (latched, best, ZenohQos()):
        assert ZenohQos.parse(qos.encode()) == qos
    for bad in ("", "::,10:,:,:", "::,10:,:,:,", "x::,:,:,:,,", "9::,:,:,:,,", "::,-1:,:,:,,"):
        with pytest.raises(ProtocolError):
            ZenohQos.parse(bad)


def test_dds_qos_encoding() -> None:
    assert DdsQos().encode() == ":::"
    qos = DdsQos(keyless=False, reliability=1, durability=1, history=(0, 3),
                 user_data="typehash=RIHS01_ab;")
    assert qos.encode() == "K:1:1:0,3:typehash=RIHS01_ab;"
    assert DdsQos.parse(qos.encode()) == qos
    with pytest.raises(ProtocolError):
        DdsQos.parse("X:::")


def test_real_looking_tokens() -> None:
    token = ("@ros2_lv/0/1f2e3d4c5b6a79881f2e3d4c5b6a7988/0/11/MP/%/%/talker/%chatter/"
             f"std_msgs::msg::dds_::String_/{STRING_HASH}/::,7:,:,:,,")
    entity = Entity.parse(token)
    assert entity.kind is EntityKind.PUBLISHER
    assert (entity.namespace, entity.node, entity.topic) == ("/", "talker", "/chatter")
    assert entity.qos == ZenohQos(depth=7)
    assert entity.token() == token
    node = Entity.parse("@ros2_lv/0/abc/0/0/NN/%/%robot1/nav2_container")
    assert node.namespace == "/robot1" and node.topic is None and node.token().endswith(
        "/NN/%/%robot1/nav2_container")
    humble = Entity.parse(token.replace(STRING_HASH, "TypeHashNotSupported"))
    assert humble.type_hash is None and "TypeHashNotSupported" in humble.token()
    bridge = BridgeEntity.parse("@/aabb/@ros2_lv/MP/robot1§battery_state/"
                                "sensor_msgs§msg§BatteryState/:1:0:0,5")
    assert bridge.key == "robot1/battery_state" and bridge.ros_type == (
        "sensor_msgs/msg/BatteryState")
    assert bridge.qos == DdsQos(reliability=1, durability=0, history=(0, 5))


@pytest.mark.parametrize("token", [
    "",
    "@ros2_lv/0/abc/0/1/MP/%/%/talker",  # publisher without topic part
    "@ros2_lv/x/abc/0/1/NN/%/%/talker",  # domain not a number
    "@ros2_lv/0/abc/0/1/XX/%/%/talker",  # unknown kind
    "@ros2_lv/0//0/1/NN/%/%/talker",  # empty zid
    "@ros2_lv/0/abc/0/1/NN/%//talker",  # empty namespace chunk
    "@ros2_lv/0/abc/0/1/MS/%/%/n/%t/T_/H/bad",  # bad qos
    "other/0/abc/0/1/NN/%/%/talker",
])
def test_bad_rmw_zenoh_tokens(token: str) -> None:
    with pytest.raises(ProtocolError):
        Entity.parse(token)


@pytest.mark.parametrize("token", [
    "@/aabb/@ros2_lv/MP/a§b/std_msgs§msg§String",  # MP without qos
    "@/aabb/@ros2_lv/SS/a§b/std_msgs§srv§X/extra",
    "@/aabb/@ros2_lv/ZZ/a/b",
    "@//@ros2_lv/SS/a/b",
    "@/aabb/ros2_lv/SS/a/b",
])
def test_bad_bridge_tokens(token: str) -> None:
    with pytest.raises(ProtocolError):
        BridgeEntity.parse(token)


# Field values: ROS-name-like text with '/' anywhere (also leading, trailing, alone) or
# empty; never '%' (rmw_zenoh's escape) or key-expression wildcards.
_NAME = st.text(st.sampled_from("ab_Z09/:."), max_size=12)
_CHUNK = st.text(st.sampled_from("0123456789abcdef"), min_size=1, max_size=32)


def _as_read(value: str) -> str:
    # '' and '/' are both written '%' and read back as '/'.
    return value or "/"


@given(
    domain=st.integers(0, 232), zid=_CHUNK, nid=_CHUNK, eid=_CHUNK,
    kind=st.sampled_from(EntityKind), enclave=_NAME, namespace=_NAME, node=_NAME,
    topic=_NAME, type_name=_NAME, type_hash=st.none() | _NAME,
    depth=st.integers(1, 1000), durability=st.sampled_from(Durability),
)
def test_rmw_zenoh_token_round_trip(
    domain: int, zid: str, nid: str, eid: str, kind: EntityKind, enclave: str,
    namespace: str, node: str, topic: str, type_name: str, type_hash: str | None,
    depth: int, durability: Durability,
) -> None:
    is_node = kind is EntityKind.NODE
    entity = Entity(
        domain=domain, zid=zid, nid=nid, eid=eid, kind=kind, enclave=enclave,
        namespace=namespace, node=node,
        topic=None if is_node else topic,
        type_name=None if is_node else type_name,
        type_hash=None if is_node else type_hash,
        qos=None if is_node else ZenohQos(durability=durability, depth=depth),
    )
    token = entity.token()
    assert token.count("/") == (8 if is_node else 12)
    back = Entity.parse(token)
    assert back.enclave == _as_read(enclave)
    assert back.namespace == _as_read(namespace)
    assert back.node == _as_read(node)
    if not is_node:
        assert back.topic == _as_read(topic)
        assert back.type_name == _as_read(type_name)
        assert back.type_hash == (None if type_hash is None else _as_read(type_hash))
        assert back.qos == entity.qos
    assert back.token() == token


@given(zid=_CHUNK, kind=st.sampled_from(BridgeKind),
       key=_NAME.filter(bool), ros_type=_NAME.filter(bool),
       qos=st.builds(DdsQos, st.booleans(), st.none() | st.integers(0, 1),
                     st.none() | st.integers(0, 3),
                     st.none() | st.tuples(st.integers(0, 1), st.integers(0, 100))))
def test_bridge_token_round_trip(
    zid: str, kind: BridgeKind, key: str, ros_type: str, qos: DdsQos
) -> None:
    with_qos = kind in (BridgeKind.PUBLISHER, BridgeKind.SUBSCRIPTION)
    entity = BridgeEntity(zid, kind, key, ros_type, qos if with_qos else None)
    assert BridgeEntity.parse(entity.token()) == entity


def test_unwritable_values_are_refused() -> None:
    with pytest.raises(ProtocolError):
        Entity(0, "z", "0", "1", EntityKind.NODE, "/%odd", "n").token()
    with pytest.raises(ProtocolError):
        Entity(0, "z*", "0", "1", EntityKind.NODE, "/", "n").token()
    with pytest.raises(ProtocolError):
        Entity(0, "z", "0", "1", EntityKind.PUBLISHER, "/", "n").token()  # no topic
    with pytest.raises(ProtocolError):
        BridgeEntity("z", BridgeKind.SERVICE_SERVER, "a§b", "t").token()
