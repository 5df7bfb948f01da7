"""The one-command demo (``fleet demo``): the whole system on one machine, end to end.

:class:`Demo` runs a sample site's leak scenario through :class:`~sim.runner.SimRun`: the
manager with its embedded router and SQLite store, a simulated mixed fleet on the real
agent SDK over real Zenoh on loopback, the site's patrol mission launched through the
manager's query API, and one robot that dies mid-mission (the scenario's scheduled
``kill``, or, when the scenario has none, the robot with the most inspections still ahead
at ``fail_at_s`` among those the others can stand in for). It follows the run the way a
supervisor would, through the manager's API only (robots, mission status, anomaly log),
turning changes into :class:`Event`\\ s, and ends with a :class:`Summary`:

- inspections completed, and the mission's end status;
- each robot lost, the inspections it left, and which robots finished them;
- the anomalies the manager opened, and for each seeded source of the scenario whether
  the anomalies point at it (:class:`SourceCheck`);
- the files written: the mission report (:func:`fleet.anomaly.report.render_report`, the
  same page as ``fleet report``), a picture of the site with the routes driven and the
  anomalies, and ``summary.json``.

A demo that did not complete, missed a seeded source or left a lost robot's work undone
says so in :attr:`Summary.problems`.

The robots are physical (:mod:`sim.space`) and the manager runs traffic control
(docs/traffic.md). A robot that dies inside a drift others need shuts it: its points are
blocked until, :data:`RECOVER_AFTER_S` later, the simulated rescue team has carried it out
and the demo clears it (``fleet robots clear``), as a supervisor would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleet import samples
from sim.body import ALARMS
from sim.demo_interlock import Interlock, InterlockWatch
from sim.errors import ScenarioError
from sim.runner import TERMINAL, RunOptions, SimRun
from sim.scenario import FaultKind, Scenario, load_scenario
from sim.world import GasLeak, HotSpot, World

SITES: Mapping[str, str] = {
    "coal-mine": "demo-coal-mine",
    "chemical-plant": "chemical-plant-h2s-leak",
}
"""Demo sites and their sample scenarios (:mod:`fleet.samples`)."""

DEFAULT_ROBOTS: Mapping[str, int] = {"coal-mine": 6, "chemical-plant": 4}
"""Robots per site when not given: the scenario's fleet, repeated (see
:func:`sim.robots.robots_of`). Six on the coal mine are the demo fleet: three Mb crawlers
below the shaft, two Mb rail inspectors and the Ma crawler that alone may go to the goaf
seals (explosion group I, docs/gas-safety.md); four is the chemical plant's own fleet."""

LOST = frozenset({"connection_broken", "offline"})
"""Manager robot statuses that count as lost (``silent`` is not: a robot crossing a
comms dead zone is silent for a while and comes back)."""

_POLL_S = 0.25

RECOVER_AFTER_S = 600.0
"""World seconds after a robot is lost that the simulated rescue team has carried it out
of the mine; the demo then clears it, as a supervisor would with ``fleet robots clear``
(the way it shut opens again, and what it blocked is planned again)."""
"""Real seconds between two looks at the manager."""


ROS2_ROBOTS = 2
"""Robots of the demo run as simulated Nav2 robots with ``--ros2`` (the last ones)."""


@dataclass(frozen=True)
class DemoOptions:
    """How to run the demo. ``robots`` None: :data:`DEFAULT_ROBOTS` of the site.
    ``speed``: world seconds per real second. ``fail_at_s``: world seconds after the
    launch at which a robot dies when the scenario schedules no kill. ``timeout_s``: real
    seconds after which the demo stops following and reports what it has. ``out``: the
    directory for the report, the picture and ``summary.json`` (created). An unknown
    ``site`` is refused by :class:`Demo` (ScenarioError)."""

    site: str = "coal-mine"
    robots: int | None = None
    speed: float = 180.0
    fail_at_s: float = 600.0
    timeout_s: float = 240.0
    plan_time_limit: float = 1.5
    out: Path = Path("fleet-demo")
    ros2: str | None = None
    """Run two of the robots as simulated Nav2 robots over Zenoh with this profile
    (``rmw_zenoh`` or ``ros2dds``), driven through the manager's ROS 2 link."""


@dataclass(frozen=True)
class Event:
    """Something a supervisor would want to see, at world time ``world_s`` after the
    launch; ``kind`` is ``mission``, ``fault``, ``lost``, ``takeover``, ``silent``,
    ``back``, ``anomaly``, or of the methane interlock ``lockout``, ``reset``, ``closure``
    and ``reopen`` (:mod:`sim.demo_interlock`)."""

    world_s: float
    kind: str
    text: str


@dataclass(frozen=True)
class LostRobot:
    """A robot the manager lost: when (world seconds), the inspections it had not done,
    and who did each of them in the end (point → serial; missing when nobody did)."""

    serial: str
    at_s: float
    unfinished: tuple[str, ...]
    finished_by: Mapping[str, str]
    reassigned_s: float | None = None
    """Real seconds (world time scaled back) from the manager declaring it lost to the
    first order giving one of its points to another robot (its mission's events
    ``robot_lost`` and ``dispatched``); None when none was sent."""


@dataclass(frozen=True)
class SourceCheck:
    """A seeded anomaly source against the anomalies the manager opened for its sensor.

    ``expected``: mission points where the source lifts the noise-free value past the
    lowest threshold of those anomalies; ``found``: points with an anomaly of the sensor;
    ``strongest``: the point of the anomaly with the highest peak. ``ok`` when the
    strongest is the mission point the source hits hardest and nothing was found where
    the source cannot reach (below half that threshold).
    """

    kind: str
    sensor: str
    node: str
    expected: tuple[str, ...]
    found: tuple[str, ...]
    strongest: str | None
    peak: float | None
    unit: str
    ok: bool
    why: str


@dataclass
class Snapshot:
    """The demo at one moment, for a live display (``world_s`` since the launch, as the
    events' times)."""

    world_s: float
    wall_s: float
    speed: float
    mission: dict[str, Any] | None
    robots: list[dict[str, Any]]
    anomalies: list[dict[str, Any]]
    events: list[Event]


@dataclass
class Summary:
    """How the demo ended; :attr:`problems` is empty when everything it shows held."""

    site: str
    scenario: str
    mission_id: str | None
    status: str | None
    done: int
    total: int
    results: int
    world_s: float
    wall_s: float
    lost: list[LostRobot]
    dropped: dict[str, str]
    """Points the manager gave up on, with its reason."""
    anomalies: list[dict[str, Any]]
    sources: list[SourceCheck]
    interlock: Interlock = field(default_factory=Interlock)
    """Lockouts, gas closures, who finished the face, and the closure check."""
    files: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (``fleet demo --json`` and ``summary.json``)."""
        return {
            "site": self.site, "scenario": self.scenario, "mission_id": self.mission_id,
            "status": self.status, "inspections": {"done": self.done, "total": self.total},
            "results": self.results, "world_s": round(self.world_s, 1),
            "wall_s": round(self.wall_s, 1),
            "lost": [{"serial": r.serial, "at_s": round(r.at_s, 1),
                      "unfinished": list(r.unfinished), "finished_by": dict(r.finished_by),
                      "reassigned_s": None if r.reassigned_s is None
                      else round(r.reassigned_s, 3)}
                     for r in self.lost],
            "dropped": self.dropped,
            "anomalies": [{k: a.get(k) for k in ("id", "severity", "status", "sensor",
                                                 "inspection_point_id", "peak", "unit")}
                          for a in self.anomalies],
            "sources": [{"kind": s.kind, "sensor": s.sensor, "node": s.node,
                         "expected": list(s.expected), "found": list(s.found),
                         "strongest": s.strongest, "peak": s.peak, "unit": s.unit,
                         "ok": s.ok, "why": s.why} for s in self.sources],
            "interlock": self.interlock.to_json(),
            "files": {k: str(v) for k, v in self.files.items()},
            "problems": self.problems,
        }


def scenario_for(site: str) -> Scenario:
    """The sample scenario of a demo site; ScenarioError when the site is unknown,
    SampleError when the samples are not installed."""
    if site not in SITES:
        raise ScenarioError(f"unknown demo site {site!r}; choose one of {', '.join(SITES)}")
    return load_scenario(samples.path(SITES[site]))


class Demo:
    """One demo run; :meth:`run` does it all and returns the summary."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.scenario = scenario_for(options.site)
        if self.scenario.mission is None:
            raise ScenarioError(f"scenario {self.scenario.name!r} has no mission to launch")
        self.events: list[Event] = []
        self._lost: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._takeovers: set[tuple[str, str]] = set()
        self._recovered: set[str] = set()
        self._anomaly_ids: set[int] = set()
        self._status: dict[str, str] = {}
        self._scheduled_kill = any(f.kind is FaultKind.KILL for f in self.scenario.faults)
        self._killed = False
        self._launched_at = 0.0
        self._interlock: InterlockWatch | None = None

    # ------------------------------------------------------------------ running
    def run(self, on_update: Callable[[Snapshot], None] | None = None, *,
            on_manager: Callable[[str], object] | None = None) -> Summary:
        """Run the demo to the mission's end (or ``timeout_s``), write the files, and
        return the summary. FleetError (one line) when the run cannot start.
        ``on_manager`` is told the manager's router endpoint once it runs (a dashboard
        connects to it)."""
        o = self.options
        o.out.mkdir(parents=True, exist_ok=True)
        robots = o.robots if o.robots is not None else DEFAULT_ROBOTS[o.site]
        # the robots live in this process whatever their number, so that one can be
        # killed at the moment it is the busiest (a shared fleet process only runs the
        # kills scheduled before it starts)
        run_options = RunOptions(speed=o.speed, robots=robots, fleet_process=False,
                                 plan_time_limit=o.plan_time_limit,
                                 ros2=ROS2_ROBOTS if o.ros2 else 0,
                                 ros2_profile=o.ros2 or "rmw_zenoh")
        started = time.monotonic()
        with SimRun(self.scenario, run_options) as sim:
            if on_manager is not None and sim.embedded is not None:
                on_manager(sim.embedded.endpoint)
            self._interlock = InterlockWatch(sim)
            self._launched_at = sim.clock.monotonic()
            self._event(sim, "mission", f"mission {sim.mission_id} launched on "
                        f"{len(sim.robots)} robots")
            status, anomalies = self._follow(sim, started, on_update)
            files = self._write(sim)
            summary = self._summary(sim, status, anomalies, started)
        summary.files = {**files, "summary": o.out / "summary.json"}
        summary.files["summary"].write_text(json.dumps(summary.to_json(), indent=2) + "\n",
                                            encoding="utf-8")
        return summary

    def _follow(self, sim: SimRun, started: float,
                on_update: Callable[[Snapshot], None] | None
                ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        status: dict[str, Any] | None = None
        anomalies: list[dict[str, Any]] = []
        end = started + self.options.timeout_s
        while True:
            status = sim.mission_status()
            robots = list(sim.ask("robots"))
            anomalies = list(sim.ask("anomalies/list", {"mission_id": sim.mission_id}))
            self._notice(sim, status, robots, anomalies)
            if on_update is not None:
                on_update(Snapshot(sim.clock.monotonic() - self._launched_at,
                                   time.monotonic() - started,
                                   self.options.speed, status, robots, anomalies,
                                   list(self.events)))
            if sim.settled(status):
                break
            if sim.fleet is not None and not sim.alive() and \
                    all(r["status"] in LOST for r in robots):
                self._event(sim, "mission", "no robot is left: the mission waits for one "
                            "to come back or join")
                break
            if time.monotonic() >= end:
                self._event(sim, "mission", f"stopped following after "
                            f"{self.options.timeout_s:g} s of real time")
                break
            time.sleep(_POLL_S)
        if status is not None and status["status"] in TERMINAL:
            self._event(sim, "mission", f"mission {status['status']}")
        return status, anomalies

    def _notice(self, sim: SimRun, status: dict[str, Any] | None,
                robots: Sequence[Mapping[str, Any]],
                anomalies: Sequence[Mapping[str, Any]]) -> None:
        """Turn what changed since the last look into events (and the fault, when due)."""
        assignments = {a["serial"]: a for a in (status or {}).get("robots") or []}
        if not self._scheduled_kill and not self._killed and \
                sim.clock.monotonic() - self._launched_at >= self.options.fail_at_s:
            self._kill_busiest(sim, assignments)
        for r in robots:
            serial = str(r["serial"])
            was = self._status.get(serial)
            self._status[serial] = str(r["status"])
            if r["status"] == "silent" and was != "silent":
                self._event(sim, "silent", f"{serial} silent (in a comms dead zone?)")
            elif r["status"] == "online" and was == "silent":
                self._event(sim, "back", f"{serial} heard again")
            if r["status"] in LOST and serial not in self._lost:
                left = tuple(assignments.get(serial, {}).get("remaining") or ())
                self._lost[serial] = (sim.clock.monotonic(), left)
                self._event(sim, "lost", f"{serial} lost ({r['status'].replace('_', ' ')}) "
                            f"with {len(left)} inspection(s) left")
        blocked = (status or {}).get("blocked") or {}
        for lost, (since, _) in self._lost.items():
            if lost in self._recovered or sim.clock.monotonic() - since < RECOVER_AFTER_S:
                continue
            # a supervisor sends people in, as docs/traffic.md says, then clears it
            self._recovered.add(lost)
            sim.recover(lost, "carried out by the rescue team (simulated)")
            self._event(sim, "cleared", f"{lost} recovered by people and cleared"
                        + (f": {len(blocked)} blocked inspection(s) planned again"
                           if blocked else ""))
        for lost, (_, left) in self._lost.items():
            for serial, a in assignments.items():
                if serial == lost or not a.get("active") or (serial, lost) in self._takeovers:
                    continue
                taken = [p for p in a.get("remaining") or () if p in left]
                if taken:
                    self._takeovers.add((serial, lost))
                    self._event(sim, "takeover", f"{serial} takes over {', '.join(taken)} "
                                f"from {lost}")
        if self._interlock is not None:
            self._interlock.notice(sim, robots, lambda kind, text: self._event(sim, kind,
                                                                               text))
        for a in anomalies:
            if a["id"] in self._anomaly_ids:
                continue
            self._anomaly_ids.add(a["id"])
            self._event(sim, "anomaly", f"{str(a['severity']).upper()} {anomaly_text(a)} at "
                        f"{a['inspection_point_id']}")

    def _kill_busiest(self, sim: SimRun, assignments: Mapping[str, Mapping[str, Any]]) -> None:
        """Kill the robot with the most inspections ahead among those whose points the
        others can take over; the busiest of all when none can be spared."""
        if sim.fleet is None:
            return
        alive = set(sim.alive())
        busy = [(len(a.get("remaining") or ()), serial) for serial, a in assignments.items()
                if a.get("active") and serial in alive]
        if not busy:
            return
        spare = [(n, s) for n, s in busy if self._replaceable(
            sim, s, assignments[s].get("remaining") or (), alive)]
        _, victim = max(spare or busy)
        self._killed = True
        sim.kill(victim)
        self._event(sim, "fault", f"{victim} dies: its link drops without a goodbye")

    def _replaceable(self, sim: SimRun, serial: str, points: Sequence[str],
                     alive: set[str]) -> bool:
        """Whether every point left to ``serial`` may be done by another live robot: one
        carrying the task's sensors and rated for where the point lies (the only Ma robot
        of a coal mine is spared, or its Ma-only points would be left undone)."""
        mission, fac = self.scenario.mission, self.scenario.facility
        others = [r.robot_class for r in sim.robots if r.serial != serial and r.serial in alive]
        if mission is None:
            return True
        for p in points:
            try:
                sensors = mission.task(p).sensors
            except KeyError:
                continue
            if not any(sensors <= c.sensors and fac.node_allowed(p, c.access) for c in others):
                return False
        return True

    def _event(self, sim: SimRun, kind: str, text: str) -> None:
        self.events.append(Event(sim.clock.monotonic() - self._launched_at, kind, text))

    # ------------------------------------------------------------------ the end
    def _write(self, sim: SimRun) -> dict[str, Path]:
        from fleet.anomaly.record import MissionRecord
        from fleet.anomaly.report import anomaly_marks, mission_facility, render_report
        from fleet.facility.render import render_facility

        out = self.options.out
        record = MissionRecord.from_json(sim.ask("report", {"mission_id": sim.mission_id},
                                                 timeout=30.0))
        facility = mission_facility(record)
        report = out / "report.html"
        render_report(record, report, facility)
        picture = out / "routes_and_anomalies.png"
        render_facility(facility, picture, routes=record.driven_routes(),
                        title=f"{facility.name}: routes driven and anomalies",
                        marks=anomaly_marks(record.anomalies, facility))
        return {"report": report, "picture": picture}

    def _reassigned(self, sim: SimRun, serial: str) -> float | None:
        """See :attr:`LostRobot.reassigned_s` (from the manager's store)."""
        if sim.embedded is None or sim.mission_id is None:
            return None
        lost_at, left = None, set()
        for e in sim.embedded.store.events(sim.mission_id):
            detail = e.detail if isinstance(e.detail, dict) else {}
            if e.kind == "robot_lost" and e.robot_serial == serial and lost_at is None:
                lost_at, left = e.at, set(detail.get("remaining") or ())
            elif lost_at is not None and e.kind == "dispatched" and \
                    e.robot_serial != serial and left & set(detail.get("points") or ()):
                return (e.at - lost_at).total_seconds() / self.options.speed
        return None

    def _summary(self, sim: SimRun, status: dict[str, Any] | None,
                 anomalies: list[dict[str, Any]], started: float) -> Summary:
        done_by: dict[str, str] = dict((status or {}).get("done") or {})
        ins = (status or {}).get("inspections") or {}
        lost = [LostRobot(serial, at - self._launched_at, left,
                          {p: done_by[p] for p in left if p in done_by},
                          self._reassigned(sim, serial))
                for serial, (at, left) in self._lost.items()]
        mission_points = {t.point for t in sim.scenario.mission.tasks} \
            if sim.scenario.mission else set()
        sources = source_checks(World(self.scenario.facility, self.scenario), anomalies,
                                mission_points)
        summary = Summary(
            site=self.options.site, scenario=self.scenario.name, mission_id=sim.mission_id,
            status=None if status is None else str(status["status"]),
            done=int(ins.get("done", 0)), total=int(ins.get("total", 0)),
            results=len(sim.results), world_s=sim.clock.monotonic() - self._launched_at,
            wall_s=time.monotonic() - started, lost=lost,
            dropped=dict((status or {}).get("dropped") or {}), anomalies=anomalies,
            sources=sources)
        if self._interlock is not None:
            summary.interlock = self._interlock.result(sim, self.scenario.facility,
                                                       sim.results)
            summary.problems += summary.interlock.problems()
        if summary.status != "completed":
            summary.problems.append(f"the mission ended {summary.status or 'unlaunched'}, "
                                    "not completed")
        if not lost:
            summary.problems.append("no robot was lost: the failure drill did not happen")
        for r in lost:
            undone = [p for p in r.unfinished if p not in r.finished_by]
            if undone:
                summary.problems.append(f"{r.serial}'s {', '.join(undone)} were not "
                                        "finished by another robot")
        summary.problems += [f"{s.kind} at {s.node}: {s.why}" for s in sources if not s.ok]
        return summary


def source_checks(world: World, anomalies: Sequence[Mapping[str, Any]],
                  points: set[str]) -> list[SourceCheck]:
    """Check each gas leak and hot spot of the scenario against the anomalies of its
    sensor on the mission's ``points`` (see :class:`SourceCheck`)."""
    checks = []
    t = world.full_strength_at()
    for source in world.sources:
        if isinstance(source, GasLeak):
            kind, sensor = "gas leak", source.sensor
        elif isinstance(source, HotSpot):
            kind, sensor = "hot spot", "thermal"
        else:
            continue
        here = [a for a in anomalies if a.get("inspection_point_id") in points]
        # anomalies judged by the manager's limits on the reading, else those the robots'
        # own findings raised (a hot surface has no site-wide limit: the robot judges it)
        mine = [a for a in here if a.get("sensor") == sensor] or \
            [a for a in here if str(a.get("sensor")).startswith(f"finding:{sensor}")]
        unit = world.spec(sensor).unit
        strength = {p: world.expected(sensor, p, t) for p in sorted(points)}
        hardest = max(strength, key=strength.__getitem__, default=None)
        if not mine:
            checks.append(SourceCheck(kind, sensor, source.node, (), (), None, None, unit,
                                      False, f"no {sensor} anomaly was opened"))
            continue
        measured = all(a.get("sensor") == sensor for a in mine)
        threshold = min(float(a.get("threshold") or 0.0) for a in mine) if measured \
            else ALARMS[sensor][1]
        expected = tuple(sorted(world.expected_above(sensor, threshold, t=t, points=points)))
        reach = world.expected_above(sensor, threshold / 2, t=t, points=points)
        found = tuple(sorted({str(a["inspection_point_id"]) for a in mine}))
        if measured:
            top = max(mine, key=lambda a: float(a.get("peak") or 0.0))
            strongest, peak = str(top["inspection_point_id"]), float(top.get("peak") or 0.0)
        else:  # a finding's peak is its confidence, not a value: rank by the world
            strongest, peak = max(found, key=strength.__getitem__), None
        stray = [p for p in found if p not in reach]
        if strongest != hardest:
            ok, why = False, (f"the strongest {sensor} anomaly is at {strongest}, but the "
                              f"source hits {hardest} hardest")
        elif stray:
            ok, why = False, f"{sensor} anomalies where the source cannot reach: {stray}"
        else:
            ok, why = True, f"strongest at {strongest}, as the source lies nearest"
        checks.append(SourceCheck(kind, sensor, source.node, expected, found, strongest,
                                  peak, unit, ok, why))
    return checks


def anomaly_text(a: Mapping[str, Any]) -> str:
    """What an anomaly (API JSON) saw: ``ch4 1.98 %vol``, or for one a robot's own finding
    raised, ``ch4_alarm finding (confidence 0.95)``."""
    sensor = str(a.get("sensor"))
    if sensor.startswith("finding:"):
        return f"{sensor.removeprefix('finding:')} finding (confidence {_num(a.get('peak'))})"
    return f"{sensor} {_num(a.get('peak'))} {a.get('unit') or ''}".rstrip()


def _num(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, int | float) else "?"


__all__ = ["DEFAULT_ROBOTS", "SITES", "Demo", "DemoOptions", "Event", "LostRobot", "Snapshot",
           "SourceCheck", "Summary", "anomaly_text", "scenario_for", "source_checks"]
