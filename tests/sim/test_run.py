"""Whole simulated runs through the real manager over Zenoh on loopback: the tiny patrol
with a dead-zone crossing, the coal-mine gas patrol finding its seeded leak, a robot process
killed mid-mission, the time scale keeping up, and ``fleet sim run``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.manager.lifecycle import MissionStatus, RobotStatus
from fleet.store import Store
from sim.link import Outcome
from sim.processes import FleetProcess
from sim.robots import SimFleet
from sim.runner import EmbeddedManager, SimRun
from sim.scenario import Fault, FaultKind, Scenario, load_scenario
from sim.space import SpaceParams
from sim.world import World

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "sim" / "tiny_patrol.yaml"
LEAK = ROOT / "sim" / "scenarios" / "coal_mine_methane_leak.yaml"


def _wait(predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _high_points(store: Store, mission_id: str, sensor: str, level: float) -> set[str]:
    return {r.inspection_point_id for r in store.results(mission_id)
            if (x := r.reading(sensor)) is not None and x.value > level}


def test_tiny_patrol_crosses_a_dead_zone_silently_and_is_not_lost(
        sim_manager: Callable[..., EmbeddedManager], sim_fleet: Callable[..., SimFleet]) -> None:
    scenario = load_scenario(TINY)
    assert scenario.mission is not None
    embedded = sim_manager(speed=100.0)
    fleet = sim_fleet(scenario, embedded.endpoint, speed=100.0, robots=2, tickers=2)
    manager = embedded.manager
    assert _wait(lambda: sum(1 for r in manager.registry.all() if r.factsheet) == 2, 20)
    seen: dict[str, set[RobotStatus]] = {s: set() for s in fleet.serials()}
    stop = threading.Event()

    def watch() -> None:  # the manager's view of each robot, as often as it changes
        while not stop.is_set():
            with manager.lock:
                for r in manager.registry.all():
                    seen[r.serial].add(r.status)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    run = manager.launch("tiny", scenario.mission, "")
    assert _wait(lambda: run.status is MissionStatus.COMPLETED, 60), run.to_json()
    assert _wait(lambda: embedded.store.count_results(run.id) == 2, 20)
    stop.set()
    watcher.join()

    # p2 lies in the dead zone: its robot went silent there, buffered its result, sent it
    # once back in coverage, and was never declared lost
    p2 = run.done["p2"]
    assert fleet.robot(p2).radio.link.counts[Outcome.OFFLINE] > 0
    assert RobotStatus.SILENT in seen[p2]
    assert not any(RobotStatus.CONNECTION_BROKEN in s for s in seen.values())
    assert not [e for e in embedded.store.events(run.id) if e.kind == "robot_lost"]
    # the leak at p1 is in its readings and not at p2
    assert _high_points(embedded.store, run.id, "ch4", 1.0) == {"p1"}
    assert all(not len(r.agent.outbox) for r in fleet.robots.values())


@pytest.mark.slow  # the default suite runs it through fleet serve: test_sim_through_serve.py
def test_coal_mine_gas_patrol_finds_the_leak_where_it_is(
        sim_run: Callable[..., SimRun]) -> None:
    scenario = replace(load_scenario(LEAK), faults=())  # every robot stays up
    run = sim_run(scenario, speed=300.0, dwell_s=2.0)
    final = run.run(timeout=120)
    assert final.mission_status == "completed", final.to_json()
    assert run.embedded is not None and run.mission_id is not None
    store = run.embedded.store
    tasks = {t.point for t in (scenario.mission.tasks if scenario.mission else ())}
    assert {r.inspection_point_id for r in store.results(run.mission_id)} == tasks
    world = World(scenario.facility, scenario)
    expected = world.expected_above("ch4", 1.0, points=tasks)
    assert expected == {"face-08", "face-09", "face-10", "tg-uc"}
    assert _high_points(store, run.mission_id, "ch4", 1.0) == expected
    assert {h.point for h in final.high if h.sensor == "ch4"} == expected
    # robots crossed the tailgate's and the return's dead zones and none was lost
    assert not [e for e in store.events(run.mission_id) if e.kind == "robot_lost"]


def test_a_killed_robot_process_leaves_its_points_to_the_others(
        sim_run: Callable[..., SimRun]) -> None:
    scenario = load_scenario(TINY)
    # the takeover, not physics: a dead robot would block the drift for good, to the
    # robots (ghosts) and to the manager's traffic control (off)
    run = sim_run(scenario, speed=100.0, robots=2, processes=True,
                  space=SpaceParams(ghosts=True), manager={"traffic_control": False})

    def doomed() -> str | None:
        status = run.mission_status() or {}
        for r in status.get("robots", []):
            if "p2" in r["remaining"] and r["reached"] >= 1:
                return str(r["serial"])
        return None

    assert _wait(lambda: doomed() is not None, 30)
    serial = doomed()
    assert serial is not None
    run.fleet.kill(serial)  # SIGKILL
    assert serial not in run.fleet.alive()
    final = run.run(timeout=90)
    assert final.mission_status == "completed", final.to_json()
    status = run.mission_status()
    assert status is not None
    survivor = ({r.serial for r in run.robots} - {serial}).pop()
    assert status["done"]["p2"] == survivor
    assert run.embedded is not None
    events = [(e.kind, e.robot_serial) for e in run.embedded.store.events(run.mission_id)]
    assert ("robot_lost", serial) in events
    assert final.robot_status.get("connection_broken") == 1


@pytest.mark.slow  # a timed throughput check: flaky on a shared machine; `fleet bench sim`
def test_world_and_states_keep_to_the_speed(sim_run: Callable[..., SimRun]) -> None:
    scenario = load_scenario(TINY)
    run = sim_run(scenario, speed=20.0, robots=20)
    manager = run.manager
    assert manager is not None
    w0, s0, t0 = run.clock.monotonic(), manager.states_handled, time.monotonic()
    time.sleep(4.0)
    w1, s1, t1 = run.clock.monotonic(), manager.states_handled, time.monotonic()
    assert (w1 - w0) / (t1 - t0) == pytest.approx(20.0, rel=0.01)
    # every robot's periodic state once per world second (changes add a few more)
    expected = 20 * (w1 - w0) / run.options.interval
    assert (s1 - s0) >= 0.95 * expected
    # the two robots on the mission drove and dwelt on time
    progress = run.progress()
    assert progress.mission_status == "running"
    assert progress.effective_speed is not None
    assert progress.effective_speed == pytest.approx(20.0, rel=0.05)


def test_fleet_sim_run_prints_a_summary_and_high_readings() -> None:
    result = CliRunner().invoke(app, ["sim", "run", str(TINY), "--speed", "100", "--robots",
                                      "2", "--seed", "9", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # the output is that one object
    assert summary["mission_status"] == "completed"
    assert summary["inspections"]["done"] == summary["inspections"]["total"] == 2
    assert summary["inspections_done"] == summary["inspections_total"] == 2
    assert (summary["seed"], summary["robots"], summary["ghosts"]) == (9, 2, False)
    assert (summary["standoffs"], summary["deadlocks"], summary["stalled"]) == (0, 0, False)
    assert summary["robot_wait_s"] >= 0
    # from the launch to the end: at least the drive to p2 and back past p1 (~ 270 s)
    assert 200 < summary["makespan_s"] < summary["world_s"]
    assert [(h["point"], h["sensor"]) for h in summary["high_readings"]] == [("p1", "ch4")]
    assert "HIGH  ch4" in result.stderr and "at p1" in result.stderr


def test_fleet_sim_run_reports_bad_scenarios_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("map: nowhere.yaml\nseed: -1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["sim", "run", str(bad)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines)
    assert "Traceback" not in result.output


def test_without_mission_or_duration_the_command_says_what_is_missing() -> None:
    result = CliRunner().invoke(app, ["sim", "run", str(TINY), "--no-mission"])
    assert result.exit_code == 2
    assert "--duration" in result.output


def _scenario_without_mission(scenario: Scenario) -> Scenario:
    return replace(scenario, mission=None, mission_path=None)


def test_robots_in_a_process_of_their_own_run_for_the_duration(
        sim_run: Callable[..., SimRun]) -> None:
    run = sim_run(_scenario_without_mission(load_scenario(TINY)), speed=100.0,
                  fleet_process=True, tickers=2)
    assert isinstance(run.fleet, FleetProcess)
    until = run.clock.monotonic() + 100.0  # (the start-up took world time already)
    final = run.run(duration=until)
    assert final.mission_id is None and final.world_s >= until
    assert final.robot_status == {"online": 3} and final.alive == 3
    # one space, served to the robots' process: the parent sees them where they stand
    assert run.space_server is not None and run.space is not None
    assert run.space.at("dock") == ("R1", "R2") and run.space.at("ref") == ("R3",)
    assert final.space is not None and final.space.waits == 0
    run.fleet.stop()
    # each announced itself (connection, factsheet, state) and kept publishing states
    assert run.fleet.stats["robots"] == 3 and run.fleet.stats["messages_sent"] > 3 * 3 + 3


def test_a_run_joins_a_manager_already_running(
        sim_manager: Callable[..., EmbeddedManager], sim_run: Callable[..., SimRun]) -> None:
    embedded = sim_manager(speed=100.0)
    run = sim_run(load_scenario(TINY), speed=100.0, robots=2, connect=(embedded.endpoint,))
    assert run.manager is None
    final = run.run(timeout=60)
    assert final.mission_status == "completed"
    assert embedded.store.count_results(final.mission_id) == 2


@pytest.mark.slow  # flaky when the machine is loaded; the takeover itself is in tests/e2e
def test_a_killed_robot_comes_back_after_its_downtime(
        sim_manager: Callable[..., EmbeddedManager], sim_fleet: Callable[..., SimFleet]) -> None:
    scenario = load_scenario(TINY)
    embedded = sim_manager(speed=100.0)
    fleet = sim_fleet(scenario, embedded.endpoint, speed=100.0, robots=1)
    manager = embedded.manager

    def status() -> RobotStatus | None:
        with manager.lock:
            robot = manager.registry.find("R1")
            return None if robot is None or robot.factsheet is None else robot.status

    assert _wait(lambda: status() is RobotStatus.ONLINE, 20)
    robot = fleet.robot("R1")
    now = fleet.clock.monotonic()
    fleet.inject(Fault(at_s=now, robot="R1", kind=FaultKind.KILL, duration_s=200.0))
    assert _wait(lambda: status() is RobotStatus.CONNECTION_BROKEN, 10)
    assert not robot.alive
    assert _wait(lambda: status() is RobotStatus.ONLINE, 20)  # 2 s later, a new agent
    assert robot.alive and robot.deaths == 1
    assert fleet.clock.monotonic() >= now + 200.0


def test_fleet_robots_shows_each_robot_at_its_dock_before_any_mission(
        sim_manager: Callable[..., EmbeddedManager], sim_fleet: Callable[..., SimFleet]) -> None:
    scenario = load_scenario(TINY)
    embedded = sim_manager(speed=10.0)
    fleet = sim_fleet(scenario, embedded.endpoint, speed=10.0, robots=2)
    manager = embedded.manager
    assert _wait(lambda: sum(1 for r in manager.registry.all() if r.state) == 2, 20)
    docks = {s: fleet.robot(s).body.node for s in fleet.serials()}
    result = CliRunner().invoke(app, ["robots", "--connect", embedded.endpoint, "--json"])
    assert result.exit_code == 0, result.output
    shown = {r["serial"]: r["last_node"] for r in json.loads(result.output)}
    assert shown == docks and all(shown.values())
    table = CliRunner().invoke(app, ["robots", "--connect", embedded.endpoint])
    assert all(dock in table.output for dock in docks.values())
