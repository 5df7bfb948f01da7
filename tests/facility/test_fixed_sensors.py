"""Fixed sensors in the map (site.meta.sensors): read, placed, and every problem reported
in one line."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fleet import yamldoc
from fleet.cli.main import app
from fleet.errors import MapError
from fleet.facility import load
from fleet.facility.fixed_sensors import fixed_sensors, read_fixed_sensors
from fleet.facility.model import Facility
from fleet.interlock import LocationType

from ..conftest import DATA

MAP = DATA / "maps" / "monitored.yaml"


@pytest.fixture(scope="module")
def mine() -> Facility:
    return load(MAP)


def with_sensors(facility: Facility, sensors: Any) -> Facility:
    return replace(facility, meta={**facility.meta, "sensors": sensors})


def test_the_sample_sensors_are_read_and_placed(mine: Facility) -> None:
    sensors = {s.id: s for s in fixed_sensors(mine)}
    assert list(sensors) == ["T-FACE", "T-RET", "T-INTAKE", "T-DRAIN", "T-CO"]
    assert sensors["T-FACE"].node == "face" and sensors["T-FACE"].name == "Face methane sensor"
    assert sensors["T-FACE"].unit == "%vol" and sensors["T-CO"].unit == "ppm"
    assert sensors["T-INTAKE"].zones == ("intake",)
    drain = sensors["T-DRAIN"]
    assert drain.node == "drain" and drain.position == (58.0, 21.0, "L1")  # nearest node
    assert drain.location is LocationType.GAS_DRAINAGE_ROADWAY
    assert drain.to_json()["position"] == {"x": 58.0, "y": 21.0, "level": "L1"}


def test_a_map_without_sensors_has_none(mine: Facility) -> None:
    assert read_fixed_sensors(replace(mine, meta={})) == ((), [])


@pytest.mark.parametrize(("entry", "message"), [
    ({"id": "X", "sensor": "ch4", "node": "nowhere"}, "unknown node 'nowhere'"),
    ({"id": "X", "sensor": "methane", "node": "a"}, "unknown sensor 'methane'"),
    ({"id": "X", "sensor": "ch4"}, "give either node or position"),
    ({"id": "X", "sensor": "ch4", "node": "a", "position": {"x": 1, "y": 2}},
     "give either node or position"),
    ({"id": "X", "sensor": "ch4", "position": {"x": 1, "y": 2, "level": "L9"}},
     "unknown level 'L9'"),
    ({"id": "X", "sensor": "ch4", "position": {"x": "far", "y": 2}}, "must be numbers"),
    ({"id": "a", "sensor": "ch4", "node": "a"}, "id 'a' is also a node's"),
    ({"id": "T/1", "sensor": "ch4", "node": "a"}, "one Zenoh key chunk"),
    ({"sensor": "ch4", "node": "a"}, "needs an id"),
    ({"id": "X", "sensor": "ch4", "node": "a", "where": "here"}, "unknown field 'where'"),
    ({"id": "X", "sensor": "ch4", "node": "a", "location": "face"},
     "unknown location type 'face'"),
    ({"id": "X", "sensor": "ch4", "node": "a", "unit": "%LEL"}, "does not convert to %vol"),
    ("T-9", "must be a mapping"),
])
def test_each_problem_is_one_line(mine: Facility, entry: Any, message: str) -> None:
    found, problems = read_fixed_sensors(with_sensors(mine, [entry]), file="m.yaml")
    assert found == ()
    assert len(problems) == 1 and message in problems[0].reason, problems
    assert "\n" not in str(problems[0]) and str(problems[0]).startswith("m.yaml")


def test_duplicates_and_a_list_that_is_not_one(mine: Facility) -> None:
    twice = [{"id": "X", "sensor": "ch4", "node": "a"},
             {"id": "X", "sensor": "co", "node": "dock"}]
    found, problems = read_fixed_sensors(with_sensors(mine, twice))
    assert [s.sensor for s in found] == ["ch4"]
    assert [p.reason for p in problems] == ["duplicate fixed sensor id 'X'"]
    with pytest.raises(MapError, match="must be a list of fixed sensors"):
        fixed_sensors(with_sensors(mine, {"X": "ch4"}))


def test_problems_carry_their_yaml_line(mine: Facility) -> None:
    raw = yamldoc.parse("- {id: A1, sensor: ch4, node: a}\n- {id: A2, sensor: ch4, node: zz}\n",
                        file="m.yaml")
    _, problems = read_fixed_sensors(with_sensors(mine, raw), file="m.yaml")
    assert [(p.line, p.element) for p in problems] == [(2, "sensor A2")]


def test_fleet_map_validate_reports_sensor_and_interlock_problems(tmp_path: Any) -> None:
    text = MAP.read_text(encoding="utf-8").replace("node: ret}", "node: gone}").replace(
        "intake: {location: high-gas-intake}", "intake: {location: high-gas-intake, "
        "ch4: {interlock: {alarm: 0.8}}}")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["map", "validate", str(MAP), str(broken)])
    assert result.exit_code == 1
    assert f"{MAP}: ok" in result.output
    errors = [line for line in result.output.splitlines() if str(broken) in line]
    assert any("sensor T-RET: unknown node 'gone'" in line for line in errors), errors
    assert any("zone intake (map): ch4 interlock alarm 0.8 is above power_off 0.5" in line
               for line in errors), errors


_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.floats(),
                    st.text(max_size=8), st.sampled_from(["ch4", "co", "a", "face", "L1",
                                                          "coal-face", "ppm"]))


@given(st.lists(st.one_of(_values, st.dictionaries(
    st.sampled_from(["id", "sensor", "node", "position", "location", "unit", "name", "x"]),
    st.one_of(_values, st.dictionaries(st.sampled_from(["x", "y", "level", "z"]), _values)),
    max_size=6)), max_size=4))
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_reader_never_raises_and_keeps_only_sound_sensors(mine: Facility,
                                                              raw: list[Any]) -> None:
    found, problems = read_fixed_sensors(with_sensors(mine, raw))
    assert len(found) + len(problems) >= len(raw)  # each entry: a sensor or a problem
    for s in found:
        assert s.node in mine.nodes and s.id not in mine.nodes
    assert all("\n" not in str(p) for p in problems)
