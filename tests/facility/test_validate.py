"""Validation: every listed problem is found, located and explained in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.errors import MapError
from fleet.facility import load
from fleet.facility.model import Edge, Level, Node, NodeKind, build_facility

BROKEN = Path(__file__).resolve().parents[1] / "data" / "maps" / "broken"
TINY = Path(__file__).resolve().parents[1] / "data" / "maps" / "tiny.yaml"

# file -> (line, element, words the reason must contain)
EXPECTED = {
    "dangling_edge.yaml": [(7, "edge p1-ghost", "dangling edge")],
    "duplicate_id.yaml": [(5, "node p1", "duplicate node id")],
    "unreachable_point.yaml": [(5, "node island", "unreachable inspection point")],
    "no_charger.yaml": [(None, None, "no charger")],
    "self_intersecting_polygon.yaml": [(8, "zone bowtie", "Self-intersection")],
    "invalid_polygon.yaml": [(8, "zone line", "at least 3 points")],
    "non_positive_length.yaml": [
        (7, "edge dock-p1", "non-positive length"),
        (9, "edge p1-p2", "nodes coincide"),
    ],
    "level_without_nodes.yaml": [(4, "level L2", "level without nodes")],
    "corridor_between_levels.yaml": [(9, "edge dock-p1", "shaft, ramp or lift")],
    "inspection_in_no_go.yaml": [(4, "node p1", "inside a no-go zone")],
    "not_yaml.yaml": [(2, None, "not valid YAML")],
    "bad_fields.yaml": [
        (4, "node p1", "x must be a number"),
        (5, "node p2", "unknown field 'colour'"),
        (5, "node p2", "unknown kind 'pump'"),
        (7, "edge dock-p2", "single_lane must be true or false"),
        (9, "zone g", "atex_zone 0, 1 or 2, got 3"),
    ],
}


def test_every_broken_file_is_covered() -> None:
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_problem_is_located_and_explained(name: str) -> None:
    with pytest.raises(MapError) as info:
        load(BROKEN / name)
    found = [(p.line, p.element, p.reason) for p in info.value.problems]
    for line, element, words in EXPECTED[name]:
        assert any(
            pl == line and pe == element and words in reason for pl, pe, reason in found
        ), f"{name}: expected {(line, element, words)} in {found}"
    assert all(p.file == str(BROKEN / name) for p in info.value.problems)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_validate_prints_one_line_per_problem_and_exits_1(name: str) -> None:
    result = CliRunner().invoke(app, ["map", "validate", str(BROKEN / name)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= len(EXPECTED[name])
    assert all(line.startswith(f"error: {BROKEN / name}") for line in lines)
    assert "Traceback" not in result.output


def test_valid_map_passes() -> None:
    result = CliRunner().invoke(app, ["map", "validate", str(TINY)])
    assert result.exit_code == 0, result.output
    assert "ok (7 nodes, 6 edges, 2 inspection points)" in result.stdout


def test_missing_file_is_one_line() -> None:
    result = CliRunner().invoke(app, ["map", "validate", "does/not/exist.yaml"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: does/not/exist.yaml: no such file"


def test_unsupported_extension(tmp_path: Path) -> None:
    (tmp_path / "site.txt").write_text("nodes: []\n")
    result = CliRunner().invoke(app, ["map", "info", str(tmp_path / "site.txt")])
    assert result.exit_code == 1
    assert "unsupported map format '.txt'" in result.stderr


def test_geometric_length_unless_given() -> None:
    fac = load(TINY)
    assert fac.edge_between("dock", "a") is not None
    dock_a = fac.edge_between("dock", "a")
    assert dock_a is not None and dock_a.length == pytest.approx(20.0)
    shaft = fac.edge_between("top", "bottom")
    assert shaft is not None and shaft.length == 60.0 and shaft.length_given


def test_build_facility_checks_typed_parts() -> None:
    with pytest.raises(MapError, match="duplicate node id 'a'"):
        build_facility(
            name="x",
            levels=[Level("0")],
            nodes=[Node("a", 0, 0, kind=NodeKind.DOCK), Node("a", 1, 0)],
            edges=[],
        )
    fac = build_facility(
        name="x",
        levels=[Level("0")],
        nodes=[Node("a", 0, 0, kind=NodeKind.DOCK), Node("b", 3, 4)],
        edges=[Edge("a", "b", 5.0)],
    )
    assert fac.graph.has_edge("b", "a")
