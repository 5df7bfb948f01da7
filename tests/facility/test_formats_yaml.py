"""Our YAML map format: round trips, and any input gives a facility or a plain MapError."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fleet.errors import MapError
from fleet.facility.formats import load, parse
from fleet.facility.formats.yaml_map import read_yaml, write_yaml
from fleet.facility.model import Facility
from tests.facility.format_fuzz import (
    DATA_MAPS,
    FUZZ,
    FUZZ_DOCS,
    ROOT,
    ROUNDTRIP,
    check_reader,
    json_values,
    map_documents,
    mutated,
    text_mutated,
    to_yaml,
)

VALID_MAPS = sorted(
    [*DATA_MAPS.glob("*.yaml"), *(ROOT / "maps").glob("*.yaml")], key=lambda p: p.name
)
ROUNDTRIP_TEXT = ROUNDTRIP.read_text(encoding="utf-8")
ROUNDTRIP_DOC = yaml.safe_load(ROUNDTRIP_TEXT)


def assert_same_facility(a: Facility, b: Facility) -> None:
    """Field by field, so a failure names what differs."""
    assert a.name == b.name
    assert a.description == b.description
    assert dict(a.meta) == dict(b.meta)
    assert dict(a.levels) == dict(b.levels)
    assert list(a.nodes) == list(b.nodes)
    for nid in a.nodes:
        assert a.nodes[nid] == b.nodes[nid], nid
    assert a.edges == b.edges
    assert [z.id for z in a.zones] == [z.id for z in b.zones]
    for za, zb in zip(a.zones, b.zones, strict=True):
        assert za.coordinates == zb.coordinates, za.id
        assert (za.kind, za.level, za.atex_zone, za.gas, za.max_speed, za.capability,
                za.name) == (zb.kind, zb.level, zb.atex_zone, zb.gas, zb.max_speed,
                             zb.capability, zb.name)
    assert a == b


@pytest.mark.parametrize("path", VALID_MAPS, ids=lambda p: p.name)
def test_yaml_round_trip_is_equal(path: Path) -> None:
    fac = load(path)
    again = read_yaml(write_yaml(fac))
    assert_same_facility(fac, again)
    assert write_yaml(again) == write_yaml(fac)


def test_round_trip_fixture_has_every_optional_field() -> None:
    fac = load(ROUNDTRIP)
    edges = fac.edges
    assert any(e.one_way for e in edges) and any(e.closed for e in edges)
    assert any(e.cost == 0 for e in edges) and any(e.single_lane for e in edges)
    assert any(e.length_given for e in edges) and any(e.max_speed for e in edges)
    assert {z.kind.value for z in fac.zones} == {
        "gas_hazard", "no_go", "speed_limit", "comms_dead", "restricted"}
    assert fac.nodes["p3"].z == 1.5 and fac.nodes["bottom"].z == -40
    assert fac.meta["crew"] == ["a", "b"]


def test_yml_extension_reads_the_same() -> None:
    assert parse(ROUNDTRIP_TEXT, ".yml") == parse(ROUNDTRIP_TEXT, ".YAML")


@FUZZ
@given(st.text(max_size=200))
def test_any_text_gives_facility_or_map_error(text: str) -> None:
    check_reader(read_yaml, text)


@FUZZ
@given(json_values)
def test_any_yaml_value_gives_facility_or_map_error(value: object) -> None:
    check_reader(read_yaml, to_yaml(value))


@FUZZ_DOCS
@given(map_documents())
def test_random_documents_give_facility_or_map_error(doc: dict[str, object]) -> None:
    check_reader(read_yaml, to_yaml(doc))


@FUZZ_DOCS
@given(mutated(ROUNDTRIP_DOC))
def test_mutated_documents_give_facility_or_map_error(doc: object) -> None:
    check_reader(read_yaml, to_yaml(doc))


@FUZZ_DOCS
@given(text_mutated(ROUNDTRIP_TEXT))
def test_mutated_text_gives_facility_or_map_error(text: str) -> None:
    check_reader(read_yaml, text)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("nodes: [{id: a, x: 1, y: .nan}]", "y must be finite"),
        ("nodes: [{id: a, x: 1, y: 2, when: 2024-13-45}]", "not valid YAML"),
        ("? [a, b]\n: 1\n", "not valid YAML"),
        ("nodes: {a: 1}", "nodes must be a list"),
        ("[" * 500, "not valid YAML"),
    ],
)
def test_awkward_yaml_is_a_plain_problem(text: str, words: str) -> None:
    with pytest.raises(MapError) as info:
        read_yaml(text, file="x.yaml")
    assert any(words in p.reason for p in info.value.problems), info.value.problems


def test_written_numbers_stay_exact_enough() -> None:
    fac = load(ROUNDTRIP)
    again = read_yaml(write_yaml(fac))
    assert all(math.isclose(a.length, b.length) for a, b in zip(fac.edges, again.edges,
                                                                 strict=True))
