"""Dispatch: planned rounds sent as orders, and robots followed through them.

:meth:`Dispatcher.dispatch` turns a robot's planned round into an
:class:`~fleet.manager.dispatch.Assignment` and sends its first order. Every state of the
robot then moves its assignment (:meth:`Dispatcher.on_state`): nodes reached, inspections
finished or failed, charging stops, order updates releasing the base further, the round's
end (the robot is free again). A refused order sends its points back to the pool, and its
robot is left out of the mission's plans for a while, or for good after a few refusals
(:mod:`fleet.manager.refusals`).

Points a robot leaves behind (it drove past an ``inspect`` action without running it, or
its order ended without the point's result stored) go back to the pool too, so a mission
never waits for ever on a robot that skipped one
(:meth:`~fleet.manager.dispatch.Assignment.left_behind`).

A manager that restarts rebuilds its unfinished missions from the store
(:meth:`Dispatcher.restore`) and re-adopts each robot when a state carrying the same
orderId arrives.
"""

from __future__ import annotations

import itertools
import logging
import time

from fleet.clock import silence_timeout
from fleet.errors import FleetError
from fleet.manager.core import Core
from fleet.manager.dispatch import Assignment, Limit, assignment_for, supports_charging
from fleet.manager.lifecycle import MissionStatus
from fleet.manager.liveness import Liveness
from fleet.manager.missions import MissionRun
from fleet.manager.refusals import backoff, record, refusal_text
from fleet.manager.registry import RobotEntry
from fleet.manager.stateview import ErrorView, StateView
from fleet.manager.traffic import Traffic
from fleet.planning.mission import MissionSpec
from fleet.planning.plan import RobotPlan, Stop, StopKind
from fleet.protocol.header import Header
from fleet.protocol.order import ActionType, InstantActions
from fleet.protocol.state import MOVE_ERROR, ActionStatus

log = logging.getLogger(__name__)


class Dispatcher:
    """The dispatch part of a manager (see the module docstring)."""

    def __init__(self, core: Core, liveness: Liveness) -> None:
        self.core = core
        self.liveness = liveness
        self.states_handled = 0
        self._orders: dict[str, tuple[str, str]] = {}
        """orderId → (mission id, serial) of the orders of restored missions."""

    # -- out ----------------------------------------------------------------------------
    def dispatch(self, run: MissionRun, rp: RobotPlan, spec: MissionSpec,
                 robot: RobotEntry) -> None:
        """Give ``robot`` its planned round ``rp`` of ``run`` and send the first order
        (caller holds the lock)."""
        core = self.core
        cls = robot.robot_class()
        a = assignment_for(run.id, rp, spec, release_ahead=core.settings.release_ahead,
                           horizon=core.settings.horizon_ahead,
                           battery_wh=cls.battery_wh if cls is not None and
                           supports_charging(robot.factsheet) else None,
                           power_off=lambda node: core.power_off(run.id, node))
        run.assign(a)
        if run.idleness is not None:
            run.idleness.begin(a.serial, core.clock.now().timestamp())
        robot.mission_id = run.id
        for p in a.points:
            run.pool.discard(p)
        t = core.traffic_of(spec.facility)
        if t is not None:
            self._follow(t, a)
        order = a.first_order(Header(a.manufacturer, a.serial), self._limit(t, a))
        core.order_sent[a.order_id] = time.perf_counter()
        core.send(a.manufacturer, a.serial, order)
        core.event(run, "dispatched", rp.serial, {"order_id": a.order_id, "points": a.points})

    def send_home(self, run: MissionRun, robot: RobotEntry, path: list[str]) -> None:
        """Send ``robot`` (free, standing at ``path[0]``) along ``path`` to the dock or
        charger it ends at, as a round of ``run`` without points: once there it is free
        and the planner may give it work (caller holds the lock)."""
        cls = robot.robot_class()
        fac = run.spec.facility
        battery = cls.battery_wh if cls is not None else 0.0
        metres = sum(e.length for u, v in itertools.pairwise(path)
                     if (e := fac.edge_between(u, v)) is not None)
        rp = RobotPlan(robot.serial, robot.manufacturer, cls.name if cls is not None else "",
                       (Stop(StopKind.START, path[0], (), 0.0, 0.0, 0.0, battery, battery),
                        Stop(StopKind.RETURN, path[-1], tuple(path), metres, 0.0, 0.0,
                             battery, battery)))
        self.dispatch(run, rp, run.spec, robot)
        self.core.event(run, "sent_home", robot.serial, {"from": path[0], "to": path[-1]})

    # -- in -----------------------------------------------------------------------------
    def on_state(self, robot: RobotEntry, state: StateView) -> bool:
        """Fold a state into the robot's mission (caller holds the lock); True when the
        planner should look at the waiting work."""
        core = self.core
        self.states_handled += 1
        was_idle = robot.state is not None and not robot.busy
        robot.state = state
        self.liveness.heard(robot)
        if state.order_id and state.order_id not in core.order_seen:
            core.order_seen[state.order_id] = time.perf_counter()
        run = core.missions.get(robot.mission_id or "")
        if run is None and robot.mission_id is None and state.order_id in self._orders:
            run = self._adopt(robot, state)
        if run is not None:
            return self._progress(run, robot, state)
        if core.traffic and state.last_node_id:
            self._park(robot.serial, state.last_node_id)
        # the planner looks again only when a robot becomes free, not on every state
        return not was_idle and not robot.busy and any(
            r.pool and not r.status.terminal for r in core.missions.values())

    def _progress(self, run: MissionRun, robot: RobotEntry, state: StateView) -> bool:
        core = self.core
        a = run.assignments.get(robot.serial)
        if a is None or not a.active:
            return False
        rejected = [e for e in state.errors if e.references.get("orderId") == a.order_id]
        if rejected and state.order_id != a.order_id:
            self._refused(run, a, robot, rejected)
            return True
        stuck = next((e for e in state.errors if e.error_type == MOVE_ERROR
                      and e.references.get("orderId") == a.order_id), None)
        if stuck is not None and state.order_id == a.order_id:
            self._stuck(run, a, robot, state, stuck)
            return True
        before = len(a.failed)
        was = a.reached
        moved = a.on_state(state)
        news = a.on_charging(state, core.now()) if a.charges else None
        left = a.left_behind(state, core.now(), result_grace=self._grace())
        if news:
            for kind, detail in news.events:
                core.event(run, kind, robot.serial, detail)
            if news.instants:
                core.send(a.manufacturer, a.serial, InstantActions(
                    Header(a.manufacturer, a.serial), tuple(news.instants)))
        elif not moved and not left:
            return False
        for point in a.failed:
            if point not in run.failed and point not in run.done:
                run.failed.add(point)
                core.event(run, "inspection_failed", robot.serial, {"point": point})
        for point, why in left:
            core.hand_back(run, a, point, why)
        if run.status is MissionStatus.DISPATCHED:
            core.set_status(run, MissionStatus.RUNNING)
        t = core.traffic_of(run.spec.facility)
        freed = t is not None and a.reached > was and t.reached(a.serial, a.reached)
        update = a.next_update(Header(a.manufacturer, a.serial), self._limit(t, a))
        if update is not None:
            core.send(a.manufacturer, a.serial, update)
        if freed and t is not None:
            self._retry(t)
        # a charging phase that moved is persisted, so a restarted manager resumes it
        return core.settle(run, a, robot, changed=before != len(a.failed) or bool(left) or (
            news is not None and news.changed))

    def _refused(self, run: MissionRun, a: Assignment, robot: RobotEntry,
                 errors: list[ErrorView]) -> None:
        """The robot refused ``a``'s order (caller holds the lock): the refusal is counted
        with the robot's words (:mod:`fleet.manager.refusals`: the planner leaves it out
        of this mission for a growing back-off, for good after a few) and the points go
        back to the pool for the others."""
        core = self.core
        reason = refusal_text(errors)
        r = record(run.refusals, robot.serial, reason, core.clock.now().timestamp())
        log.warning("robot %s/%s refused order %s (%d): %s", robot.manufacturer, robot.serial,
                    a.order_id, r.count, reason)
        core.event(run, "order_rejected", robot.serial, {
            "order_id": a.order_id, "reason": reason, "times": r.count,
            "errors": [refusal_text((e,)) for e in errors],
            "retry_in_s": None if r.set_aside else backoff(r.count),
            "set_aside": r.set_aside, "line": r.line()})
        if r.set_aside:
            core.event(run, "robot_set_aside", robot.serial,
                       {"reason": reason, "times": r.count, "line": r.line()})
        run.reason = r.line()
        core.release(run, a, robot, to_pool=True)
        self._park(a.serial, a.stops[a.reached].node_id)

    def _stuck(self, run: MissionRun, a: Assignment, robot: RobotEntry, state: StateView,
               error: ErrorView) -> None:
        """The robot could not reach a node of its order (its drive failed, a Nav2 goal was
        aborted) and stands waiting (caller holds the lock). Left so, the mission would
        wait for it for ever: it is told to cancel, and the points it had left go back to
        be planned, each at most ``max_handovers`` times (:meth:`Core.hand_back`), so a
        robot that fails the same way again does not loop. A point whose inspect action
        FINISHED keeps waiting for its result, which the robot resends until it is
        acknowledged (:meth:`committed` takes it from a released round too)."""
        core = self.core
        node = error.references.get("nodeId") or "?"
        why = f"{robot.serial} could not reach {node}: {error.description or 'moveError'}"
        log.warning("robot %s/%s stuck: %s", robot.manufacturer, robot.serial, why)
        core.event(run, "robot_stuck", robot.serial, {"node": node,
                                                      "error": error.description or ""})
        core.instant(a.manufacturer, a.serial, ActionType.CANCEL_ORDER)
        statuses = {x.action_id: x.status for x in state.action_states}
        finished = {p for aid, p in a.inspections.items()
                    if statuses.get(aid) is ActionStatus.FINISHED or p in a.reported}
        for point in a.remaining:
            if point not in run.done and point not in finished:
                a.left.add(point)
                core.hand_back(run, a, point, why)
        robot.closed_order = a.order_id
        core.release(run, a, robot, to_pool=False)
        if state.last_node_id:
            self._park(a.serial, state.last_node_id)
        # standing idle inside a single-lane block, it shuts the block: others go round
        self.liveness.obstacles.around()

    def _grace(self) -> float:
        # a fast world still gives a result in flight a real moment to be committed
        return silence_timeout(self.core.settings.result_grace, self.core.clock)

    def sweep(self) -> bool:
        """Hand back the points whose results did not come within the grace after their
        order ended, for robots that went quiet at the end (no state to trigger it);
        True when the planner should look."""
        core = self.core
        freed = False
        with core.lock:
            for run in list(core.missions.values()):
                for a in run.active():
                    robot = core.registry.find(a.serial)
                    if a.over_at is None or robot is None or robot.state is None:
                        continue
                    left = a.left_behind(robot.state, core.now(), result_grace=self._grace())
                    for point, why in left:
                        core.hand_back(run, a, point, why)
                    if left:
                        freed |= core.settle(run, a, robot, changed=True)
            for t in core.traffic.values():
                self._retry(t)
                self._report_waits(t)
        return freed

    # -- traffic ------------------------------------------------------------------------
    def _follow(self, t: Traffic, a: Assignment) -> None:
        """Traffic control follows ``a``'s robot on its route, holding what it holds."""
        t.follow(a.serial, [s.node_id for s in a.stops], reached=a.reached,
                 granted=a.base_end, can_stop=lambda i: a.stops[i].node_id not in a.dead)

    def _limit(self, t: Traffic | None, a: Assignment) -> Limit | None:
        if t is None:
            return None
        return lambda end: t.extend(a.serial, end, self.core.now())

    def _park(self, serial: str, node: str) -> None:
        """A robot with no route stands at ``node``: it takes its place there."""
        for t in self.core.traffic.values():
            if node in t.layout.capacity:
                t.park(serial, node)

    def _retry(self, t: Traffic) -> None:
        """Ask again for the robots waiting for traffic (something was freed)."""
        core = self.core
        for serial in t.waiters():
            robot = core.registry.find(serial)
            run = core.missions.get(robot.mission_id or "") if robot is not None else None
            a = run.assignments.get(serial) if run is not None else None
            if a is None or not a.active:
                continue
            update = a.next_update(Header(a.manufacturer, a.serial), self._limit(t, a))
            if update is not None:
                core.send(a.manufacturer, a.serial, update)

    def _report_waits(self, t: Traffic) -> None:
        """Mission events for traffic waits longer than the setting, and for their end."""
        core = self.core
        now, threshold = core.now(), core.settings.traffic_wait_event_s
        news = [("traffic_wait", s, w, secs) for s, w, secs in t.long_waits(now, threshold)]
        news += [("traffic_wait_over", s, w, secs) for s, w, secs in t.ended_waits()]
        for kind, serial, wait, secs in news:
            robot = core.registry.find(serial)
            run = core.missions.get(robot.mission_id or "") if robot is not None else None
            if run is not None:
                core.event(run, kind, serial, {"waiting_for": wait.describe(),
                                               "kind": wait.kind, "what": wait.what,
                                               "holders": list(wait.holders),
                                               "seconds": round(secs, 1)})

    def committed(self, serial: str, order_id: str, action_id: str, result_id: str) -> bool:
        """A result of ``serial``'s order is stored: its point is done (caller holds the
        lock); True when the robot became free."""
        core = self.core
        freed = False
        for run in core.missions.values():
            a = run.assignments.get(serial)
            if a is None or a.order_id != order_id:
                continue
            point = a.inspections.get(action_id)
            if point is None or point in a.done:
                continue
            a.done.add(point)
            a.left.discard(point)
            if run.idleness is not None:  # a patrol: every visit counts
                run.idleness.visit(point, core.clock.now().timestamp())
            if point not in run.done or run.idleness is not None:
                run.done[point] = a.serial
                run.pool.discard(point)
                run.dropped.pop(point, None)
                core.event(run, "inspected", a.serial, {"point": point, "result_id": result_id})
            freed |= core.settle(run, a, core.registry.find(a.serial), changed=True)
        return freed

    # -- restarts -----------------------------------------------------------------------
    def restore(self) -> None:
        """Pick up the missions a previous manager left unfinished: rebuilt from what it
        persisted; their robots are re-adopted as their states (carrying the same orderId)
        arrive. A mission that cannot be rebuilt is marked failed with the reason."""
        core = self.core
        for row in core.store.missions():
            status = MissionStatus(row.status)
            if status.terminal:
                continue
            try:
                run = MissionRun.restore(row.id, row.name, status, row.document,
                                         row.plan if isinstance(row.plan, dict) else {})
            except (FleetError, KeyError, TypeError, ValueError) as exc:
                core.store.set_mission_status(
                    row.id, MissionStatus.FAILED.value,
                    f"the manager restarted and could not rebuild it: {exc}",
                    at=core.clock.now())
                continue
            core.missions[run.id] = run
            t = core.traffic_of(run.spec.facility)
            for a in run.active():
                self._orders[a.order_id] = (run.id, a.serial)
                if t is not None:
                    self._follow(t, a)
            core.event(run, "manager_restarted", None,
                       {"active": [a.serial for a in run.active()], "waiting": sorted(run.pool)})
            log.info("mission %s restored (%s)", run.id[:8], run.status.value)

    def orders(self) -> dict[str, str]:
        """orderId → mission id of every assignment (for storing results)."""
        core = self.core
        with core.lock:
            return {a.order_id: run.id for run in core.missions.values()
                    for a in run.assignments.values()}

    def _adopt(self, robot: RobotEntry, state: StateView) -> MissionRun | None:
        """A robot working on an order of a restored mission becomes that mission's again,
        with its release window taken from what the robot reports."""
        core = self.core
        found = self._orders.get(state.order_id)
        if found is None:
            return None
        run = core.missions.get(found[0])
        a: Assignment | None = None if run is None else run.assignments.get(found[1])
        if run is None or a is None or not a.active or robot.serial != a.serial:
            return None
        robot.mission_id = run.id
        a.update_id = max(a.update_id, state.order_update_id)
        # what the robot holds is what its order released, whatever was persisted: a
        # predecessor may have extended the base after its last save (or while its
        # database was away), or saved an extension it was then fenced off from sending
        # (docs/operations.md, "Two managers"). So the robot's word: the released nodes
        # still ahead of it, or, with none left, the node it stands on, then its base's
        # last. (A predecessor has been silent for a lease by now: nothing it sent is
        # still missing from the robot's state.)
        released = state.last_released_sequence
        if released is None:
            released = state.last_node_sequence_id
        a.base_end = max(a.reached, min(released // 2, len(a.stops) - 1))
        t = core.traffic_of(run.spec.facility)
        if t is not None:
            self._follow(t, a)
        core.event(run, "robot_readopted", robot.serial, {"order_id": a.order_id})
        # a robot standing at the end of its base waits for an update that only a move
        # would otherwise trigger: extend it now (or wait in traffic control's queue)
        update = a.next_update(Header(a.manufacturer, a.serial), self._limit(t, a))
        if update is not None:
            core.send(a.manufacturer, a.serial, update)
        return run
