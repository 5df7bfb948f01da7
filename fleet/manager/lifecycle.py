"""Mission and robot states, and the one place where mission transitions are decided."""

from __future__ import annotations

from enum import StrEnum

from fleet.errors import TransitionError as TransitionError  # re-exported


class MissionStatus(StrEnum):
    """Where a mission is in its life."""

    QUEUED = "queued"
    """Accepted; waiting for capable robots to be online and idle at a dock or charger."""
    DISPATCHED = "dispatched"
    """Planned and its first orders sent; no robot has reported progress yet."""
    RUNNING = "running"
    """At least one robot is working on it."""
    PAUSED = "paused"
    """Robots told to pause (startPause); resumes where it stopped."""
    COMPLETED = "completed"
    """Every task inspected."""
    PARTIALLY_COMPLETED = "partially_completed"
    """Finished, but some tasks could not be inspected (their reasons are in the events)."""
    FAILED = "failed"
    """Could not go on: nothing could be planned, or no robot is left and the mission was
    configured not to wait."""
    ABORTED = "aborted"
    """Stopped by a supervisor (cancelOrder sent to its robots)."""

    @property
    def terminal(self) -> bool:
        """Whether the mission is over (no transition leaves this state)."""
        return self in _TERMINAL


_TERMINAL = frozenset({MissionStatus.COMPLETED, MissionStatus.PARTIALLY_COMPLETED,
                       MissionStatus.FAILED, MissionStatus.ABORTED})

_ALLOWED: dict[MissionStatus, frozenset[MissionStatus]] = {
    MissionStatus.QUEUED: frozenset({MissionStatus.DISPATCHED, MissionStatus.FAILED,
                                     MissionStatus.ABORTED, MissionStatus.PAUSED,
                                     MissionStatus.PARTIALLY_COMPLETED}),
    MissionStatus.DISPATCHED: frozenset({MissionStatus.RUNNING, MissionStatus.PAUSED,
                                         MissionStatus.ABORTED, MissionStatus.FAILED,
                                         MissionStatus.COMPLETED, MissionStatus.QUEUED,
                                         MissionStatus.PARTIALLY_COMPLETED}),
    MissionStatus.RUNNING: frozenset({MissionStatus.PAUSED, MissionStatus.COMPLETED,
                                      MissionStatus.PARTIALLY_COMPLETED, MissionStatus.FAILED,
                                      MissionStatus.ABORTED, MissionStatus.QUEUED}),
    # a paused mission whose last results are stored while it is paused is over: it
    # completes (or partially) rather than waiting for a resume with nothing left to do
    MissionStatus.PAUSED: frozenset({MissionStatus.RUNNING, MissionStatus.ABORTED,
                                     MissionStatus.FAILED, MissionStatus.QUEUED,
                                     MissionStatus.DISPATCHED, MissionStatus.COMPLETED,
                                     MissionStatus.PARTIALLY_COMPLETED}),
}


def check_transition(current: MissionStatus, new: MissionStatus) -> None:
    """Raise :class:`TransitionError` (a one-line reason) unless ``current → new`` is
    allowed. Staying in the same state is always allowed."""
    if current == new:
        return
    if new not in _ALLOWED.get(current, frozenset()):
        raise TransitionError(f"a {current.value} mission cannot become {new.value}")


class RobotStatus(StrEnum):
    """What the manager knows of a robot's link."""

    ONLINE = "online"
    """Token present and states arriving."""
    SILENT = "silent"
    """Token or states missing, but within the allowance (e.g. crossing a 5G dead zone)."""
    OFFLINE = "offline"
    """Said OFFLINE on a clean shutdown."""
    CONNECTION_BROKEN = "connection_broken"
    """Token lost or states silent beyond the allowance: declared lost; its work is taken
    over by others."""
    LOCKED_OUT = "locked_out"
    """Reported a FATAL ``methaneLockout``: stopped with its drive powered off where it
    measured methane at or above the power-off level (docs/gas-safety.md). Its work is
    taken over by others; it is never planned again until a supervisor records the reset
    (``fleet robots reset``) and its state no longer carries the error. Not lost: it
    stays locked out whatever its link does meanwhile."""

    @property
    def lost(self) -> bool:
        """Whether the manager has given the robot up (its work goes to others)."""
        return self in (RobotStatus.OFFLINE, RobotStatus.CONNECTION_BROKEN)


_ROBOT_ALLOWED: dict[RobotStatus, frozenset[RobotStatus]] = {
    RobotStatus.ONLINE: frozenset({RobotStatus.SILENT, RobotStatus.OFFLINE,
                                   RobotStatus.CONNECTION_BROKEN, RobotStatus.LOCKED_OUT}),
    RobotStatus.SILENT: frozenset({RobotStatus.ONLINE, RobotStatus.OFFLINE,
                                   RobotStatus.CONNECTION_BROKEN, RobotStatus.LOCKED_OUT}),
    # a lost robot comes back only by being heard again (ONLINE), never half-way (SILENT)
    RobotStatus.OFFLINE: frozenset({RobotStatus.ONLINE, RobotStatus.CONNECTION_BROKEN,
                                    RobotStatus.LOCKED_OUT}),
    RobotStatus.CONNECTION_BROKEN: frozenset({RobotStatus.ONLINE, RobotStatus.OFFLINE,
                                              RobotStatus.LOCKED_OUT}),
    # only a recorded reset, with the error gone from its state, returns it to service
    RobotStatus.LOCKED_OUT: frozenset({RobotStatus.ONLINE}),
}
"""Robot status transitions: what the manager's liveness and lockouts may decide, and
nothing else."""


def check_robot_transition(current: RobotStatus, new: RobotStatus) -> None:
    """Raise :class:`TransitionError` unless a robot may go from ``current`` to ``new``
    (staying is always allowed)."""
    if current != new and new not in _ROBOT_ALLOWED[current]:
        raise TransitionError(f"a {current.value} robot cannot become {new.value}")
