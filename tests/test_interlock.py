"""The interlock vocabulary (fleet.interlock): location types, the AQ1029 and GB/T
50493-2019 defaults with their sources, and the bands of a reading."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.interlock import (
    CHEMICAL_PLANT,
    COAL_MINE,
    GENERAL_MINE_LEVELS,
    MINE_LEVELS,
    PLANT_LEVELS,
    Crossing,
    InterlockLevels,
    LocationType,
    crosses,
    default_levels,
    location_of_tags,
    parse_location,
    site_kind,
    strictest,
)
from fleet.sensors import DEFAULT_LIMITS, Severity

L = LocationType

# (location, alarm, power off, restore below): AQ1029 as ../shared/reference quotes it
AQ1029 = [
    (L.COAL_FACE, 1.0, 1.5, 1.0),
    (L.FACE_RETURN, 1.0, 1.0, 1.0),
    (L.HEADING_FACE, 1.0, 1.5, 1.0),
    (L.HEADING_RETURN, 1.0, 1.0, 1.0),
    (L.HIGH_GAS_INTAKE, 0.5, 0.5, 0.5),
    (L.GAS_DRAINAGE_ROADWAY, 2.5, 2.5, 2.5),
    (L.MAIN_RETURN, 0.75, 1.0, 0.75),
]


@pytest.mark.parametrize(("location", "alarm", "power_off", "restore"), AQ1029,
                         ids=[row[0].value for row in AQ1029])
def test_mine_defaults_by_location_type(location: LocationType, alarm: float,
                                        power_off: float, restore: float) -> None:
    levels = default_levels("ch4", COAL_MINE, location)
    assert levels is MINE_LEVELS[location]
    assert (levels.sensor, levels.unit) == ("ch4", "%vol")
    assert (levels.alarm, levels.power_off, levels.restore) == (alarm, power_off, restore)
    assert levels.location is location and levels.site_kind == COAL_MINE
    assert levels.sources and all(len(s) > 40 for s in levels.sources)
    # a secondary source says so; the main return's invented part says it is not sourced
    assert "secondary" in levels.sources[0]
    if location is L.MAIN_RETURN:
        assert "not in the reference" in levels.sources[0]


def test_every_location_type_has_defaults() -> None:
    assert set(MINE_LEVELS) == set(LocationType)


def test_general_rules_match_the_default_anomaly_limits() -> None:
    # a node without a location type keeps today's anomaly thresholds
    ch4 = DEFAULT_LIMITS["ch4"].above
    assert (GENERAL_MINE_LEVELS.alarm, GENERAL_MINE_LEVELS.power_off) == (
        ch4[Severity.WARNING], ch4[Severity.ALARM])
    lel = DEFAULT_LIMITS["lel"].above
    assert (PLANT_LEVELS.alarm, PLANT_LEVELS.power_off) == (
        lel[Severity.WARNING], lel[Severity.ALARM])
    assert PLANT_LEVELS.unit == "%LEL" and "GB/T 50493-2019" in PLANT_LEVELS.sources[0]
    assert "Gc" in PLANT_LEVELS.sources[0]


@pytest.mark.parametrize(("sensor", "kind", "location", "expected"), [
    ("ch4", COAL_MINE, None, GENERAL_MINE_LEVELS),
    ("CH4 ", None, None, GENERAL_MINE_LEVELS),          # unknown kind: ch4 → mine rules
    ("ch4", None, L.FACE_RETURN, MINE_LEVELS[L.FACE_RETURN]),
    ("ch4", CHEMICAL_PLANT, None, None),
    ("lel", CHEMICAL_PLANT, None, PLANT_LEVELS),
    ("lel", None, None, PLANT_LEVELS),                 # unknown kind: lel → plant rules
    ("lel", CHEMICAL_PLANT, L.COAL_FACE, PLANT_LEVELS),  # no location types in a plant
    ("lel", COAL_MINE, None, None),
    ("co", COAL_MINE, L.COAL_FACE, None),
    ("h2s", CHEMICAL_PLANT, None, None),
])
def test_default_levels_by_site_kind_and_sensor(sensor: str, kind: str | None,
                                                location: LocationType | None,
                                                expected: InterlockLevels | None) -> None:
    assert default_levels(sensor, kind, location) == expected


@pytest.mark.parametrize(("value", "unit", "band"), [
    (0.99, None, Crossing.RESTORE),
    (1.0, None, Crossing.ALARM),
    (1.49, None, Crossing.ALARM),
    (1.5, None, Crossing.POWER_OFF),
    (1.53, "%vol", Crossing.POWER_OFF),        # the reading at the face
    (1.98, "%", Crossing.POWER_OFF),
    (12000.0, "ppm", Crossing.ALARM),          # 1.2 %vol
    (5000.0, "ppm", Crossing.RESTORE),
    (60.0, "%LEL", None),                      # does not convert
    (math.nan, None, None),
    (math.inf, None, None),
])
def test_bands_of_a_coal_face_reading(value: float, unit: str | None,
                                      band: Crossing | None) -> None:
    assert crosses(MINE_LEVELS[L.COAL_FACE], value, unit) is band


def test_the_hysteresis_band_holds() -> None:
    levels = InterlockLevels("ch4", "%vol", alarm=1.0, power_off=1.5, restore=0.8)
    assert crosses(levels, 0.79) is Crossing.RESTORE
    assert crosses(levels, 0.8) is None and crosses(levels, 0.99) is None
    assert crosses(levels, 1.0) is Crossing.ALARM


@pytest.mark.parametrize(("alarm", "power_off", "restore", "message"), [
    (1.0, 1.5, 1.2, "restore 1.2 is above alarm 1"),
    (1.6, 1.5, 1.0, "alarm 1.6 is above power_off 1.5"),
    (-1.0, 1.5, -2.0, "alarm must be a number >= 0"),
    (math.nan, 1.5, 1.0, "alarm must be a number >= 0"),
])
def test_levels_out_of_order_are_refused_in_one_line(alarm: float, power_off: float,
                                                     restore: float, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        InterlockLevels("ch4", "%vol", alarm, power_off, restore)
    assert "\n" not in str(err.value)


def test_levels_convert_between_units() -> None:
    ppm = MINE_LEVELS[L.COAL_FACE].in_unit("ppm")
    assert ppm is not None and (ppm.alarm, ppm.power_off, ppm.restore) == (
        10000.0, 15000.0, 10000.0)
    assert MINE_LEVELS[L.COAL_FACE].in_unit("%LEL") is None
    assert MINE_LEVELS[L.COAL_FACE].to_json()["location"] == "coal-face"


def test_location_types_from_tags_and_names() -> None:
    assert location_of_tags(["longwall", "coal-face"]) is L.COAL_FACE
    assert location_of_tags(["coal-face", "face-return"]) is L.FACE_RETURN  # strictest
    assert location_of_tags(["face", "return"]) is None
    assert strictest([L.GAS_DRAINAGE_ROADWAY, L.HIGH_GAS_INTAKE]) is L.HIGH_GAS_INTAKE
    assert strictest([]) is None
    assert parse_location(" Face-Return ") is L.FACE_RETURN
    with pytest.raises(ValueError, match=r"unknown location type 'face'.*coal-face"):
        parse_location("face")


def test_site_kind_from_the_maps_meta() -> None:
    assert site_kind({"kind": "coal-mine"}) == COAL_MINE
    assert site_kind({"kind": "chemical-plant"}) == CHEMICAL_PLANT
    assert site_kind({"kind": "quarry"}) is None
    assert site_kind(None) is None


@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(list(LocationType)))
def test_the_bands_partition_the_readings(value: float, location: LocationType) -> None:
    levels = MINE_LEVELS[location]
    band = crosses(levels, value)
    if not math.isfinite(value):
        assert band is None
    elif value >= levels.power_off:
        assert band is Crossing.POWER_OFF
    elif value >= levels.alarm:
        assert band is Crossing.ALARM
    else:
        assert band is (Crossing.RESTORE if value < levels.restore else None)
