"""Running a scenario end to end: :class:`SimRun`.

A run puts together

- the world clock (:class:`~fleet.clock.ScaledClock`) at ``speed`` times real time;
- a manager: its own (:class:`EmbeddedManager`: embedded router on a free loopback port,
  SQLite in a work directory, timeouts scaled to the speed, see :func:`manager_settings`),
  or the one at ``connect`` (which must run at the same speed);
- the simulated robots: in this process (:class:`~sim.robots.SimFleet`), in one process
  of their own (:class:`~sim.processes.FleetProcess`, the default beyond
  :data:`FLEET_PROCESS_ABOVE` robots) or one process each
  (:class:`~sim.processes.ProcessFleet`);
- the scenario's mission, launched through the manager's query API;
- an observer session that follows inspection results as the robots publish them (high
  readings by :data:`sim.body.ALARMS`) and the mission's progress: :class:`Progress`;
- the scenario's scripted supervisor actions (``supervisor:``: reset a locked-out robot,
  clear a lost one, reopen a gas closure, launch another mission), carried out at their
  world times through the manager's query API, the path of the CLI
  (:meth:`SimRun.supervise`); the run is not over before the last of them, nor before
  every mission launched is;
- the fixed sensors the scenario's map (``site.meta.sensors``) and the scenario's own
  ``sensors:`` list, publishing readings from the world model every ``sensor_period_s``
  world seconds (:class:`~sim.fixed_sensors.FixedSensorFeed`); an embedded manager
  listens to them from the start;
- the site's physical space (:class:`~sim.space.Space`): in this process for a fleet in
  this process, else served to the robots' processes (:mod:`sim.space_server`); none with
  ``SpaceParams(ghosts=True)``, when robots pass through each other. Copies of the
  scenario's robots beyond their docks' capacity start parked nearby
  (:func:`~sim.robots.starts_of`). A run whose every robot with work left is held in a
  deadlock ends there (:attr:`Progress.stalled`).

Time scale. Everything simulated runs on the world clock; the agents' ``state_interval``
grows with the speed so that a robot publishes at most :data:`MAX_STATE_RATE` periodic
states per real second (:func:`state_interval_for`), and the embedded manager runs on the
same world clock, its silence timeout kept at least
:data:`fleet.clock.WALL_TIMEOUT_FLOOR_S` real seconds by
:func:`fleet.manager.build_manager`: a Python process cannot promise sub-second reaction
times, whatever the world's speed.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from fleet import yamldoc
from fleet.clock import Clock, ScaledClock
from fleet.comms import Bus, client_config, free_port, router_config, tcp_endpoint
from fleet.errors import FleetError, MissionError, NotReachable, TransportError
from fleet.facility.model import Facility
from fleet.manager import Manager, ManagerSettings, build_manager
from fleet.manager.api import api_key
from fleet.manager.links import RobotLink, VdaZenohLink
from fleet.manager.mqtt_link import VdaMqttLink
from fleet.manager.ros2_link import Ros2Link
from fleet.manager.ros2_robots import Ros2Robot
from fleet.planning.mission import MissionSpec
from fleet.protocol.inspection import InspectionResult
from fleet.protocol.keys import DEFAULT_INTERFACE, ParsedKey, Topic, subscription_key
from fleet.ros2.interfaces import Distro
from fleet.ros2.keys import Profile
from fleet.store import Store
from sim.body import BodyParams, alarm
from sim.errors import ScenarioError
from sim.fixed_sensors import DEFAULT_PERIOD_S, FixedSensorFeed, feed_for
from sim.processes import FleetProcess, ProcessFleet
from sim.progress import HighReading, Progress, stalled
from sim.robots import FleetOptions, SimFleet, robots_of, starts_of
from sim.ros2_fleet import Ros2Fleet
from sim.scenario import Scenario, SupervisorAction, SupervisorVerb
from sim.space import Space, SpaceParams, SpaceReport
from sim.space_server import SpaceProxy, SpaceServer

log = logging.getLogger(__name__)

__all__ = ["END_POLL_S", "FLEET_PROCESS_ABOVE", "MAX_STATE_RATE", "TERMINAL",
           "EmbeddedManager", "HighReading", "Progress", "RunOptions", "SimRun", "Supervised",
           "manager_settings", "mission_text", "state_interval_for", "with_dwell"]

MAX_STATE_RATE = 10.0
"""Periodic states per real second a simulated robot publishes at most."""


FLEET_PROCESS_ABOVE = 100
"""Robots beyond which a run puts them in a process of their own by default."""

END_POLL_S = 0.05
"""Real seconds between two looks at the mission's status while a run waits for its end."""

TERMINAL = frozenset({"completed", "partially_completed", "failed", "aborted"})
"""Mission statuses after which nothing more happens."""


def state_interval_for(speed: float) -> float:
    """World seconds between a simulated robot's periodic states at ``speed``: 1 s, or
    more when 1 s would mean more than :data:`MAX_STATE_RATE` states per real second."""
    return max(1.0, speed / MAX_STATE_RATE)


def manager_settings(speed: float, *, state_interval: float | None = None,
                     **overrides: Any) -> ManagerSettings:
    """ManagerSettings for a world at ``speed``: the silence timeout (world seconds) is the
    default 3 s and at least three state intervals (:func:`fleet.manager.build_manager`
    raises it to the real-time floor on the world's clock); ``overrides`` set any other
    field."""
    interval = state_interval if state_interval is not None else state_interval_for(speed)
    timeout = max(3.0, 3.0 * interval)
    return ManagerSettings(**{"robot_timeout": timeout, **overrides})


def mission_text(path: Path, *, dwell_s: float | None = None) -> str:
    """A mission file's text, with every task's ``dwell_s`` set to ``dwell_s`` when given."""
    text = path.read_text(encoding="utf-8")
    if dwell_s is None:
        return text
    doc = yamldoc.parse(text, file=str(path), error=MissionError)
    for task in (doc.get("tasks") if isinstance(doc, dict) else None) or []:
        if isinstance(task, dict):
            task["dwell_s"] = dwell_s
    return yamldoc.dump(doc)


def with_dwell(spec: MissionSpec, dwell_s: float | None) -> MissionSpec:
    """``spec`` with every task's dwell set to ``dwell_s`` (unchanged when None)."""
    if dwell_s is None:
        return spec
    return replace(spec, tasks=tuple(replace(t, dwell_s=dwell_s) for t in spec.tasks))


@dataclass(frozen=True)
class RunOptions:
    """How to run a scenario; see :class:`SimRun`.

    ``robots``: how many simulated robots (default: the scenario's fleet; more copy it).
    ``dwell_s``: overrides every task's dwell. ``launch``: launch the scenario's mission.
    ``processes``: one process per robot; ``fleet_process``: all robots in one process
    beside this one (default: when there are more than :data:`FLEET_PROCESS_ABOVE`).
    ``tickers``: state tickers and link queues of the robots' process.
    ``state_interval``: default
    :func:`state_interval_for` the speed. ``manager``: ManagerSettings fields for an
    embedded manager. ``space``: the physical rules (:class:`~sim.space.SpaceParams`;
    ``ghosts=True`` lets robots pass through each other). ``sensor_period_s``: world
    seconds between two readings of each fixed sensor of the map (None: none published).
    """

    speed: float = 1.0
    robots: int | None = None
    connect: tuple[str, ...] = ()
    processes: bool = False
    fleet_process: bool | None = None
    tickers: int = 1
    dwell_s: float | None = None
    launch: bool = True
    interface: str = DEFAULT_INTERFACE
    state_interval: float | None = None
    plan_time_limit: float = 2.0
    body: BodyParams = field(default_factory=BodyParams)
    manager: dict[str, Any] = field(default_factory=dict)
    space: SpaceParams = field(default_factory=SpaceParams)
    sensor_period_s: float | None = DEFAULT_PERIOD_S
    ros2: int = 0
    """How many of the robots (the last ones) run as simulated Nav2 robots on Zenoh
    (:mod:`sim.ros2_fleet`), driven through the manager's ROS 2 link; they are not
    placed in the physical space (the others still are)."""
    ros2_profile: str = "rmw_zenoh"
    mqtt: str | None = None
    """An MQTT broker (``mqtt://HOST:PORT``): the run's own manager serves its robots too
    (:class:`~fleet.manager.mqtt_link.VdaMqttLink`), and the first :attr:`mqtt_robots`
    robots talk through it, each with a client of its own (in this process only)."""
    mqtt_robots: int = 0
    ros2_distro: str = "jazzy"

    def __post_init__(self) -> None:
        if not (isinstance(self.speed, int | float) and math.isfinite(self.speed)
                and self.speed > 0):
            raise ValueError(f"speed must be a number > 0, got {self.speed!r}")
        period = self.sensor_period_s
        if period is not None and not (math.isfinite(period) and period > 0):
            raise ValueError(f"sensor period must be a number > 0 seconds, got {period!r}")
        if self.dwell_s is not None and not self.dwell_s >= 0:
            raise ValueError(f"dwell must be >= 0 seconds, got {self.dwell_s!r}")
        if self.mqtt_robots and self.mqtt is None:
            raise ValueError("robots on MQTT need a broker (mqtt://HOST:PORT)")

    def separate(self, robots: int) -> bool:
        """Whether a fleet of ``robots`` runs in one process of their own."""
        if self.processes:
            return False
        if self.fleet_process is not None:
            return self.fleet_process
        return robots > FLEET_PROCESS_ABOVE

    @property
    def interval(self) -> float:
        """The agents' state interval in world seconds."""
        return self.state_interval or state_interval_for(self.speed)


@dataclass(frozen=True)
class Supervised:
    """A scripted supervisor action as it was carried out at world time ``at`` (the
    scenario's ``at_s`` or a little later): the manager's ``answer``, or the ``error`` it
    gave (one line)."""

    at: float
    action: SupervisorAction
    answer: Any = None
    error: str | None = None


class EmbeddedManager:
    """A manager with an embedded router on a free loopback port and a SQLite store in
    ``workdir``, on the world's ``clock``, listening to the fixed sensors of ``sites``; a
    context manager."""

    def __init__(self, workdir: Path, settings: ManagerSettings, clock: Clock, *,
                 sites: tuple[Facility, ...] = (), ros2: Sequence[Ros2Robot] = (),
                 state_interval: float = 1.0, mqtt: str | None = None) -> None:
        self.endpoint = tcp_endpoint("127.0.0.1", free_port())
        self.store = Store.open(None, path=workdir / "fleet.db")
        self.bus = Bus.open(router_config([self.endpoint]))
        links: list[RobotLink] = []
        self.ros2_link: Ros2Link | None = None
        """The link of the ROS 2 robots (None without any)."""
        if ros2 or mqtt:  # the VDA 5050 robots on the bus, and the others through theirs
            links = [VdaZenohLink(self.bus, settings.interface)]
        if mqtt:
            links.append(VdaMqttLink.open(mqtt, settings.interface))
        if ros2:
            self.ros2_link = Ros2Link(ros2, clock=clock, interface=settings.interface,
                                      state_interval=state_interval, results=workdir / "ros2")
            links.append(self.ros2_link)
        self.manager: Manager = build_manager(self.store, self.bus, settings, clock=clock,
                                              sites=sites, links=links)
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the manager, close its session and store (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.manager.stop()
        self.bus.close()
        self.store.close()


class SimRun:
    """A scenario running end to end; see the module docstring. Use as a context manager
    (or :meth:`start` / :meth:`stop`); :meth:`run` follows it to the end.

    ``workdir`` holds the store, result files and process specs (default: a temporary
    directory removed by :meth:`stop`).
    """

    def __init__(self, scenario: Scenario, options: RunOptions | None = None, *,
                 workdir: Path | None = None) -> None:
        self.scenario = scenario
        self.options = options if options is not None else RunOptions()
        self._tmp = None if workdir is not None else tempfile.TemporaryDirectory(
            prefix="fleet-sim-")
        self.workdir = workdir if workdir is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self.robots = robots_of(scenario, self.options.robots)
        split = len(self.robots) - self.options.ros2
        self.vda = self.robots[:split]
        """The robots that run the SDK agent (the others are Nav2 robots)."""
        self.origin = time.monotonic()
        self.start_date = datetime.now(UTC)
        self.clock = ScaledClock(self.options.speed, origin=self.origin, start=self.start_date)
        self.ros2: Ros2Fleet | None = None if len(self.vda) == len(self.robots) else Ros2Fleet(
            scenario, self.robots[len(self.vda):], clock=self.clock,
            profile=Profile(self.options.ros2_profile),
            distro=Distro(self.options.ros2_distro))
        self.embedded: EmbeddedManager | None = None
        self.fleet: SimFleet | ProcessFleet | FleetProcess | None = None
        self.observer: Bus | None = None
        self.feed: FixedSensorFeed | None = None
        """The fixed sensors' readings (None before the start, or without any)."""
        self.mission_id: str | None = None
        self._results: dict[str, InspectionResult] = {}
        self._high: list[HighReading] = []
        self._lock = threading.Lock()
        self._rate_mark: tuple[float, int] | None = None
        self.space: Space | SpaceProxy | None = None
        """The physical space the robots share (None with ghosts, or before the start)."""
        self.space_server: SpaceServer | None = None
        self.starts: dict[str, str] = {}
        """Where each robot started (empty with ghosts: at its dock)."""
        self.launched_at: float | None = None
        """World time of the mission's launch."""
        self.ended_at: float | None = None
        """World time the run first saw the mission over."""
        self.supervised: list[Supervised] = []
        """The scenario's supervisor actions carried out so far, in order."""
        self.launched: list[str] = []
        """Ids of the missions the supervisor actions launched."""
        self._halt = threading.Event()
        self._supervisor: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def manager(self) -> Manager | None:
        """The embedded manager (None with ``connect``)."""
        return None if self.embedded is None else self.embedded.manager

    @property
    def endpoint(self) -> str:
        """The router endpoint robots and observer connect to."""
        if self.embedded is not None:
            return self.embedded.endpoint
        return self.options.connect[0]

    def start(self) -> None:
        """Start the manager (unless connecting), the observer and the robots; wait until
        the manager knows every robot, then launch the mission (when asked)."""
        o = self.options
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._make_space()
            if self.ros2 is not None:
                if o.connect:
                    raise ScenarioError("simulated ROS 2 robots need the run's own manager "
                                        "(its ROS 2 link drives them), not --connect")
                self.ros2.start()
            if not o.connect:
                settings = manager_settings(
                    o.speed, state_interval=o.interval, interface=o.interface,
                    plan_time_limit=o.plan_time_limit, **o.manager)
                self.embedded = EmbeddedManager(
                    self.workdir, settings, self.clock, sites=(self.scenario.facility,),
                    ros2=self.ros2.specs if self.ros2 is not None else (),
                    state_interval=o.interval, mqtt=o.mqtt)
            endpoints = [self.endpoint] if self.embedded is not None else list(o.connect)
            self.observer = Bus.open(client_config(endpoints))
            self.observer.subscribe(subscription_key(o.interface, Topic.INSPECTION),
                                    self._on_result)
            fleet_options = FleetOptions(state_interval=o.interval, interface=o.interface,
                                         results_dir=self.workdir / "results", body=o.body,
                                         tickers=o.tickers, mqtt=o.mqtt,
                                         mqtt_serials=frozenset(
                                             r.serial for r in self.vda[:o.mqtt_robots]))
            if o.mqtt_robots and (o.processes or o.separate(len(self.vda))):
                raise ScenarioError("robots on MQTT run in the simulator's own process: "
                                    "not with --processes or a fleet process")
            address = None if self.space_server is None else self.space_server.address
            if o.separate(len(self.vda)):
                self.fleet = FleetProcess(self.scenario, self.vda, connect=endpoints,
                                          clock=self.clock, workdir=self.workdir / "fleet",
                                          options=fleet_options, origin=self.origin,
                                          start=self.start_date, starts=self.starts,
                                          space=address)
            elif o.processes:
                self.fleet = ProcessFleet(self.scenario, self.vda, connect=endpoints,
                                          clock=self.clock, workdir=self.workdir / "procs",
                                          options=fleet_options, origin=self.origin,
                                          start=self.start_date, starts=self.starts,
                                          space=address)
            else:
                assert not isinstance(self.space, SpaceProxy)
                self.fleet = SimFleet(self.scenario, self.vda, connect=endpoints,
                                      clock=self.clock, options=fleet_options,
                                      starts=self.starts, space=self.space)
            self.fleet.start()
            self.feed = feed_for(self.scenario, self.observer, clock=self.clock,
                                 interface=o.interface, period_s=o.sensor_period_s)
            self.wait_for_robots()
            if o.launch and (self.scenario.mission is not None):
                self.mission_id = self.launch()
            if self.scenario.supervisor:
                self._supervisor = threading.Thread(target=self._supervise,
                                                    name="sim-supervisor", daemon=True)
                self._supervisor.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the manager of its own, the robots and the observer; remove a temporary
        workdir. (The manager goes first: robots leaving a finished run are no news, and
        their goodbyes race their tokens' withdrawal.)"""
        self._halt.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=10)
            self._supervisor = None
        if self.feed is not None:
            self.feed.stop()
        if self.embedded is not None:
            self.embedded.close()
        if self.fleet is not None:
            self.fleet.stop()
        if self.ros2 is not None:
            self.ros2.stop()
        if self.space_server is not None:
            self.space_server.stop()
            self.space_server = None
        if self.observer is not None:
            self.observer.close()
            self.observer = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _make_space(self) -> None:
        """The space, with every robot placed (ScenarioError when they do not fit)."""
        params = self.options.space
        if params.ghosts:
            return
        facility = self.scenario.facility
        self.starts = starts_of(self.scenario, self.vda)
        if self.options.separate(len(self.vda)) or self.options.processes:
            self.space_server = SpaceServer(facility, params, self.workdir / "space")
            self.space_server.start()
            self.space = self.space_server.space
        else:
            self.space = Space(facility, params)
        self.space.place(self.starts, self.clock.monotonic(),
                         source=str(self.scenario.path or self.scenario.name))

    def alive(self) -> list[str]:
        """Serial numbers of the simulated robots running now, of both kinds."""
        fleet = [] if self.fleet is None else list(self.fleet.alive())
        return fleet + ([] if self.ros2 is None else self.ros2.alive())

    def kill(self, serial: str) -> None:
        """Kill a simulated robot now, whichever kind it is (it dies without a word)."""
        if self.ros2 is not None and serial in self.ros2.robots:
            self.ros2.kill(serial)
        elif self.fleet is not None:
            self.fleet.kill(serial)

    def space_report(self) -> SpaceReport | None:
        """The space's figures now (None with ghosts)."""
        return None if self.space is None else self.space.report(self.clock.monotonic())

    # ------------------------------------------------------------------ manager API
    def ask(self, verb: str, body: Any = None, *, timeout: float = 5.0) -> Any:
        """A query to the manager's API (see :mod:`fleet.manager.api`)."""
        assert self.observer is not None, "the run is not started"
        try:
            return self.observer.request(api_key(self.options.interface, verb), body,
                                         timeout=timeout)
        except NotReachable:
            raise NotReachable(f"no manager answered at {self.endpoint} (interface "
                               f"{self.options.interface})") from None

    def recover(self, serial: str, note: str, *, by: str = "simulated rescue team") -> Any:
        """People recover a dead robot: its body is carried out of the space, and the
        supervisor says so to the manager (``fleet robots clear``: its place is freed and
        the points it blocked are planned again). The manager's answer."""
        robot = next((r for r in self.robots if r.serial == serial), None)
        if robot is None:
            raise FleetError(f"no simulated robot {serial!r}")
        if self.space is not None:
            self.space.carry_out(serial, self.clock.monotonic())
        return self.ask("robots/clear", {"manufacturer": robot.manufacturer, "serial": serial,
                                         "by": by, "note": note})

    def supervise(self, action: SupervisorAction) -> Any:
        """Carry out one supervisor action now, as the CLI would (``fleet robots reset``,
        ``fleet robots clear``, ``fleet closures reopen``, a mission launch, all through
        the query API); the manager's answer. FleetError as the
        manager gives it."""
        note = action.note or ""
        if action.action is SupervisorVerb.RESET and action.robot is None:
            locked = [r for r in self.ask("robots") if r["status"] == "locked_out"]
            return [self.ask("robots/reset", {"manufacturer": r["manufacturer"],
                                              "serial": r["serial"], "by": action.by,
                                              "note": note}) for r in locked]
        serial = action.robot or ""
        robot = next((r for r in self.robots if r.serial == serial), None)
        if action.action in (SupervisorVerb.RESET, SupervisorVerb.CLEAR) and robot is None:
            raise FleetError(f"no simulated robot {serial!r}")
        if action.action is SupervisorVerb.RESET:
            assert robot is not None
            return self.ask("robots/reset", {"manufacturer": robot.manufacturer,
                                             "serial": serial, "by": action.by,
                                             "note": note})
        if action.action is SupervisorVerb.CLEAR:
            return self.recover(serial, note, by=action.by)
        if action.action is SupervisorVerb.REOPEN:
            return self.ask("closures/reopen", {"id": action.closure, "by": action.by,
                                                "note": note})
        assert action.mission is not None
        mission_id = self._launch_file(action.mission, action.mission.stem)
        self.launched.append(mission_id)
        return {"mission_id": mission_id}

    def _supervise(self) -> None:
        """The supervisor thread: each scripted action at its world time."""
        for action in self.scenario.supervisor:
            if self.clock.wait(self._halt, max(0.0, action.at_s - self.clock.monotonic())):
                return
            at = self.clock.monotonic()
            try:
                done = Supervised(at, action, answer=self.supervise(action))
            except FleetError as exc:  # a refusal is part of the run's story, not its end
                log.error("supervisor %s at %.0f s: %s", action.action.value, at, exc)
                done = Supervised(at, action, error=str(exc))
            with self._lock:
                self.supervised.append(done)

    @property
    def supervising(self) -> bool:
        """Whether scripted supervisor actions are still to come."""
        with self._lock:
            return len(self.supervised) < len(self.scenario.supervisor)

    def wait_for_robots(self, timeout: float = 30.0) -> int:
        """Wait (real seconds) until the manager lists every robot online with its
        capabilities; how many it lists."""
        want = {r.serial for r in self.robots}
        end = time.monotonic() + timeout
        known = 0
        while True:
            try:
                listed = self.ask("robots")
            except TransportError:
                if time.monotonic() > end:
                    raise
                continue  # a manager busy hearing a large fleet start answers late
            ready = {r["serial"] for r in listed if r["sensors"] and r["status"] == "online"}
            known = len(want & ready)
            if known == len(want) or time.monotonic() > end:
                return known
            time.sleep(0.05)

    def launch(self) -> str:
        """Launch the scenario's mission (dwell overridden when asked); its id."""
        sc, o = self.scenario, self.options
        self.launched_at = self.clock.monotonic()
        if sc.mission_path is not None and sc.map_path is not None:
            return self._launch_file(
                sc.mission_path, sc.mission.name if sc.mission else sc.mission_path.stem)
        if sc.mission is not None and self.manager is not None:
            spec = with_dwell(sc.mission, o.dwell_s)
            return self.manager.launch(spec.name, spec, "").id
        raise ScenarioError(f"scenario {sc.name!r} has no mission file to launch")

    def _launch_file(self, path: Path, name: str) -> str:
        """Launch mission file ``path`` on the scenario's map through the query API."""
        sc = self.scenario
        if sc.map_path is None:
            raise ScenarioError(f"scenario {sc.name!r} has no map file to launch on")
        body = {"name": name, "mission": mission_text(path, dwell_s=self.options.dwell_s),
                "map": {"name": str(sc.map_path), "suffix": sc.map_path.suffix,
                        "text": sc.map_path.read_text(encoding="utf-8")}}
        return str(self.ask("mission/launch", body, timeout=10.0)["mission_id"])

    # ------------------------------------------------------------------ following
    def _on_result(self, key: ParsedKey, message: object) -> None:
        if not isinstance(message, InspectionResult):
            return
        now = self.clock.monotonic()
        with self._lock:
            if message.result_id in self._results:
                return  # a resend
            self._results[message.result_id] = message
            for r in message.readings:
                if alarm(r.sensor, r.value):
                    self._high.append(HighReading(now, key.serial, message.inspection_point_id,
                                                  r.sensor, r.value, r.unit))

    @property
    def results(self) -> list[InspectionResult]:
        """Every distinct result the robots published so far."""
        with self._lock:
            return list(self._results.values())

    def mission_status(self) -> dict[str, Any] | None:
        """The launched mission's status (the API's JSON), None before a launch."""
        if self.mission_id is None:
            return None
        answer: dict[str, Any] = self.ask("mission/status", {"mission_id": self.mission_id})
        if self.ended_at is None and answer["status"] in TERMINAL:
            self.ended_at = self.clock.monotonic()
        return answer

    def settled(self, status: dict[str, Any] | None = None) -> bool:
        """Whether the mission is over and every result it produced is acknowledged (as far
        as this process can tell)."""
        status = status if status is not None else self.mission_status()
        if status is None or status["status"] not in TERMINAL or self.supervising:
            return False
        for mission_id in list(self.launched):
            if self.ask("mission/status", {"mission_id": mission_id})["status"] \
                    not in TERMINAL:
                return False
        fleet = self.fleet
        if isinstance(fleet, SimFleet):
            return all(not len(r.agent.outbox) for r in fleet.robots.values() if r.alive)
        if self.embedded is not None:
            return self.embedded.store.count_results() >= len(self.results)
        return True

    def progress(self) -> Progress:
        """Where the run stands now."""
        assert self.fleet is not None, "the run is not started"
        status = self.mission_status()
        listed = self.ask("robots")
        counts: dict[str, int] = {}
        for r in listed:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        rate = None
        manager = self.manager
        if manager is not None:
            mark = (time.monotonic(), manager.states_handled)
            if self._rate_mark is not None and mark[0] > self._rate_mark[0]:
                rate = (mark[1] - self._rate_mark[1]) / (mark[0] - self._rate_mark[0])
            self._rate_mark = mark
        with self._lock:
            high = tuple(self._high)
            results = len(self._results)
        space = self.space_report()
        makespan = None
        if self.ended_at is not None and self.launched_at is not None:
            makespan = self.ended_at - self.launched_at
        lockouts = closures = None
        if self.embedded is not None:
            lockouts = len(self.embedded.store.lockouts())
            closures = len(self.embedded.store.closures())
        return Progress(
            world_s=self.clock.monotonic(), wall_s=time.monotonic() - self.origin,
            speed=self.options.speed,
            effective_speed=self.fleet.pace.speed() if isinstance(self.fleet, SimFleet)
            else None,
            robots=len(self.robots), alive=len(self.fleet.alive()), robot_status=counts,
            mission_id=self.mission_id,
            mission_status=None if status is None else status["status"],
            inspections=dict(status["inspections"] or {}) if status else {},
            results=results, high=high, states_per_s=rate,
            finished=self.settled(status), seed=self.scenario.seed, space=space,
            makespan_s=makespan, stalled=stalled(status, space, TERMINAL),
            lockouts=lockouts, closures=closures)

    def run(self, *, duration: float | None = None, timeout: float | None = None,
            interval: float = 0.5,
            on_progress: Callable[[Progress], None] | None = None) -> Progress:
        """Follow the run until the mission is settled (or, without a mission, until
        ``duration`` world seconds passed), or until it stalls in a deadlock
        (:attr:`Progress.stalled`); ``timeout`` (real seconds) ends it anyway.
        ``on_progress`` is called every ``interval`` real seconds. The last progress."""
        if duration is None and self.mission_id is None and timeout is None:
            raise FleetError("nothing to wait for: no mission was launched; give a duration")
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                p = self.progress()
            except NotReachable:
                # a manager taking over from another answers again within seconds
                if end is not None and time.monotonic() >= end:
                    raise
                time.sleep(interval)
                continue
            if on_progress is not None:
                on_progress(p)
            if (self.mission_id is not None and p.finished) or p.stalled or \
                    (duration is not None and p.world_s >= duration) or \
                    (end is not None and time.monotonic() >= end):
                return p
            # between two progress reports, watch for the mission's end more closely
            # (the makespan is measured from it)
            next_at = time.monotonic() + interval
            ended = self.ended_at is not None
            while (left := next_at - time.monotonic()) > 0:
                time.sleep(min(left, END_POLL_S))
                if self.mission_id is not None and self.ended_at is None:
                    with contextlib.suppress(NotReachable):
                        self.mission_status()
                if not ended and self.ended_at is not None:
                    break
