"""``fleet map blocks`` and the block counts of ``fleet map info``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.facility.formats import load

DATA = Path(__file__).resolve().parents[1] / "data" / "maps"
TINY = DATA / "tiny.yaml"
MINE = Path(__file__).resolve().parents[2] / "maps" / "coal_mine.yaml"


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, ["map", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_blocks_json_has_the_documented_shape() -> None:
    rows = json.loads(_run("blocks", str(TINY), "--json"))
    assert rows == [{"id": "a~p1", "ends": ["a", "p1"], "length_m": 20.0, "edges": 1,
                     "inside": 0}]


def test_blocks_of_the_sample_mine_cover_its_single_lane_edges() -> None:
    fac = load(MINE)
    rows = json.loads(_run("blocks", str(MINE), "--json"))
    assert [r["id"] for r in rows] == [b.id for b in fac.layout.blocks]
    assert sum(r["edges"] for r in rows) == sum(1 for e in fac.edges if e.single_lane)
    assert all(r["ends"] for r in rows)


def test_blocks_table_lists_the_longest_first() -> None:
    lines = _run("blocks", str(MINE)).splitlines()
    assert lines[0].split() == ["block", "ends", "length", "m", "edges", "inside"]
    lengths = [float(line.split()[-3]) for line in lines[1:]]
    assert lengths == sorted(lengths, reverse=True) and len(lengths) > 10


def test_a_map_without_single_lane_edges_says_so(tmp_path: Path) -> None:
    text = TINY.read_text(encoding="utf-8").replace(", single_lane: true", "")
    (tmp_path / "wide.yaml").write_text(text, encoding="utf-8")
    assert _run("blocks", str(tmp_path / "wide.yaml")).strip() == "no single-lane blocks"
    info = json.loads(_run("info", str(tmp_path / "wide.yaml"), "--json"))
    assert (info["blocks"], info["longest_block_m"], info["passing_bays"]) == (0, None, [])


def test_info_counts_blocks_and_passing_bays() -> None:
    fac = load(MINE)
    info = json.loads(_run("info", str(MINE), "--json"))
    assert info["blocks"] == len(fac.layout.blocks)
    assert info["passing_bays"] == fac.layout.passing_bays()
    longest = fac.layout.longest_block()
    assert longest is not None and info["longest_block_m"] == round(longest.length_m, 1)
    table = _run("info", str(TINY))
    assert "single-lane blocks" in table and "1 (longest 20.0 m)" in table
    assert "passing bays" in table


def test_blocks_of_a_bad_map_is_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text(encoding="utf-8").replace(
        "{id: a, x: 20, y: 0, level: L1}", "{id: a, x: 20, y: 0, level: L1, capacity: 0}"),
        encoding="utf-8")
    result = CliRunner().invoke(app, ["map", "blocks", str(bad)])
    assert result.exit_code == 1
    assert "node a: capacity must be a positive integer, got 0" in result.output
