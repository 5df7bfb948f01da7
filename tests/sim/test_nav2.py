"""The simulated Nav2 robot (sim.nav2) on real Zenoh over loopback, seen from a client as a
fleet manager would see a real robot: tokens, CDR topics, action services, goal semantics.

Both profiles run every wire test. Time runs 50x faster than real time (ScaledClock), so
a metre at 1 m/s lasts 20 ms. Nothing sleeps to synchronise: waits are on conditions with
timeouts. Attachments of published samples are read with a raw Zenoh subscriber because
the transport seam's subscribe does not deliver them.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import zenoh

from fleet.clock import ScaledClock
from fleet.comms import ZenohTransport, client_config, free_port, tcp_endpoint
from fleet.errors import ProtocolError
from fleet.ros2.attachment import Attachment
from fleet.ros2.cdr import deserialize, message, serialize
from fleet.ros2.hashes import wire_hash
from fleet.ros2.interfaces import Distro
from fleet.ros2.keys import (
    TYPE_HASH_NOT_SUPPORTED,
    BridgeEntity,
    BridgeKind,
    Entity,
    EntityKind,
    Profile,
    action_keys,
    dds_type,
    liveliness_selector,
    topic_key,
)
from sim.nav2 import SensorSpec, SimNav2Robot
from sim.nav2_goals import NAVIGATE_THROUGH_POSES, NAVIGATE_TO_POSE, GoalState, Pose2D
from sim.nav2_msgs import pose_stamped
from sim.nav2_wire import gid_of

pytestmark = pytest.mark.timeout(60)

NS = "/nav2_1"
THROUGH = "navigate_through_poses"
TO_POSE = "navigate_to_pose"
ACTION_TYPES = {THROUGH: NAVIGATE_THROUGH_POSES, TO_POSE: NAVIGATE_TO_POSE}
POSE_T = "geometry_msgs/msg/PoseWithCovarianceStamped"
BATTERY_T = "sensor_msgs/msg/BatteryState"
STATUS_T = "action_msgs/msg/GoalStatusArray"
PROFILES = [Profile.RMW_ZENOH, Profile.ROS2DDS]


def field_value(x: float, y: float) -> float:
    return 20.0 + x + 2 * y


@dataclass
class Rig:
    """A robot and a client connected to its router, with what the client received."""

    robot: SimNav2Robot
    client: ZenohTransport
    cond: threading.Condition = field(default_factory=threading.Condition)
    samples: dict[str, list[bytes]] = field(default_factory=dict)
    _sequence: int = 0

    @property
    def profile(self) -> Profile:
        return self.robot.profile

    @property
    def distro(self) -> Distro:
        return self.robot.distro

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def listen(self, key: str) -> list[bytes]:
        received = self.samples.setdefault(key, [])

        def on_sample(_key: str, payload: bytes) -> None:
            with self.cond:
                received.append(payload)
                self.cond.notify_all()

        self.client.subscribe(key, on_sample)
        return received

    def topic(self, name: str, typename: str) -> str:
        return topic_key(self.profile, self.distro, name, typename, namespace=NS)

    def keys(self, action: str) -> Any:
        return action_keys(self.profile, self.distro, action, ACTION_TYPES[action], namespace=NS)

    def call(self, key: str, service_type: str, request: Any) -> Any:
        """A service call as rmw_zenoh makes it (attachment echoed back), or as through the
        bridge (none); the deserialised response."""
        attachment = None
        if self.profile is Profile.RMW_ZENOH:
            self._sequence += 1
            attachment = Attachment(self._sequence, 1, b"C" * 16).encode()
        payload = serialize(self.distro, f"{service_type}_Request", request)
        # rmw_zenoh clients ask complete queryables only; the bridge's are not complete
        answers = self.client.query(key, payload, timeout=10.0, attachment=attachment,
                                    complete=self.profile is Profile.RMW_ZENOH, json=False)
        assert len(answers) == 1 and not answers[0].error, answers
        if attachment is not None:
            echoed = Attachment.decode(answers[0].attachment or b"")
            assert (echoed.sequence, echoed.gid) == (self._sequence, b"C" * 16)
        else:
            assert answers[0].attachment is None
        return deserialize(self.distro, f"{service_type}_Response", answers[0].payload)

    def uuid_msg(self, goal_id: bytes) -> Any:
        return message(self.distro, "unique_identifier_msgs/msg/UUID",
                       uuid=np.frombuffer(goal_id, dtype=np.uint8).copy())

    def send_goal(self, action: str, poses: list[Pose2D]) -> tuple[bytes, bool]:
        action_type = ACTION_TYPES[action]
        stamped = [pose_stamped(self.distro, p, 0) for p in poses]
        if action == TO_POSE:
            goal = message(self.distro, f"{action_type}_Goal", pose=stamped[0])
        elif self.distro is Distro.KILTED:
            goal = message(self.distro, f"{action_type}_Goal", poses=message(
                self.distro, "nav_msgs/msg/Goals", goals=stamped))
        else:
            goal = message(self.distro, f"{action_type}_Goal", poses=stamped)
        goal_id = uuid.uuid4().bytes
        request = message(self.distro, f"{action_type}_SendGoal_Request",
                          goal_id=self.uuid_msg(goal_id), goal=goal)
        response = self.call(self.keys(action).send_goal, f"{action_type}_SendGoal", request)
        return goal_id, bool(response.accepted)

    def result(self, action: str, goal_id: bytes) -> int:
        action_type = ACTION_TYPES[action]
        request = message(self.distro, f"{action_type}_GetResult_Request",
                          goal_id=self.uuid_msg(goal_id))
        return int(self.call(self.keys(action).get_result, f"{action_type}_GetResult",
                             request).status)

    def cancel(self, action: str, goal_id: bytes) -> Any:
        info = message(self.distro, "action_msgs/msg/GoalInfo", goal_id=self.uuid_msg(goal_id))
        request = message(self.distro, "action_msgs/srv/CancelGoal_Request", goal_info=info)
        return self.call(self.keys(action).cancel_goal, "action_msgs/srv/CancelGoal", request)

    def states(self, action: str, goal_id: bytes) -> list[GoalState]:
        """The goal's states in the status samples received so far, repeats dropped."""
        seen: list[GoalState] = []
        with self.cond:
            raw = list(self.samples.get(self.keys(action).status, []))
        for payload in raw:
            for status in deserialize(self.distro, STATUS_T, payload).status_list:
                if bytes(status.goal_info.goal_id.uuid) == goal_id:
                    state = GoalState(int(status.status))
                    if not seen or seen[-1] is not state:
                        seen.append(state)
        return seen

    def reaches(self, action: str, goal_id: bytes, state: GoalState) -> bool:
        return self.wait_for(lambda: state in self.states(action, goal_id))

    def settle(self) -> None:
        # a round trip to the robot after declaring subscriptions: they are in place after
        assert self.result(THROUGH, bytes(16)) == GoalState.UNKNOWN


@pytest.fixture
def make_rig() -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(profile: Profile, distro: Distro = Distro.JAZZY, **options: Any) -> Rig:
        endpoint = tcp_endpoint("127.0.0.1", free_port())
        settings: dict[str, Any] = {
            "pose": (1.0, 2.0, 0.0), "speed": 1.0, "battery": 80.0, "drain_per_m": 0.5,
            "sensors": {"co2": SensorSpec("co2", "std_msgs/msg/Float32", field_value),
                        "temp": SensorSpec("temperature", "sensor_msgs/msg/Temperature",
                                           field_value)},
        } | options
        robot = SimNav2Robot("nav2_1", NS, profile, distro, listen=endpoint,
                             clock=ScaledClock(50.0), **settings).start()
        rig = Rig(robot, ZenohTransport.open(client_config([endpoint])))
        made.append(rig)
        for action in ACTION_TYPES:
            rig.listen(rig.keys(action).status)
        return rig

    yield make
    for rig in made:
        rig.client.close()
        rig.robot.close()


def tokens_of(rig: Rig, count: int) -> list[str]:
    """The robot's tokens as the client sees them, once ``count`` of them are there."""
    present: set[str] = set()

    def on_token(key: str, alive: bool) -> None:
        with rig.cond:
            (present.add if alive else present.discard)(key)
            rig.cond.notify_all()

    handle = rig.client.watch_tokens(liveliness_selector(rig.profile), on_token)
    assert rig.wait_for(lambda: len(present) >= count)
    handle.undeclare()
    return sorted(present)


def test_rmw_zenoh_tokens_name_the_node_and_every_entity(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(Profile.RMW_ZENOH)
    tokens = tokens_of(rig, len(rig.robot.tokens()))
    assert tokens == sorted(rig.robot.tokens())
    entities = [Entity.parse(t) for t in tokens]
    assert {(e.zid, e.nid, e.namespace, e.node) for e in entities} == {
        (rig.robot.zid, "0", NS, "nav2_1")}
    assert [e.kind for e in entities].count(EntityKind.NODE) == 1
    by_topic = {e.topic: e for e in entities if e.kind is not EntityKind.NODE}
    expected = {
        f"{NS}/amcl_pose": (EntityKind.PUBLISHER, POSE_T),
        f"{NS}/tf": (EntityKind.PUBLISHER, "tf2_msgs/msg/TFMessage"),
        f"{NS}/battery_state": (EntityKind.PUBLISHER, BATTERY_T),
        f"{NS}/co2": (EntityKind.PUBLISHER, "std_msgs/msg/Float32"),
        f"{NS}/temperature": (EntityKind.PUBLISHER, "sensor_msgs/msg/Temperature"),
    }
    for action, action_type in ACTION_TYPES.items():
        base = f"{NS}/{action}/_action/"
        expected |= {
            base + "send_goal": (EntityKind.SERVICE, f"{action_type}_SendGoal"),
            base + "get_result": (EntityKind.SERVICE, f"{action_type}_GetResult"),
            base + "cancel_goal": (EntityKind.SERVICE, "action_msgs/srv/CancelGoal"),
            base + "feedback": (EntityKind.PUBLISHER, f"{action_type}_FeedbackMessage"),
            base + "status": (EntityKind.PUBLISHER, STATUS_T),
        }
    assert set(by_topic) == set(expected)
    for topic, (kind, typename) in expected.items():
        entity = by_topic[topic]
        assert (entity.kind, entity.type_name) == (kind, dds_type(typename))
        assert entity.type_hash == wire_hash(Distro.JAZZY, typename)
    status_qos = by_topic[f"{NS}/{THROUGH}/_action/status"].qos
    assert status_qos is not None and status_qos.depth == 1
    assert len({e.eid for e in entities}) == len(entities)


def test_bridge_tokens_announce_topics_and_action_servers(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(Profile.ROS2DDS)
    entities = [BridgeEntity.parse(t) for t in tokens_of(rig, len(rig.robot.tokens()))]
    assert {e.zid for e in entities} == {rig.robot.zid}
    assert {(e.kind, e.key, e.ros_type) for e in entities} == {
        (BridgeKind.PUBLISHER, "nav2_1/amcl_pose", POSE_T),
        (BridgeKind.PUBLISHER, "nav2_1/tf", "tf2_msgs/msg/TFMessage"),
        (BridgeKind.PUBLISHER, "nav2_1/battery_state", BATTERY_T),
        (BridgeKind.PUBLISHER, "nav2_1/co2", "std_msgs/msg/Float32"),
        (BridgeKind.PUBLISHER, "nav2_1/temperature", "sensor_msgs/msg/Temperature"),
        (BridgeKind.ACTION_SERVER, "nav2_1/navigate_to_pose", NAVIGATE_TO_POSE),
        (BridgeKind.ACTION_SERVER, "nav2_1/navigate_through_poses", NAVIGATE_THROUGH_POSES),
    }


def test_humble_keys_and_tokens_carry_no_type_hash(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(Profile.RMW_ZENOH, Distro.HUMBLE)
    assert rig.topic("amcl_pose", POSE_T).endswith("/" + TYPE_HASH_NOT_SUPPORTED)
    entities = [Entity.parse(t) for t in tokens_of(rig, len(rig.robot.tokens()))]
    assert all(e.type_hash is None for e in entities)
    assert any(f"/{TYPE_HASH_NOT_SUPPORTED}/" in t for t in rig.robot.tokens())
    poses = rig.listen(rig.topic("amcl_pose", POSE_T))
    rig.settle()
    goal_id, accepted = rig.send_goal(TO_POSE, [Pose2D(2.0, 2.0)])
    assert accepted and rig.result(TO_POSE, goal_id) == GoalState.SUCCEEDED
    assert rig.wait_for(lambda: len(poses) > 0)


@pytest.mark.parametrize("profile", PROFILES)
def test_topics_carry_pose_battery_and_sensors_as_cdr(
        make_rig: Callable[..., Rig], profile: Profile) -> None:
    rig = make_rig(profile)
    poses = rig.listen(rig.topic("amcl_pose", POSE_T))
    tf = rig.listen(rig.topic("tf", "tf2_msgs/msg/TFMessage"))
    battery = rig.listen(rig.topic("battery_state", BATTERY_T))
    co2 = rig.listen(rig.topic("co2", "std_msgs/msg/Float32"))
    temp = rig.listen(rig.topic("temperature", "sensor_msgs/msg/Temperature"))
    rig.settle()
    assert rig.wait_for(lambda: all(len(s) >= 2 for s in (poses, tf, battery, co2, temp)))
    pose = deserialize(rig.distro, POSE_T, poses[-1])
    assert pose.header.frame_id == "map"
    assert (pose.pose.pose.position.x, pose.pose.pose.position.y) == (1.0, 2.0)
    assert pose.header.stamp.sec > 1_600_000_000
    transform = deserialize(rig.distro, "tf2_msgs/msg/TFMessage", tf[-1]).transforms[0]
    assert (transform.header.frame_id, transform.child_frame_id) == ("map", "base_link")
    state = deserialize(rig.distro, BATTERY_T, battery[-1])
    assert state.percentage == pytest.approx(0.8) and state.voltage > 0
    assert deserialize(rig.distro, "std_msgs/msg/Float32", co2[-1]).data == pytest.approx(25.0)
    temperature = deserialize(rig.distro, "sensor_msgs/msg/Temperature", temp[-1])
    assert temperature.temperature == pytest.approx(25.0)


@pytest.mark.parametrize("profile", PROFILES)
def test_samples_carry_attachments_on_rmw_zenoh_only(
        make_rig: Callable[..., Rig], profile: Profile) -> None:
    rig = make_rig(profile)
    key = rig.topic("amcl_pose", POSE_T)
    seen: list[bytes | None] = []

    def on_sample(sample: zenoh.Sample) -> None:
        with rig.cond:
            seen.append(None if sample.attachment is None else sample.attachment.to_bytes())
            rig.cond.notify_all()

    session = zenoh.open(client_config([rig.robot.listen]))
    try:
        session.declare_subscriber(key, on_sample)
        session.get(rig.keys(THROUGH).status, timeout=2.0)  # settle: a round trip
        assert rig.wait_for(lambda: len(seen) >= 3)
    finally:
        session.close()  # type: ignore[no-untyped-call]
    if profile is Profile.ROS2DDS:
        assert seen[:3] == [None, None, None]
        return
    attachments = [Attachment.decode(a or b"") for a in seen]
    sequences = [a.sequence for a in attachments]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert all(a.timestamp_ns > 0 for a in attachments)
    token = next(t for t in rig.robot.tokens() if "%amcl_pose/" in t)
    assert {a.gid for a in attachments} == {gid_of(token)}


@pytest.mark.parametrize("profile", PROFILES)
def test_a_goal_through_three_poses_succeeds_there(
        make_rig: Callable[..., Rig], profile: Profile) -> None:
    rig = make_rig(profile)
    feedback = rig.listen(rig.keys(THROUGH).feedback)
    poses = rig.listen(rig.topic("amcl_pose", POSE_T))
    rig.settle()
    path = [Pose2D(3.0, 2.0), Pose2D(3.0, 5.0), Pose2D(0.0, 5.0, math.pi / 2)]
    goal_id, accepted = rig.send_goal(THROUGH, path)
    assert accepted
    assert rig.result(THROUGH, goal_id) == GoalState.SUCCEEDED
    assert rig.reaches(THROUGH, goal_id, GoalState.SUCCEEDED)
    states = rig.states(THROUGH, goal_id)
    assert states.index(GoalState.EXECUTING) < states.index(GoalState.SUCCEEDED)
    end = rig.robot.pose
    assert math.hypot(end.x - 0.0, end.y - 5.0) <= 0.05 and end.yaw == pytest.approx(math.pi / 2)

    def at_end() -> bool:
        last = deserialize(rig.distro, POSE_T, poses[-1]).pose.pose.position if poses else None
        return last is not None and math.hypot(last.x, last.y - 5.0) <= 0.05

    assert rig.wait_for(at_end)
    battery = rig.robot.battery
    assert battery is not None and battery == pytest.approx(80.0 - 0.5 * 8.0, abs=0.01)
    assert feedback, "feedback is published while the goal executes"
    first = deserialize(rig.distro, f"{NAVIGATE_THROUGH_POSES}_FeedbackMessage", feedback[0])
    assert bytes(first.goal_id.uuid) == goal_id
    assert 1 <= first.feedback.number_of_poses_remaining <= 3
    assert 0 < first.feedback.distance_remaining <= 8.0


def test_it_charges_standing_on_a_dock_and_not_while_driving_or_elsewhere(
        make_rig: Callable[..., Rig]) -> None:
    """A dock at (3, 2): the robot drives 2 m to it (80 % - 1 %), then charges there at
    2 %/s, saying CHARGING in battery_state, up to 100 %; standing elsewhere it does not."""
    rig = make_rig(Profile.RMW_ZENOH, docks=[(3.0, 2.0)], charge_per_s=2.0)
    battery = rig.listen(rig.topic("battery_state", BATTERY_T))
    rig.settle()
    assert rig.wait_for(lambda: bool(battery))
    first = deserialize(rig.distro, BATTERY_T, battery[-1])
    assert first.power_supply_status == 2  # DISCHARGING: it stands at (1, 2), off the dock
    assert rig.robot.battery == pytest.approx(80.0, abs=0.01)
    goal_id, accepted = rig.send_goal(THROUGH, [Pose2D(3.0, 2.0)])
    assert accepted and rig.result(THROUGH, goal_id) == GoalState.SUCCEEDED

    def charging() -> bool:
        last = deserialize(rig.distro, BATTERY_T, battery[-1])
        return int(last.power_supply_status) == 1 and last.percentage > 0.80

    assert rig.wait_for(charging)
    assert rig.wait_for(lambda: rig.robot.battery == 100.0)
    assert rig.wait_for(lambda: int(deserialize(rig.distro, BATTERY_T, battery[-1])
                                    .power_supply_status) == 2), "full: no longer charging"


@pytest.mark.parametrize("profile", PROFILES)
def test_a_new_goal_preempts_the_running_one(
        make_rig: Callable[..., Rig], profile: Profile) -> None:
    rig = make_rig(profile)
    rig.settle()
    first, accepted = rig.send_goal(THROUGH, [Pose2D(500.0, 2.0)])
    assert accepted and rig.reaches(THROUGH, first, GoalState.EXECUTING)
    second, accepted = rig.send_goal(THROUGH, [Pose2D(1.0, 3.0)])
    assert accepted
    assert rig.result(THROUGH, first) == GoalState.ABORTED
    assert rig.result(THROUGH, second) == GoalState.SUCCEEDED
    # the other navigator's goal while one navigates is aborted, the running one goes on
    third, _ = rig.send_goal(THROUGH, [Pose2D(500.0, 3.0)])
    assert rig.reaches(THROUGH, third, GoalState.EXECUTING)
    other, accepted = rig.send_goal(TO_POSE, [Pose2D(0.0, 0.0)])
    assert accepted and rig.result(TO_POSE, other) == GoalState.ABORTED
    assert rig.robot.goal_state(third) is GoalState.EXECUTING


@pytest.mark.parametrize("profile", PROFILES)
def test_cancel_stops_a_running_goal(make_rig: Callable[..., Rig], profile: Profile) -> None:
    rig = make_rig(profile)
    rig.settle()
    goal_id, _ = rig.send_goal(TO_POSE, [Pose2D(500.0, 2.0)])
    assert rig.reaches(TO_POSE, goal_id, GoalState.EXECUTING)
    response = rig.cancel(TO_POSE, goal_id)
    assert response.return_code == 0
    assert [bytes(g.goal_id.uuid) for g in response.goals_canceling] == [goal_id]
    assert rig.result(TO_POSE, goal_id) == GoalState.CANCELED
    assert rig.reaches(TO_POSE, goal_id, GoalState.CANCELED)
    stopped = rig.robot.pose
    poses = rig.listen(rig.topic("amcl_pose", POSE_T))
    rig.settle()
    assert rig.wait_for(lambda: len(poses) >= 3)
    assert rig.robot.pose == stopped and stopped.x < 500.0
    assert rig.cancel(TO_POSE, goal_id).return_code == 3  # ERROR_GOAL_TERMINATED
    assert rig.cancel(TO_POSE, uuid.uuid4().bytes).return_code == 2  # ERROR_UNKNOWN_GOAL_ID


@pytest.mark.parametrize("profile", PROFILES)
def test_a_robot_rejecting_goals_answers_accepted_false(
        make_rig: Callable[..., Rig], profile: Profile) -> None:
    rig = make_rig(profile, reject_goals=True)
    goal_id, accepted = rig.send_goal(THROUGH, [Pose2D(1.0, 1.0)])
    assert not accepted
    assert rig.result(THROUGH, goal_id) == GoalState.UNKNOWN


@pytest.mark.parametrize("profile", PROFILES)
def test_killed_robot_tokens_vanish(make_rig: Callable[..., Rig], profile: Profile) -> None:
    rig = make_rig(profile)
    endpoint = rig.robot.listen
    watcher = ZenohTransport.open(client_config([endpoint]))
    present: set[str] = set()
    gone: set[str] = set()

    def on_token(key: str, alive: bool) -> None:
        with rig.cond:
            (present if alive else gone).add(key)
            rig.cond.notify_all()

    try:
        watcher.watch_tokens(liveliness_selector(profile), on_token)
        expected = set(rig.robot.tokens())
        assert rig.wait_for(lambda: present >= expected)
        rig.robot.kill()
        assert rig.wait_for(lambda: gone >= expected)
    finally:
        watcher.close()


@pytest.mark.parametrize("profile", PROFILES)
def test_garbage_on_a_topic_does_not_parse(
        make_rig: Callable[..., Rig], profile: Profile) -> None:
    rig = make_rig(profile)
    key = rig.topic("battery_state", BATTERY_T)
    received = rig.listen(key)
    rig.settle()
    rig.robot.publish_garbage("battery_state")
    bad: list[bytes] = []

    def has_garbage() -> bool:
        for payload in received:
            try:
                deserialize(rig.distro, BATTERY_T, payload)
            except ProtocolError:
                bad.append(payload)
                return True
        return False

    assert rig.wait_for(has_garbage)


def test_kilted_through_poses_goal_succeeds(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(Profile.RMW_ZENOH, Distro.KILTED)
    goal_id, accepted = rig.send_goal(THROUGH, [Pose2D(2.0, 2.0), Pose2D(2.0, 3.0)])
    assert accepted and rig.result(THROUGH, goal_id) == GoalState.SUCCEEDED


@pytest.mark.parametrize("profile", PROFILES)
def test_a_robot_in_the_root_namespace(profile: Profile) -> None:
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    with SimNav2Robot("nav2", "/", profile, Distro.JAZZY, listen=endpoint,
                      clock=ScaledClock(50.0), battery=None) as robot:
        rig = Rig(robot, ZenohTransport.open(client_config([endpoint])))
        try:
            key = topic_key(profile, Distro.JAZZY, "amcl_pose", POSE_T)
            assert key.startswith("0/amcl_pose/" if profile is Profile.RMW_ZENOH else "amcl_pose")
            poses = rig.listen(key)
            tokens = tokens_of(rig, len(robot.tokens()))
            if profile is Profile.RMW_ZENOH:
                assert {Entity.parse(t).namespace for t in tokens} == {"/"}
                assert not any("battery_state" in t for t in tokens)
            else:
                assert "amcl_pose" in {BridgeEntity.parse(t).key for t in tokens}
            assert rig.wait_for(lambda: len(poses) >= 1)
        finally:
            rig.client.close()


def test_sensor_topics_must_not_clash() -> None:
    spec = SensorSpec("tf", "std_msgs/msg/Float32", field_value)
    with pytest.raises(ValueError, match="sensor topics"):
        SimNav2Robot("r", "/", Profile.ROS2DDS, Distro.JAZZY, listen="tcp/127.0.0.1:1",
                     clock=ScaledClock(1.0), sensors={"x": spec})
    with pytest.raises(ValueError, match="sensor type"):
        SensorSpec("co2", "std_msgs/msg/Float64", field_value)


def test_a_bridged_robot_does_not_answer_complete_only_queries(
        make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(Profile.ROS2DDS)
    request = message(rig.distro, f"{NAVIGATE_THROUGH_POSES}_GetResult_Request")
    payload = serialize(rig.distro, f"{NAVIGATE_THROUGH_POSES}_GetResult_Request", request)
    key = rig.keys(THROUGH).get_result
    assert rig.client.query(key, payload, timeout=0.5, complete=True, json=False) == []
    assert len(rig.client.query(key, payload, timeout=5.0, json=False)) == 1


def test_get_result_waits_at_most_result_wait_s(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(Profile.RMW_ZENOH, result_wait_s=0.2)
    goal_id, _ = rig.send_goal(THROUGH, [Pose2D(500.0, 2.0)])
    request = message(rig.distro, f"{NAVIGATE_THROUGH_POSES}_GetResult_Request",
                      goal_id=rig.uuid_msg(goal_id))
    answers = rig.client.query(
        rig.keys(THROUGH).get_result,
        serialize(rig.distro, f"{NAVIGATE_THROUGH_POSES}_GetResult_Request", request),
        timeout=5.0, attachment=Attachment(99, 1, b"C" * 16).encode(), complete=True,
        json=False)
    assert [(a.error, a.payload) for a in answers] == [(True, b"goal still running")]


def test_an_empty_battery_aborts_the_goal(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(Profile.ROS2DDS, battery=1.0, drain_per_m=1.0)
    goal_id, accepted = rig.send_goal(THROUGH, [Pose2D(11.0, 2.0)])
    assert accepted and rig.result(THROUGH, goal_id) == GoalState.ABORTED
    assert rig.robot.battery == 0.0 and 1.9 <= rig.robot.pose.x < 11.0


def test_requests_without_an_attachment_get_an_error_on_rmw_zenoh(
        make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(Profile.RMW_ZENOH)
    request = message(rig.distro, f"{NAVIGATE_THROUGH_POSES}_GetResult_Request")
    payload = serialize(rig.distro, f"{NAVIGATE_THROUGH_POSES}_GetResult_Request", request)
    [answer] = rig.client.query(rig.keys(THROUGH).get_result, payload, timeout=5.0,
                                complete=True, json=False)
    assert answer.error and b"attachment" in answer.payload
