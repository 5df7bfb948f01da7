"""``fleet bench sim``: many simulated robots beside the manager, on loopback.

The manager runs in this process (embedded router, SQLite store in a temporary directory,
timeouts scaled to the speed), the simulated fleet in ``shards`` child processes (each a
:class:`~sim.robots.SimFleet`: one Zenoh session, two state tickers, a worker thread per
agent; one Python interpreter publishes some hundreds of large states a second, so a
thousand robots take two). The robots start at the docks of a scenario (default: the
coal-mine baseline); they are split into groups of ``group`` and each group is given the
scenario's mission restricted to its serials, so that every robot given points drives and
inspects while the others stand and report.
The scenario's link model is replaced by a perfect one (no latency, no loss): the figures
are the software's, not a simulated radio's.

Figures, over ``minutes`` world minutes from the launch of the missions:

- wall time, and the world time the fleet's bodies kept to (effective speed);
- CPU seconds of each process and their share of one core;
- states the manager handled per real second, against the fleet's nominal periodic rate;
- dispatch latency: from the manager publishing an order to the manager handling the
  robot's first state carrying it (p50, p99, max), for the missions' first orders (sent
  while the planner works in the same process) and for probes sent one at a time to idle
  robots once every mission is planned (the robots' load alone, as ``fleet bench
  dispatch`` measures it);
- inspections done and results stored;
- the manager's traffic control decisions (``decision_p50_us``, ``decision_p99_us``: each
  reservation request, :attr:`fleet.manager.traffic.Traffic.decisions`);
- the physical space's figures (:mod:`sim.space`, served to every fleet process):
  standoffs, deadlocks and the world seconds robots waited for each other. Copies of the
  scenario's robots beyond their docks' room start parked in the nearest rooms
  (:func:`~sim.robots.starts_of`); when the site cannot hold them all (the coal mine's
  rooms hold 18 robots) the robots are ghosts and pass through each other, unless
  ``ghosts=False`` asks for the error instead.
"""

from __future__ import annotations

import random
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleet import samples
from fleet.clock import ScaledClock
from fleet.manager.lifecycle import MissionStatus, RobotStatus
from fleet.manager.missions import MissionRun
from fleet.manager.service import Manager
from fleet.planning.mission import RobotFilter
from fleet.planning.robots import Robot
from fleet.protocol.header import Header
from fleet.protocol.keys import Topic, topic_key
from fleet.protocol.order import NodePosition, RouteStop, route_order
from sim.errors import ScenarioError
from sim.generated import generated_scenario
from sim.link import LinkModel
from sim.processes import FleetProcess, GcPauses
from sim.robots import FleetOptions, robots_of, starts_of
from sim.runner import EmbeddedManager, manager_settings, state_interval_for
from sim.scenario import Scenario, load_scenario
from sim.space import Space, SpaceParams, SpaceReport
from sim.space_server import SpaceServer

DEFAULT_SCENARIO = "coal-mine-baseline"
"""The sample scenario (:mod:`fleet.samples`) benchmarked when none is given."""

TICKERS = 2
"""State threads of the fleet process."""

STALL_SAMPLE_S = 0.05
"""Real seconds between two looks at the manager's count of states handled (the longest
stall figure is good to this)."""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_sim(*, robots: int = 1000, minutes: float = 10.0, speed: float = 1.0,
              group: int = 20, shards: int = 2, scenario: Path | None = None,
              plan_time_limit: float = 2.0, ghosts: bool | None = None,
              generated: bool = False,
              progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the benchmark; returns its figures (see the module docstring). ``shards``: fleet
    processes sharing the robots (one Python interpreter publishes some hundreds of large
    states per second). ``ghosts``: robots pass through each other (True), are physical
    (False: ScenarioError when the site cannot hold them), or physical when they fit
    (None); the figures say which (``ghosts``).

    ``scenario`` defaults to the sample :data:`DEFAULT_SCENARIO`; ``generated`` replaces
    it with a generated mine with room for ``robots``
    (:func:`~sim.generated.generated_scenario`), whose points are shared out among the
    groups (each group its own, rather than every group the whole mission). ``progress``
    is called about once a real second with the figures so far.
    """
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    with tempfile.TemporaryDirectory(prefix="fleet-bench-sim-") as tmp:
        if generated:
            scenario = generated_scenario(Path(tmp) / "site", robots)
        elif scenario is None:
            scenario = samples.path(DEFAULT_SCENARIO)
        return _bench_sim(Path(tmp), scenario, robots=robots, minutes=minutes, speed=speed,
                          group=group, shards=shards, plan_time_limit=plan_time_limit,
                          ghosts=ghosts, share=generated, progress=progress)


def _bench_sim(work: Path, scenario: Path, *, robots: int, minutes: float, speed: float,
               group: int, shards: int, plan_time_limit: float, ghosts: bool | None,
               share: bool, progress: Callable[[dict[str, Any]], None] | None
               ) -> dict[str, Any]:
    # the radio model is off: the figures are the software's, not a simulated 5G's
    sc = replace(load_scenario(scenario), link=LinkModel(0.0, 0.0, 0.0))
    if sc.mission is None or sc.mission_path is None:
        raise ValueError(f"scenario {scenario} has no mission file")
    fleet = robots_of(sc, robots)
    starts = {} if ghosts else _starts(sc, fleet, required=ghosts is False)
    interval = state_interval_for(speed)
    origin, start = time.monotonic(), datetime.now(UTC)
    clock = ScaledClock(speed, origin=origin, start=start)
    document = sc.mission_path.read_text(encoding="utf-8")
    options = FleetOptions(state_interval=interval, tickers=TICKERS, check_states=False)
    # plans solved in a process of their own (`fleet serve --plan-process`): a thousand
    # robots' states a second are handled meanwhile (fleet.manager.planning_process)
    settings = manager_settings(speed, state_interval=interval,
                                plan_time_limit=plan_time_limit, plan_process=True)
    children: list[FleetProcess] = []
    server = None
    space_report: SpaceReport | None = None
    try:
        with EmbeddedManager(work, settings, clock) as embedded:
            manager = embedded.manager
            up_t0 = time.monotonic()
            if starts:
                server = SpaceServer(sc.facility, SpaceParams(), work / "space")
                server.start()
                server.space.place(starts, clock.monotonic(), source=str(scenario))
            address = None if server is None else server.address
            children = [FleetProcess(sc, fleet[i::shards], connect=[embedded.endpoint],
                                     clock=clock, workdir=work / f"fleet-{i}",
                                     origin=origin, start=start, options=options,
                                     starts=starts, space=address)
                        for i in range(shards)]
            for child in children:
                child.start()
            _until(lambda: sum(1 for r in manager.registry.all()
                               if r.factsheet is not None and r.state is not None)
                   >= len(fleet), 300, "the manager did not hear every robot")
            bench = _Bench(manager, clock, startup_s=time.monotonic() - up_t0)
            groups = range(0, len(fleet), group)
            for k, g in enumerate(groups):
                serials = tuple(r.serial for r in fleet[g:g + group])
                mission = replace(sc.mission, robots=RobotFilter(serials=serials))
                if share:
                    mission = replace(mission, tasks=sc.mission.tasks[k::len(groups)])
                bench.runs.append(manager.launch(f"{sc.mission.name} {g // group + 1}",
                                                 mission, document))
            end_world = bench.world0 + minutes * 60.0
            while clock.monotonic() < end_world:
                time.sleep(min(1.0, max(0.0, clock.to_wall(end_world - clock.monotonic()))))
                bench.step()
                if progress is not None:
                    progress(bench.figures())
            bench.stop_probing()
            result = bench.figures()
            result["results_stored"] = embedded.store.count_results()
            with manager.lock:
                decisions = [d * 1e6 for t in manager.core.traffic.values()
                             for d in t.decisions]
                cpu = [d * 1e6 for t in manager.core.traffic.values() for d in t.decisions_cpu]
            result.update(_latency("decision", decisions, unit="us"))
            result.update(_latency("decision_cpu", cpu, unit="us"))
            if server is not None:
                space_report = server.space.report(clock.monotonic())
    finally:
        # after the manager: robots stopping are no news to anyone
        for child in children:
            child.stop()
        if server is not None:
            server.stop()
    stats = [c.stats for c in children]
    pace_wall = sum(s.get("pace_wall_s") or 0.0 for s in stats)
    pace_world = sum(s.get("pace_world_s") or 0.0 for s in stats)
    fleet_cpu = sum(s["cpu_s"] for s in stats) if all("cpu_s" in s for s in stats) else None
    result.update({
        "robots": len(fleet), "speed": speed, "state_interval_s": interval,
        "nominal_states_per_s": round(len(fleet) * speed / interval),
        "fleet_cpu_s": None if fleet_cpu is None else round(fleet_cpu, 1),
        "fleet_cpu_pct": None if fleet_cpu is None else round(
            100 * fleet_cpu / max(result["wall_s"] + result["startup_s"], 1e-9)),
        "effective_speed": round(pace_world / pace_wall, 3) if pace_wall else None,
        "worst_wake_late_s": max((s.get("worst_late_s") or 0.0 for s in stats), default=None),
        "fleet_gc_worst_pause_s": max((s.get("gc_worst_pause_s") or 0.0 for s in stats),
                                      default=None),
        "fleet_messages_sent": sum(s.get("messages_sent") or 0 for s in stats),
        "fleet_processes": shards,
        "ghosts": space_report is None,
        "standoffs": 0 if space_report is None else space_report.standoffs,
        "deadlocks": 0 if space_report is None else space_report.deadlocks,
        "robot_wait_s": 0.0 if space_report is None else round(space_report.robot_wait_s, 1),
    })
    return result


def _starts(scenario: Scenario, robots: Sequence[Robot], *, required: bool
            ) -> dict[str, str]:
    """Where the robots start on the physical site; empty (ghosts) when the site cannot
    hold them, unless ``required`` (then ScenarioError)."""
    try:
        starts = starts_of(scenario, robots)
        Space(scenario.facility).place(starts, source=str(scenario.path or scenario.name))
    except ScenarioError:
        if required:
            raise
        return {}
    return starts


class _Bench:
    """Figures kept while the benchmark runs, and the dispatch probes.

    Mission dispatches happen while the planner works in the manager's process; the probes
    (a one-node order to a robot no mission uses, one at a time, as ``fleet bench dispatch``
    does) measure dispatch once every mission is planned, under the robots' load alone.
    """

    def __init__(self, manager: Manager, clock: ScaledClock, *, startup_s: float) -> None:
        self.manager = manager
        self.clock = clock
        self.startup_s = startup_s
        self.runs: list[MissionRun] = []
        self.wall0, self.world0, self.cpu0 = time.monotonic(), clock.monotonic(), _cpu_self()
        self.states0 = manager.states_handled
        self.steady: tuple[float, int] | None = None
        self.probes: list[float] = []
        self._stop = threading.Event()
        self._prober: threading.Thread | None = None
        self.gc = GcPauses()
        self.declared0 = manager.liveness.declared
        self.stall = 0.0
        """The longest real time in which the manager handled no state (sampled)."""
        self._watcher = threading.Thread(target=self._watch, name="bench-stall", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        last, since = self.manager.states_handled, time.monotonic()
        while not self._stop.wait(STALL_SAMPLE_S):
            now, handled = time.monotonic(), self.manager.states_handled
            if handled != last:
                last, since = handled, now
            self.stall = max(self.stall, now - since)

    def step(self) -> None:
        """Notice when planning is over: the steady window and the probes start."""
        if self.steady is not None:
            return
        with self.manager.lock:
            planned = all(r.status is not MissionStatus.QUEUED and not r.pool
                          for r in self.runs)
        if planned:
            self.steady = (time.monotonic(), self.manager.states_handled)
            self._prober = threading.Thread(target=self._probe, name="bench-probe",
                                            daemon=True)
            self._prober.start()

    def stop_probing(self) -> None:
        """End the probes (the one under way is given up) and the watching."""
        self._stop.set()
        self.gc.close()
        self._watcher.join(5)
        if self._prober is not None:
            self._prober.join(15)

    def _probe(self) -> None:
        m = self.manager
        itf = m.settings.interface
        with m.lock:
            idle = [r for r in m.registry.all() if r.mission_id is None and r.state is not None
                    and not r.busy and r.node_in(self.runs[0].spec.facility) is not None]
        rng = random.Random(0)
        k = 0
        while idle and not self._stop.is_set():
            robot = rng.choice(idle)
            node = robot.node_in(self.runs[0].spec.facility)
            assert node is not None
            n = self.runs[0].spec.facility.nodes[node]
            k += 1
            order_id = f"probe-{k}-{robot.serial}"
            order = route_order(Header(robot.manufacturer, robot.serial, k),
                                order_id, [RouteStop(node, NodePosition(n.x, n.y, n.level))],
                                [], base_end=0)
            with m.lock:
                m.order_sent[order_id] = sent = time.perf_counter()
            m.bus.publish(topic_key(itf, robot.manufacturer, robot.serial, Topic.ORDER), order)
            end = time.monotonic() + 10.0
            while order_id not in m.order_seen and time.monotonic() < end \
                    and not self._stop.is_set():
                time.sleep(0.001)
            seen = m.order_seen.get(order_id)
            if seen is not None:
                self.probes.append((seen - sent) * 1000)
            self._stop.wait(0.05)

    def figures(self) -> dict[str, Any]:
        """The figures so far."""
        m = self.manager
        now = time.monotonic()
        wall = now - self.wall0
        with m.lock:
            sent = {o: t for o, t in m.order_sent.items() if not o.startswith("probe-")}
            seen = dict(m.order_seen)
            done = sum(len(r.done) for r in self.runs)
            total = sum(len(r.tasks) for r in self.runs)
            dispatched = sum(len(r.assignments) for r in self.runs)
            handled = m.states_handled
            lost = sum(1 for r in m.registry.all()
                       if r.status is RobotStatus.CONNECTION_BROKEN)
        missions = [(seen[o] - t) * 1000 for o, t in sent.items() if o in seen]
        probes = list(self.probes)
        cpu = _cpu_self() - self.cpu0
        steady_rate = None
        if self.steady is not None and now > self.steady[0]:
            steady_rate = round((handled - self.steady[1]) / (now - self.steady[0]))
        return {
            "wall_s": round(wall, 1), "world_s": round(self.clock.monotonic() - self.world0, 1),
            "startup_s": round(self.startup_s, 1),
            "manager_cpu_s": round(cpu, 1), "manager_cpu_pct": round(100 * cpu / max(wall, 1e-9)),
            "manager_states_per_s": round((handled - self.states0) / max(wall, 1e-9)),
            "steady_states_per_s": steady_rate,
            "planning_s": None if self.steady is None else round(self.steady[0] - self.wall0, 1),
            "missions": len(self.runs), "robots_dispatched": dispatched,
            "robots_lost": lost,
            "loss_declarations": self.manager.liveness.declared - self.declared0,
            "manager_longest_stall_s": round(self.stall, 2),
            "manager_gc_worst_pause_s": round(self.gc.worst, 3),
            "inspections_done": done, "inspections_total": total,
            **_latency("mission_dispatch", missions), **_latency("dispatch", probes),
        }


def _latency(name: str, samples: list[float], unit: str = "ms") -> dict[str, Any]:
    if not samples:
        return {f"{name}_samples": 0, f"{name}_p50_{unit}": None,
                f"{name}_p99_{unit}": None, f"{name}_max_{unit}": None}
    return {f"{name}_samples": len(samples),
            f"{name}_p50_{unit}": round(statistics.median(samples), 1),
            f"{name}_p99_{unit}": round(_percentile(samples, 99), 1),
            f"{name}_max_{unit}": round(max(samples), 1)}


def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(what)
        time.sleep(0.1)
