"""``fleet samples``: listing, copying out, and sample names where files are taken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet import samples
from fleet.cli.main import app
from fleet.planning.mission import load_mission
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]



def test_every_sample_file_of_the_repository_is_listed_once() -> None:
    result = CliRunner().invoke(app, ["samples", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    on_disk = sorted(str(p.relative_to(ROOT)) for d in samples.DIRS
                     for p in (ROOT / d).glob("*.yaml"))
    assert sorted(s["file"] for s in listed) == on_disk
    assert len({s["name"] for s in listed}) == len(listed)
    kinds = {s["name"]: s["kind"] for s in listed}
    assert kinds["coal-mine"] == "map"
    assert kinds["coal-mine-gas-patrol"] == "mission"
    assert kinds["coal-mine-fleet"] == "fleet"
    assert kinds["demo-coal-mine"] == "scenario"
    assert all(s["description"] for s in listed)


def test_the_listing_is_one_aligned_line_per_sample() -> None:
    result = CliRunner().invoke(app, ["samples"])
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["name", "kind", "file", "description"]
    assert len(lines) == len(samples.catalogue())
    column = header.index("file")
    assert all(line[column:].startswith(("maps/", "missions/", "sim/")) for line in lines)


def test_copying_a_site_brings_its_missions_fleets_and_scenarios(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["samples", "copy", "coal-mine", str(tmp_path)])
    assert result.exit_code == 0, result.output
    copied = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.yaml"))
    assert "maps/coal_mine.yaml" in copied
    assert "missions/coal_mine_gas_patrol.yaml" in copied
    assert "missions/demo_coal_mine_fleet.yaml" in copied
    assert "sim/scenarios/demo_coal_mine.yaml" in copied
    assert not any("chemical" in f for f in copied)
    assert result.stdout.count("wrote ") == len(copied)
    # the copies work from there: their relative paths point at each other
    mission = load_mission(tmp_path / "missions" / "coal_mine_gas_patrol.yaml")
    assert mission.map_path == (tmp_path / "maps" / "coal_mine.yaml").resolve()
    scenario = load_scenario(tmp_path / "sim" / "scenarios" / "demo_coal_mine.yaml")
    assert scenario.fleet_path is not None
    assert scenario.fleet_path.resolve() == (tmp_path / "missions" /
                                             "demo_coal_mine_fleet.yaml").resolve()


def test_copying_a_mission_brings_its_map_and_fleet_only(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["samples", "copy", "chemical-plant-leak-round",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.yaml")) == [
        "maps/chemical_plant.yaml", "missions/chemical_plant_fleet.yaml",
        "missions/chemical_plant_leak_round.yaml"]


def test_existing_files_are_kept_and_named_unless_forced(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["samples", "copy", "coal-mine-gas-patrol",
                                    str(tmp_path)]).exit_code == 0
    mine = tmp_path / "maps" / "coal_mine.yaml"
    mine.write_text("# my own edits\n")
    again = CliRunner().invoke(app, ["samples", "copy", "coal-mine-gas-patrol", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert mine.read_text() == "# my own edits\n"
    assert f"kept {mine}" in again.stderr and "--force" in again.stderr
    assert "unchanged" in again.stdout and "wrote" not in again.stdout
    forced = CliRunner().invoke(app, ["samples", "copy", "coal-mine-gas-patrol",
                                      str(tmp_path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert f"wrote {mine}" in forced.stdout
    assert mine.read_bytes() == (ROOT / "maps" / "coal_mine.yaml").read_bytes()


def test_an_unknown_sample_is_a_one_line_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["samples", "copy", "gold-mine", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: no sample 'gold-mine'; `fleet samples` lists them"]
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("mission", ["coal-mine-gas-patrol", "missions/coal_mine_gas_patrol.yaml"])
def test_plan_takes_a_sample_name_from_anywhere(mission: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["plan", mission, "--time-limit", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verified"] is True


def test_a_missing_file_that_is_no_sample_stays_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "nope.yaml" in result.stderr
