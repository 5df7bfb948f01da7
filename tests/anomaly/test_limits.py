"""Limits: the regulatory defaults, overrides in map and mission files, and their layering."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.anomaly.limits import (
    DEFAULT_LIMITS,
    LimitBook,
    RateLimit,
    Severity,
    convert,
    limit_problems,
    map_overrides,
    read_overrides,
    unit_name,
)
from fleet.errors import MissionError
from fleet.facility import formats
from fleet.facility.document import facility_from_document, facility_to_document
from fleet.facility.formats.yaml_map import parse_yaml
from fleet.facility.model import Facility
from fleet.planning.mission import mission_from_document

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "maps" / "tiny.yaml"
W, A, C, INFO = Severity.WARNING, Severity.ALARM, Severity.CRITICAL, Severity.INFO


@pytest.fixture(scope="module")
def tiny() -> Facility:
    return formats.load(TINY)


def with_meta(fac: Facility, limits: Any) -> Facility:
    doc = facility_to_document(fac)
    doc["site"]["meta"] = {"limits": limits}
    return facility_from_document(doc, file="tiny-with-limits.yaml")


# ------------------------------------------------------------------ defaults
def test_methane_follows_the_coal_mine_regulations() -> None:
    ch4 = DEFAULT_LIMITS["ch4"]
    assert ch4.unit == "%vol"
    assert dict(ch4.above) == {INFO: 0.75, W: 1.0, A: 1.5}
    assert "Coal Mine Safety Regulations" in ch4.sources[0]
    assert "75.323" in ch4.sources[0]


def test_toxic_ceilings_and_oxygen() -> None:
    ceilings = {"co": 24.0, "h2s": 6.6, "no2": 2.5, "so2": 5.0, "nh3": 40.0}
    for gas, ceiling in ceilings.items():
        limits = DEFAULT_LIMITS[gas]
        assert limits.unit == "ppm"
        assert limits.above[A] == ceiling and limits.above[C] == 2 * ceiling
        assert "GB/T 50493" in limits.sources[0]
    o2 = DEFAULT_LIMITS["o2"]
    assert dict(o2.below) == {W: 20.0, A: 19.5} and dict(o2.above) == {A: 23.5}
    assert "75.321" in o2.sources[0]
    assert dict(DEFAULT_LIMITS["lel"].above) == {W: 25.0, A: 50.0}


def test_every_default_names_its_source() -> None:
    for sensor, limits in DEFAULT_LIMITS.items():
        assert limits.sensor == sensor
        assert limits.sources and all(len(s) > 20 for s in limits.sources)
        assert limits.above or limits.below


def test_every_default_is_in_the_documentation() -> None:
    doc = (ROOT / "docs" / "anomalies.md").read_text(encoding="utf-8")
    for sensor, limits in DEFAULT_LIMITS.items():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{sensor}` |")),
                   None)
        assert row is not None, sensor
        for value in [*limits.above.values(), *limits.below.values()]:
            assert f"{value:g}" in row, (sensor, value)


# ------------------------------------------------------------------ units
@pytest.mark.parametrize(("unit", "canonical"), [
    ("%", "%vol"), ("% vol", "%vol"), ("vol%", "%vol"), ("PPM", "ppm"), ("%lel", "%LEL"),
    ("degC", "degC"), (" dB ", "dB")])
def test_unit_spellings(unit: str, canonical: str) -> None:
    assert unit_name(unit) == canonical


def test_unit_conversions() -> None:
    assert convert(15_000, "ppm", "%vol") == pytest.approx(1.5)
    assert convert(1.5, "%", "ppm") == pytest.approx(15_000)
    assert convert(3.0, "%vol", "%vol") == 3.0
    assert convert(3.0, "%LEL", "%vol") is None
    assert convert(3.0, "mg/m3", "ppm") is None


# ------------------------------------------------------------------ overrides
def test_shorthand_and_sides_and_removal(tiny: Facility) -> None:
    overrides, problems = read_overrides({
        "ch4": {"warning": 0.8, "info": None, "rate": None},
        "o2": {"below": {"warning": 19.8}, "above": {"alarm": None}},
        "h2s": None,
        "temperature": {"unit": "degC", "alarm": 60, "critical": 80},
    }, facility=tiny)
    assert problems == []
    limits = LimitBook(tiny, overrides).at("p2")
    assert dict(limits["ch4"].above) == {W: 0.8, A: 1.5} and limits["ch4"].rate is None
    assert dict(limits["o2"].below) == {W: 19.8, A: 19.5} and dict(limits["o2"].above) == {}
    assert "h2s" not in limits
    assert dict(limits["temperature"].above) == {A: 60.0, C: 80.0}
    assert limits["ch4"].sources[-1] == "map site"


def test_an_override_in_another_unit_converts_what_it_inherits(tiny: Facility) -> None:
    overrides, problems = read_overrides({"ch4": {"unit": "ppm", "alarm": 12000}})
    assert problems == []
    ch4 = LimitBook(tiny, overrides).at("p1")["ch4"]
    assert ch4.unit == "ppm"
    assert ch4.above[W] == pytest.approx(10_000) and ch4.above[A] == 12_000
    assert ch4.rate is not None and ch4.rate.rise == pytest.approx(5_000)


def test_layers_most_specific_wins_mission_beats_map(tiny: Facility) -> None:
    # p1 lies in zone face-gas; p2 in zone dead
    fac = with_meta(tiny, {"ch4": {"alarm": 2.0},
                           "zones": {"face-gas": {"ch4": {"alarm": 2.5}}},
                           "points": {"p2": {"ch4": {"alarm": 3.0}}}})
    map_part, problems = map_overrides(fac)
    assert problems == []
    mission_part, problems = read_overrides(
        {"ch4": {"alarm": 1.2}, "zones": {"dead": {"ch4": {"alarm": 1.3}}},
         "points": {"p1": {"ch4": {"warning": 0.5}}}}, facility=fac)
    assert problems == []
    book = LimitBook(fac, map_part, mission_part)
    p1, p2 = book.at("p1")["ch4"], book.at("p2")["ch4"]
    # p1: mission site 1.2 < map zone 2.5 (zone beats site), then mission point warning 0.5
    assert p1.above[A] == 2.5 and p1.above[W] == 0.5
    assert p1.sources[1:] == ("map site", "mission site", "zone face-gas (map)",
                              "point p1 (mission)")
    # p2: mission zone 1.3, then map point 3.0 (point beats zone, whoever wrote it)
    assert p2.above[A] == 3.0
    assert book.at("unknown-point")["ch4"].above[A] == 1.2
    assert LimitBook().at("p1")["ch4"].above[A] == 1.5


@pytest.mark.parametrize(("raw", "reason"), [
    ("ch4: 1.5", "limits must be a mapping"),
    ({"ch4": 1.5}, "must be a mapping (or null"),
    ({"ch4": {"alrm": 1.5}}, "unknown field 'alrm'"),
    ({"ch4": {"warning": "high"}}, "warning must be a number"),
    ({"ch4": {"warning": float("nan")}}, "warning must be a number"),
    ({"ch4": {"above": {"severe": 2}}}, "unknown severity 'severe'"),
    ({"ch4": {"alarm": 2, "above": {"warning": 1}}}, "either directly or under above"),
    ({"temperature": {"alarm": 60}}, "has no default limits: give its unit"),
    ({"ch4": {"rate": {"rise": 0}}}, "non-zero"),
    ({"ch4": {"rate": {"within_s": 60}}}, "rate must be a mapping with rise"),
    ({"zones": {"nowhere": {"ch4": {"alarm": 2}}}}, "unknown zone 'nowhere'"),
    ({"points": {"a": {"ch4": {"alarm": 2}}}}, "unknown point 'a'"),  # a waypoint
    ({"zones": ["face-gas"]}, "zones must be a mapping"),
    ({"ch4": {"unit": ""}}, "unit must be a non-empty string"),
])
def test_bad_overrides_are_problems(tiny: Facility, raw: Any, reason: str) -> None:
    _, problems = read_overrides(raw, file="m.yaml", facility=tiny)
    assert problems, raw
    assert reason in str(problems[0])
    assert str(problems[0]).startswith("m.yaml")


def test_a_mission_file_with_bad_limits_is_refused_with_its_line(tiny: Facility) -> None:
    text = ("name: t\ntasks:\n  - points: [p1]\n    sensors: [ch4]\nlimits:\n"
            "  ch4:\n    alarm: lots\n")
    with pytest.raises(MissionError) as err:
        mission_from_document(parse_yaml(text, file="t.yaml"), file="t.yaml", facility=tiny)
    [problem] = err.value.problems
    assert problem.file == "t.yaml" and problem.line is not None and problem.line >= 6
    assert "alarm must be a number" in problem.reason


def test_a_mission_carries_its_limits_and_the_map_problems_are_reported(tiny: Facility) -> None:
    text = "name: t\ntasks:\n  - points: [p1]\n    sensors: [ch4]\nlimits: {ch4: {alarm: 2}}\n"
    spec = mission_from_document(parse_yaml(text), facility=tiny)
    assert spec.limits == {"ch4": {"alarm": 2}}
    bad_map = with_meta(tiny, {"zones": {"nope": {}}})
    assert "unknown zone 'nope'" in str(limit_problems(bad_map, None)[0])
    with pytest.raises(MissionError, match="unknown zone 'nope'"):
        mission_from_document(parse_yaml(text), facility=bad_map)


def test_rate_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        RateLimit(0.0, 60)
    with pytest.raises(ValueError):
        RateLimit(1.0, -5)
    assert RateLimit(-1.0, 60).severity is Severity.WARNING


def test_severity_order_and_parsing() -> None:
    assert [s.rank for s in Severity] == [0, 1, 2, 3]
    assert Severity.parse(" ALARM ") is Severity.ALARM
    assert Severity.ALARM.at_least() == [Severity.ALARM, Severity.CRITICAL]
    with pytest.raises(ValueError, match="unknown severity"):
        Severity.parse("panic")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["ch4", "o2", "zones", "points", "p1", "face-gas", "warning",
                         "alarm", "above", "below", "rate", "rise", "unit", "x"]) | st.text(
            max_size=5), inner, max_size=5), max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_any_input_gives_overrides_or_problems_never_an_exception(raw: Any) -> None:
    fac = formats.load(TINY)
    overrides, problems = read_overrides(raw, file="x.yaml", facility=fac)
    if not problems:
        book = LimitBook(fac, overrides)
        for point in ("p1", "p2"):
            for limits in book.at(point).values():
                assert all(math.isfinite(v) for v in [*limits.above.values(),
                                                      *limits.below.values()])
