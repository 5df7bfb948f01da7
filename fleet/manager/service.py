"""The fleet manager service: :class:`Manager`, its parts put together, and
:func:`build_manager`, the one way to get a running one.

A manager is a :class:`~fleet.manager.core.Core` (store, robot links, settings, clock, the
registry and missions under one lock) and its parts, each readable alone:

- :mod:`~fleet.manager.liveness`: robots heard, silent, lost; a lost robot's work handed
  back;
- :mod:`~fleet.manager.dispatcher`: orders sent and robots followed through them;
- :mod:`~fleet.manager.lockouts`: robots locked out by methane, until a recorded reset;
- :mod:`~fleet.manager.planner_loop`: waiting inspections planned onto free robots;
- :mod:`~fleet.manager.ingestion`: results committed, acknowledged, then judged;
- :mod:`~fleet.manager.sensors`: the site's fixed sensors heard, stored, judged, and
  checked against their interlock levels;
- :mod:`~fleet.manager.queries`: what the API reads.

Threads: the links' callback threads only update state under the lock and queue work;
the planner thread plans outside the lock; the liveness thread looks at silences; the
ingest thread commits results; the sensor thread commits fixed-sensor readings; the
anomaly log's dispatcher thread delivers alerts.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import replace

from fleet.anomaly.alerts import AlertSettings
from fleet.anomaly.fixed_sensors import InterlockCheck, InterlockHook
from fleet.anomaly.log import AnomalyLog
from fleet.anomaly.rules import REFUSED, Verdict
from fleet.clock import Clock, SystemClock, silence_timeout
from fleet.comms.bus import Bus, RequestHandler
from fleet.comms.transport import Handle
from fleet.errors import FleetError, TransportError
from fleet.facility.model import Facility
from fleet.manager.closures import Closures
from fleet.manager.core import Core, ManagerSettings
from fleet.manager.dispatcher import Dispatcher
from fleet.manager.ingestion import Ingestion
from fleet.manager.lifecycle import MissionStatus
from fleet.manager.links import REFUSED_ROBOT_TOPIC, Links, RobotId, RobotLink, VdaZenohLink
from fleet.manager.live import LiveFeed
from fleet.manager.liveness import TICK_REAL_S, TICK_S, Liveness
from fleet.manager.lockouts import Lockouts
from fleet.manager.missions import MissionRun
from fleet.manager.obstacles import Obstacles
from fleet.manager.patrol import Idleness, continuous
from fleet.manager.pauses import Pauses
from fleet.manager.planner_loop import PlannerLoop
from fleet.manager.plausibility import implausible, point_of
from fleet.manager.queries import Queries
from fleet.manager.registry import Refusal
from fleet.manager.scheduler import Scheduler
from fleet.manager.sensors import FixedSensors
from fleet.manager.stateview import StateView
from fleet.planning.mission import MissionSpec
from fleet.protocol.factsheet import Factsheet
from fleet.protocol.header import Header, utc_timestamp
from fleet.protocol.inspection import InspectionAck, InspectionResult, Rejection
from fleet.protocol.keys import Topic
from fleet.protocol.order import ActionType
from fleet.protocol.state import Connection
from fleet.sensors import Severity
from fleet.store import ClosureRow, Store

log = logging.getLogger(__name__)

FACTSHEET_ASK_S = 10.0
"""Clock seconds between two ``factsheetRequest`` to a robot heard without a factsheet."""

REFUSAL_LOG_S = 60.0
"""Clock seconds during which the same refusal reason of one robot is logged only once."""

__all__ = ["Manager", "ManagerSettings", "build_manager"]


class Manager:
    """The running manager; build one with :func:`build_manager`.

    ``bus`` carries the query API, alerts and (unless ``links`` are given) the VDA 5050
    robots; the manager never closes it. Use :meth:`start` / :meth:`stop` (or ``with``).
    """

    def __init__(self, bus: Bus, store: Store, settings: ManagerSettings | None = None, *,
                 clock: Clock | None = None, links: Sequence[RobotLink] = ()) -> None:
        self.bus = bus
        self.store = store
        self.settings = settings or ManagerSettings()
        self.clock: Clock = clock if clock is not None else SystemClock()
        link = Links(list(links) or [VdaZenohLink(bus, self.settings.interface)])
        self.core = Core(store, link, self.settings, self.clock)
        self.registry = self.core.registry
        self.missions = self.core.missions
        self.lock = self.core.lock
        self.anomalies = AnomalyLog(
            store, interface=self.settings.interface, publish=bus.publish_raw,
            mission_spec=lambda mid: getattr(self.missions.get(mid), "spec", None),
            clock=self.clock)
        """Anomaly rules, lifecycle and alerts on the results this manager stores."""
        self.core.power_off = self._power_off
        self.closures = Closures(self.core, self.anomalies)
        """Gas closures (:mod:`fleet.manager.closures`)."""
        self.obstacles = Obstacles(self.core, self.closures)
        self.liveness = Liveness(self.core, self.obstacles)
        self.dispatcher = Dispatcher(self.core, self.liveness)
        self.planner = PlannerLoop(self.core, self.dispatcher, self.obstacles)
        self.lockouts = Lockouts(self.core, self.obstacles, self.anomalies, self.dispatcher)
        """Robots' methane lockouts (:mod:`fleet.manager.lockouts`)."""
        self.ingestion = Ingestion(self.core, self.dispatcher, self.anomalies, self.closures)
        self.sensors = FixedSensors(self.core, self.anomalies, bus)
        """The site's fixed sensors: :meth:`FixedSensors.add_site`,
        :meth:`FixedSensors.add_hook` (the interlock hook)."""
        self.queries = Queries(self.core)
        self.pauses = Pauses(self.core)
        """Pauses and resumes followed to the robots' answers (:mod:`fleet.manager.pauses`)."""
        self.scheduler = Scheduler(self.core, lambda name, spec, document, map_doc:
                                   self.launch(name, spec, document, map_doc=map_doc))
        """Recurring missions (:mod:`fleet.manager.scheduler`)."""
        self.live = LiveFeed(self, bus.publish_raw)
        """The live feed for dashboards (:mod:`fleet.manager.live`)."""
        self._refusals: dict[tuple[RobotId, str], float] = {}
        self._threads: list[threading.Thread] = []
        self._served: list[Handle] = []

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Rebuild unfinished missions, start listening to robots, serve the query API and
        start the worker threads."""
        from fleet.manager.api import serve_api

        self.dispatcher.restore()
        self.lockouts.restore()
        self.scheduler.restore()
        self.closures.restore()
        self.sensors.add_hook(self._interlock_check)
        for run in list(self.missions.values()):
            self.sensors.add_site(run.spec.facility, strict=False)
            self.closures.add_site(run.spec.facility)
        self.core.link.start(self)
        self.anomalies.start()  # checks results a killed predecessor left unchecked
        self.sensors.start()
        serve_api(self)
        threads = [("planner", self.planner.run), ("liveness", self._liveness),
                   ("ingest", self.ingestion.run), ("sensors", self.sensors.run),
                   ("scheduler", self.scheduler.run)]
        if self.settings.live_interval > 0:
            threads.append(("live", self.live.run))
        for name, target in threads:
            t = threading.Thread(target=target, name=f"manager-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        log.info("manager started on interface %s", self.settings.interface)

    def stop(self) -> None:
        """Stop the threads (pending results are committed and acknowledged first)."""
        core = self.core
        core.stopping.set()
        core.wake.set()
        self.planner.planning.close()  # a plan being solved is not waited for
        self.scheduler.wake()
        self.ingestion.close()
        self.sensors.close()
        for t in self._threads:
            t.join(timeout=10)
        served, self._served = self._served, []
        for handle in served:
            try:
                handle.undeclare()
            except TransportError as exc:  # the session is going anyway
                log.debug("could not withdraw an API key: %s", exc)
        core.link.close()
        self.anomalies.stop()
        log.info("manager stopped")

    def serve(self, key: str, handler: RequestHandler) -> None:
        """Answer the API requests on ``key`` until :meth:`stop` (which withdraws it: a
        standby that led once and lost the lease answers nothing more)."""
        self._served.append(self.bus.serve(key, handler))

    def __enter__(self) -> Manager:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def now(self) -> float:
        """Manager time: seconds on its clock."""
        return self.core.now()

    @property
    def states_handled(self) -> int:
        """States folded in since the start."""
        return self.dispatcher.states_handled

    @property
    def order_sent(self) -> dict[str, float]:
        """orderId → when its first order went out (real time, for benchmarks)."""
        return self.core.order_sent

    @property
    def order_seen(self) -> dict[str, float]:
        """orderId → when the first state carrying it arrived (real time)."""
        return self.core.order_seen

    def _liveness(self) -> None:
        core = self.core
        tick = TICK_S + core.clock.to_world(TICK_REAL_S)
        due = core.now() + tick
        # the next look is due a tick after the last one *began*: time that passed while
        # looking (a manual clock advanced meanwhile) is looked at at once, not a tick later
        while not core.clock.wait(core.stopping, due - core.now()):
            due = core.now() + tick
            try:
                if self.liveness.check() | self.dispatcher.sweep():
                    core.wake.set()
                self.pauses.sweep()
            # the database away (or this manager fenced off): look again at the next tick
            except FleetError as exc:
                log.error("liveness check: %s", exc)

    # -- what the links say (LinkEvents) ------------------------------------------------
    def on_state(self, robot: RobotId, state: StateView) -> None:
        with self.lock:
            entry = self.registry.entry(*robot)
            # a lockout first: the actions the robot failed on locking out are not failed
            # inspections, its points go to others (fleet.manager.lockouts)
            locked = self.lockouts.on_state(entry, state)
            wake = self.dispatcher.on_state(entry, state) | locked
            self.pauses.on_state(entry, state)
            now = self.core.now()
            if entry.factsheet is None and now - entry.factsheet_asked >= FACTSHEET_ASK_S:
                # heard without a factsheet (it went to a manager that has since died, or
                # the robot sends it only on request): without it the robot cannot be
                # planned for, nor its dead-zone crossings allowed for
                entry.factsheet_asked = now
                self.core.instant(robot.manufacturer, robot.serial,
                                  ActionType.FACTSHEET_REQUEST)
        if locked:
            self.lockouts.announce()
        if wake:
            self.core.wake.set()

    def on_connection(self, robot: RobotId, message: Connection) -> None:
        with self.lock:
            self.liveness.on_connection(self.registry.entry(*robot), message)
        self.core.wake.set()

    def on_factsheet(self, robot: RobotId, factsheet: Factsheet) -> None:
        with self.lock:
            entry = self.registry.entry(*robot)
            entry.factsheet = factsheet
            self.liveness.heard(entry)
        self.core.wake.set()

    def on_result(self, robot: RobotId, result: InspectionResult) -> None:
        """Queued for the ingest thread, unless it contradicts its inspection point
        (:mod:`fleet.manager.plausibility`): then refused as other refusals are (shown per
        robot, logged) and the robot told why on ``inspectionAck``, so it stops resending
        it. Nothing is stored of a refused result."""
        with self.lock:
            found = point_of(result, self.missions.values())
        reason = implausible(result, *found) if found is not None else None
        if reason is None:
            self.ingestion.put(robot, result)
            return
        self.on_refused(robot, Topic.INSPECTION.value, reason)
        # a valid result's id is a UUID: a rejection can always carry it
        self.core.send(*robot, InspectionAck.of(
            Header(*robot), (), rejected=(Rejection.of(result.result_id, reason),)))

    def on_presence(self, robot: RobotId, present: bool) -> None:
        with self.lock:
            self.liveness.on_presence(self.registry.entry(*robot), present)
        self.core.wake.set()

    def on_refused(self, robot: RobotId, topic: str, reason: str) -> None:
        """Shown per robot (``fleet robots show``); each distinct reason logged once per
        robot per :data:`REFUSAL_LOG_S`, not once per message."""
        with self.lock:
            entry = self.registry.entry(*robot)
            entry.refused += 1
            entry.last_rejected = Refusal(topic, reason, utc_timestamp(self.clock.now()))
            now = self.core.now()
            key = (robot, reason)
            last = self._refusals.get(key)
            if last is not None and now - last < REFUSAL_LOG_S:
                return
            self._refusals[key] = now
        log.warning("refused a message of %s on %s: %s", robot, topic, reason)
        if topic == REFUSED_ROBOT_TOPIC:
            self._alert_refused(robot, reason)

    def _alert_refused(self, robot: RobotId, reason: str) -> None:
        """A robot the link cannot drive at all (not one bad message): an anomaly, so that
        a supervisor is alerted (webhooks, ``fleet anomalies``) with the reason."""
        verdict = Verdict(f"{REFUSED}:{robot.serial}", Severity.WARNING, REFUSED, None, None,
                          None, detail={"description": f"robot {robot} refused: {reason}",
                                        "robot": str(robot), "reason": reason})
        try:
            self.anomalies.raise_event(verdict, "-", measured_at=self.clock.now(),
                                       manufacturer=robot.manufacturer,
                                       serial_number=robot.serial)
        except FleetError as exc:  # the refusal is shown per robot either way
            log.error("could not raise the anomaly of refused robot %s: %s", robot, exc)

    # -- missions -----------------------------------------------------------------------
    def launch(self, name: str, spec: MissionSpec, document: str, *,
               map_doc: dict[str, str] | None = None) -> MissionRun:
        """Accept a mission: stored as queued, planned by the planner thread.

        ``map_doc`` (the map file's name, suffix and text) lets a restarted manager rebuild
        the mission; without it a restart marks the mission failed."""
        core = self.core
        run = MissionRun(uuid.uuid4().hex, name, spec, document=document,
                         map_doc=dict(map_doc or {}))
        run.pool = set(run.tasks)
        if continuous(spec):
            run.idleness = Idleness(started=self.clock.now().timestamp())
        self.closures.add_site(spec.facility)
        # the mission's map may list fixed sensors; their problems do not stop the mission
        self.sensors.add_site(spec.facility, file=str(spec.map_path or spec.facility.name),
                              strict=False)
        with self.lock:
            self.missions[run.id] = run
            self.store.add_mission(name, document, mission_id=run.id, at=self.clock.now(),
                                   status=run.status.value,
                                   map_path=str(spec.map_path or spec.facility.name),
                                   objective=spec.objective.value)
            core.event(run, "launched", None, {"tasks": len(run.tasks)})
            core.persist(run)
        core.wake.set()
        return run

    def control(self, mission_id: str, verb: str) -> MissionRun:
        """``pause``, ``resume`` or ``abort`` a mission (instant actions to its robots).

        An abort is at once; a pause or resume changes the status only once the robots
        confirm (:mod:`fleet.manager.pauses`): the run returned shows what is awaited."""
        core = self.core
        with self.lock:
            run = self.mission(mission_id)
            if verb in ("pause", "resume"):
                # the status changes once the robots confirm (fleet.manager.pauses)
                self.pauses.request(run, verb)
            elif verb == "abort":
                core.set_status(run, MissionStatus.ABORTED, "aborted by a supervisor")
                run.control = None
                for a in run.active():
                    core.instant(a.manufacturer, a.serial, ActionType.CANCEL_ORDER,
                                 mission_id=run.id)
                    a.active = False
                    robot = self.registry.find(a.serial)
                    if robot is not None:
                        robot.mission_id = None
                run.pool.clear()
                core.persist(run)
            else:
                raise FleetError(f"unknown mission command {verb!r}")
            return run

    def clear_robot(self, manufacturer: str, serial: str, note: str) -> list[str]:
        """A supervisor says people recovered a lost robot: its place is freed and the
        points it blocked are planned again; returns the missions the note is recorded on.
        FleetError when the manager knows no such robot."""
        with self.lock:
            robot = self.registry.find(serial)
            if robot is None or (manufacturer and robot.manufacturer != manufacturer):
                raise FleetError(f"no robot {manufacturer}/{serial}")
        return self.obstacles.clear(serial, note)

    def _interlock_check(self, check: InterlockCheck) -> None:
        """A fixed sensor's stored reading against its interlock levels: a power-off
        closes the area round it, a reading below restore reopens it, on the site whose
        map lists the sensor (other sites may have nodes of the same ids)."""
        r = check.reading
        self.closures.observe(check.node, f"sensor {check.sensor_id}", r.sensor.sensor,
                              r.value, r.unit, check.levels,
                              site=self.sensors.site(check.sensor_id))

    def _power_off(self, mission_id: str, node: str) -> float | None:
        """The methane power-off level (% CH4) at ``node`` under mission ``mission_id``'s
        limits (docs/gas-safety.md), for the ``inspect`` actions there."""
        levels = self.anomalies.limits_for(mission_id).interlock(node, "ch4")
        levels = levels.in_unit("%vol") if levels is not None else None
        return None if levels is None else levels.power_off

    def reopen_closure(self, closure_id: int, *, by: str, note: str | None) -> ClosureRow:
        """A supervisor reopens a gas closure, its anomaly resolved
        (:meth:`fleet.manager.closures.Closures.reopen`); FleetError when it is not open."""
        return self.closures.reopen(closure_id, by=by, note=note)

    def reset_robot(self, manufacturer: str, serial: str, *, by: str,
                    note: str) -> dict[str, object]:
        """A supervisor records that people reset a locked-out robot
        (:meth:`fleet.manager.lockouts.Lockouts.reset`)."""
        return self.lockouts.reset(manufacturer, serial, by=by, note=note)

    def mission(self, mission_id: str) -> MissionRun:
        """A live mission by id (a unique prefix of at least 4 characters is enough)."""
        with self.lock:
            return self.queries.mission_run(mission_id)


def build_manager(store: Store, bus: Bus, settings: ManagerSettings | None = None, *,
                  clock: Clock | None = None, links: Sequence[RobotLink] = (),
                  alerts: AlertSettings | None = None, start: bool = True,
                  sites: Sequence[Facility] = (),
                  interlock_hooks: Sequence[InterlockHook] = ()) -> Manager:
    """A manager on ``store`` and ``bus`` (and ``links``: default the VDA 5050 robots on
    ``bus``), started unless ``start`` is False.

    The one place a manager is put together (``fleet serve``, the simulator's embedded
    manager, the benchmarks, the tests): the silence timeout is raised to what the
    machine can honour on ``clock`` (:func:`fleet.clock.silence_timeout`), and ``alerts``
    configure webhooks. The fixed sensors of ``sites`` are listened to from the start
    (MapError, before anything starts, when a map's sensors or limits have problems), and
    ``interlock_hooks`` hear every stored fixed-sensor reading's interlock check
    (:mod:`fleet.manager.sensors`). The caller stops the manager, then closes ``bus`` and
    ``store``.
    """
    settings = settings or ManagerSettings()
    clock = clock if clock is not None else SystemClock()
    settings = replace(settings, robot_timeout=silence_timeout(settings.robot_timeout, clock))
    manager = Manager(bus, store, settings, clock=clock, links=links)
    for site in sites:
        manager.sensors.add_site(site)
        manager.closures.add_site(site)
    for hook in interlock_hooks:
        manager.sensors.add_hook(hook)
    if alerts is not None:
        manager.anomalies.configure_alerts(alerts)
    if start:
        manager.start()
    return manager
