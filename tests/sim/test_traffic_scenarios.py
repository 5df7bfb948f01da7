"""The named traffic scenarios end to end (sim/scenarios/): the manager's traffic control
gets physical robots through single-lane drifts without a standoff, where the same runs
without it stand nose to nose; a robot lost in a drift blocks points until people carry
it out; and ``fleet bench traffic`` reports the comparison."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet import samples
from fleet.cli.main import app
from fleet.facility import formats
from fleet.facility.model import NodeKind
from sim.bench import bench_sim
from sim.generated import generated_scenario
from sim.progress import Progress
from sim.robots import SimFleet
from sim.runner import RunOptions, SimRun
from sim.scenario import load_scenario
from sim.space import SpaceParams


def _run(name: str, *, speed: float = 200.0, timeout: float = 120.0,
         **options: object) -> Progress:
    with SimRun(load_scenario(samples.path(name)),
                RunOptions(speed=speed, **options)) as run:  # type: ignore[arg-type]
        return run.run(timeout=timeout)


def _clean(final: Progress) -> None:
    assert final.mission_status == "completed", final.to_json()
    assert (final.standoffs, final.deadlocks, final.stalled) == (0, 0, False)
    assert final.inspections["done"] == final.inspections["total"] > 0


def test_the_swap_completes_with_traffic_control() -> None:
    final = _run("swap-single-lane", speed=100.0)
    _clean(final)
    assert final.space is not None  # physical, not ghosts


def test_the_swap_stands_nose_to_nose_without_traffic_control() -> None:
    final = _run("swap-single-lane", speed=100.0, manager={"traffic_control": False})
    assert final.standoffs + final.deadlocks >= 1
    assert final.mission_status != "completed"
    assert final.inspections["done"] < final.inspections["total"]


def test_the_swap_passes_through_as_ghosts() -> None:
    final = _run("swap-single-lane", speed=100.0, space=SpaceParams(ghosts=True),
                 manager={"traffic_control": False})
    assert final.mission_status == "completed" and final.space is None


@pytest.mark.parametrize(("name", "robots", "points"), [
    ("coal-mine-traffic", 12, 66),
    # the same path on the second site takes 45 s: with -m slow, keeping the default
    # suite under 15 minutes (the benchmark runs it for every seed: docs/benchmarks.md)
    pytest.param("chemical-plant-traffic", 8, 44, marks=pytest.mark.slow)])
def test_busy_sites_are_patrolled_without_standoffs(name: str, robots: int,
                                                    points: int) -> None:
    scenario = load_scenario(samples.path(name))
    assert len(scenario.fleet.robots) == robots
    assert len(scenario.facility.inspection_points) == points
    final = _run(name, speed=400.0, timeout=180.0)
    _clean(final)
    assert final.inspections["total"] == points and final.robots == robots


def _inside(facility_nodes: set[str], node: str | None) -> bool:
    return node is not None and node in facility_nodes


def test_a_robot_lost_in_a_drift_blocks_its_points_until_it_is_recovered() -> None:
    """V dies in the west half of the drift (killed when seen there: the scenario's own
    fault is timed for ``fleet sim run``); O cannot get past it, so V's points left are
    blocked, not dropped; once V is carried out O does them and the mission completes."""
    scenario = load_scenario(samples.path("lost-in-drift"))
    scenario = replace(scenario, faults=())
    west_half = {"w-gauge", "w-2", "w-3", "w-pump"}
    with SimRun(scenario, RunOptions(speed=100.0)) as run:
        fleet = run.fleet
        assert isinstance(fleet, SimFleet)
        end = time.monotonic() + 60
        while not _inside(west_half, fleet.robot("V").body.node):
            assert time.monotonic() < end, "V never entered the drift"
            time.sleep(0.01)
        fleet.kill("V")
        blocked: dict[str, object] | None = None
        while blocked is None:
            assert time.monotonic() < end, run.mission_status()
            status = run.mission_status()
            assert status is not None and status["status"] != "completed"
            if status["inspections"]["blocked"]:
                blocked = status
            time.sleep(0.05)
        run.recover("V", "carried out by the rescue team")
        final = run.run(timeout=60)
    assert final.mission_status == "completed", final.to_json()
    assert final.inspections["done"] == final.inspections["total"] == 4
    assert final.inspections["blocked"] == 0
    assert (final.standoffs, final.deadlocks) == (0, 0)


def test_a_generated_scenario_holds_its_robots(tmp_path: Path) -> None:
    path = generated_scenario(tmp_path, 9, seed=3)
    scenario = load_scenario(path)
    docks = [n for n in scenario.facility.nodes.values() if n.kind is NodeKind.DOCK]
    assert len(docks) == 9 // 2 + 1 and len(scenario.fleet.robots) == 9
    assert scenario.mission is not None
    assert formats.load(tmp_path / "maps" / "generated_mine.yaml").name == \
        scenario.facility.name


def test_bench_traffic_compares_control_ghosts_and_no_control() -> None:
    result = CliRunner().invoke(app, ["bench", "traffic", "--map", "swap-single-lane",
                                      "--seeds", "1", "--speed", "200", "--control-off",
                                      "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    (row,) = out["per_seed"]
    assert (row["standoffs"], row["deadlocks"]) == (0, 0)
    assert row["inspections_done"] == row["inspections_total"] == 2
    assert row["makespan_ratio"] >= 1.0
    assert row["decisions"] > 0 and row["decision_p99_us"] >= row["decision_p50_us"] > 0
    assert row["off_standoffs"] + row["off_deadlocks"] >= 1
    assert out["off_seeds_with_standoff_or_deadlock"] == 1
    assert out["controlled_failures"] == []


def test_bench_sim_runs_physical_robots_on_a_generated_mine() -> None:
    """``fleet bench sim --scenario generated`` gives the robots a site with room for
    them: they are physical (not ghosts), each group drives to its own share of the
    points under traffic control, and the space sees no standoff and no deadlock."""
    r = bench_sim(robots=24, minutes=2.0, speed=20.0, group=12, shards=1, generated=True)
    assert r["ghosts"] is False
    assert r["missions"] == 2 and r["inspections_total"] == 48  # shared out, not repeated
    assert r["robots_dispatched"] > 12 and r["robots_lost"] == 0  # both groups drive
    assert r["decision_samples"] > 0 and r["decision_p99_us"] >= r["decision_p50_us"] > 0
    assert (r["standoffs"], r["deadlocks"]) == (0, 0)
