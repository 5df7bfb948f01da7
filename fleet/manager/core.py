"""What the manager's parts share: :class:`Core`, the state under one lock and the few
operations every part performs on a mission.

The parts (:mod:`~fleet.manager.liveness`, :mod:`~fleet.manager.dispatcher`,
:mod:`~fleet.manager.planner_loop`, :mod:`~fleet.manager.ingestion`,
:mod:`~fleet.manager.queries`) each hold the one :class:`Core` of their manager. A part
reads or changes :attr:`Core.registry` and :attr:`Core.missions` only while holding
:attr:`Core.lock` (a re-entrant lock: link callbacks, the planner, liveness and ingestion
threads all take it, never for long; planning itself runs outside it).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet.clock import Clock
from fleet.errors import ProtocolError, TransportError
from fleet.facility.model import Facility
from fleet.manager.dispatch import Assignment
from fleet.manager.instants import Instants
from fleet.manager.lifecycle import MissionStatus
from fleet.manager.links import RobotId, RobotLink
from fleet.manager.missions import MissionRun
from fleet.manager.registry import Registry, RobotEntry
from fleet.manager.traffic import Traffic
from fleet.protocol.header import Header, Message
from fleet.protocol.order import Action, ActionType, BlockingType, InstantActions
from fleet.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManagerSettings:
    """How the manager behaves. Durations are seconds on the manager's clock (world
    seconds on a simulated site: see :mod:`fleet.clock`)."""

    interface: str = "uagv"
    release_ahead: int = 6
    """Nodes released ahead of a robot (VDA 5050 base)."""
    horizon_ahead: int | None = 30
    """Unreleased route nodes sent beyond the base (VDA 5050 horizon), moving on with it;
    None sends the whole rest of the round. A robot reports every node and edge of its
    order in each state, so a round of a thousand nodes sent whole makes every state a
    few hundred kB: bounded, the manager handles a thousand robots' states a second and
    the radio carries a tenth (docs/benchmarks.md, "Simulator")."""
    robot_timeout: float = 3.0
    """A robot silent this long (outside dead zones) is declared lost; raised to
    :func:`fleet.clock.silence_timeout` by :func:`~fleet.manager.build_manager`."""
    plan_time_limit: float = 5.0
    """Solver time for each (re)planning (real seconds: the solver's budget)."""
    plan_process: bool = False
    """Solve plans in a process of their own (:mod:`fleet.manager.planning_process`), so
    that a large fleet's states are handled while the manager plans; off, the planner
    thread solves them (tests, small sites: no process to start)."""
    wait_for_robots: bool = True
    """A mission with no capable robot online waits (queued) instead of failing."""
    dead_zone_margin: float = 1.5
    """Allowance factor on the expected time to cross a comms dead zone."""
    result_grace: float = 10.0
    """Seconds after a robot's order is over that a finished inspection's result may still
    arrive before the point is handed out again."""
    max_handovers: int = 3
    """Times a point left behind by robots is planned again before it is dropped."""
    traffic_control: bool = True
    """Reserve places and single-lane blocks before releasing base nodes
    (:mod:`fleet.manager.traffic`). Off only for tests and benchmarks that show what
    happens without it."""
    traffic_wait_event_s: float = 30.0
    """A robot waiting this long for traffic gets a mission event (and another when the
    wait ends)."""
    ingest_batch: int = 500
    ingest_wait: float = 0.02
    """Real seconds the ingest thread gathers a batch of results before committing."""
    live_interval: float = 0.5
    """Real seconds between messages of the live feed (:mod:`fleet.manager.live`, what
    dashboards show); 0 switches the feed off."""


class Core:
    """The state a manager's parts share (see the module docstring)."""

    def __init__(self, store: Store, link: RobotLink, settings: ManagerSettings,
                 clock: Clock) -> None:
        self.store = store
        self.link = link
        self.settings = settings
        self.clock = clock
        self.registry = Registry()
        self.missions: dict[str, MissionRun] = {}
        self.lock = threading.RLock()
        self._deferred: dict[str, MissionRun] | None = None
        self.wake = threading.Event()
        """Set to make the planner look at the waiting work now."""
        self.stopping = threading.Event()
        self.order_sent: dict[str, float] = {}
        """orderId → when its first order was published (real time, for benchmarks)."""
        self.order_seen: dict[str, float] = {}
        """orderId → when the robot's first state carrying it arrived (real time)."""
        self.traffic: dict[str, Traffic] = {}
        """Traffic control per site (facility name)."""
        self.instants = Instants()
        """Instant actions sent and not yet answered (:mod:`fleet.manager.instants`)."""
        self.mission_ended: Callable[[MissionRun], None] = lambda _run: None
        """Called (under the lock) when a mission reaches a terminal status (the scheduler
        waits for that to start a queued run)."""
        self.power_off: Callable[[str, str], float | None] = lambda _mission, _node: None
        self.on_event: Callable[[str, str, str | None, dict[str, Any], datetime], None] = \
            lambda _mission, _kind, _serial, _detail, _at: None
        """Told each mission event as it is recorded (the live feed); must be quick."""
        """(mission id, node) → the methane power-off level (% CH4) of the place, put in
        the ``inspect`` actions there (the manager sets it from its limits; None: the
        robot's own default)."""

    def now(self) -> float:
        """Manager time: seconds on the manager's clock."""
        return self.clock.monotonic()

    def traffic_of(self, fac: Facility) -> Traffic | None:
        """The traffic control of ``fac``'s site (None when switched off); made on first
        use, with every robot known to stand on the site taking its place."""
        if not self.settings.traffic_control:
            return None
        t = self.traffic.get(fac.name)
        if t is None:
            t = self.traffic[fac.name] = Traffic(fac.layout)
            for robot in self.registry.all():
                node = robot.state.last_node_id if robot.state is not None else ""
                if node in fac.nodes:
                    t.park(robot.serial, node)
        return t

    # -- missions -----------------------------------------------------------------------
    def event(self, run: MissionRun, kind: str, serial: str | None,
              detail: dict[str, Any]) -> None:
        """Record a mission event (``fleet mission status``, the report)."""
        # on the manager's clock, as lockouts, anomalies and schedule events are: a simulated
        # site's shift report then lines them all up in world time
        at = self.clock.now()
        self.store.add_event(run.id, kind, detail, robot_serial=serial, at=at)
        self.on_event(run.id, kind, serial, detail, at)

    def persist(self, run: MissionRun) -> None:
        """Save what a restarted manager needs to pick ``run`` up (inside
        :meth:`persisting_once`: once, when it ends)."""
        if self._deferred is not None:
            self._deferred[run.id] = run
            return
        self.store.save_plan(run.id, run.snapshot(), at=self.clock.now())

    @contextlib.contextmanager
    def persisting_once(self) -> Iterator[None]:
        """Within it, each mission :meth:`persist` is asked for is saved once, at the end
        (caller holds the lock throughout): a liveness check that loses many robots of one
        mission wrote its whole plan once per robot, holding the lock for seconds."""
        if self._deferred is not None:  # nested: the outer one saves
            yield
            return
        self._deferred = {}
        try:
            yield
        finally:
            runs, self._deferred = self._deferred, None
            for run in runs.values():
                self.persist(run)

    def set_status(self, run: MissionRun, status: MissionStatus,
                   reason: str | None = None) -> None:
        """Move ``run`` to ``status`` (checked by the lifecycle table) and store it."""
        if run.move(status, reason):
            self.store.set_mission_status(run.id, status.value, reason, at=self.clock.now())
            log.info("mission %s is %s", run.id[:8], status.value)
            if status.terminal:
                self.mission_ended(run)

    def maybe_finish(self, run: MissionRun) -> None:
        """End ``run`` when nothing is left to do."""
        if run.status.terminal or run.status is MissionStatus.QUEUED:
            return
        if run.settled():
            self.set_status(run, run.outcome())

    def release(self, run: MissionRun, a: Assignment, robot: RobotEntry | None, *,
                to_pool: bool) -> None:
        """Take an assignment away from its robot; with ``to_pool`` its remaining points go
        back to the pool to be planned onto others."""
        a.active = False
        if robot is not None and robot.mission_id == run.id:
            robot.mission_id = None
        if to_pool:
            for p in a.remaining:
                if p not in run.done:
                    run.pool.add(p)
        self.persist(run)
        self.maybe_finish(run)

    def hand_back(self, run: MissionRun, a: Assignment, point: str, why: str) -> None:
        """A point ``a``'s robot left behind goes back to the pool, or is dropped once it
        has been handed back :attr:`ManagerSettings.max_handovers` times."""
        if point in run.done:
            return
        count = run.handovers[point] = run.handovers.get(point, 0) + 1
        self.event(run, "inspection_left", a.serial, {"point": point, "why": why,
                                                      "times": count})
        if count > self.settings.max_handovers:
            run.dropped[point] = f"left behind {count} times (last: {why})"
            self.event(run, "dropped", None, {"point": point, "reason": run.dropped[point]})
        else:
            run.pool.add(point)
        self.wake.set()

    def settle(self, run: MissionRun, a: Assignment, robot: RobotEntry | None, *,
               changed: bool) -> bool:
        """After progress: free a robot whose round is over, persist (at most once per
        inspection, not per node), and end the mission when nothing is left. True when the
        robot became free."""
        freed = False
        if a.active and a.finished:
            a.active = False
            if robot is not None and robot.mission_id == run.id:
                robot.mission_id = None
                robot.closed_order = a.order_id  # free, whatever it still lists
            self.event(run, "robot_finished", a.serial, {})
            if run.idleness is not None:
                run.idleness.end(a.serial, self.clock.now().timestamp())
            freed = changed = True
        if changed:
            self.persist(run)
        self.maybe_finish(run)
        return freed

    # -- robots -------------------------------------------------------------------------
    def send(self, manufacturer: str, serial: str, message: Message) -> None:
        """Send ``message`` to a robot through the link; a network failure is logged (the
        robot's silence is then handled by liveness), never raised into a part."""
        try:
            self.link.send(RobotId(manufacturer, serial), message)
        except (TransportError, ProtocolError) as exc:
            log.warning("could not send %s to %s/%s: %s", message.TOPIC, manufacturer,
                        serial, exc)

    def instant(self, manufacturer: str, serial: str, action: ActionType, *,
                mission_id: str | None = None) -> str:
        """Send one instant action of kind ``action`` (HARD, a fresh id) and follow it to
        the robot's answer (:attr:`instants`, for ``mission_id`` when given); its
        actionId."""
        act = Action(f"{action.value}-{uuid.uuid4().hex[:8]}", action.value, BlockingType.HARD)
        self.instants.sent(serial, act.action_id, action.value, self.now(),
                           mission_id=mission_id)
        self.send(manufacturer, serial,
                  InstantActions(Header(manufacturer, serial), (act,)))
        return act.action_id
