"""``fleet bench closure``: the figures of a small closure, the command and its errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fleet.bench.closure import benchmark_closure
from fleet.cli.main import app


def test_benchmark_closure_small() -> None:
    result = benchmark_closure(points=20, nodes=2000, repeats=2, seed=1)
    assert result["points"] == 20 and result["nodes"] == 2000 and result["repeats"] == 2
    assert 0 < result["min_s"] <= result["median_s"] <= result["max_s"]
    assert result["build_s"] > 0 and result["graph_nodes"] >= 20
    assert result["reachable_pairs"] > 0


def test_cli_bench_closure_json() -> None:
    result = CliRunner().invoke(app, ["bench", "closure", "--points", "20", "--nodes", "2000",
                                      "--repeats", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for key in ("points", "nodes", "repeats", "median_s", "min_s", "max_s", "build_s"):
        assert key in data
    assert data["points"] == 20 and data["nodes"] == 2000


def test_cli_bench_closure_too_many_points() -> None:
    result = CliRunner().invoke(app, ["bench", "closure", "--points", "5000", "--nodes", "500"])
    assert result.exit_code == 2
    assert "reachable waypoints" in result.output
