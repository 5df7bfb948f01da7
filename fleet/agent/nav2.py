"""A ROS 2 Nav2 robot as a :class:`~fleet.agent.body.RobotBody`, talked to over Zenoh.

:class:`Nav2Body` lets the SDK's :class:`~fleet.agent.RobotAgent` drive a plain Nav2 robot
that runs nothing of ours: it reaches the robot's Zenoh router (rmw_zenoh's ``rmw_zenohd``,
or a ``zenoh-bridge-ros2dds`` beside a DDS robot) through a
:class:`~fleet.comms.transport.Transport`, and speaks ROS 2 on the wire with the pure data
layer :mod:`fleet.ros2` (CDR, type hashes, key expressions, liveliness tokens, rmw_zenoh's
33-byte attachment). The manager hosts one agent per ROS 2 robot
(:mod:`fleet.manager.ros2_link`); the same body could run on the robot's own computer.

What the robot must offer (docs/ros2.md): Nav2's ``navigate_to_pose`` action, a pose on
``amcl_pose`` (``geometry_msgs/PoseWithCovarianceStamped`` in its ``map`` frame),
``battery_state`` (``sensor_msgs/BatteryState``) and the sensor topics named in its
configuration (``std_msgs/Float32`` or ``sensor_msgs/Temperature``).

- :meth:`Nav2Body.check` reads the robot's liveliness tokens: the ``navigate_to_pose``
  send-goal server must be there with the type hash of the configured distro (rmw_zenoh;
  the bridge's tokens carry the type name only), or the robot is refused with the reason.
- :meth:`Nav2Body.move_to` sends one ``NavigateToPose`` goal per order node (in the robot's
  frame: :class:`MapFrame`), follows the action's ``status`` topic, cancels the goal when the
  agent pauses or stops, and turns a rejected, aborted or cancelled goal into
  :class:`~fleet.errors.MoveFailed` with the reason.
- :meth:`Nav2Body.inspect` is a dwell: it waits the task's time on the clock while the
  sensor topics are sampled, and reports the highest value of each (the worst reading of a
  gas is what the limits are about).
- :meth:`Nav2Body.alive` says whether the pose was heard within the timeout: the link
  takes a robot whose pose went silent (or whose tokens went) off the air.
- A sample that is not the CDR its topic's type says is dropped and counted per topic
  (:attr:`Nav2Body.malformed_on`); whoever hosts the body is told of each one
  (``on_malformed``: the manager's link shows it per robot), or, with no one to tell, the
  body logs a warning the first time per topic.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet.clock import Clock, silence_timeout
from fleet.comms.transport import Handle, Transport
from fleet.errors import InspectionFailed, MoveFailed, ProtocolError, TransportError
from fleet.protocol.inspection import Finding, Reading
from fleet.ros2 import cdr
from fleet.ros2.attachment import Attachment
from fleet.ros2.hashes import wire_hash
from fleet.ros2.interfaces import Distro
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
    topic_key,
)

from .body import Battery, MoveTarget, Pose

log = logging.getLogger(__name__)

NAVIGATE = "nav2_msgs/action/NavigateToPose"
POSE_TYPE = "geometry_msgs/msg/PoseWithCovarianceStamped"
BATTERY_TYPE = "sensor_msgs/msg/BatteryState"
SENSOR_TYPES = {"std_msgs/msg/Float32": "data", "sensor_msgs/msg/Temperature": "temperature"}
"""Sensor message types the body reads, and the field holding the value."""

STATUS_TOPIC = "navigate_to_pose/_action/status"
"""The navigation action's status topic, relative to the robot's namespace."""

# action_msgs/msg/GoalStatus (ros2/rcl_interfaces action_msgs/msg/GoalStatus.msg)
SUCCEEDED, CANCELED, ABORTED = 4, 5, 6
_TERMINAL = {SUCCEEDED: "succeeded", CANCELED: "cancelled", ABORTED: "aborted"}

ARRIVED_M = 0.05
"""How near the goal a pose shows the robot once Nav2 says it succeeded (its goal checker's
tolerance is larger; ours waits for the pose that comes with the stop)."""
SETTLE_S = 1.0
"""Real seconds :meth:`Nav2Body.move_to` waits for that pose (a robot whose goal checker
stops further away goes on with the pose it has)."""
SERVICE_TIMEOUT_S = 5.0
"""Real seconds a goal request or cancel waits for the robot's answer."""


@dataclass(frozen=True)
class MapFrame:
    """Where the robot's ``map`` frame lies in the site: its origin at site ``(x, y)``,
    turned by ``yaw`` radians, on site level ``level``."""

    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0
    level: str = ""

    def to_site(self, x: float, y: float, yaw: float) -> tuple[float, float, float]:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return self.x + c * x - s * y, self.y + s * x + c * y, yaw + self.yaw

    def to_robot(self, x: float, y: float, yaw: float) -> tuple[float, float, float]:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        dx, dy = x - self.x, y - self.y
        return c * dx + s * dy, -s * dx + c * dy, yaw - self.yaw


@dataclass(frozen=True)
class SensorTopic:
    """A sensor of the fleet's vocabulary (``ch4``) read from a robot topic."""

    sensor: str
    topic: str
    type: str
    unit: str

    def __post_init__(self) -> None:
        if self.type not in SENSOR_TYPES:
            raise ValueError(f"sensor {self.sensor}: type {self.type!r} is not one of "
                             f"{', '.join(sorted(SENSOR_TYPES))}")


@dataclass(frozen=True)
class Nav2Config:
    """How to reach one ROS 2 robot (the ``link`` of a robots file, docs/ros2.md)."""

    profile: Profile
    distro: Distro
    connect: tuple[str, ...]
    domain: int = 0
    namespace: str = "/"
    map_frame: MapFrame = field(default_factory=MapFrame)
    sensors: tuple[SensorTopic, ...] = ()
    pose_timeout: float = 3.0
    """Clock seconds without a pose before the robot counts as gone."""


def _gid(seed: str) -> bytes:
    """A 16-byte GID for one of our entities (rmw_zenoh hashes its token; so do we)."""
    return hashlib.sha256(seed.encode()).digest()[:16]


class Nav2Body:
    """One Nav2 robot behind ``transport`` (see the module docstring). Call :meth:`start`
    before the agent starts, :meth:`close` after it stopped; the transport is the caller's."""

    def __init__(self, config: Nav2Config, transport: Transport, clock: Clock, *,
                 node: str = "fleet_manager",
                 on_malformed: Callable[[str, str], None] | None = None) -> None:
        """``on_malformed(topic, reason)`` is called for every malformed sample, with the
        fully qualified ROS topic (``/nav2_1/amcl_pose``) and a one-line reason, on the
        transport's thread and outside the body's lock; it must not raise. Without it the
        body logs a warning the first time per topic (and only counts the others)."""
        self.config = config
        self.transport = transport
        self.clock = clock
        self.pose_timeout = silence_timeout(config.pose_timeout, clock)
        """The pose timeout in clock seconds, no shorter than a fast world allows."""
        c = config
        self._keys = action_keys(c.profile, c.distro, "navigate_to_pose", NAVIGATE,
                                 namespace=c.namespace, domain=c.domain)
        self._lock = threading.Condition()
        self._pose: tuple[float, float, float] | None = None
        self._pose_at = -math.inf
        self._battery: tuple[float, bool] = (100.0, False)
        self._samples: dict[str, list[float]] | None = None
        self._status: dict[bytes, int] = {}
        self._handles: list[Handle] = []
        self._seq = itertools.count(1)
        self._node = node
        self._zid = uuid.uuid4().hex
        self._gid = _gid(f"{self._zid}/client/{c.namespace}/navigate_to_pose")
        self._server: str | None = None  # the action server's token, once found
        self._present = True
        self.malformed = 0
        """Samples from the robot that were not the CDR they should be (dropped)."""
        self.malformed_on: Counter[str] = Counter()
        """Those samples per topic, named as in :attr:`received` (and the action's
        :data:`STATUS_TOPIC`); their sum is :attr:`malformed`; counts only grow."""
        self._on_malformed = on_malformed
        self.received: Counter[str] = Counter()
        """Well-formed samples taken per topic (``amcl_pose``, ``battery_state``, each
        sensor's topic as configured); counts only grow, malformed ones are not counted."""

    # -- discovery ------------------------------------------------------------------------
    def check(self) -> str | None:
        """None when the robot's tokens show the ``navigate_to_pose`` action this body
        speaks; else why it cannot be driven (one line). TransportError when the robot's
        router cannot be asked."""
        c = self.config
        keys = self.transport.tokens(liveliness_selector(c.profile, c.domain), timeout=2.0)
        action = fully_qualified("navigate_to_pose", c.namespace)
        if c.profile is Profile.ROS2DDS:
            for key in keys:
                try:
                    e = BridgeEntity.parse(key)
                except ProtocolError:
                    continue
                if e.kind is BridgeKind.ACTION_SERVER and e.key == action.strip("/"):
                    if e.ros_type != NAVIGATE:
                        return f"{action} is a {e.ros_type}, not a {NAVIGATE}"
                    self._server = key
                    return None
            return f"no {action} action server among the bridge's {len(keys)} tokens"
        want = wire_hash(c.distro, f"{NAVIGATE}_SendGoal")
        topic = f"{action}/_action/send_goal"
        for key in keys:
            try:
                ent = Entity.parse(key)
            except ProtocolError:
                continue
            if ent.kind is EntityKind.SERVICE and ent.topic == topic:
                if ent.type_hash != want:
                    return (f"{topic} has type hash {ent.type_hash or 'TypeHashNotSupported'}, "
                            f"{c.distro.value} expects {want or 'TypeHashNotSupported'}: "
                            "the robot runs another ROS 2 distribution")
                self._server = key
                return None
        return f"no {topic} server among the robot's {len(keys)} tokens (is Nav2 up?)"

    # -- topics -----------------------------------------------------------------------------
    def start(self) -> None:
        """Listen to the pose, battery, action status and sensor topics, and declare our
        node's tokens (rmw_zenoh: it shows in ``ros2 node list``)."""
        c = self.config

        def key(name: str, typename: str) -> str:
            return topic_key(c.profile, c.distro, name, typename, namespace=c.namespace,
                             domain=c.domain)

        sub = self.transport.subscribe
        self._handles += [
            sub(key("amcl_pose", POSE_TYPE), self._on_pose),
            sub(key("battery_state", BATTERY_TYPE), self._on_battery),
            sub(self._keys.status, self._on_status),
        ]
        for s in c.sensors:
            self._handles.append(sub(key(s.topic, s.type), self._sensor_callback(s)))
        if self._server is not None:
            self._handles.append(self.transport.watch_tokens(self._server, self._on_server))
        if c.profile is Profile.RMW_ZENOH:
            self._declare_tokens()

    def _on_server(self, _key: str, present: bool) -> None:
        with self._lock:
            self._present = present
            self._lock.notify_all()

    def _declare_tokens(self) -> None:
        c = self.config
        node = Entity(c.domain, self._zid, "0", "0", EntityKind.NODE, c.namespace, self._node)
        tokens = [node]
        eid = itertools.count(1)
        for name, typename, kind in (
                ("amcl_pose", POSE_TYPE, EntityKind.SUBSCRIPTION),
                ("battery_state", BATTERY_TYPE, EntityKind.SUBSCRIPTION),
                ("navigate_to_pose/_action/send_goal", f"{NAVIGATE}_SendGoal",
                 EntityKind.CLIENT),
                ("navigate_to_pose/_action/cancel_goal", "action_msgs/srv/CancelGoal",
                 EntityKind.CLIENT)):
            tokens.append(Entity(
                c.domain, self._zid, "0", str(next(eid)), kind, c.namespace, self._node,
                topic=fully_qualified(name, c.namespace),
                type_name=dds_type(typename), type_hash=wire_hash(c.distro, typename)))
        for t in tokens:
            self._handles.append(self.transport.declare_token(t.token()))

    def close(self) -> None:
        """Withdraw subscriptions and tokens (the transport stays open)."""
        handles, self._handles = self._handles, []
        for h in handles:
            with contextlib.suppress(TransportError):
                h.undeclare()

    def _decode(self, topic: str, typename: str, payload: bytes) -> Any | None:
        """The message, or None for a malformed sample: dropped, counted and told (the
        robot's garbage must not stop the body; a robot sending only garbage on its pose
        goes silent for :meth:`alive`, but a supervisor should see why)."""
        try:
            return cdr.deserialize(self.config.distro, typename, payload)
        except ProtocolError as exc:
            reason = str(exc)
        with self._lock:
            self.malformed += 1
            self.malformed_on[topic] += 1
            first = self.malformed_on[topic] == 1
        name = fully_qualified(topic, self.config.namespace)
        if self._on_malformed is not None:
            self._on_malformed(name, reason)
        elif first:
            log.warning("ROS 2 robot at %s: malformed CDR sample on %s dropped (%s); "
                        "further ones on it are only counted",
                        ", ".join(self.config.connect), name, reason)
        return None

    def _on_pose(self, _key: str, payload: bytes) -> None:
        msg = self._decode("amcl_pose", POSE_TYPE, payload)
        if msg is None:
            return
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        yaw = math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))
        with self._lock:
            self.received["amcl_pose"] += 1
            self._pose = self.config.map_frame.to_site(float(p.x), float(p.y), yaw)
            self._pose_at = self.clock.monotonic()
            self._lock.notify_all()

    def _on_battery(self, _key: str, payload: bytes) -> None:
        msg = self._decode("battery_state", BATTERY_TYPE, payload)
        if msg is None:
            return
        with self._lock:
            self.received["battery_state"] += 1
        if not math.isfinite(msg.percentage):
            return
        charging = int(msg.power_supply_status) == 1  # POWER_SUPPLY_STATUS_CHARGING
        with self._lock:
            self._battery = (max(0.0, min(100.0, 100.0 * float(msg.percentage))), charging)

    def _sensor_callback(self, sensor: SensorTopic) -> Callable[[str, bytes], None]:
        return lambda _key, payload: self._on_sensor(sensor, payload)

    def _on_sensor(self, sensor: SensorTopic, payload: bytes) -> None:
        msg = self._decode(sensor.topic, sensor.type, payload)
        if msg is None:
            return
        value = float(getattr(msg, SENSOR_TYPES[sensor.type]))
        with self._lock:
            self.received[sensor.topic] += 1
            if self._samples is not None and math.isfinite(value):
                self._samples.setdefault(sensor.sensor, []).append(value)

    def _on_status(self, _key: str, payload: bytes) -> None:
        msg = self._decode(STATUS_TOPIC, "action_msgs/msg/GoalStatusArray", payload)
        if msg is None:
            return
        with self._lock:
            for s in msg.status_list:
                gid = bytes(bytearray(s.goal_info.goal_id.uuid))
                if gid in self._status:
                    self._status[gid] = int(s.status)
            self._lock.notify_all()

    # -- RobotBody ----------------------------------------------------------------------
    def position(self) -> Pose:
        with self._lock:
            x, y, yaw = self._pose if self._pose is not None else (
                self.config.map_frame.x, self.config.map_frame.y, 0.0)
        return Pose(x, y, yaw, self.config.map_frame.level)

    def battery(self) -> Battery:
        with self._lock:
            return Battery(*self._battery)

    def alive(self) -> bool:
        """Whether the robot is there: its navigation server's token present (since
        :meth:`check` found it) and its pose heard within the pose timeout."""
        with self._lock:
            return self._present and \
                self.clock.monotonic() - self._pose_at <= self.pose_timeout

    def heard(self, timeout: float) -> bool:
        """Wait up to ``timeout`` real seconds for a first pose; whether one came."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pose is not None, timeout)

    def move_to(self, target: MoveTarget, cancel: threading.Event) -> bool:
        if target.x is None or target.y is None:
            raise MoveFailed(f"node {target.node_id} has no position to send as a Nav2 goal")
        here = self.position()
        yaw = target.theta if target.theta is not None else math.atan2(
            target.y - here.y, target.x - here.x)
        if math.hypot(target.x - here.x, target.y - here.y) < 0.05 and target.theta is None:
            return True  # already there (the first node of an order)
        goal = uuid.uuid4().bytes
        with self._lock:
            self._status[goal] = 0
        try:
            self._send_goal(goal, self.config.map_frame.to_robot(target.x, target.y, yaw))
            while True:
                with self._lock:
                    self._lock.wait_for(
                        lambda: self._status.get(goal, 0) in _TERMINAL or cancel.is_set(),
                        0.5)
                    status = self._status.get(goal, 0)
                if status == SUCCEEDED:
                    self._settle(target.x, target.y)
                    return True
                if status in _TERMINAL:
                    raise MoveFailed(f"Nav2 goal to {target.node_id} {_TERMINAL[status]}")
                if cancel.is_set():
                    self._cancel(goal)
                    return False
        finally:
            with self._lock:
                self._status.pop(goal, None)

    def _settle(self, x: float, y: float) -> None:
        """Wait briefly for a pose at ``(x, y)``: the goal's result can come before the
        pose sample that shows the robot there, and the agent reports where it stands."""
        with self._lock:
            self._lock.wait_for(lambda: self._pose is not None and math.hypot(
                self._pose[0] - x, self._pose[1] - y) <= ARRIVED_M, SETTLE_S)

    def _call(self, key: str, typename: str, request: Any) -> Any:
        """One service call (rmw_zenoh: complete servers only, with our attachment)."""
        c = self.config
        attachment = None
        if c.profile is Profile.RMW_ZENOH:
            attachment = Attachment(next(self._seq), time.time_ns(), self._gid).encode()
        try:
            answers = self.transport.query(
                key, cdr.serialize(c.distro, f"{typename}_Request", request),
                timeout=SERVICE_TIMEOUT_S, attachment=attachment,
                complete=c.profile is Profile.RMW_ZENOH, json=False)
        except (TransportError, ProtocolError) as exc:
            raise MoveFailed(f"cannot call {key}: {exc}") from None
        ok = [a for a in answers if not a.error]
        if not ok:
            raise MoveFailed(f"no answer from {key} in {SERVICE_TIMEOUT_S:g} s")
        try:
            return cdr.deserialize(c.distro, f"{typename}_Response", ok[0].payload)
        except ProtocolError as exc:
            raise MoveFailed(f"the robot's answer on {key}: {exc}") from None

    def _uuid(self, goal: bytes) -> Any:
        import numpy as np

        return cdr.message(self.config.distro, "unique_identifier_msgs/msg/UUID",
                           uuid=np.frombuffer(goal, dtype=np.uint8).copy())

    def _send_goal(self, goal: bytes, pose: tuple[float, float, float]) -> None:
        d = self.config.distro
        x, y, yaw = pose
        stamped = cdr.message(d, "geometry_msgs/msg/PoseStamped")
        stamped.header.frame_id = "map"
        stamped.pose.position.x, stamped.pose.position.y = x, y
        stamped.pose.orientation.z = math.sin(yaw / 2)
        stamped.pose.orientation.w = math.cos(yaw / 2)
        request = cdr.message(d, f"{NAVIGATE}_SendGoal_Request", goal_id=self._uuid(goal),
                              goal=cdr.message(d, f"{NAVIGATE}_Goal", pose=stamped))
        answer = self._call(self._keys.send_goal, f"{NAVIGATE}_SendGoal", request)
        if not answer.accepted:
            raise MoveFailed("the robot rejected the Nav2 goal")

    def _cancel(self, goal: bytes) -> None:
        d = self.config.distro
        info = cdr.message(d, "action_msgs/msg/GoalInfo", goal_id=self._uuid(goal))
        # the goal may have ended meanwhile: the robot stands either way
        with contextlib.suppress(MoveFailed):
            self._call(self._keys.cancel_goal, "action_msgs/srv/CancelGoal",
                       cdr.message(d, "action_msgs/srv/CancelGoal_Request", goal_info=info))

    def _heard_since(self, since: float, cancel: threading.Event) -> None:
        """Wait until a pose comes after ``since`` (or ``cancel``). Sensors silent because
        the whole robot went silent are not a failed inspection but a robot gone: the
        manager hands its points to others once it declares it lost, so the verdict waits
        until the robot is heard again (a failure reported then is ignored for points
        handed on)."""
        while not cancel.is_set():
            with self._lock:
                if self._present and self._pose_at > since:
                    return
            self.clock.wait(cancel, self.pose_timeout / 10)

    def inspect(self, point_id: str, sensors: Sequence[str], duration_s: float,
                cancel: threading.Event) -> tuple[Sequence[Reading], Sequence[Finding]]:
        topics = {s.sensor: s for s in self.config.sensors}
        missing = [s for s in sensors if s not in topics]
        if missing:
            raise InspectionFailed(f"no topic configured for {', '.join(missing)}")
        with self._lock:
            self._samples = {}
        try:
            self.clock.wait(cancel, duration_s)
        finally:
            with self._lock:
                samples, self._samples = self._samples or {}, None
        silent = [s for s in sensors if not samples.get(s)]
        if silent:
            self._heard_since(self.clock.monotonic(), cancel)
        if silent:
            raise InspectionFailed(
                "no reading in the dwell from " + ", ".join(
                    f"{s} ({topics[s].topic})" for s in silent))
        return [Reading(s, max(samples[s]), topics[s].unit) for s in sensors], []

