"""The planner loop: waiting inspections planned onto the robots free at that moment, and
continuous missions' laps (:mod:`fleet.manager.patroller`).

The planner thread wakes when a mission is launched or resumed, a robot becomes free, a
robot is lost, or points are handed back (:attr:`~fleet.manager.core.Core.wake`), and at
least once a second. For each mission with points in its pool it plans those points over
the robots online, capable, idle and standing at a dock or charger, *outside* the lock
(solving takes seconds), then dispatches each planned round whose robot is still free.

A continuous mission is driven as laps of its cyclic plan; it is planned here as rounds
(its due points refilled into the pool) only once it fell back (no cyclic plan could be
made: ``MissionRun.rounds_because``). The loop also wakes for the earliest lap held back
until its slot.

What no robot online could ever do is dropped with the planner's reason; what a busy robot
could do waits for it. A robot that refused the mission's orders is left out of its plans
while it backs off, and for good once set aside (:mod:`fleet.manager.refusals`); what only
set-aside robots could do is dropped with their refusals as the reason. A mission with no
capable robot waits (``wait_for_robots``) or fails.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import replace

from fleet.errors import FleetError, PlanningError
from fleet.manager.closures import closure_reason
from fleet.manager.core import Core
from fleet.manager.dispatcher import Dispatcher
from fleet.manager.lifecycle import MissionStatus, RobotStatus
from fleet.manager.missions import MissionRun
from fleet.manager.obstacles import Obstacles
from fleet.manager.patroller import Patroller
from fleet.manager.planning_process import PlanningProcess
from fleet.manager.refusals import OrderRefusals, barred, set_aside
from fleet.planning.plan import DropReason
from fleet.planning.planner import plan_mission
from fleet.planning.robots import Fleet

log = logging.getLogger(__name__)

IDLE_LOOK_S = 1.0
"""Real seconds between two looks at the waiting work when nothing wakes the planner."""

_PLANNABLE = (MissionStatus.QUEUED, MissionStatus.DISPATCHED, MissionStatus.RUNNING)


class PlannerLoop:
    """The planning part of a manager (see the module docstring)."""

    def __init__(self, core: Core, dispatcher: Dispatcher, obstacles: Obstacles) -> None:
        self.core = core
        self.dispatcher = dispatcher
        self.obstacles = obstacles
        self.planning = PlanningProcess(in_process=not core.settings.plan_process)
        """Where plans are solved (:mod:`fleet.manager.planning_process`)."""
        self.patroller = Patroller(core, dispatcher, obstacles, self._no_robots,
                                   self.planning)
        self.held: float | None = None
        """When the earliest lap held back is due (manager-clock timestamp), if any."""

    def run(self) -> None:
        """The planner thread: :meth:`plan_waiting` whenever woken, until the manager stops."""
        self.planning.start()
        try:
            self._run()
        finally:
            self.planning.close()

    def _run(self) -> None:
        core = self.core
        while not core.stopping.is_set():
            timeout = core.clock.to_world(IDLE_LOOK_S)
            if self.held is not None:  # a lap waits for its slot: be there on time
                timeout = max(0.0, min(timeout, self.held - core.clock.now().timestamp()))
            core.clock.wait(core.wake, timeout)
            core.wake.clear()
            if core.stopping.is_set():
                return
            try:
                self.obstacles.reroute()
                self.plan_waiting()
            # the database away a moment (or this manager fenced off): the waiting work
            # is still waiting, and is looked at again at the next wake or idle look
            except FleetError as exc:
                log.error("planning: %s", exc)

    def plan_waiting(self) -> None:
        """Plan every mission's pool once (planning failures become mission events)."""
        core = self.core
        with core.lock:
            now = core.clock.now().timestamp()
            patrols = [r for r in core.missions.values() if r.idleness is not None
                       and r.rounds_because is None and r.status in _PLANNABLE]
            for r in core.missions.values():
                if r.laps is not None and r.status is MissionStatus.PAUSED:
                    # the slots run on while paused: on resuming, a fresh plan (cycles
                    # kept) spaces the robots again instead of sending them all at once
                    r.laps.robots = frozenset()
                if r.idleness is not None and r.rounds_because is not None \
                        and r.status in _PLANNABLE:
                    r.refill(now)  # a patrol fallen back to rounds: points due again
        held: list[float] = []
        for run in patrols:
            at = self.patroller.step(run)
            if at is not None:
                held.append(at)
        self.held = min(held, default=None)
        with core.lock:
            for run in patrols:
                if run.laps is not None:
                    # the cycles cover every point: what a lost robot's lap hands back
                    # needs no round of its own (one mechanism per mission)
                    run.pool.clear()
            due = [r for r in core.missions.values() if r.pool and r.status in _PLANNABLE
                   and not r.pausing
                   and (r.idleness is None or r.rounds_because is not None)]
        for run in due:
            try:
                self.plan_pool(run)
            except FleetError as exc:
                with core.lock:
                    core.event(run, "planning_failed", None, {"error": str(exc)})
                    if not run.active():
                        core.set_status(run, MissionStatus.FAILED, str(exc))

    def plan_pool(self, run: MissionRun) -> None:
        """Plan the mission's waiting tasks over the robots available now."""
        core = self.core
        with core.lock:
            fleet = core.registry.available_fleet(run.spec.facility)
            f = run.spec.robots
            fleet = fleet.restricted(classes=f.classes, serials=f.serials)
            # robots that refused this mission's orders: left out while backing off, for
            # good once set aside (what only they could do fails with their refusal)
            aside = set_aside(run.refusals)
            if aside:
                self._drop_set_aside(run, aside)
            out = barred(run.refusals, core.clock.now().timestamp())
            if out:
                fleet = Fleet(tuple(r for r in fleet.robots if r.serial not in out),
                              fleet.classes, fleet.source)
            tasks = tuple(t for t in run.spec.tasks if t.point in run.pool)
            shut = self.obstacles.shut(run.spec.facility)
            closed = self.obstacles.closures.closed_nodes(run.spec.facility)
            site = self.obstacles.site(run.spec.facility)
        if not tasks:
            return
        if not fleet.robots:
            if out - set(aside):
                return  # a robot backing off is tried again when its back-off is over
            with core.lock:
                self._no_robots(run)
            return
        spec = replace(run.spec, tasks=tasks, facility=site)
        try:
            plan = self.planning.call(plan_mission, spec, fleet,
                                      time_limit=core.settings.plan_time_limit)
        except PlanningError as exc:
            raise FleetError(f"planning failed: {exc}") from None
        for rp in plan.robots:
            # one robot at a time: a large fleet's dispatch takes seconds, in which the
            # manager must go on hearing its robots (or it would think them silent)
            with core.lock:
                if run.status.terminal or run.status is MissionStatus.PAUSED \
                        or run.pausing:
                    return
                robot = core.registry.find(rp.serial)
                if robot is None or robot.mission_id is not None or robot.busy:
                    continue  # taken meanwhile: its points stay in the pool
                self.dispatcher.dispatch(run, rp, spec, robot)
                if run.status is MissionStatus.QUEUED:
                    core.set_status(run, MissionStatus.DISPATCHED)
        with core.lock:
            if run.status.terminal:
                return
            for u in plan.unassigned:
                if closed and u.reason in (DropReason.UNREACHABLE, DropReason.BATTERY,
                                           DropReason.PROTECTION, DropReason.NO_ROBOTS):
                    # kept out by a gas closure: it waits for the closure to reopen
                    row = closed.get(u.point) or next(iter(closed.values()))
                    run.pool.discard(u.point)
                    run.blocked[u.point] = closure_reason(row) if u.point in closed else \
                        f"no open way: {closure_reason(row)}"
                    run.reason = f"{len(run.blocked)} point(s) blocked: " \
                                 f"{closure_reason(row)}; `fleet closures reopen " \
                                 f"{row.id}` once the area is safe"
                    core.event(run, "blocked", None, {"point": u.point,
                                                      "reason": run.blocked[u.point]})
                    continue
                if shut and u.reason in (DropReason.UNREACHABLE, DropReason.BATTERY):
                    # shut off by a lost robot (or the way round is out of battery range):
                    # it waits for a supervisor to clear the robot
                    run.pool.discard(u.point)
                    why = "; ".join(sorted(set(shut.values())))
                    run.blocked[u.point] = f"no open way: {why}"
                    run.reason = f"{len(run.blocked)} point(s) blocked: {why}; " \
                                 "`fleet robots clear M/S` once the robot is recovered"
                    core.event(run, "blocked", None, {"point": u.point,
                                                      "reason": run.blocked[u.point]})
                    continue
                # a task another known robot could do (busy now, or back later) waits for
                # it; only what no robot online could ever do, or what is left once every
                # robot of the mission is done, is dropped
                if not self._could_serve(run, u.point, besides=aside) or not (
                        run.active() or self._others_busy(run)):
                    run.pool.discard(u.point)
                    run.dropped[u.point] = f"{u.reason.value}: {u.detail}".rstrip(": ")
                    core.event(run, "dropped", None, {"point": u.point,
                                                      "reason": run.dropped[u.point]})
            core.persist(run)
            core.maybe_finish(run)

    def _drop_set_aside(self, run: MissionRun, aside: Mapping[str, OrderRefusals]) -> None:
        """The waiting points no robot online could do but those set aside for refusing
        the mission's orders fail, with the refusals as their reason (caller holds the
        lock): a mission never waits on robots that will not take its work."""
        core = self.core
        why = "; ".join(r.line() for r in aside.values())
        gone = [p for p in sorted(run.pool) if not self._could_serve(run, p, besides=aside)]
        for point in gone:
            run.pool.discard(point)
            run.dropped[point] = f"no other robot can do it: {why}"
            core.event(run, "dropped", None, {"point": point, "reason": run.dropped[point]})
        if gone:
            core.persist(run)
            core.maybe_finish(run)

    def _could_serve(self, run: MissionRun, point: str, *,
                     besides: Collection[str] = ()) -> bool:
        """Whether some robot online (busy or not), other than those of ``besides``,
        carries the sensors of the task at ``point`` and may stand there."""
        task = run.spec.task(point)
        fac = run.spec.facility
        for robot in self.core.registry.all():
            if robot.serial in besides:
                continue
            cls = robot.robot_class()
            if (robot.status in (RobotStatus.ONLINE, RobotStatus.SILENT) and cls is not None
                    and task.sensors <= cls.sensors and fac.node_allowed(point, cls.access)):
                return True
        return False

    def _others_busy(self, run: MissionRun) -> bool:
        """Whether a capable robot is busy elsewhere and may come back for this mission."""
        return any(r.status in (RobotStatus.ONLINE, RobotStatus.SILENT) and r.busy
                   and r.mission_id != run.id and r.robot_class() is not None
                   for r in self.core.registry.all())

    def _no_robots(self, run: MissionRun) -> None:
        core = self.core
        if run.active():
            return  # the robots at work will come back for the rest
        if not core.settings.wait_for_robots:
            core.set_status(run, MissionStatus.FAILED, "no capable robot online")
            return
        if not run.waiting_reported:
            run.waiting_reported = True
            run.reason = "waiting for a capable robot to be online and idle at a dock"
            core.event(run, "waiting_for_robots", None, {"tasks": sorted(run.pool)})
