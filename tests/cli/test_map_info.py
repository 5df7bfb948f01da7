"""``fleet map info``: the documented JSON shape on a small site."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fleet.cli.main import app

TINY = Path(__file__).resolve().parents[1] / "data" / "maps" / "tiny.yaml"


def test_info_json_counts_and_lists() -> None:
    result = CliRunner().invoke(app, ["map", "info", str(TINY), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["nodes"] == 7
    assert info["edges"] == 6
    assert [lv["id"] for lv in info["levels"]] == ["L1", "L2"]
    assert info["inspection_points"] == ["p1", "p2"]
    assert info["chargers"] == ["dock"]
    assert info["refuges"] == ["ref"]
    assert {"id": "dead", "kind": "comms_dead", "level": "L2"} in info["zones"]
    assert {"id": "face-gas", "kind": "gas_hazard", "level": "L1", "atex_zone": 1} in info[
        "zones"
    ]


def test_info_table_mentions_site() -> None:
    result = CliRunner().invoke(app, ["map", "info", str(TINY)])
    assert result.exit_code == 0, result.output
    assert "Tiny test mine" in result.stdout
    assert "p1, p2" in result.stdout


def test_bad_log_level_is_usage_error() -> None:
    result = CliRunner().invoke(app, ["--log-level", "loud", "map", "info", str(TINY)])
    assert result.exit_code == 2
    assert "unknown log level" in result.output
