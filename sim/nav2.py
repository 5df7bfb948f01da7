"""A simulated Nav2 robot that looks on Zenoh like a real one: :class:`SimNav2Robot`.

The robot runs its own Zenoh router on ``listen`` (as a robot's ``rmw_zenohd`` or its
zenoh-bridge-ros2dds would) and a fleet manager connects to it as a client. On that session
it behaves, for the parts a fleet manager uses, as a ROS 2 Nav2 robot does with the
:class:`~fleet.ros2.keys.Profile` given:

* topics (CDR, keys from :mod:`fleet.ros2.keys`): ``amcl_pose``
  (geometry_msgs/PoseWithCovarianceStamped, frame ``map``) and ``tf`` (tf2_msgs/TFMessage,
  ``map`` -> ``base_link``) at ``pose_hz``, ``battery_state`` (sensor_msgs/BatteryState) at
  ``battery_hz``, each sensor of ``sensors`` at ``sensor_hz``; header stamps are
  ``clock.now()``;
* the actions ``navigate_to_pose`` and ``navigate_through_poses`` (nav2_msgs, the distro's
  definitions): ``send_goal``, ``get_result``, ``cancel_goal`` as queryables on the exact
  service keys, ``feedback`` and ``status`` as topics; goal semantics in
  :mod:`sim.nav2_goals`, messages in :mod:`sim.nav2_msgs`, keys and tokens in
  :mod:`sim.nav2_wire`. The queryables are *complete* under rmw_zenoh (its clients ask
  ALL_COMPLETE) and not complete under ros2dds, as the bridge declares them
  (zenoh-plugin-ros2dds ``route_service_srv.rs``: ``declare_queryable`` without
  ``complete``), so a complete-only query gets no answer from a bridged robot;
* liveliness tokens: rmw_zenoh (ros2/rmw_zenoh ``liveliness_utils.cpp``): an NN token for
  the node and one per entity, MP per publisher and SS per service server; an action is
  declared as rcl_action does (``rcl_action_server_init``: the send_goal, cancel_goal and
  get_result servers, then the feedback and status publishers). ros2dds
  (eclipse-zenoh/zenoh-plugin-ros2dds ``liveliness_mgt.rs``): one MP per routed topic and one
  AS per action server (the bridge announces no nodes and no action sub-entities).

rmw_zenoh specifics: every sample carries the 33-byte :class:`~fleet.ros2.attachment.
Attachment`: a sequence number counted from 1 per publisher, the source timestamp
(``clock.now()`` in ns, so it agrees with header stamps under a ScaledClock) and the
publisher's GID (:func:`sim.nav2_wire.gid_of`: derived from the entity's token, see
there). A service reply echoes the request's sequence number and GID with the server's
timestamp. A request without a valid attachment, or whose CDR does not parse, gets an error
reply (a real server drops it and the caller times out; an error reply ends the test sooner
and says why). Node id 0, entity ids from 1 in declaration order (our choice: rmw_zenoh
numbers nodes and entities from one counter per context, so real ids depend on the
process). The zid in the tokens is the router session's own
(set in its configuration); a real robot's nodes have their own sessions behind its router.

Simplifications a caller should know: one node (``name``) owns every entity (a real Nav2
splits them over amcl, bt_navigator, ...); ``amcl_pose`` and the action status are
TRANSIENT_LOCAL in their token QoS but plain publications: rmw_zenoh publishes such topics
from a zenoh-ext advanced publisher with a cache, publisher detection (its own ``@adv/...``
tokens) and sample-miss heartbeats (``rmw_publisher_data.cpp``), none of which the transport
seam offers, so a late subscriber sees the status at its next change only; the battery
drains as it drives, a goal is ABORTED when it is empty, and it charges (``CHARGING``) only
while it stands with no goal on one of its ``docks`` (a charging dock the robot backs onto
itself, as opennav_docking's are: the fleet manager never asks); a get_result handler blocks
on a Zenoh thread until the goal ends, for at most ``result_wait_s`` real seconds, then
answers with an error reply (rclcpp_action defers the response indefinitely); an unknown
goal gets status UNKNOWN at once, as rclcpp_action answers.

Threads: one driving thread moves the robot on ``clock`` time (``clock.wait`` on an event,
no busy loop) and publishes; query handlers run on Zenoh's threads; one lock guards all
state. ``kill()`` and ``close()`` both end the session, so every token goes.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any, Self

import numpy as np

from fleet.clock import Clock
from fleet.comms import Answer, Query, ZenohTransport, router_config
from fleet.errors import ProtocolError
from fleet.ros2.cdr import HEADER, deserialize, message, serialize
from fleet.ros2.interfaces import Distro
from fleet.ros2.keys import CANCEL_GOAL_TYPE, Profile
from sim import nav2_msgs as msgs
from sim.errors import NoAnswer
from sim.nav2_goals import (
    NAVIGATE_THROUGH_POSES,
    NAVIGATE_TO_POSE,
    Goal,
    GoalState,
    GoalTable,
    Pose2D,
)
from sim.nav2_wire import Entities, Stream

__all__ = ["ACTIONS", "SensorSpec", "SimNav2Robot"]

log = logging.getLogger(__name__)

#: The robot's action servers: ROS name -> nav2_msgs action type.
ACTIONS = {"navigate_to_pose": NAVIGATE_TO_POSE, "navigate_through_poses": NAVIGATE_THROUGH_POSES}
SENSOR_TYPES = ("std_msgs/msg/Float32", "sensor_msgs/msg/Temperature")
DOCKED_M = 0.5
"""How near a dock's position the robot stands on it (it ends a goal there exactly)."""
_GARBAGE = HEADER + b"\xff\xff\xff"  # too short for any message the robot publishes


@dataclass(frozen=True)
class SensorSpec:
    """A sensor topic: ``topic`` (relative to the robot's namespace), ``ros_type`` one of
    :data:`SENSOR_TYPES`, ``value(x, y)`` the reading at the robot's position."""

    topic: str
    ros_type: str
    value: Callable[[float, float], float]

    def __post_init__(self) -> None:
        if self.ros_type not in SENSOR_TYPES:
            raise ValueError(f"sensor type must be one of {SENSOR_TYPES}, not {self.ros_type}")


class SimNav2Robot:
    """A Nav2 robot on rmw_zenoh or behind zenoh-bridge-ros2dds (see the module docstring).

    ``pose`` is ``(x, y, yaw)`` in the robot's map frame; ``speed`` m/s along straight
    lines; ``battery`` the start charge in percent (None: no battery_state topic),
    ``drain_per_m`` percent per metre driven, ``charge_per_s`` percent per second on one of
    its ``docks`` (map-frame ``(x, y)``); ``sensors`` maps labels to sensor topics;
    rates are per second of ``clock``; ``reject_goals`` (may be changed at any time) makes
    send_goal answer accepted=false; ``result_wait_s`` bounds a blocked get_result (real
    seconds). Thread-safe; a context manager (``start()`` on enter, ``close()`` on exit).
    """

    def __init__(self, name: str, namespace: str, profile: Profile, distro: Distro, *,
                 listen: str, clock: Clock, domain: int = 0,
                 pose: tuple[float, float, float] = (0.0, 0.0, 0.0), speed: float = 0.5,
                 battery: float | None = 100.0, drain_per_m: float = 0.1,
                 docks: Sequence[tuple[float, float]] = (), charge_per_s: float = 0.0,
                 sensors: Mapping[str, SensorSpec] | None = None, pose_hz: float = 10.0,
                 battery_hz: float = 1.0, sensor_hz: float = 2.0, reject_goals: bool = False,
                 result_wait_s: float = 30.0) -> None:
        if speed <= 0 or min(pose_hz, battery_hz, sensor_hz) <= 0:
            raise ValueError("speed and rates must be > 0")
        self.name, self.namespace = name, namespace
        self.profile, self.distro, self.domain = Profile(profile), Distro(distro), domain
        self.listen, self.clock, self.speed = listen, clock, float(speed)
        self.reject_goals = reject_goals
        self.result_wait_s = result_wait_s
        self.drain_per_m = drain_per_m
        self.docks, self.charge_per_s = tuple(docks), charge_per_s
        self._charging = False
        self.sensors = dict(sensors or {})
        topics = [spec.topic for spec in self.sensors.values()]
        if len(set(topics)) != len(topics) or {"amcl_pose", "tf", "battery_state"} & set(topics):
            raise ValueError(f"sensor topics must be distinct and not the robot's own: {topics}")
        self._periods = {"pose": 1 / pose_hz, "battery": 1 / battery_hz, "sensor": 1 / sensor_hz}
        # a Zenoh id is hex without a leading 0 (zenoh-protocol ZenohIdProto::from_str)
        zid = secrets.token_hex(16)
        self.zid = "1" + zid[1:] if zid.startswith("0") else zid
        self._pose = Pose2D(*pose)
        self._battery = battery
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # goal states, for get_result
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._goals = GoalTable()
        self._transport: ZenohTransport | None = None
        self._thread: threading.Thread | None = None
        self._entities = Entities(self.profile, self.distro, self.domain, self.zid,
                                  self.namespace, self.name)
        self._streams = self._declare_streams()
        self._topics = {stream.key: name for name, stream in self._streams.items()}
        self.published: Counter[str] = Counter()
        """Samples published so far per topic (``amcl_pose``, ``tf``, ``battery_state``,
        each sensor topic, the actions' ``feedback`` and ``status``), garbage included;
        read it under no lock (counts only grow)."""
        self.goal_requests: list[tuple[float, str]] = []
        """``(time.monotonic(), action)`` of every send_goal request that reached the
        robot, in arrival order, before it is answered (accepted or not): when a goal
        arrived, for a benchmark's order-to-goal latency (system-wide on Linux)."""
        self.paused = False
        """While True the driving thread publishes nothing periodic (pose, tf, battery,
        sensors, feedback) and skips those periods; goals still move. A benchmark pauses to
        count samples sent and received with none in flight; a pause longer than the
        manager's pose timeout takes the robot off the air."""

    # --- what a test may look at ------------------------------------------------------

    @property
    def pose(self) -> Pose2D:
        """Where the robot is now."""
        with self._lock:
            return self._pose

    @property
    def battery(self) -> float | None:
        """Charge in percent (None when the robot has no battery topic)."""
        with self._lock:
            return self._battery

    def tokens(self) -> list[str]:
        """The liveliness tokens the robot declares (in declaration order)."""
        return self._entities.tokens()

    def goal_state(self, goal_id: bytes) -> GoalState:
        """The state of goal ``goal_id`` (UNKNOWN when the robot does not know it)."""
        with self._lock:
            goal = self._goals.goals.get(goal_id)
            return GoalState.UNKNOWN if goal is None else goal.state

    # --- lifecycle --------------------------------------------------------------------

    def _declare_streams(self) -> dict[str, Stream]:
        e = self._entities
        streams = {
            "amcl_pose": e.publisher("amcl_pose", "geometry_msgs/msg/PoseWithCovarianceStamped",
                                     depth=1, transient_local=True),
            "tf": e.publisher("tf", "tf2_msgs/msg/TFMessage", depth=100),
        }
        if self._battery is not None:
            streams["battery_state"] = e.publisher("battery_state", "sensor_msgs/msg/BatteryState")
        for spec in self.sensors.values():
            # sensor drivers publish with SensorDataQoS: best effort, keep last 5
            streams[spec.topic] = e.publisher(spec.topic, spec.ros_type, depth=5,
                                              best_effort=True)
        for action, action_type in ACTIONS.items():
            feedback, status = e.action_server(action, action_type)
            streams[f"{action}/_action/feedback"] = feedback
            streams[f"{action}/_action/status"] = status
        return streams

    def start(self) -> Self:
        """Open the router session, declare servers then tokens, start driving. A robot
        starts once (RuntimeError after); NotReachable when ``listen`` cannot be bound."""
        if self._thread is not None or self._stop.is_set():
            raise RuntimeError(f"simulated Nav2 robot {self.name} was already started")
        config = router_config([self.listen])
        config.insert_json5("id", json.dumps(self.zid))
        transport = ZenohTransport.open(config)
        self._transport = transport
        # servers before tokens, as rmw_zenoh declares them (rmw_service_data.cpp): a client
        # that sees the token can call at once
        for action, action_type in ACTIONS.items():
            keys = self._entities.action(action, action_type)
            complete = self.profile is Profile.RMW_ZENOH
            for key, service_type, handle in (
                    (keys.send_goal, f"{action_type}_SendGoal", self._send_goal),
                    (keys.cancel_goal, CANCEL_GOAL_TYPE, self._cancel_goal),
                    (keys.get_result, f"{action_type}_GetResult", self._get_result)):
                transport.serve(key, self._service(service_type, partial(handle, action)),
                                complete=complete)
        for token in self._entities.tokens():
            transport.declare_token(token)
        self._thread = threading.Thread(target=self._run, name=f"nav2-{self.name}", daemon=True)
        self._thread.start()
        return self

    def kill(self) -> None:
        """Vanish as a crashed robot does: publishing stops, the session closes, every token
        goes; blocked get_result calls get error replies."""
        self._stop.set()
        self._wake.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        with self._lock:  # handlers publish under the lock; closing must wait for them
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def close(self) -> None:
        """Stop (idempotent). As :meth:`kill`: a Nav2 robot leaving says nothing more."""
        self.kill()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def publish_garbage(self, topic: str) -> None:
        """Publish a malformed (truncated) CDR sample on ``topic`` (a stream name such as
        ``amcl_pose``, ``battery_state``, a sensor topic or ``navigate_to_pose/_action/
        status``), with a valid attachment under rmw_zenoh. KeyError for an unknown one."""
        stream = self._streams[topic]
        with self._lock:
            self._put(stream, _GARBAGE)

    # --- publishing -------------------------------------------------------------------

    def _now_ns(self) -> int:
        return msgs.stamp_of(self.clock.now())

    def _put(self, stream: Stream, payload: bytes) -> None:
        # under self._lock: sequence numbers are per publisher and must not interleave
        transport = self._transport
        if transport is None or self._stop.is_set():
            return
        attachment = stream.attachment(self._now_ns())
        transport.publish(stream.key, payload, attachment=attachment, json=False)
        self.published[self._topics[stream.key]] += 1

    def _send(self, stream: Stream, msg: Any) -> None:
        self._put(stream, serialize(self.distro, stream.type_name, msg))

    def _publish_pose(self, stamp_ns: int) -> None:
        self._send(self._streams["amcl_pose"], msgs.amcl_pose(self.distro, self._pose, stamp_ns))
        self._send(self._streams["tf"], msgs.tf_message(self.distro, self._pose, stamp_ns))

    def _publish_battery(self, stamp_ns: int) -> None:
        if self._battery is not None:
            self._send(self._streams["battery_state"],
                       msgs.battery_state(self.distro, self._battery, stamp_ns,
                                          charging=self._charging))

    def _publish_sensors(self, stamp_ns: int) -> None:
        for spec in self.sensors.values():
            try:
                value = float(spec.value(self._pose.x, self._pose.y))
            # a scenario's field function is user code: a bad one must not stop the robot
            except Exception:
                log.exception("sensor %s failed at %s", spec.topic, self._pose)
                continue
            self._send(self._streams[spec.topic],
                       msgs.sensor_reading(self.distro, spec.ros_type, value, stamp_ns))

    def _publish_status(self, action: str) -> None:
        goals = [g for g in self._goals.goals.values() if g.action == action]
        self._send(self._streams[f"{action}/_action/status"],
                   msgs.status_array(self.distro, goals))

    def _publish_feedback(self, goal: Goal, stamp_ns: int) -> None:
        self._send(self._streams[f"{goal.action}/_action/feedback"], msgs.feedback_message(
            self.distro, ACTIONS[goal.action], goal, self._pose, stamp_ns,
            self.clock.monotonic() - goal.started, self.speed))

    # --- driving ----------------------------------------------------------------------

    def _run(self) -> None:
        last = self.clock.monotonic()
        due = dict.fromkeys(self._periods, last)
        while not self._stop.is_set():
            self._wake.clear()
            now = self.clock.monotonic()
            try:
                with self._changed:
                    self._drive(now - last)
                    last = now
                    self._publish_due(now, due)
            # the robot's one thread: log and carry on rather than die silently
            except Exception:
                log.exception("simulated Nav2 robot %s failed a step", self.name)
            self.clock.wait(self._wake, min(due.values()) - self.clock.monotonic())

    def _publish_due(self, now: float, due: dict[str, float]) -> None:
        stamp_ns = self._now_ns()
        publishers = {"pose": self._publish_pose, "battery": self._publish_battery,
                      "sensor": self._publish_sensors}
        for stream, publish in publishers.items():
            if now < due[stream]:
                continue
            if not self.paused:
                publish(stamp_ns)
                if stream == "pose" and self._goals.active is not None:
                    self._publish_feedback(self._goals.active, stamp_ns)
            # a late thread skips missed periods instead of bursting to catch up
            period = self._periods[stream]
            due[stream] = due[stream] + period if due[stream] + period > now else now + period

    def _drive(self, dt: float) -> None:
        goal = self._goals.active
        self._charging = False
        if goal is None:
            self._dock(dt)
            return
        if goal.state is GoalState.CANCELING:
            self._end(goal, GoalState.CANCELED)
            return
        if goal.state is GoalState.ACCEPTED:
            goal.state = GoalState.EXECUTING
            self._publish_status(goal.action)
        if self._battery is not None and self._battery <= 0:
            goal.error_msg = "battery empty"
            self._end(goal, GoalState.ABORTED)
            return
        step, moved, p = self.speed * max(0.0, dt), 0.0, self._pose
        while goal.target < len(goal.poses):
            target = goal.poses[goal.target]
            gap = math.hypot(target.x - p.x, target.y - p.y)
            if gap > step:
                heading = math.atan2(target.y - p.y, target.x - p.x)
                p = Pose2D(p.x + step * math.cos(heading), p.y + step * math.sin(heading),
                           heading)
                moved += step
                break
            # reached: the last pose's orientation is the goal's (Nav2's goal checker)
            step -= gap
            moved += gap
            goal.target += 1
            last = goal.target == len(goal.poses)
            p = Pose2D(target.x, target.y, target.yaw if last else p.yaw)
        self._pose = p
        if self._battery is not None:
            self._battery = max(0.0, self._battery - moved * self.drain_per_m)
        if goal.target >= len(goal.poses):
            self._end(goal, GoalState.SUCCEEDED)

    def _dock(self, dt: float) -> None:
        """Standing on a charging dock with no goal: the battery fills."""
        p, level = self._pose, self._battery
        if level is None or level >= 100.0 or self.charge_per_s <= 0 or not any(
                math.hypot(x - p.x, y - p.y) <= DOCKED_M for x, y in self.docks):
            return
        self._charging = True
        self._battery = min(100.0, level + max(0.0, dt) * self.charge_per_s)

    def _end(self, goal: Goal, state: GoalState) -> None:
        self._goals.finish(goal, state)
        self._publish_status(goal.action)
        self._changed.notify_all()

    # --- action services (on Zenoh threads) ------------------------------------------

    def _service(self, service_type: str, handle: Callable[[Any], Any]) -> Callable[
            [Query], Answer]:
        rmw_zenoh = self.profile is Profile.RMW_ZENOH

        def serve(query: Query) -> Answer:
            try:
                request_attachment = self._entities.request_attachment(query.attachment) \
                    if rmw_zenoh else None
                if query.payload is None:
                    raise NoAnswer("a service request needs a CDR payload")
                request = deserialize(self.distro, f"{service_type}_Request", query.payload)
                response = handle(request)
            except (ProtocolError, NoAnswer) as exc:
                return Answer(str(exc).encode(), error=True, json=False)
            reply_attachment = None
            if request_attachment is not None:
                reply_attachment = request_attachment.reply(self._now_ns())
            return Answer(serialize(self.distro, f"{service_type}_Response", response),
                          attachment=reply_attachment, json=False)

        return serve

    def _send_goal(self, action: str, request: Any) -> Any:
        action_type = ACTIONS[action]
        goal_id = bytes(np.asarray(request.goal_id.uuid, dtype=np.uint8))
        with self._changed:
            self.goal_requests.append((time.monotonic(), action))
            if self._stop.is_set():
                raise NoAnswer("the robot is shutting down")
            now_ns = self._now_ns()
            accepted = not self.reject_goals and goal_id not in self._goals.goals
            if accepted:
                poses = msgs.goal_poses(self.distro, action_type, request.goal)
                goal = Goal(goal_id, action, poses, now_ns, self.clock.monotonic())
                changed = self._goals.accept(goal)
                for name in dict.fromkeys(g.action for g in changed):
                    self._publish_status(name)
                self._changed.notify_all()
                self._wake.set()
        return message(self.distro, f"{action_type}_SendGoal_Response", accepted=accepted,
                       stamp=msgs.time_msg(self.distro, now_ns))

    def _cancel_goal(self, action: str, request: Any) -> Any:
        info = request.goal_info
        goal_id = bytes(np.asarray(info.goal_id.uuid, dtype=np.uint8))
        stamp_ns = int(info.stamp.sec) * 1_000_000_000 + int(info.stamp.nanosec)
        with self._changed:
            code, goals = self._goals.cancel(action, goal_id, stamp_ns)
            if goals:
                self._publish_status(action)
                self._wake.set()
            infos = [msgs.goal_info(self.distro, g) for g in goals]
        return message(self.distro, "action_msgs/srv/CancelGoal_Response",
                       return_code=int(code), goals_canceling=infos)

    def _get_result(self, action: str, request: Any) -> Any:
        action_type = ACTIONS[action]
        goal_id = bytes(np.asarray(request.goal_id.uuid, dtype=np.uint8))
        with self._changed:
            goal = self._goals.goals.get(goal_id)
            if goal is None or goal.action != action:
                return msgs.result_response(self.distro, action_type, None)
            self._changed.wait_for(lambda: goal.state.terminal or self._stop.is_set(),
                                   timeout=self.result_wait_s)
            if not goal.state.terminal:
                raise NoAnswer("goal still running" if not self._stop.is_set()
                                else "the robot is shutting down")
            return msgs.result_response(self.distro, action_type, goal)
