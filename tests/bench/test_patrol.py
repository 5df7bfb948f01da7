"""``fleet bench patrol``: reference walks, map names, the simulation's visits, steady-state
idleness, and the command through the CLI runner on a small map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.bench.patrol import (
    PATROL_DIR,
    bench_patrol,
    idleness,
    reference_walks,
    resolve_map,
    simulate,
)
from fleet.cli.main import app
from fleet.errors import MapError
from fleet.facility.formats import load
from fleet.planning.patrol import PatrolPoint, PatrolRobot, plan_patrol
from tests.conftest import SHARED

# A 2 x 3 grid of vertices 10 m apart (pixels at 0.5 m/px): its best closed walk through
# every vertex is the 60 m ring.
TINY = """6 100 100 0.5 0 0
0 0 0 2   1 E 20   3 N 20
1 20 0 3  0 W 20   2 E 20   4 N 20
2 40 0 2  1 W 20   5 N 20
3 0 20 2  0 S 20   4 E 20
4 20 20 3 3 W 20   1 S 20   5 E 20
5 40 20 2 4 W 20   2 S 20
"""

SOURCE = """# maps
Reference figure for the cyclic strategy: worst idleness is at most about L / (k v).
Shortest closed walks through all vertices (metres): tiny 60.0, other 12.5,
wrapped 7.
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    (tmp_path / "tiny").mkdir()
    (tmp_path / "SOURCE.md").write_text(SOURCE)
    graph = tmp_path / "tiny" / "tiny.graph"
    graph.write_text(TINY)
    return graph


def test_reference_walks_are_read_from_source_md(tmp_path: Path) -> None:
    (tmp_path / "SOURCE.md").write_text(SOURCE)
    assert reference_walks(tmp_path / "SOURCE.md") == {"tiny": 60.0, "other": 12.5,
                                                       "wrapped": 7.0}
    assert reference_walks(tmp_path / "absent.md") == {}


@pytest.mark.skipif(not (SHARED / "bench" / "patrol").is_dir(),
                    reason="../shared/bench/patrol is absent")
def test_the_shared_source_md_lists_the_acceptance_maps() -> None:
    refs = reference_walks(SHARED / "bench" / "patrol" / "SOURCE.md")
    assert refs["grid"] == 148.2 and refs["DIAG_labs"] == 154.9
    assert refs["move_base_arena"] == 53.85 and len(refs) == 9
    assert resolve_map("grid") == PATROL_DIR / "grid" / "grid.graph"


def test_map_names_resolve_to_files_samples_or_patrol_maps(tiny: Path) -> None:
    assert resolve_map(str(tiny)) == tiny
    assert resolve_map("tiny", patrol_dir=tiny.parent.parent) == tiny
    assert resolve_map("coal-mine").name == "coal_mine.yaml"
    with pytest.raises(MapError, match="no such map file or sample; patrolling_sim maps: "
                                       "tiny"):
        resolve_map("nope", patrol_dir=tiny.parent.parent)


def test_simulated_visits_follow_the_plan(tiny: Path) -> None:
    fac = load(tiny)
    points = [PatrolPoint(n) for n in fac.nodes]
    fleet = [PatrolRobot("a", "0"), PatrolRobot("b", "0")]
    plan = plan_patrol(fac, points, fleet, time_limit=1)
    visits = simulate(fac, plan, fleet, points, 600.0)
    assert set(visits) == set(fac.nodes)
    for times in visits.values():
        assert times == sorted(times) and times[-1] <= 600.0
    # two robots 30 s apart on the 60 m ring: in steady state every vertex every 30 s
    idle = idleness(visits, plan.formation_s)
    assert idle["start_s"] >= plan.formation_s
    for d in idle["points"].values():
        assert d["worst_s"] == pytest.approx(30.0) and d["average_s"] == pytest.approx(30.0)
        assert d["samples"] >= 15


def test_idleness_counts_only_gaps_after_the_warm_up() -> None:
    visits = {"a": [0.0, 50.0, 60.0, 70.0], "b": [40.0, 45.0, 65.0]}
    idle = idleness(visits, formation=10.0)
    assert idle["start_s"] == 40.0  # b's first visit: every point seen
    assert idle["points"]["a"] == {"worst_s": 10.0, "average_s": 10.0, "samples": 2}
    assert idle["points"]["b"]["worst_s"] == 20.0
    assert idle["worst_s"] == 20.0 and idle["average_s"] == pytest.approx((10 + 12.5) / 2)
    with pytest.raises(ValueError, match="never visited"):
        idleness({"a": [1.0, 2.0], "b": []}, 0.0)
    with pytest.raises(ValueError, match="simulate longer"):
        idleness({"a": [1.0, 2.0], "b": [5.0]}, 0.0)
    assert idleness({"a": [3.0]}, 0.0, frozenset({"a"}))["worst_s"] == 0.0


def test_bench_patrol_meets_the_cyclic_reference_on_a_small_map(tiny: Path) -> None:
    r = bench_patrol(str(tiny), robots=2, speed=0.5, hours=0.25, time_limit=1,
                     patrol_dir=tiny.parent.parent)
    assert (r["map"], r["points"], r["robots"], r["length_m"]) == ("tiny", 6, 2, 60.0)
    assert r["reference_m"] == 60.0 and r["reference_s"] == 60.0  # 60 m / (2 x 0.5 m/s)
    assert r["worst_idleness_s"] == pytest.approx(60.0) and r["ratio"] == pytest.approx(1.0)
    assert r["planned_worst_s"] == pytest.approx(60.0)
    assert set(r["per_point"]) == {str(i) for i in range(6)}
    with pytest.raises(ValueError, match="simulate longer"):
        bench_patrol(str(tiny), robots=1, hours=0.01, time_limit=1)


def test_bench_patrol_on_one_of_our_maps_has_no_reference() -> None:
    r = bench_patrol("single-lane-drift", robots=2, hours=1, time_limit=1)
    assert r["reference_m"] is None and r["ratio"] is None
    assert r["worst_idleness_s"] <= r["planned_worst_s"] + 1e-6
    assert r["ratio_own"] >= 1.0 - 1e-6 or r["worst_idleness_s"] < r["planned_worst_s"]


def test_cli_bench_patrol_json_and_text(tiny: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["bench", "patrol", str(tiny), "--robots", "2", "--hours",
                               "0.2", "--time-limit", "1", "--json"])
    assert done.exit_code == 0, done.output
    r = json.loads(done.stdout)
    assert r["worst_idleness_s"] == pytest.approx(30.0) and r["ratio"] == pytest.approx(1.0)
    done = runner.invoke(app, ["bench", "patrol", str(tiny), "--robots", "3", "--hours",
                               "0.2", "--time-limit", "1", "--points"])
    assert done.exit_code == 0, done.output
    assert "idleness: worst 20 s (planned 20 s)" in done.stdout
    assert "worst/reference 1.000" in done.stdout
    assert done.stdout.splitlines()[3].split() == ["point", "worst_s", "average_s", "gaps"]


def test_cli_bench_patrol_bad_input_is_one_line(tiny: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["bench", "patrol", str(tmp_path / "none.graph"),
                               "--robots", "1"])
    assert done.exit_code == 1
    assert done.stderr.strip().count("\n") == 0 and "no such map file" in done.stderr
    broken = tmp_path / "broken.graph"
    broken.write_text("2 10 10 0.5 0 0\n0 1 1 1 1 E x\n")
    done = runner.invoke(app, ["bench", "patrol", str(broken), "--robots", "1"])
    assert done.exit_code == 1
    assert done.stderr.strip() == (f"error: {broken}:2: the cost to neighbour 1 of vertex 0 "
                                   "must be a number, got 'x'")
    done = runner.invoke(app, ["bench", "patrol", str(tiny), "--robots", "1", "--hours",
                               "0.01", "--time-limit", "1"])
    assert done.exit_code == 2 and "simulate longer" in done.output
