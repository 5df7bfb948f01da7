"""Map pictures: SVG and PNG for the sample sites, routes, level filter, errors, CLI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.errors import MapError
from fleet.facility import formats
from fleet.facility.model import Facility
from fleet.facility.render import render_facility

ROOT = Path(__file__).resolve().parents[2]
MINE = ROOT / "maps" / "coal_mine.yaml"
PLANT = ROOT / "maps" / "chemical_plant.yaml"
TINY = ROOT / "tests" / "data" / "maps" / "tiny.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def svg_texts(path: Path) -> list[str]:
    """Every text string of an SVG file (it must parse as XML)."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return ["".join(el.itertext()) for el in root.iter() if el.tag.endswith("text")]


@pytest.fixture(scope="module")
def mine() -> Facility:
    return formats.load(MINE)


@pytest.fixture(scope="module")
def plant() -> Facility:
    return formats.load(PLANT)


@pytest.fixture(scope="module")
def mine_route(mine: Facility) -> dict[str, list[str]]:
    """A real drivable path: dock 1 along the main haulage road to the shaft top."""
    road = [n for n in mine.nodes if n.startswith("mh-")]
    return {"ex-robot-1": ["dock-01", "garage", "pb-03", "pb-04", "pb-05", "pb-06", "pb-01",
                           *road, "is-top", "is-bot", "sb-station"],
            "crawler-2": ["chg-03", "sb-station", "di-dock", "dock-03"]}


@pytest.fixture(scope="module")
def svgs(mine: Facility, plant: Facility,
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[str]]]:
    """Each sample drawn once as SVG: the file and its text strings."""
    folder = tmp_path_factory.mktemp("svg")
    drawn = {}
    for which, fac in (("mine", mine), ("plant", plant)):
        out = folder / f"{which}.svg"
        render_facility(fac, out)
        drawn[which] = (out, svg_texts(out))
    return drawn


@pytest.mark.parametrize("which", ["mine", "plant"])
def test_svg_of_sample_names_site_and_points(
    which: str, request: pytest.FixtureRequest, svgs: dict[str, tuple[Path, list[str]]]
) -> None:
    fac: Facility = request.getfixturevalue(which)
    out, texts = svgs[which]
    assert out.stat().st_size > 30_000
    assert fac.name in texts
    labelled = set(fac.inspection_points) & set(texts)
    # labels are dropped only where they would overlap: most points are named
    assert len(labelled) >= 0.8 * len(fac.inspection_points)
    for lv in fac.levels.values():
        assert any(lv.name in t and lv.id in t for t in texts if lv.name)
    assert "Legend" in texts


def test_svg_of_mine_shows_hazards_and_corridor_kinds(
    svgs: dict[str, tuple[Path, list[str]]]
) -> None:
    texts = svgs["mine"][1]
    for expected in ("Ma only (goaf-edge)", "No 5G", "≤ 0.5 m/s", "No-go",
                     "Ma-only (group I)", "5G dead zone", "Speed limit",
                     "Single-lane entry", "Corridor / road", "Closed", "One-way",
                     "Charger", "Dock", "Refuge", "Landing (shaft/ramp/lift)",
                     "Passing bay", "×3", "×N  room for N robots"):
        assert any(expected in t for t in texts), expected
    # a landing names the level it leads to, with the shaft's length
    assert any("▼ L-420 (shaft 320 m)" in t for t in texts)
    assert any("▲ L-350 (shaft 320 m)" in t for t in texts)
    assert any(t.endswith(" m") and t[:-2].isdigit() for t in texts)  # scale bar


def test_svg_of_plant_shows_all_three_atex_zones(
    svgs: dict[str, tuple[Path, list[str]]]
) -> None:
    texts = svgs["plant"][1]
    for expected in ("ATEX zone 0", "ATEX zone 1", "ATEX zone 2", "Restricted",
                     "Restricted: stairs", "Zone 0 (naphtha)", "Zone 1 (h2s)", "One-way"):
        assert any(expected in t for t in texts), expected


def test_title_replaces_the_site_name(tmp_path: Path) -> None:
    out = tmp_path / "tiny.svg"
    render_facility(formats.load(TINY), out, title="Night round 3")
    texts = svg_texts(out)
    assert "Night round 3" in texts and "Tiny test mine" not in texts


@pytest.mark.parametrize("which", ["mine", "plant"])
def test_png_of_sample(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    fac: Facility = request.getfixturevalue(which)
    out = tmp_path / f"{which}.PNG"  # extension case does not matter
    render_facility(fac, out)
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert width >= 1200 and height >= 600
    assert len(data) > 50_000


def test_routes_are_drawn_with_a_legend(
    mine: Facility, mine_route: dict[str, list[str]], tmp_path: Path
) -> None:
    plain, routed = tmp_path / "plain.svg", tmp_path / "routed.svg"
    render_facility(mine, plain, level="L-420")
    render_facility(mine, routed, level="L-420", routes=mine_route)
    texts = svg_texts(routed)
    legend = [t for t in texts if t.startswith(("ex-robot-1 (", "crawler-2 ("))]
    assert len(legend) == 2
    assert any(t.startswith("crawler-2 (4 nodes, ") for t in legend)
    assert routed.stat().st_size > plain.stat().st_size


def test_level_filter_draws_only_that_level(mine: Facility, tmp_path: Path) -> None:
    out = tmp_path / "l420.svg"
    render_facility(mine, out, level="L-420")
    texts = svg_texts(out)
    assert any("Mining level -420 m" in t for t in texts)
    assert not any("Main level -350 m" in t for t in texts)
    assert "face-05" in texts
    assert "mh-roof-1" not in texts  # a point of level L-350


@pytest.mark.parametrize("name", ["map.jpg", "map.pdf", "map"])
def test_unsupported_extension_is_a_map_error(mine: Facility, tmp_path: Path,
                                              name: str) -> None:
    with pytest.raises(MapError, match="unsupported picture format") as info:
        render_facility(mine, tmp_path / name)
    suffix = Path(name).suffix or "(no extension)"
    assert suffix in str(info.value)
    assert not (tmp_path / name).exists()


def test_unknown_level_and_route_node_are_map_errors(mine: Facility, tmp_path: Path) -> None:
    with pytest.raises(MapError, match="unknown level 'L-999'"):
        render_facility(mine, tmp_path / "x.svg", level="L-999")
    with pytest.raises(MapError, match="unknown node 'nowhere'"):
        render_facility(mine, tmp_path / "x.svg", routes={"r1": ["dock-01", "nowhere"]})


def test_unwritable_target_is_a_map_error(tmp_path: Path) -> None:
    fac = formats.load(TINY)
    with pytest.raises(MapError, match="cannot write picture"):
        render_facility(fac, tmp_path / "missing-dir" / "tiny.svg")


def test_cli_render_svg_and_level(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "tiny.svg"
    result = runner.invoke(app, ["map", "render", str(TINY), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    assert "Tiny test mine" in svg_texts(out)

    lower = tmp_path / "lower.png"
    result = runner.invoke(app, ["map", "render", str(TINY), "--out", str(lower),
                                 "--level", "L2"])
    assert result.exit_code == 0, result.output
    assert lower.read_bytes()[:8] == PNG_MAGIC


def test_cli_render_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["map", "render", str(TINY), "-o", str(tmp_path / "x.gif")])
    assert result.exit_code == 1
    assert "unsupported picture format '.gif'" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["map", "render", str(TINY), "-o", str(tmp_path / "x.svg"),
                                 "--level", "nope"])
    assert result.exit_code == 1
    assert "unknown level 'nope'" in result.output


def _drift_with_bay(tmp_path: Path) -> Facility:
    """dock = w1 = bay = w2 = junction(capacity 3) = charger, all single-lane."""
    text = """
format: inspection-fleet-map/1
site: {name: Drift with a bay}
nodes:
  - {id: dock, x: 0, y: 0, kind: dock}
  - {id: w1, x: 60, y: 0}
  - {id: bay, x: 120, y: 0, tags: [passing-bay]}
  - {id: w2, x: 180, y: 0, kind: inspection}
  - {id: jn, x: 240, y: 0, capacity: 3}
  - {id: chg, x: 240, y: 60, kind: charger}
  - {id: end, x: 300, y: 0, kind: inspection}
edges:
  - {from: dock, to: w1, single_lane: true}
  - {from: w1, to: bay, single_lane: true}
  - {from: bay, to: w2, single_lane: true}
  - {from: w2, to: jn, single_lane: true}
  - {from: jn, to: chg, single_lane: true}
  - {from: jn, to: end, single_lane: true}
"""
    path = tmp_path / "bay.yaml"
    path.write_text(text, encoding="utf-8")
    return formats.load(path)


def test_passing_bays_and_large_capacities_are_drawn_and_explained(tmp_path: Path) -> None:
    fac = _drift_with_bay(tmp_path)
    assert fac.layout.passing_bays() == ["bay"] and fac.capacity("jn") == 3
    out = tmp_path / "bay.svg"
    render_facility(fac, out)
    texts = svg_texts(out)
    assert "Passing bay" in texts
    assert "×3" in texts and "×N  room for N robots" in texts
    assert "×2" not in texts  # a capacity of two is the usual room: not written


def test_no_bay_no_bay_legend(tmp_path: Path) -> None:
    out = tmp_path / "tiny.svg"
    render_facility(formats.load(TINY), out)
    texts = svg_texts(out)
    assert "Passing bay" not in texts and "×N  room for N robots" not in texts
