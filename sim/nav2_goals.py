"""The goal bookkeeping of a simulated Nav2 robot: action goals, their states, preemption
and cancelling (no network and no messages here: :mod:`sim.nav2_msgs` builds those,
:mod:`sim.nav2` puts them on Zenoh).

Semantics follow the real stack:

* goal states are action_msgs/msg/GoalStatus (ros2/rcl_interfaces ``action_msgs``):
  ACCEPTED 1, EXECUTING 2, CANCELING 3, SUCCEEDED 4, CANCELED 5, ABORTED 6, UNKNOWN 0;
* a cancel request follows action_msgs/srv/CancelGoal: zero goal id and zero stamp cancel
  every goal, a zero id and a stamp those accepted at or before it, an id that goal (plus,
  with a stamp, those before it); return codes ERROR_NONE 0, ERROR_REJECTED 1,
  ERROR_UNKNOWN_GOAL_ID 2, ERROR_GOAL_TERMINATED 3 (as rcl_action
  ``rcl_action_process_cancel_request`` and rclcpp_action ``ServerBase`` answer);
* Nav2 (ros-navigation/navigation2 ``nav2_util/simple_action_server.hpp``
  ``accept_pending_goal``): a new goal on the *same* action preempts the running one, which
  is ABORTED; ``nav2_core/behavior_tree_navigator.hpp`` ``onGoalReceived``: a goal on the
  *other* navigator while one navigates is accepted by the action server, then ABORTED, and
  the running goal goes on. ``navigate_through_poses`` with no poses is accepted, then
  ABORTED (``initializeGoalPoses`` fails).

A caller may rely on: every method being called under the caller's lock (the table itself
does no locking), states only moving forward to a terminal one, and terminal goals being
kept for ``keep_terminal`` goals so that get_result and status still know them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

__all__ = [
    "NAVIGATE_THROUGH_POSES",
    "NAVIGATE_TO_POSE",
    "CancelCode",
    "Goal",
    "GoalState",
    "GoalTable",
    "Pose2D",
]

NAVIGATE_TO_POSE = "nav2_msgs/action/NavigateToPose"
NAVIGATE_THROUGH_POSES = "nav2_msgs/action/NavigateThroughPoses"
_ZERO_ID = bytes(16)


class GoalState(IntEnum):
    """action_msgs/msg/GoalStatus ``STATUS_*``."""

    UNKNOWN = 0
    ACCEPTED = 1
    EXECUTING = 2
    CANCELING = 3
    SUCCEEDED = 4
    CANCELED = 5
    ABORTED = 6

    @property
    def terminal(self) -> bool:
        """SUCCEEDED, CANCELED or ABORTED."""
        return self >= GoalState.SUCCEEDED


class CancelCode(IntEnum):
    """action_msgs/srv/CancelGoal response ``ERROR_*``."""

    NONE = 0
    REJECTED = 1
    UNKNOWN_GOAL_ID = 2
    GOAL_TERMINATED = 3


@dataclass(frozen=True)
class Pose2D:
    """A pose in the robot's map frame: metres and radians."""

    x: float
    y: float
    yaw: float = 0.0


@dataclass
class Goal:
    """One accepted goal. ``target`` is the index in ``poses`` the robot drives to next."""

    goal_id: bytes
    action: str
    poses: list[Pose2D]
    accepted_ns: int
    started: float
    """Clock seconds (``clock.monotonic()``) when it was accepted."""
    state: GoalState = GoalState.ACCEPTED
    target: int = 0
    error_code: int = 0
    error_msg: str = ""


@dataclass
class GoalTable:
    """Every goal of the robot's two navigate actions, the active one first among them."""

    keep_terminal: int = 64
    goals: dict[bytes, Goal] = field(default_factory=dict)
    active: Goal | None = None

    def accept(self, goal: Goal) -> list[Goal]:
        """Record ``goal`` (ACCEPTED) and apply Nav2's preemption rules; returns the goals
        whose state changed (the new one included)."""
        changed = [goal]
        self.goals[goal.goal_id] = goal
        running = self.active
        if running is not None and running.action != goal.action:
            # the other navigator is busy: bt_navigator aborts the newcomer
            goal.state = GoalState.ABORTED
            goal.error_msg = "another navigator is processing"
        elif not goal.poses:
            goal.state = GoalState.ABORTED
            goal.error_msg = "no poses given"
        else:
            if running is not None:
                running.state = GoalState.ABORTED
                running.error_msg = "preempted"
                changed.insert(0, running)
            self.active = goal
        self._forget_old()
        return changed

    def cancel(self, action: str, goal_id: bytes,
               stamp_ns: int) -> tuple[CancelCode, list[Goal]]:
        """Mark the goals of ``action`` the CancelGoal request names CANCELING (each action
        server cancels its own goals only); the return code and the goals now canceling."""
        chosen: list[Goal] = []
        for goal in self.goals.values():
            if goal.action != action:
                continue
            wanted = (goal_id == _ZERO_ID and stamp_ns == 0) or goal.goal_id == goal_id \
                or (stamp_ns != 0 and goal.accepted_ns <= stamp_ns)
            if wanted and goal.state in (GoalState.ACCEPTED, GoalState.EXECUTING):
                goal.state = GoalState.CANCELING
                chosen.append(goal)
        if chosen:
            return CancelCode.NONE, chosen
        if goal_id != _ZERO_ID:
            named = self.goals.get(goal_id)
            if named is None or named.action != action:
                return CancelCode.UNKNOWN_GOAL_ID, []
            if named.state.terminal:
                return CancelCode.GOAL_TERMINATED, []
        return CancelCode.REJECTED, []

    def finish(self, goal: Goal, state: GoalState) -> None:
        """End ``goal`` in the terminal ``state`` (no-op if it already ended)."""
        if not goal.state.terminal:
            goal.state = state
        if self.active is goal:
            self.active = None

    def abort_all(self, why: str) -> list[Goal]:
        """ABORT every goal not yet terminal (the robot shuts down); the goals changed."""
        changed = [g for g in self.goals.values() if not g.state.terminal]
        for goal in changed:
            goal.state = GoalState.ABORTED
            goal.error_msg = why
        self.active = None
        return changed

    def _forget_old(self) -> None:
        terminal = [k for k, g in self.goals.items() if g.state.terminal]
        for key in terminal[: max(0, len(terminal) - self.keep_terminal)]:
            del self.goals[key]
