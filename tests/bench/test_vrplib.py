"""`fleet bench vrplib`: values recomputable from the printed routes, JSON shape, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fleet.bench.vrplib import (
    bench_instance,
    best_known,
    read_instance,
    route_value,
    routing_problem,
)
from fleet.cli.main import app
from fleet.errors import MissionError

DATA = Path(__file__).resolve().parents[1] / "data" / "vrplib"
TSP = DATA / "tiny-tsp9.tsp"  # optimum 254 (Held-Karp)
CVRP = DATA / "tiny-cvrp8.vrp"  # optimum 281 (enumeration), capacity 10
SHARED_X = Path(__file__).resolve().parents[2] / ".." / "shared" / "bench" / "cvrp"


def test_reads_tiny_instances_with_their_best_known() -> None:
    tsp = read_instance(TSP)
    assert (tsp.kind, len(tsp.node_ids), tsp.depot, tsp.best_known) == ("TSP", 9, 0, 254)
    cvrp = read_instance(CVRP)
    assert (cvrp.kind, cvrp.capacity, cvrp.best_known) == ("CVRP", 10, 281)
    assert cvrp.demand[0] == 0 and sum(cvrp.demand) == 22
    # EUC_2D: nearest integer of the Euclidean distance, symmetric.
    assert (cvrp.distance == cvrp.distance.T).all()
    assert cvrp.distance[0, 1] == math.floor(math.hypot(57 - 50, 71 - 50) + 0.5)  # nodes 1, 2


@pytest.mark.parametrize("path", [TSP, CVRP])
def test_distance_bench_finds_the_optimum_and_its_routes_recompute(path: Path) -> None:
    inst = read_instance(path)
    result = bench_instance(inst, objective="distance", time_limit=1.0)
    assert result["value"] == route_value(inst, result["routes"], "distance")
    assert result["value"] == result["best_known"] and result["gap_pct"] == 0
    assert result["feasible"]
    visited = sorted(n for route in result["routes"] for n in route)
    assert visited == sorted(inst.node_ids[i] for i in inst.clients)  # depot excluded
    if inst.capacity is not None:
        assert all(sum(inst.demand[n - 1] for n in r) <= inst.capacity
                   for r in result["routes"])


def test_makespan_bench_with_robots_reports_the_longest_route() -> None:
    inst = read_instance(TSP)
    result = bench_instance(inst, objective="makespan", time_limit=1.0, robots=3)
    assert len(result["routes"]) <= 3
    assert result["value"] == route_value(inst, result["routes"], "makespan")
    assert result["value"] < 254  # three robots beat one
    assert result["best_known"] is None and result["gap_pct"] is None  # not comparable


def test_cvrp_default_fleet_is_as_large_as_needed_and_tsp_uses_one() -> None:
    assert routing_problem(read_instance(CVRP)).vehicle_types[0].count == 7
    assert routing_problem(read_instance(TSP)).vehicle_types[0].count == 1
    assert routing_problem(read_instance(TSP), robots=4).vehicle_types[0].count == 4


def test_cli_json_is_one_object_per_instance_in_order() -> None:
    result = CliRunner().invoke(app, ["bench", "vrplib", str(CVRP), str(TSP),
                                      "--time-limit", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [r["instance"] for r in out] == ["tiny-cvrp8", "tiny-tsp9"]
    for r in out:
        assert set(r) >= {"instance", "objective", "value", "best_known", "gap_pct",
                          "seconds", "routes"}
        assert r["objective"] == "distance"
        assert all(isinstance(n, int) for route in r["routes"] for n in route)


def test_cli_table_lists_instances_gaps_and_routes() -> None:
    result = CliRunner().invoke(app, ["bench", "vrplib", str(TSP), "--time-limit", "0.5",
                                      "--objective", "makespan", "--robots", "2"])
    assert result.exit_code == 0, result.output
    assert "tiny-tsp9" in result.stdout and "makespan" in result.stdout
    assert "Route #1:" in result.stdout and "Route #2:" in result.stdout


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("garbage\nmore garbage\n", "not a readable VRPLIB instance"),
        ("NAME : x\nTYPE : ATSP\nDIMENSION : 2\n", "TYPE"),
        ("NAME : x\nTYPE : TSP\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : GEO\n"
         "NODE_COORD_SECTION\n1 0 0\n2 1 1\nEOF\n", "EDGE_WEIGHT_TYPE"),
        ("NAME : x\nTYPE : TSP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\n"
         "NODE_COORD_SECTION\n1 0 0\n2 1 1\nEOF\n", "DIMENSION"),
        ("NAME : x\nTYPE : CVRP\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 1\n"
         "NODE_COORD_SECTION\n1 0 0\n2 1 1\nDEMAND_SECTION\n1 0\n2 5\nDEPOT_SECTION\n1\n-1\n"
         "EOF\n", "capacity"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path: Path, text: str, reason: str) -> None:
    bad = tmp_path / "bad.vrp"
    bad.write_text(text)
    with pytest.raises(MissionError, match=reason):
        read_instance(bad)
    result = CliRunner().invoke(app, ["bench", "vrplib", str(bad), "--time-limit", "0.1"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and str(bad) in result.stderr


def test_missing_file_is_an_error_before_any_solving(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "vrplib", str(TSP), str(tmp_path / "no.vrp")])
    assert result.exit_code == 1 and "no such file" in result.stderr


def test_best_known_reads_the_last_cost_line(tmp_path: Path) -> None:
    inst = tmp_path / "a.vrp"
    assert best_known(inst) is None
    (tmp_path / "a.sol").write_text("Route #1: 2 3\nCost 10\nRoute #1: 3 2\nCost 9\n")
    assert best_known(inst) == 9


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    points=st.lists(st.tuples(st.integers(-1000, 1000), st.integers(-1000, 1000)),
                    min_size=2, max_size=12),
    capacity=st.integers(1, 50),
    data=st.data(),
)
def test_cvrp_files_round_trip(tmp_path: Path, points: list[tuple[int, int]], capacity: int,
                               data: st.DataObject) -> None:
    demands = [0] + [data.draw(st.integers(0, capacity)) for _ in points[1:]]
    lines = ["NAME : gen", "TYPE : CVRP", f"DIMENSION : {len(points)}",
             "EDGE_WEIGHT_TYPE : EUC_2D", f"CAPACITY : {capacity}", "NODE_COORD_SECTION"]
    lines += [f"{i} {x} {y}" for i, (x, y) in enumerate(points, 1)]
    lines += ["DEMAND_SECTION"] + [f"{i} {q}" for i, q in enumerate(demands, 1)]
    lines += ["DEPOT_SECTION", "1", "-1", "EOF"]
    path = tmp_path / "gen.vrp"
    path.write_text("\n".join(lines) + "\n")
    inst = read_instance(path)
    assert inst.demand == tuple(demands) and inst.capacity == capacity
    for i, (xa, ya) in enumerate(points):
        for j, (xb, yb) in enumerate(points):
            assert inst.distance[i, j] == int(math.hypot(xa - xb, ya - yb) + 0.5)


@pytest.mark.skipif(not SHARED_X.is_dir(), reason="../shared/bench/cvrp is absent")
def test_a_shared_x_instance_reads_and_solves_briefly() -> None:
    inst = read_instance(SHARED_X / "X-n101-k25.vrp")
    assert inst.best_known == 27591 and len(inst.node_ids) == 101
    result = bench_instance(inst, objective="distance", time_limit=1.0)
    assert result["feasible"]
    assert result["value"] == route_value(inst, result["routes"], "distance")
    assert result["gap_pct"] < 10
