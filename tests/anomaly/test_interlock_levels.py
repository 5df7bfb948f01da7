"""Interlock levels at the places of a site (fleet.anomaly.limits): where the location type
comes from, the overrides per site, zone and point, the anomaly thresholds that follow,
and the problems found, one line each."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from fleet import yamldoc
from fleet.anomaly.limits import (
    LimitBook,
    interlock_at,
    map_book,
    map_overrides,
    read_overrides,
    site_problems,
)
from fleet.facility import load
from fleet.facility.fixed_sensors import fixed_sensors
from fleet.facility.model import Facility
from fleet.facility.protection import SiteKind
from fleet.interlock import (
    GENERAL_MINE_LEVELS,
    MINE_LEVELS,
    PLANT_LEVELS,
    Crossing,
    LocationType,
    crosses,
)
from fleet.limit_overrides import LimitOverrides
from fleet.sensors import Severity

from ..conftest import DATA

L = LocationType
W, A = Severity.WARNING, Severity.ALARM


@pytest.fixture(scope="module")
def mine() -> Facility:
    """tests/data/maps/monitored.yaml: face tagged coal-face, ret face-return, node a in
    the zone `intake` (location high-gas-intake), dock and drain without a type."""
    return load(DATA / "maps" / "monitored.yaml")


def with_limits(facility: Facility, limits: Any) -> Facility:
    return replace(facility, meta={**facility.meta, "limits": limits})


def mission(facility: Facility, limits: Any) -> LimitOverrides:
    overrides, problems = read_overrides(limits, facility=facility)
    assert problems == []
    return overrides


@pytest.mark.parametrize(("node", "mission_limits", "expected"), [
    ("face", None, L.COAL_FACE),                                    # its tag
    ("ret", None, L.FACE_RETURN),
    ("a", None, L.HIGH_GAS_INTAKE),                                 # its zone's location
    ("dock", None, None),                                           # the general rule
    ("face", {"points": {"face": {"location": "heading-face"}}}, L.HEADING_FACE),
    ("a", {"zones": {"intake": {"location": "main-return"}}}, L.MAIN_RETURN),
    ("dock", {"location": "gas-drainage-roadway"}, L.GAS_DRAINAGE_ROADWAY),
    ("face", {"location": "gas-drainage-roadway"}, L.COAL_FACE),   # a tag beats the site
    ("a", {"location": "gas-drainage-roadway"}, L.HIGH_GAS_INTAKE),  # so does a zone
], ids=lambda v: str(v) if not isinstance(v, dict) else "mission")
def test_where_a_nodes_location_type_comes_from(mine: Facility, node: str,
                                                mission_limits: Any,
                                                expected: LocationType | None) -> None:
    book = LimitBook(mine, map_overrides(mine)[0], mission(mine, mission_limits))
    assert book.location(node) is expected
    levels = book.interlock(node, "ch4")
    assert levels == (MINE_LEVELS[expected] if expected else GENERAL_MINE_LEVELS)


def test_zones_that_disagree_give_the_strictest(mine: Facility) -> None:
    fac = replace(mine, zones=(*mine.zones, replace(mine.zones[0], id="wide")))
    fac = with_limits(fac, {"zones": {"intake": {"location": "gas-drainage-roadway"},
                                      "wide": {"location": "face-return"}}})
    assert LimitBook(fac, map_overrides(fac)[0]).location("a") is L.FACE_RETURN


def test_fixed_sensors_take_their_own_location_then_their_nodes(mine: Facility) -> None:
    book, problems = map_book(mine)
    assert problems == []
    places = {s.id: book.at_sensor(s) for s in fixed_sensors(mine)}
    assert places["T-DRAIN"].location is L.GAS_DRAINAGE_ROADWAY   # its own, not drain's
    assert places["T-FACE"].location is L.COAL_FACE
    assert places["T-INTAKE"].location is L.HIGH_GAS_INTAKE
    assert "ch4" not in places["T-CO"].interlocks or places["T-CO"].location is None


def test_anomaly_thresholds_follow_the_location(mine: Facility) -> None:
    book = LimitBook(mine, map_overrides(mine)[0])
    assert {s: book.at("ret")["ch4"].above[s] for s in (W, A)} == {W: 1.0, A: 1.0}
    assert {s: book.at("face")["ch4"].above[s] for s in (W, A)} == {W: 1.0, A: 1.5}
    assert {s: book.at("a")["ch4"].above[s] for s in (W, A)} == {W: 0.5, A: 0.5}
    assert book.at("dock")["ch4"] is book.at("dock")["ch4"]  # cached
    assert book.at("dock")["ch4"].sources == LimitBook().at("p")["ch4"].sources
    assert any("location face-return" in s for s in book.at("ret")["ch4"].sources)


def test_interlock_overrides_layer_per_site_zone_and_point(mine: Facility) -> None:
    fac = with_limits(mine, {"ch4": {"interlock": {"alarm": 0.8, "restore": 0.8}},
                             "zones": {"intake": {"location": "high-gas-intake",
                                                  "ch4": {"interlock": {"restore": 0.4}}}},
                             "points": {"T-FACE": {"ch4": {"unit": "ppm",
                                                           "interlock": {"power_off": 12000}}}}})
    book = LimitBook(fac, map_overrides(fac)[0],
                     mission(fac, {"points": {"face": {"ch4": {"interlock": {"alarm": 0.9}}}}}))
    face = book.interlock("face", "ch4")
    assert face is not None and (face.alarm, face.power_off, face.restore) == (0.9, 1.5, 0.8)
    assert face.sources[1:] == ("map site", "point face (mission)")
    # the anomaly thresholds moved with the levels, layer by layer
    assert book.at("face")["ch4"].above[W] == 0.9 and book.at("face")["ch4"].above[A] == 1.5
    # in the high-gas intake (0.5 / 0.5 / 0.5) the site's alarm 0.8 cannot apply: the zone's
    # restore applies on the intake's levels, and the site layer is a problem there
    a = book.place("a")
    assert (a.interlocks["ch4"].alarm, a.interlocks["ch4"].power_off,
            a.interlocks["ch4"].restore) == (0.5, 0.5, 0.4)
    assert a.problems == ("map site: ch4 interlock alarm 0.8 is above power_off 0.5 %vol",)
    sensor = next(s for s in fixed_sensors(fac) if s.id == "T-FACE")
    at_sensor = book.at_sensor(sensor).interlocks["ch4"]
    # its node's overrides (the mission's alarm 0.9 at face), then its own (ppm)
    assert at_sensor.unit == "ppm" and (at_sensor.alarm, at_sensor.power_off) == (
        9000.0, 12000.0)
    assert crosses(at_sensor, 1.25, "%vol") is Crossing.POWER_OFF


def test_an_explicit_threshold_beats_the_interlocks_in_the_same_override(
        mine: Facility) -> None:
    fac = with_limits(mine, {"ch4": {"alarm": 2.0, "interlock": {"power_off": 1.2}}})
    book = LimitBook(fac, map_overrides(fac)[0])
    assert book.at("dock")["ch4"].above[A] == 2.0
    assert book.interlock("dock", "ch4").power_off == 1.2  # type: ignore[union-attr]


def test_removing_limits_keeps_the_interlock_and_null_removes_it(mine: Facility) -> None:
    fac = with_limits(mine, {"ch4": None, "points": {"face": {"ch4": {"interlock": None}}}})
    book = LimitBook(fac, map_overrides(fac)[0])
    assert "ch4" not in book.at("ret") and book.interlock("ret", "ch4") is not None
    assert book.interlock("face", "ch4") is None


def test_a_sensor_without_defaults_gets_levels_only_when_given_all(mine: Facility) -> None:
    fac = with_limits(mine, {"h2s": {"interlock": {"alarm": 6.6, "power_off": 13.2,
                                                   "restore": 6.0}}})
    levels = LimitBook(fac, map_overrides(fac)[0]).interlock("dock", "h2s")
    assert levels is not None and levels.unit == "ppm" and levels.power_off == 13.2
    assert LimitBook(mine).at("dock")["h2s"].above[A] == 6.6
    assert LimitBook(fac, map_overrides(fac)[0]).at("dock")["h2s"].above[A] == 13.2


def test_interlock_at_is_the_pure_entry_point(mine: Facility) -> None:
    overrides, _ = map_overrides(mine)
    assert interlock_at(mine, "ret", "ch4", overrides) == MINE_LEVELS[L.FACE_RETURN]
    assert interlock_at(mine, "ret", "co", overrides) is None
    assert interlock_at(None, "anywhere", "ch4") == GENERAL_MINE_LEVELS
    plant = replace(mine, meta={}, kind=SiteKind.CHEMICAL_PLANT)
    assert interlock_at(plant, "face", "ch4") is None
    assert interlock_at(plant, "face", "lel") == PLANT_LEVELS


@pytest.mark.parametrize(("limits", "message"), [
    ({"ch4": {"interlock": {"restore": 2.0, "power_off": 1.5}}},
     "restore 2 is above power-off 1.5"),
    ({"ch4": {"interlock": {"alarm": 1.6, "power_off": 1.5}}}, "alarm 1.6 is above power-off"),
    ({"ch4": {"interlock": {"alarm": "high"}}}, "alarm must be a number >= 0"),
    ({"ch4": {"interlock": {"trip": 1.0}}}, "interlock must be a mapping of alarm"),
    ({"h2s": {"interlock": {"alarm": 5}}}, "'h2s' has no default interlock levels"),
    ({"location": "face"}, "unknown location type 'face'"),
    ({"zones": {"intake": {"location": 3}}}, "unknown location type 3"),
])
def test_override_problems_are_one_line_each(mine: Facility, limits: Any,
                                             message: str) -> None:
    _, problems = read_overrides(limits, file="m.yaml", facility=mine)
    assert len(problems) == 1 and message in problems[0].reason, problems
    assert "\n" not in str(problems[0]) and str(problems[0]).startswith("m.yaml")


def test_problems_where_layers_meet_name_the_first_place(mine: Facility) -> None:
    fac = with_limits(mine, {"ch4": {"interlock": {"alarm": 1.2}}})
    problems = site_problems(fac, file="mine.yaml")
    # a face return cuts power at 1.0, a drainage roadway restores only below 2.5: an alarm
    # at 1.2 cannot apply at either
    assert [str(p) for p in problems] == [
        "mine.yaml: site.meta.limits: node ret: map site: ch4 interlock alarm 1.2 is above "
        "power_off 1 %vol",
        "mine.yaml: site.meta.limits: fixed sensor T-DRAIN: map site: ch4 interlock restore "
        "2.5 is above alarm 1.2 %vol"]
    book = LimitBook(fac, map_overrides(fac)[0])
    assert book.interlock("ret", "ch4") == MINE_LEVELS[L.FACE_RETURN]  # kept below
    assert book.interlock("dock", "ch4").alarm == 1.2  # type: ignore[union-attr]
    assert site_problems(mine) == []


def test_yaml_problems_carry_their_line(mine: Facility) -> None:
    raw = yamldoc.parse("ch4:\n  interlock: {restore: 2.0, power_off: 1.5}\n", file="x.yaml")
    _, problems = read_overrides(raw, file="x.yaml", facility=mine)
    assert [p.line for p in problems] == [2]
