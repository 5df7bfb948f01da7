"""Where a simulated run stands: :class:`Progress` (what ``fleet sim run`` shows and prints
as its summary) and the :class:`HighReading` it lists. :class:`~sim.runner.SimRun` makes
them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.space import SpaceReport


@dataclass(frozen=True)
class HighReading:
    """A reading past its alarm level, as a robot published it (world seconds ``at``)."""

    at: float
    serial: str
    point: str
    sensor: str
    value: float
    unit: str


@dataclass(frozen=True)
class Progress:
    """A run at one moment. ``robot_status`` counts the manager's robots by status;
    ``inspections`` is the mission status's ``inspections`` object (empty before a
    launch); ``effective_speed`` is world seconds per real second as the bodies kept to
    it (in-process fleets only).

    ``space`` holds the physical space's figures (None with ghosts: then no robot ever
    waits for another); ``makespan_s`` the world seconds from the launch to the end of the
    mission as this run saw it (to within :data:`sim.runner.END_POLL_S` real seconds; None while it
    runs, or when the run ended without it); ``stalled``: every robot with points left is
    held in a deadlock (or waits for one), so the run ended there. ``lockouts`` and
    ``closures``: methane lockouts of robots and gas closures opened during the run, as
    the run's own manager stored them (None with a manager of another process).
    """

    world_s: float
    wall_s: float
    speed: float
    effective_speed: float | None
    robots: int
    alive: int
    robot_status: dict[str, int]
    mission_id: str | None
    mission_status: str | None
    inspections: dict[str, int]
    results: int
    high: tuple[HighReading, ...]
    states_per_s: float | None
    finished: bool
    seed: int = 0
    space: SpaceReport | None = None
    makespan_s: float | None = None
    stalled: bool = False
    lockouts: int | None = None
    closures: int | None = None

    @property
    def standoffs(self) -> int:
        """Head-on standoffs so far (0 with ghosts)."""
        return 0 if self.space is None else self.space.standoffs

    @property
    def deadlocks(self) -> int:
        """Deadlocks so far (0 with ghosts)."""
        return 0 if self.space is None else self.space.deadlocks

    @property
    def robot_wait_s(self) -> float:
        """World seconds robots waited for other robots so far, all robots together."""
        return 0.0 if self.space is None else self.space.robot_wait_s

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (``fleet sim run --json``): the figures a comparison needs first
        (inspections, makespan, standoffs, deadlocks, waiting), then the rest."""
        return {
            "inspections_done": self.inspections.get("done", 0),
            "inspections_total": self.inspections.get("total", 0),
            "makespan_s": None if self.makespan_s is None else round(self.makespan_s, 1),
            "standoffs": self.standoffs, "deadlocks": self.deadlocks,
            "robot_wait_s": round(self.robot_wait_s, 1),
            "lockouts": self.lockouts, "closures": self.closures,
            "ghosts": self.space is None, "stalled": self.stalled, "seed": self.seed,
            "waits": 0 if self.space is None else self.space.waits,
            "stuck": [] if self.space is None else list(self.space.stuck),
            "world_s": round(self.world_s, 1), "wall_s": round(self.wall_s, 2),
            "speed": self.speed,
            "effective_speed": None if self.effective_speed is None
            else round(self.effective_speed, 2),
            "robots": self.robots, "alive": self.alive, "robot_status": self.robot_status,
            "mission_id": self.mission_id, "mission_status": self.mission_status,
            "inspections": self.inspections, "results": self.results,
            "high_readings": [h.__dict__ for h in self.high],
            "states_per_s": None if self.states_per_s is None else round(self.states_per_s),
            "finished": self.finished,
        }


def stalled(status: Mapping[str, Any] | None, space: SpaceReport | None,
            terminal: frozenset[str]) -> bool:
    """Whether a run can never finish: its mission (``status``, the manager's mission
    status JSON) is not over (not in ``terminal``), some robots still have points left,
    and every one of them is in a deadlock or waits for one (``space.stuck``). Never with
    ghosts (``space`` None)."""
    if space is None or status is None or status["status"] in terminal:
        return False
    busy = {r["serial"] for r in status.get("robots", []) if r["remaining"]}
    return bool(busy) and busy <= set(space.stuck)
