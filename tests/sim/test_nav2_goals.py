"""Goal bookkeeping (sim.nav2_goals) and message builders (sim.nav2_msgs) of the simulated
Nav2 robot, without a network: Nav2's preemption rules and action_msgs' cancel rules."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from fleet.ros2.cdr import deserialize, serialize
from fleet.ros2.interfaces import Distro
from sim.nav2_goals import (
    NAVIGATE_THROUGH_POSES,
    NAVIGATE_TO_POSE,
    CancelCode,
    Goal,
    GoalState,
    GoalTable,
    Pose2D,
)
from sim.nav2_msgs import (
    feedback_message,
    goal_poses,
    pose_stamped,
    result_response,
    stamp_of,
    status_array,
    yaw_of,
)

THROUGH, TO_POSE = "navigate_through_poses", "navigate_to_pose"


def goal(n: int, action: str = THROUGH, poses: int = 1) -> Goal:
    return Goal(bytes([n]) * 16, action, [Pose2D(i, 0.0) for i in range(1, poses + 1)],
                accepted_ns=n * 1000, started=0.0)


def test_a_new_goal_on_the_same_action_aborts_the_running_one() -> None:
    table = GoalTable()
    first, second = goal(1), goal(2)
    assert table.accept(first) == [first]
    assert table.accept(second) == [first, second]
    assert (first.state, second.state, table.active) == (
        GoalState.ABORTED, GoalState.ACCEPTED, second)


def test_a_goal_for_the_other_navigator_is_aborted_and_the_running_one_goes_on() -> None:
    table = GoalTable()
    running, other = goal(1), goal(2, TO_POSE)
    table.accept(running)
    assert table.accept(other) == [other]
    assert (running.state, other.state, table.active) == (
        GoalState.ACCEPTED, GoalState.ABORTED, running)


def test_through_poses_with_no_poses_is_aborted() -> None:
    table = GoalTable()
    empty = goal(1, poses=0)
    table.accept(empty)
    assert empty.state is GoalState.ABORTED and table.active is None


def test_cancel_rules_follow_cancel_goal_srv() -> None:
    table = GoalTable()
    first, second = goal(1), goal(2)
    table.accept(first)
    table.accept(second)  # first aborted
    assert table.cancel(THROUGH, first.goal_id, 0) == (CancelCode.GOAL_TERMINATED, [])
    assert table.cancel(THROUGH, bytes([9]) * 16, 0) == (CancelCode.UNKNOWN_GOAL_ID, [])
    assert table.cancel(TO_POSE, second.goal_id, 0) == (CancelCode.UNKNOWN_GOAL_ID, [])
    assert table.cancel(THROUGH, bytes(16), 1500) == (CancelCode.REJECTED, [])  # before 2nd
    assert table.cancel(THROUGH, bytes(16), 0) == (CancelCode.NONE, [second])
    assert second.state is GoalState.CANCELING
    table.finish(second, GoalState.CANCELED)
    table.finish(second, GoalState.SUCCEEDED)  # terminal states stick
    assert table.active is None
    assert second.state == GoalState.CANCELED  # type: ignore[comparison-overlap]  # mypy narrowed


def test_cancel_by_stamp_takes_goals_accepted_until_then() -> None:
    table = GoalTable()
    running = goal(3)
    table.accept(running)
    assert table.cancel(THROUGH, bytes(16), 3000) == (CancelCode.NONE, [running])


def test_terminal_goals_are_forgotten_beyond_the_bound() -> None:
    table = GoalTable(keep_terminal=2)
    for n in range(1, 6):
        table.accept(goal(n))
    assert [g.goal_id[0] for g in table.goals.values()] == [3, 4, 5]


@pytest.mark.parametrize("distro", list(Distro))
def test_goal_poses_read_both_actions_in_every_distro(distro: Distro) -> None:
    from fleet.ros2.cdr import message

    stamped = [pose_stamped(distro, Pose2D(1.0, 2.0, 0.5), 0),
               pose_stamped(distro, Pose2D(-3.0, 4.0, -2.0), 0)]
    to_pose = message(distro, f"{NAVIGATE_TO_POSE}_Goal", pose=stamped[0])
    through = message(distro, f"{NAVIGATE_THROUGH_POSES}_Goal", poses=message(
        distro, "nav_msgs/msg/Goals", goals=stamped) if distro is Distro.KILTED else stamped)
    [one] = goal_poses(distro, NAVIGATE_TO_POSE, to_pose)
    assert (one.x, one.y) == (1.0, 2.0) and one.yaw == pytest.approx(0.5)
    two = goal_poses(distro, NAVIGATE_THROUGH_POSES, through)
    assert [(p.x, p.y) for p in two] == [(1.0, 2.0), (-3.0, 4.0)]
    assert two[1].yaw == pytest.approx(-2.0)


@pytest.mark.parametrize("distro", list(Distro))
def test_status_feedback_and_result_serialise(distro: Distro) -> None:
    g = goal(7, poses=3)
    g.state, g.target = GoalState.EXECUTING, 1
    status = deserialize(distro, "action_msgs/msg/GoalStatusArray", serialize(
        distro, "action_msgs/msg/GoalStatusArray", status_array(distro, [g])))
    assert bytes(status.status_list[0].goal_info.goal_id.uuid) == g.goal_id
    assert status.status_list[0].status == GoalState.EXECUTING
    fb = feedback_message(distro, NAVIGATE_THROUGH_POSES, g, Pose2D(1.5, 0.0), 0, 2.0, 0.5)
    typename = f"{NAVIGATE_THROUGH_POSES}_FeedbackMessage"
    back = deserialize(distro, typename, serialize(distro, typename, fb)).feedback
    assert back.number_of_poses_remaining == 2
    assert back.distance_remaining == pytest.approx(1.5)
    assert back.estimated_time_remaining.sec == 3 and back.navigation_time.sec == 2
    g.state = GoalState.SUCCEEDED
    for subject, status_value in ((g, 4), (None, 0)):
        typename = f"{NAVIGATE_TO_POSE}_GetResult_Response"
        response = result_response(distro, NAVIGATE_TO_POSE, subject)
        assert deserialize(distro, typename, serialize(distro, typename, response)).status \
            == status_value


def test_stamps_are_exact_nanoseconds_and_yaw_round_trips() -> None:
    assert stamp_of(datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)) \
        == 1767323045_123456000
    for yaw in (0.0, 1.0, -2.5, math.pi / 2):
        assert yaw_of(pose_stamped(Distro.JAZZY, Pose2D(0, 0, yaw), 0).pose.orientation) \
            == pytest.approx(yaw)
