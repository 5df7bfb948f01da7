"""``fleet map convert``: between every readable and writable format, errors in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.facility import load
from fleet.facility.formats import read_formats, write_formats

ROOT = Path(__file__).resolve().parents[2]
ROUNDTRIP = ROOT / "tests" / "data" / "maps" / "formats_roundtrip.yaml"
SHARED = ROOT.parent / "shared"

SUBT = "FROM,TO,LENGTH,NOTES\n3,4,12.5,\n4,5,8,chokepoint\n2,3,30,\n2,1,11,START\n"
PATROL = "3 40 40 0.5 0 0\n0 0 0 1 1 E 20\n1 20 0 2 0 W 20 2 N 20\n2 20 20 1 1 S 20\n"


def _convert(src: Path, dst: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["map", "convert", str(src), str(dst)])
    return result.exit_code, result.stdout, result.stderr


def test_formats_listed() -> None:
    assert read_formats() == [".csv", ".geojson", ".graph", ".yaml", ".yml"]
    assert write_formats() == [".geojson", ".yaml", ".yml"]


def test_yaml_to_geojson_and_back_is_the_same_site(tmp_path: Path) -> None:
    geo, back = tmp_path / "site.geojson", tmp_path / "back.yaml"
    code, out, err = _convert(ROUNDTRIP, geo)
    assert code == 0, err
    assert out.strip() == f"wrote {geo} (10 nodes, 12 edges)"
    code, _, err = _convert(geo, back)
    assert code == 0, err
    assert load(back) == load(ROUNDTRIP)


@pytest.mark.parametrize(("name", "text", "nodes"), [("mine.csv", SUBT, 5),
                                                      ("patrol.graph", PATROL, 3)])
@pytest.mark.parametrize("out", ["site.yaml", "site.geojson"])
def test_read_only_formats_convert_to_valid_maps(
    tmp_path: Path, name: str, text: str, nodes: int, out: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    code, _, err = _convert(tmp_path / name, tmp_path / out)
    assert code == 0, err
    fac = load(tmp_path / out)
    assert len(fac.nodes) == nodes
    result = CliRunner().invoke(app, ["map", "validate", str(tmp_path / out)])
    assert result.exit_code == 0, result.output


@pytest.mark.skipif(not (SHARED / "bench" / "mines").is_dir(), reason="../shared is absent")
def test_shared_subt_mine_converts(tmp_path: Path) -> None:
    src = SHARED / "bench" / "mines" / "subt_ex_edgelist.csv"
    code, out, err = _convert(src, tmp_path / "ex.yaml")
    assert code == 0, err
    assert "(43 nodes, 49 edges)" in out


@pytest.mark.parametrize(
    ("dst", "message"),
    [
        ("out.txt", "cannot write map format '.txt'; writable: .geojson, .yaml, .yml"),
        ("out.graph", "cannot write map format '.graph'"),
        ("out", "cannot write map format '(no extension)'"),
    ],
)
def test_unwritable_extension_is_one_line_and_exit_1(
    tmp_path: Path, dst: str, message: str
) -> None:
    code, _, err = _convert(ROUNDTRIP, tmp_path / dst)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / dst}: ")
    assert message in lines[0]
    assert not (tmp_path / dst).exists()


def test_unreadable_extension_is_one_line_and_exit_1(tmp_path: Path) -> None:
    src = tmp_path / "site.txt"
    src.write_text("nodes: []\n", encoding="utf-8")
    code, _, err = _convert(src, tmp_path / "out.yaml")
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: {src}: unsupported map format '.txt'; "
        "readable: .csv, .geojson, .graph, .yaml, .yml"]


def test_broken_input_lists_its_problems_without_traceback(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("FROM,TO,LENGTH\n1,2,x\n2,3,-1\n", encoding="utf-8")
    code, _, err = _convert(src, tmp_path / "out.yaml")
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: {src}:2: LENGTH must be a number of metres, got 'x'",
        f"error: {src}:3: LENGTH must be a positive number of metres, got '-1'"]
    assert not (tmp_path / "out.yaml").exists()
