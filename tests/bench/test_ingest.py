"""The ingestion benchmark: its report, and (slow) the 5,000 results/s requirement."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.bench.ingest import bench_ingest, make_results
from fleet.protocol.keys import Topic
from fleet.protocol.validation import validate


def test_bench_reports_its_figures(tmp_path: Path) -> None:
    report = bench_ingest(300, 100, repeats=2, directory=tmp_path)
    assert report["backend"] == "sqlite" and report["synchronous"] == "FULL"
    assert (report["results"], report["batch"], report["repeats"]) == (300, 100, 2)
    assert len(report["runs_results_per_s"]) == 2
    assert min(report["runs_results_per_s"]) <= report["results_per_s"] <= max(
        report["runs_results_per_s"])
    assert 0 < report["batch_ms_median"] <= report["batch_ms_max"]
    assert list(tmp_path.iterdir()) == []  # each run's database is removed


def test_bench_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        bench_ingest(0, 10)


def test_synthetic_results_are_valid_messages() -> None:
    results = make_results(12, seed=3)
    for r in results:
        validate(Topic.INSPECTION, r)
    assert len({r["resultId"] for r in results}) == 12
    assert make_results(3, seed=3) == results[:3]  # reproducible


@pytest.mark.slow
def test_sqlite_ingests_at_least_5000_results_per_second(tmp_path: Path) -> None:
    report = bench_ingest(20_000, 500, repeats=3, directory=tmp_path)
    assert report["results_per_s"] >= 5000, report


def test_bench_with_rules_reports_their_share(tmp_path: Path) -> None:
    report = bench_ingest(300, 100, repeats=1, directory=tmp_path, rules=True)
    assert report["rules"] is True
    assert 0 < report["rules_ms_median"] < report["batch_ms_max"]
    assert bench_ingest(100, 100, repeats=1, directory=tmp_path)["rules_ms_median"] is None


@pytest.mark.slow
def test_sqlite_ingests_at_least_5000_results_per_second_with_anomaly_rules(
        tmp_path: Path) -> None:
    report = bench_ingest(20_000, 500, repeats=3, directory=tmp_path, rules=True)
    assert report["results_per_s"] >= 5000, report


def test_fleet_bench_ingest_command() -> None:
    import json

    from typer.testing import CliRunner

    from fleet.cli.main import app

    result = CliRunner().invoke(app, ["bench", "ingest", "--results", "200", "--batch", "50",
                                      "--repeats", "1", "--rules", "--json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert (r["results"], r["batch"], r["rules"]) == (200, 50, True)
    assert r["results_per_s"] > 0 and r["rules_ms_median"] is not None
