"""``fleet bench replan``: events on a small generated mine, the command and its errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fleet.cli.main import app


def test_cli_bench_replan_small() -> None:
    result = CliRunner().invoke(app, ["bench", "replan", "--robots", "6", "--points", "30",
                                      "--nodes", "800", "--events", "3", "--full-limit", "5",
                                      "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert not data["errors"]
    rows = data["rows"]
    assert {r["kind"] for r in rows} <= {"lost", "closure", "joined"} and rows
    for r in rows:
        # orders only to robots whose round changed, none to robots outside the re-plan
        assert r["orders_unchanged"] == 0 and r["untouched_changed"] == 0
        assert len(r["orders"]) == r["changed"] <= r["candidates"]
        assert 0 < r["replan_s"] <= r["latency_s"]
        assert r["makespan_ratio"] > 0
    assert data["latency_p50_s"] <= data["latency_p99_s"] <= data["latency_max_s"]
    joined = [r for r in rows if r["kind"] == "joined"]
    assert all(r["changed"] >= 1 for r in joined)  # the new robot took a share


def test_cli_bench_replan_text_and_bad_sizes() -> None:
    result = CliRunner().invoke(app, ["bench", "replan", "--robots", "4", "--points", "20",
                                      "--nodes", "600", "--events", "1", "--full-limit", "2"])
    assert result.exit_code == 0, result.output
    assert "event to orders p50" in result.output
    bad = CliRunner().invoke(app, ["bench", "replan", "--points", "5000", "--nodes", "500"])
    assert bad.exit_code == 2
    assert "error:" in bad.output and "Traceback" not in bad.output
