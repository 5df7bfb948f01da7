"""The ROS 2 messages a simulated Nav2 robot publishes and answers with, built with
:func:`fleet.ros2.cdr.message` for the robot's distro (:mod:`sim.nav2` sends them).

Field choices, after the real publishers: ``amcl_pose`` in frame ``map`` with amcl's initial
covariance (nav2_amcl ``initial_cov_xx``/``yy`` 0.25, ``aa`` (pi/12)^2); ``tf`` one
``map`` -> ``base_link`` transform (a real robot publishes map -> odom -> base_link: one
hop keeps the simulation simple and gives the manager the same pose); ``battery_state``
DISCHARGING with a voltage from 22 V (empty) to 25.2 V (full); feedback with
``number_of_recoveries`` 0 and Kilted's ``waypoint_statuses`` empty; a Jazzy or Kilted
result carries the goal's ``error_code`` (0) and ``error_msg`` (why it was aborted, else
empty); Humble's results are ``std_msgs/Empty``.

A caller may rely on every function returning a message that :func:`fleet.ros2.cdr.
serialize` accepts for the type named; stamps are integer nanoseconds since the epoch.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from fleet.ros2.cdr import message
from fleet.ros2.interfaces import Distro
from sim.nav2_goals import NAVIGATE_THROUGH_POSES, NAVIGATE_TO_POSE, Goal, Pose2D

__all__ = [
    "amcl_pose",
    "battery_state",
    "duration",
    "feedback_message",
    "goal_info",
    "goal_poses",
    "pose_stamped",
    "quaternion",
    "result_response",
    "sensor_reading",
    "stamp_of",
    "status_array",
    "tf_message",
    "time_msg",
    "yaw_of",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COVARIANCE = np.zeros(36)
_COVARIANCE[0] = _COVARIANCE[7] = 0.25
_COVARIANCE[35] = (math.pi / 12) ** 2
_CHARGING = 1  # sensor_msgs/BatteryState POWER_SUPPLY_STATUS_CHARGING
_DISCHARGING = 2  # sensor_msgs/BatteryState POWER_SUPPLY_STATUS_DISCHARGING


def time_msg(distro: Distro, ns: int) -> Any:
    """builtin_interfaces/msg/Time of ``ns`` nanoseconds since the epoch."""
    sec, nanosec = divmod(ns, 1_000_000_000)
    return message(distro, "builtin_interfaces/msg/Time", sec=sec, nanosec=nanosec)


def stamp_of(when: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (header stamps)."""
    # exact integer arithmetic: a float of today's epoch nanoseconds loses the last digits
    return (when - _EPOCH) // timedelta(microseconds=1) * 1000


def quaternion(distro: Distro, yaw: float) -> Any:
    """geometry_msgs/msg/Quaternion of a rotation by ``yaw`` about z."""
    return message(distro, "geometry_msgs/msg/Quaternion",
                   z=math.sin(yaw / 2), w=math.cos(yaw / 2))


def yaw_of(q: Any) -> float:
    """The rotation about z of a geometry_msgs/msg/Quaternion (yaw of the ZYX angles)."""
    x, y, z, w = float(q.x), float(q.y), float(q.z), float(q.w)
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def pose_stamped(distro: Distro, pose: Pose2D, stamp_ns: int, frame: str = "map") -> Any:
    """geometry_msgs/msg/PoseStamped of ``pose`` in ``frame``."""
    header = message(distro, "std_msgs/msg/Header", stamp=time_msg(distro, stamp_ns),
                     frame_id=frame)
    point = message(distro, "geometry_msgs/msg/Point", x=pose.x, y=pose.y)
    inner = message(distro, "geometry_msgs/msg/Pose", position=point,
                    orientation=quaternion(distro, pose.yaw))
    return message(distro, "geometry_msgs/msg/PoseStamped", header=header, pose=inner)


def _pose2d(stamped: Any) -> Pose2D:
    p = stamped.pose
    return Pose2D(float(p.position.x), float(p.position.y), yaw_of(p.orientation))


def goal_poses(distro: Distro, action: str, goal: Any) -> list[Pose2D]:
    """The poses a ``*_Goal`` message asks for, in order (frames are taken as ``map``).
    Kilted's NavigateThroughPoses holds them in a ``nav_msgs/Goals``."""
    if action == NAVIGATE_TO_POSE:
        return [_pose2d(goal.pose)]
    poses = goal.poses.goals if distro is Distro.KILTED else goal.poses
    return [_pose2d(p) for p in poses]


def duration(distro: Distro, seconds: float) -> Any:
    """builtin_interfaces/msg/Duration of ``seconds`` (negative: zero)."""
    sec, nanosec = divmod(round(max(0.0, seconds) * 1e9), 1_000_000_000)
    return message(distro, "builtin_interfaces/msg/Duration", sec=sec, nanosec=nanosec)


def header(distro: Distro, stamp_ns: int, frame: str) -> Any:
    """std_msgs/msg/Header."""
    return message(distro, "std_msgs/msg/Header", stamp=time_msg(distro, stamp_ns),
                   frame_id=frame)


def amcl_pose(distro: Distro, pose: Pose2D, stamp_ns: int) -> Any:
    """geometry_msgs/msg/PoseWithCovarianceStamped in ``map``."""
    stamped = pose_stamped(distro, pose, stamp_ns)
    with_cov = message(distro, "geometry_msgs/msg/PoseWithCovariance", pose=stamped.pose,
                       covariance=_COVARIANCE.copy())
    return message(distro, "geometry_msgs/msg/PoseWithCovarianceStamped",
                   header=stamped.header, pose=with_cov)


def tf_message(distro: Distro, pose: Pose2D, stamp_ns: int) -> Any:
    """tf2_msgs/msg/TFMessage with the ``map`` -> ``base_link`` transform."""
    transform = message(distro, "geometry_msgs/msg/Transform", translation=message(
        distro, "geometry_msgs/msg/Vector3", x=pose.x, y=pose.y),
        rotation=quaternion(distro, pose.yaw))
    stamped = message(distro, "geometry_msgs/msg/TransformStamped",
                      header=header(distro, stamp_ns, "map"), child_frame_id="base_link",
                      transform=transform)
    return message(distro, "tf2_msgs/msg/TFMessage", transforms=[stamped])


def battery_state(distro: Distro, percent: float, stamp_ns: int, *,
                  charging: bool = False) -> Any:
    """sensor_msgs/msg/BatteryState at ``percent`` charge (percentage is 0..1 in ROS),
    CHARGING or DISCHARGING."""
    fraction = max(0.0, min(1.0, percent / 100))
    return message(distro, "sensor_msgs/msg/BatteryState", header=header(distro, stamp_ns, ""),
                   voltage=22.0 + 3.2 * fraction, percentage=fraction, present=True,
                   power_supply_status=_CHARGING if charging else _DISCHARGING)


def sensor_reading(distro: Distro, ros_type: str, value: float, stamp_ns: int) -> Any:
    """std_msgs/msg/Float32 or sensor_msgs/msg/Temperature (frame ``base_link``)."""
    if ros_type == "std_msgs/msg/Float32":
        return message(distro, ros_type, data=value)
    return message(distro, ros_type, temperature=value,
                   header=header(distro, stamp_ns, "base_link"))


def goal_info(distro: Distro, goal: Goal) -> Any:
    """action_msgs/msg/GoalInfo: the goal's UUID and acceptance time."""
    uuid = message(distro, "unique_identifier_msgs/msg/UUID",
                   uuid=np.frombuffer(goal.goal_id, dtype=np.uint8).copy())
    return message(distro, "action_msgs/msg/GoalInfo", goal_id=uuid,
                   stamp=time_msg(distro, goal.accepted_ns))


def status_array(distro: Distro, goals: list[Goal]) -> Any:
    """action_msgs/msg/GoalStatusArray of ``goals``."""
    return message(distro, "action_msgs/msg/GoalStatusArray", status_list=[
        message(distro, "action_msgs/msg/GoalStatus", status=int(g.state),
                goal_info=goal_info(distro, g)) for g in goals])


def feedback_message(distro: Distro, action_type: str, goal: Goal, pose: Pose2D,
                     stamp_ns: int, elapsed_s: float, speed: float) -> Any:
    """``<action>_FeedbackMessage`` of ``goal`` with the robot at ``pose``."""
    remaining, here = 0.0, pose
    for target in goal.poses[goal.target:]:
        remaining += math.hypot(target.x - here.x, target.y - here.y)
        here = target
    fields: dict[str, Any] = {
        "current_pose": pose_stamped(distro, pose, stamp_ns),
        "navigation_time": duration(distro, elapsed_s),
        "estimated_time_remaining": duration(distro, remaining / speed),
        "distance_remaining": remaining,
    }
    if action_type == NAVIGATE_THROUGH_POSES:
        fields["number_of_poses_remaining"] = len(goal.poses) - goal.target
    return message(distro, f"{action_type}_FeedbackMessage",
                   goal_id=goal_info(distro, goal).goal_id,
                   feedback=message(distro, f"{action_type}_Feedback", **fields))


def result_response(distro: Distro, action_type: str, goal: Goal | None) -> Any:
    """``<action>_GetResult_Response``: the goal's terminal status and result, or status
    UNKNOWN (0) and an empty result for ``None`` (a goal the server does not know)."""
    if goal is None:
        return message(distro, f"{action_type}_GetResult_Response", status=0)
    fields: dict[str, Any] = {}
    if distro is not Distro.HUMBLE:  # Humble's results are std_msgs/Empty
        fields = {"error_code": goal.error_code, "error_msg": goal.error_msg}
    return message(distro, f"{action_type}_GetResult_Response", status=int(goal.state),
                   result=message(distro, f"{action_type}_Result", **fields))
