"""The fleet manager service: registry, missions, dispatch, liveness and result ingestion.

:class:`Manager` owns one :class:`~fleet.comms.bus.Bus` (an embedded router by default) and
one :class:`~fleet.store.Store`. Zenoh callbacks only update state under one lock and wake
the worker threads; planning (seconds) runs on the planner thread outside the lock;
results are committed in batches by the ingest thread, which acknowledges each robot's
results only after the commit.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from fleet.anomaly.log import AnomalyLog
from fleet.comms.bus import Bus
from fleet.errors import FleetError, PlanningError, ProtocolError
from fleet.manager.dispatch import Assignment, assignment_for, supports_charging
from fleet.manager.lifecycle import MissionStatus, RobotStatus
from fleet.manager.missions import MissionRun
from fleet.manager.registry import Registry, RobotEntry
from fleet.manager.stateview import StateView
from fleet.planning.mission import MissionSpec
from fleet.planning.planner import plan_mission
from fleet.protocol.codec import decode_json
from fleet.protocol.factsheet import Factsheet
from fleet.protocol.header import HeaderStamper
from fleet.protocol.inspection import InspectionAck, InspectionResult
from fleet.protocol.keys import ALIVE, ParsedKey, Topic, parse_key, subscription_key, topic_key
from fleet.protocol.order import Action, ActionType, BlockingType, InstantActions
from fleet.protocol.state import Connection, ConnectionState
from fleet.store import Store

log = logging.getLogger(__name__)


WALL_TIMEOUT_FLOOR_S = 0.75
"""Real seconds of silence a manager on a faster-than-real world (``speed`` > 1) should
tolerate at least: ``fleet serve --speed`` and the simulator keep ``robot_timeout`` at or
above this times the speed."""


@dataclass(frozen=True)
class ManagerSettings:
    """How the manager behaves. Times are seconds of wall time divided by ``speed`` (the
    simulator runs the world faster and scales the manager's timeouts to match)."""

    interface: str = "uagv"
    release_ahead: int = 6
    """Nodes released ahead of a robot (VDA 5050 base); the rest is horizon."""
    robot_timeout: float = 3.0
    """A robot silent this long (outside dead zones) is declared lost."""
    plan_time_limit: float = 5.0
    """Solver time for each (re)planning."""
    wait_for_robots: bool = True
    """A mission with no capable robot online waits (queued) instead of failing."""
    dead_zone_margin: float = 1.5
    """Allowance factor on the expected time to cross a comms dead zone."""
    speed: float = 1.0
    """Time scale of the world (1 = real time)."""
    ingest_batch: int = 500
    ingest_wait: float = 0.02


class Manager:
    """The running manager. Use :meth:`start` / :meth:`stop` (or ``with``)."""

    def __init__(self, bus: Bus, store: Store, settings: ManagerSettings | None = None,
                 *, clock: Callable[[], float] = time.monotonic) -> None:
        self.bus = bus
        self.store = store
        self.settings = settings or ManagerSettings()
        self.clock = clock
        self.registry = Registry()
        self.missions: dict[str, MissionRun] = {}
        self.lock = threading.RLock()
        self.states_handled = 0
        self._stampers: dict[tuple[str, str], HeaderStamper] = {}
        self._results: queue.Queue[tuple[ParsedKey, InspectionResult] | None] = queue.Queue()
        self._wake_planner = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.order_sent: dict[str, float] = {}
        """orderId → when its first order was published (for the dispatch benchmark)."""
        self._orders: dict[str, tuple[str, str]] = {}
        """orderId → (mission id, serial) of the orders of restored missions."""
        self.order_seen: dict[str, float] = {}
        """orderId → when the robot's first state carrying it arrived."""
        self.anomalies = AnomalyLog(
            store, interface=self.settings.interface, publish=bus.publish_raw,
            mission_spec=lambda mid: getattr(self.missions.get(mid), "spec", None))
        """Anomaly rules, lifecycle and alerts on the results this manager stores."""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Subscribe, serve the query API, start the worker threads."""
        from fleet.manager.api import serve_api

        self._restore()
        itf = self.settings.interface
        self.bus.subscribe_raw(subscription_key(itf, Topic.STATE), self._on_state_sample)
        self.bus.subscribe(subscription_key(itf, Topic.CONNECTION), self._on_message)
        self.bus.subscribe(subscription_key(itf, Topic.FACTSHEET), self._on_message)
        self.bus.subscribe(subscription_key(itf, Topic.INSPECTION), self._on_message)
        self.bus.watch_alive(subscription_key(itf, ALIVE), self._on_alive)
        self.anomalies.start()  # checks results a killed predecessor left unchecked
        serve_api(self)
        for name, target in (("planner", self._planner_loop), ("liveness", self._liveness_loop),
                             ("ingest", self._ingest_loop)):
            t = threading.Thread(target=target, name=f"manager-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        log.info("manager started on interface %s", itf)

    def stop(self) -> None:
        """Stop the threads (pending results are committed and acknowledged first)."""
        self._stop.set()
        self._wake_planner.set()
        self._results.put(None)
        for t in self._threads:
            t.join(timeout=10)
        self.anomalies.stop()
        log.info("manager stopped")

    def __enter__(self) -> Manager:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def now(self) -> float:
        """Manager time in world seconds."""
        return self.clock() * self.settings.speed

    # ------------------------------------------------------------------ messages
    def _on_state_sample(self, raw_key: str, payload: bytes) -> None:
        # states take the light path (checked JSON → StateView), not the full model
        try:
            key = parse_key(raw_key)
            view = StateView.from_json(decode_json(Topic.STATE, payload))
        except ProtocolError as exc:
            self.bus.dropped += 1
            log.warning("dropped state on %s: %s", raw_key, exc)
            return
        self._on_state(key, view)

    def _on_message(self, key: ParsedKey, msg: Any) -> None:
        if isinstance(msg, InspectionResult):
            self._results.put((key, msg))
        elif isinstance(msg, Connection):
            self._on_connection(key, msg)
        elif isinstance(msg, Factsheet):
            with self.lock:
                robot = self.registry.entry(key.manufacturer, key.serial)
                robot.factsheet = msg
                self._heard(robot)
            self._wake_planner.set()

    def _robot_of(self, key: ParsedKey, header_manufacturer: str, header_serial: str
                  ) -> RobotEntry | None:
        if (header_manufacturer, header_serial) != (key.manufacturer, key.serial):
            log.warning("dropped message on %s/%s claiming to be %s/%s", key.manufacturer,
                        key.serial, header_manufacturer, header_serial)
            return None
        return self.registry.entry(key.manufacturer, key.serial)

    def _heard(self, robot: RobotEntry) -> None:
        robot.last_heard = self.now()
        if robot.status in (RobotStatus.SILENT, RobotStatus.CONNECTION_BROKEN,
                            RobotStatus.OFFLINE):
            if robot.status is not RobotStatus.SILENT:
                log.info("robot %s/%s is back", robot.manufacturer, robot.serial)
                self._readopt(robot)
            robot.status = RobotStatus.ONLINE

    def _on_state(self, key: ParsedKey, state: StateView) -> None:
        wake = False
        with self.lock:
            self.states_handled += 1
            robot = self._robot_of(key, state.manufacturer, state.serial_number)
            if robot is None:
                return
            was_idle = robot.state is not None and not robot.busy
            robot.state = state
            self._heard(robot)
            if state.order_id and state.order_id not in self.order_seen:
                self.order_seen[state.order_id] = time.perf_counter()
            run = self.missions.get(robot.mission_id or "")
            if run is None and robot.mission_id is None and state.order_id in self._orders:
                run = self._adopt(robot, state)
            if run is not None:
                wake = self._progress(run, robot, state)
            else:
                # the planner looks again only when a robot becomes free, not on every state
                wake = not was_idle and not robot.busy and self._waiting_work()
        if wake:
            self._wake_planner.set()

    def _waiting_work(self) -> bool:
        return any(r.pool and not r.status.terminal for r in self.missions.values())

    def _progress(self, run: MissionRun, robot: RobotEntry, state: StateView) -> bool:
        """Fold a state into its mission; returns True when planning may be due."""
        a = run.assignments.get(robot.serial)
        if a is None or not a.active:
            return False
        rejected = [e for e in state.errors if e.references.get("orderId") == a.order_id]
        if rejected and state.order_id != a.order_id:
            # the robot refused the order: its points go to other robots
            self._event(run, "order_rejected", robot.serial,
                        {"errors": [f"{e.error_type}: {e.description or ''}" for e in rejected]})
            self._release(run, a, robot, to_pool=True)
            return True
        before = len(a.failed)
        moved = a.on_state(state)
        news = a.on_charging(state, self.now()) if a.charges else None
        if news:
            for kind, detail in news.events:
                self._event(run, kind, robot.serial, detail)
            if news.instants:
                self._publish(a.manufacturer, a.serial, InstantActions(
                    self._stamper(a.manufacturer, a.serial).blank(), tuple(news.instants)))
        elif not moved:
            return False
        for point in a.failed:
            if point not in run.failed and point not in run.done:
                run.failed.add(point)
                self._event(run, "inspection_failed", robot.serial, {"point": point})
        if run.status is MissionStatus.DISPATCHED:
            self._set_status(run, MissionStatus.RUNNING)
        update = a.next_update(self._stamper(a.manufacturer, a.serial).blank())
        if update is not None:
            self._publish(a.manufacturer, a.serial, update)
        # a charging phase that moved is persisted, so a restarted manager resumes it
        return self._settle(run, a, robot, changed=before != len(a.failed) or (
            news is not None and news.changed))

    def _settle(self, run: MissionRun, a: Assignment, robot: RobotEntry | None, *,
                changed: bool) -> bool:
        """After progress: free a robot whose round is over, persist (at most once per
        inspection, not per node), and end the mission when nothing is left. True when the
        robot became free."""
        freed = False
        if a.active and a.finished:
            a.active = False
            if robot is not None and robot.mission_id == run.id:
                robot.mission_id = None
            self._event(run, "robot_finished", a.serial, {})
            freed = changed = True
        if changed:
            self._persist(run)
        self._maybe_finish(run)
        return freed

    def _on_connection(self, key: ParsedKey, msg: Connection) -> None:
        with self.lock:
            robot = self._robot_of(key, msg.header.manufacturer, msg.header.serial_number)
            if robot is None:
                return
            if msg.state is ConnectionState.ONLINE:
                self._heard(robot)
            else:
                self._lose(robot, RobotStatus.OFFLINE if msg.state is ConnectionState.OFFLINE
                           else RobotStatus.CONNECTION_BROKEN, "said " + msg.state.value)
        self._wake_planner.set()

    def _on_alive(self, key: ParsedKey, present: bool) -> None:
        with self.lock:
            robot = self.registry.entry(key.manufacturer, key.serial)
            robot.alive = present
            if present:
                self._heard(robot)
            elif self._allowance(robot) <= 0:
                self._lose(robot, RobotStatus.CONNECTION_BROKEN, "liveliness token lost")
            else:
                robot.status = RobotStatus.SILENT
        self._wake_planner.set()

    # ------------------------------------------------------------------ liveness
    def _liveness_loop(self) -> None:
        while not self._stop.wait(0.2 / max(1.0, self.settings.speed) + 0.05):
            woke = False
            with self.lock:
                now = self.now()
                for robot in self.registry.all():
                    if robot.status not in (RobotStatus.ONLINE, RobotStatus.SILENT):
                        continue
                    silent = now - robot.last_heard
                    limit = self.settings.robot_timeout + self._allowance(robot)
                    if silent > limit:
                        self._lose(robot, RobotStatus.CONNECTION_BROKEN,
                                   f"silent for {silent:.1f} s")
                        woke = True
                    elif silent > self.settings.robot_timeout or not robot.alive:
                        robot.status = RobotStatus.SILENT
            if woke:
                self._wake_planner.set()

    def _allowance(self, robot: RobotEntry) -> float:
        """Seconds a robot may stay silent beyond the timeout: the expected time to cross
        the comms dead zones ahead of it on its route (times the margin)."""
        run = self.missions.get(robot.mission_id or "")
        if run is None:
            return 0.0
        a = run.assignments.get(robot.serial)
        cls = robot.robot_class()
        if a is None or cls is None:
            return 0.0
        fac = run.spec.facility
        total = 0.0
        inside = False
        for i in range(max(0, a.reached), len(a.stops) - 1):
            here, nxt = a.stops[i].node_id, a.stops[i + 1].node_id
            edge = fac.edge_between(here, nxt)
            in_zone = here in a.dead or nxt in a.dead  # (precomputed: no geometry here)
            if not in_zone:
                if inside or i > a.reached + 1:
                    break
                continue
            inside = True
            if edge is not None:
                total += edge.length / fac.edge_speed(edge, cls.speed)
            for action in a.stops[i + 1].actions:
                total += float(action.parameters.get("durationSeconds", 0.0))
        return total * self.settings.dead_zone_margin

    def _lose(self, robot: RobotEntry, status: RobotStatus, why: str) -> None:
        if robot.status in (RobotStatus.OFFLINE, RobotStatus.CONNECTION_BROKEN):
            robot.status = status
            return
        robot.status = status
        (log.info if status is RobotStatus.OFFLINE else log.warning)(
            "robot %s/%s lost: %s", robot.manufacturer, robot.serial, why)
        run = self.missions.get(robot.mission_id or "")
        if run is None:
            return
        a = run.assignments.get(robot.serial)
        if a is not None and a.active:
            self._event(run, "robot_lost", robot.serial, {"why": why, "remaining": a.remaining})
            self._release(run, a, robot, to_pool=True)

    def _release(self, run: MissionRun, a: Assignment, robot: RobotEntry, *,
                 to_pool: bool) -> None:
        """Take an assignment away from its robot; its remaining points go back to the
        pool to be planned onto others."""
        a.active = False
        robot.mission_id = None
        if to_pool:
            for p in a.remaining:
                if p not in run.done:
                    run.pool.add(p)
        self._persist(run)
        self._maybe_finish(run)

    def _readopt(self, robot: RobotEntry) -> None:
        """A robot that was declared lost is back: stop its stale order if its work was
        handed to others."""
        for run in self.missions.values():
            a = run.assignments.get(robot.serial)
            if a is not None and not a.active and not run.status.terminal:
                self._instant(robot.manufacturer, robot.serial, ActionType.CANCEL_ORDER)
                self._event(run, "robot_back", robot.serial, {"order_cancelled": a.order_id})

    # ------------------------------------------------------------------ missions
    def launch(self, name: str, spec: MissionSpec, document: str, *,
               map_doc: dict[str, str] | None = None) -> MissionRun:
        """Accept a mission: stored as queued, planned by the planner thread.

        ``map_doc`` (the map file's name, suffix and text) lets a restarted manager rebuild
        the mission; without it a restart marks the mission failed."""
        run = MissionRun(uuid.uuid4().hex, name, spec, document=document,
                         map_doc=dict(map_doc or {}))
        run.pool = set(run.tasks)
        with self.lock:
            self.missions[run.id] = run
            self.store.add_mission(name, document, mission_id=run.id,
                                   status=run.status.value,
                                   map_path=str(spec.map_path or spec.facility.name),
                                   objective=spec.objective.value)
            self._event(run, "launched", None, {"tasks": len(run.tasks)})
            self._persist(run)
        self._wake_planner.set()
        return run

    def control(self, mission_id: str, verb: str) -> MissionRun:
        """``pause``, ``resume`` or ``abort`` a mission (instant actions to its robots)."""
        with self.lock:
            run = self.mission(mission_id)
            if verb == "pause":
                self._set_status(run, MissionStatus.PAUSED)
                for a in run.active():
                    self._instant(a.manufacturer, a.serial, ActionType.START_PAUSE)
            elif verb == "resume":
                self._set_status(run, MissionStatus.RUNNING if run.assignments
                                 else MissionStatus.QUEUED)
                for a in run.active():
                    self._instant(a.manufacturer, a.serial, ActionType.STOP_PAUSE)
                self._wake_planner.set()
            elif verb == "abort":
                self._set_status(run, MissionStatus.ABORTED, "aborted by a supervisor")
                for a in run.active():
                    self._instant(a.manufacturer, a.serial, ActionType.CANCEL_ORDER)
                    a.active = False
                    robot = self.registry.find(a.serial)
                    if robot is not None:
                        robot.mission_id = None
                run.pool.clear()
                self._persist(run)
            else:
                raise FleetError(f"unknown mission command {verb!r}")
            return run

    def mission(self, mission_id: str) -> MissionRun:
        """A mission by id (a unique prefix of at least 4 characters is enough)."""
        run = self.missions.get(mission_id)
        if run is None and len(mission_id) >= 4:
            found = [m for k, m in self.missions.items() if k.startswith(mission_id)]
            run = found[0] if len(found) == 1 else None
        if run is None:
            raise FleetError(f"no mission {mission_id!r}")
        return run

    def _planner_loop(self) -> None:
        while not self._stop.is_set():
            self._wake_planner.wait(timeout=1.0)
            self._wake_planner.clear()
            if self._stop.is_set():
                return
            with self.lock:
                due = [r for r in self.missions.values()
                       if r.pool and r.status in (MissionStatus.QUEUED, MissionStatus.DISPATCHED,
                                                  MissionStatus.RUNNING)]
            for run in due:
                try:
                    self._plan_pool(run)
                except FleetError as exc:
                    with self.lock:
                        self._event(run, "planning_failed", None, {"error": str(exc)})
                        if not run.active():
                            self._set_status(run, MissionStatus.FAILED, str(exc))

    def _plan_pool(self, run: MissionRun) -> None:
        """Plan the mission's waiting tasks over the robots available now."""
        with self.lock:
            fleet = self.registry.available_fleet(run.spec.facility)
            f = run.spec.robots
            fleet = fleet.restricted(classes=f.classes, serials=f.serials)
            tasks = tuple(t for t in run.spec.tasks if t.point in run.pool)
        if not tasks:
            return
        if not fleet.robots:
            with self.lock:
                self._no_robots(run)
            return
        spec = replace(run.spec, tasks=tasks)
        try:
            plan = plan_mission(spec, fleet, time_limit=self.settings.plan_time_limit)
        except PlanningError as exc:
            raise FleetError(f"planning failed: {exc}") from None
        with self.lock:
            if run.status.terminal or run.status is MissionStatus.PAUSED:
                return
            sent = 0
            for rp in plan.robots:
                robot = self.registry.find(rp.serial)
                if robot is None or robot.mission_id is not None or robot.busy:
                    continue  # taken meanwhile: its points stay in the pool
                cls = robot.robot_class()
                a = assignment_for(run.id, rp, spec, release_ahead=self.settings.release_ahead,
                                   battery_wh=cls.battery_wh if cls is not None and
                                   supports_charging(robot.factsheet) else None)
                run.assign(a)
                robot.mission_id = run.id
                for p in a.points:
                    run.pool.discard(p)
                order = a.first_order(self._stamper(a.manufacturer, a.serial).blank())
                self.order_sent[a.order_id] = time.perf_counter()
                self._publish(a.manufacturer, a.serial, order)
                self._event(run, "dispatched", rp.serial,
                            {"order_id": a.order_id, "points": a.points})
                sent += 1
            for u in plan.unassigned:
                # a task another known robot could do (busy now, or back later) waits for
                # it; only what no robot online could ever do, or what is left once every
                # robot of the mission is done, is dropped
                if not self._could_serve(run, u.point) or not (
                        run.active() or self._others_busy(run)):
                    run.pool.discard(u.point)
                    run.dropped[u.point] = f"{u.reason.value}: {u.detail}".rstrip(": ")
                    self._event(run, "dropped", None, {"point": u.point,
                                                       "reason": run.dropped[u.point]})
            if sent and run.status is MissionStatus.QUEUED:
                self._set_status(run, MissionStatus.DISPATCHED)
            self._persist(run)
            self._maybe_finish(run)

    def _could_serve(self, run: MissionRun, point: str) -> bool:
        """Whether some robot online (busy or not) carries the sensors of the task at
        ``point`` and may stand there."""
        task = run.spec.task(point)
        fac = run.spec.facility
        for robot in self.registry.all():
            cls = robot.robot_class()
            if (robot.status in (RobotStatus.ONLINE, RobotStatus.SILENT) and cls is not None
                    and task.sensors <= cls.sensors and fac.node_allowed(point, cls.access)):
                return True
        return False

    def _others_busy(self, run: MissionRun) -> bool:
        """Whether a capable robot is busy elsewhere and may come back for this mission."""
        return any(r.status in (RobotStatus.ONLINE, RobotStatus.SILENT) and r.busy
                   and r.mission_id != run.id and r.robot_class() is not None
                   for r in self.registry.all())

    def _no_robots(self, run: MissionRun) -> None:
        if run.active():
            return  # the robots at work will come back for the rest
        if not self.settings.wait_for_robots and run.status is not MissionStatus.QUEUED:
            self._set_status(run, MissionStatus.FAILED, "no capable robot online")
            return
        if not self.settings.wait_for_robots:
            self._set_status(run, MissionStatus.FAILED, "no capable robot online")
            return
        if not run.waiting_reported:
            run.waiting_reported = True
            run.reason = "waiting for a capable robot to be online and idle at a dock"
            self._event(run, "waiting_for_robots", None, {"tasks": sorted(run.pool)})

    def _maybe_finish(self, run: MissionRun) -> None:
        if run.status.terminal or run.status is MissionStatus.QUEUED:
            return
        if run.settled():
            self._set_status(run, run.outcome())

    def _set_status(self, run: MissionRun, status: MissionStatus,
                    reason: str | None = None) -> None:
        if run.move(status, reason):
            self.store.set_mission_status(run.id, status.value, reason)
            log.info("mission %s is %s", run.id[:8], status.value)

    def _event(self, run: MissionRun, kind: str, serial: str | None,
               detail: dict[str, Any]) -> None:
        self.store.add_event(run.id, kind, detail, robot_serial=serial)

    def _persist(self, run: MissionRun) -> None:
        self.store.save_plan(run.id, run.snapshot())

    def _restore(self) -> None:
        """Pick up the missions a previous manager left unfinished: rebuilt from what it
        persisted; their robots are re-adopted as their states (carrying the same orderId)
        arrive. A mission that cannot be rebuilt is marked failed with the reason."""
        for row in self.store.missions():
            status = MissionStatus(row.status)
            if status.terminal:
                continue
            try:
                run = MissionRun.restore(row.id, row.name, status, row.document,
                                         row.plan if isinstance(row.plan, dict) else {})
            except (FleetError, KeyError, TypeError, ValueError) as exc:
                self.store.set_mission_status(
                    row.id, MissionStatus.FAILED.value,
                    f"the manager restarted and could not rebuild it: {exc}")
                continue
            self.missions[run.id] = run
            for a in run.active():
                self._orders[a.order_id] = (run.id, a.serial)
            self._event(run, "manager_restarted", None,
                        {"active": [a.serial for a in run.active()], "waiting": sorted(run.pool)})
            log.info("mission %s restored (%s)", run.id[:8], run.status.value)

    def _adopt(self, robot: RobotEntry, state: StateView) -> MissionRun | None:
        """A robot working on an order of a restored mission becomes that mission's again,
        with its release window taken from what the robot reports."""
        found = self._orders.get(state.order_id)
        if found is None:
            return None
        run = self.missions.get(found[0])
        a = None if run is None else run.assignments.get(found[1])
        if run is None or a is None or not a.active or robot.serial != a.serial:
            return None
        robot.mission_id = run.id
        a.update_id = max(a.update_id, state.order_update_id)
        self._event(run, "robot_readopted", robot.serial, {"order_id": a.order_id})
        return run

    # ------------------------------------------------------------------ results
    def _ingest_loop(self) -> None:
        done = False
        while not done:
            item = self._results.get()
            batch: list[tuple[ParsedKey, InspectionResult]] = []
            if item is None:
                done = True
            else:
                batch.append(item)
            deadline = time.monotonic() + self.settings.ingest_wait
            while len(batch) < self.settings.ingest_batch:
                try:
                    item = self._results.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    done = True
                    break
                batch.append(item)
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[tuple[ParsedKey, InspectionResult]]) -> None:
        genuine = [(k, r) for k, r in batch
                   if (r.header.manufacturer, r.header.serial_number) == (k.manufacturer,
                                                                          k.serial)]
        with self.lock:
            order_missions = {a.order_id: run.id for run in self.missions.values()
                              for a in run.assignments.values()}
        try:
            recorded = self.store.record_batch(
                [r for _, r in genuine],
                order_missions={r.order_id: order_missions.get(r.order_id)
                                for _, r in genuine})
        except FleetError as exc:
            log.error("could not store %d results (robots will resend): %s", len(genuine), exc)
            return
        committed = set(recorded.committed)
        acks: dict[tuple[str, str], list[str]] = defaultdict(list)
        for key, r in genuine:
            if r.result_id in committed:
                acks[(key.manufacturer, key.serial)].append(r.result_id)
        for (manufacturer, serial), ids in acks.items():
            stamper = self._stamper(manufacturer, serial)
            self._publish(manufacturer, serial, InspectionAck.of(stamper.blank(), ids))
        try:
            self.anomalies.observe(recorded.new)  # new results only: each checked once
        # Results are stored and stay flagged unchecked whatever goes wrong here, and are
        # checked again later; the ingest thread must live on to store the next batch.
        except Exception:
            log.exception("anomaly rules failed on %d results (checked again later)",
                          len(recorded.new))
        freed = False
        with self.lock:
            for _key, r in genuine:
                if r.result_id not in committed:
                    continue
                for run in self.missions.values():
                    a = run.assignments.get(r.header.serial_number)
                    if a is None or a.order_id != r.order_id:
                        continue
                    point = a.inspections.get(r.action_id)
                    if point is None or point in a.done:
                        continue
                    a.done.add(point)
                    if point not in run.done:
                        run.done[point] = a.serial
                        run.pool.discard(point)
                        self._event(run, "inspected", a.serial,
                                    {"point": point, "result_id": r.result_id})
                    freed |= self._settle(run, a, self.registry.find(a.serial), changed=True)
        if freed:
            self._wake_planner.set()

    # ------------------------------------------------------------------ publishing
    def _stamper(self, manufacturer: str, serial: str) -> HeaderStamper:
        key = (manufacturer, serial)
        stamper = self._stampers.get(key)
        if stamper is None:
            stamper = self._stampers[key] = HeaderStamper(manufacturer, serial)
        return stamper

    def _publish(self, manufacturer: str, serial: str, message: Any) -> None:
        stamped = self._stamper(manufacturer, serial).stamp(message)
        self.bus.publish(topic_key(self.settings.interface, manufacturer, serial,
                                   stamped.TOPIC), stamped)

    def _instant(self, manufacturer: str, serial: str, action: ActionType) -> None:
        act = Action(f"{action.value}-{uuid.uuid4().hex[:8]}", action.value, BlockingType.HARD)
        self._publish(manufacturer, serial,
                      InstantActions(self._stamper(manufacturer, serial).blank(), (act,)))

