"""Capacities, places and single-lane blocks derived from a map."""

from __future__ import annotations

import itertools

import pytest

from fleet.errors import MapError
from fleet.facility.blocks import cut_passing_bays
from fleet.facility.document import facility_from_document, facility_to_document
from fleet.facility.model import Facility


def site(nodes: list[dict[str, object]], edges: list[dict[str, object]]) -> Facility:
    return facility_from_document({
        "format": "inspection-fleet-map/1", "site": {"name": "t"},
        "levels": [{"id": "0"}], "nodes": nodes, "edges": edges})


def drift(bay: dict[str, object] | None = None) -> Facility:
    """dock(a) = w1 = w2 = m = w3 = w4 = b(charger): single-lane, m in the middle."""
    m: dict[str, object] = {"id": "m", "x": 100, "y": 0, **(bay or {})}
    nodes = [{"id": "a", "x": 0, "y": 0, "kind": "dock"}, {"id": "w1", "x": 40, "y": 0},
             {"id": "w2", "x": 70, "y": 0}, m, {"id": "w3", "x": 130, "y": 0},
             {"id": "w4", "x": 160, "y": 0}, {"id": "b", "x": 200, "y": 0, "kind": "charger"}]
    ids = [n["id"] for n in nodes]
    return site(nodes, [{"from": u, "to": v, "single_lane": True}
                        for u, v in itertools.pairwise(ids)])


def test_a_drift_without_bay_is_one_block_between_its_rooms() -> None:
    fac = drift()
    layout = fac.layout
    assert [fac.capacity(n) for n in ("a", "w1", "m", "b")] == [2, 1, 1, 2]
    assert [b.id for b in layout.blocks] == ["a~b"]
    assert layout.blocks[0].inside == {"w1", "w2", "m", "w3", "w4"}
    assert layout.block_of_edge[("m", "w2")] == "a~b"


def test_a_passing_bay_splits_the_drift_and_is_a_place() -> None:
    fac = drift({"tags": ["passing-bay"]})
    assert fac.capacity("m") == 2
    assert fac.layout.is_place("m")
    assert sorted(b.id for b in fac.layout.blocks) == ["a~m", "b~m"]
    assert fac.layout.passing_bays() == ["m"]


def test_an_explicit_capacity_wins_and_round_trips() -> None:
    fac = drift({"capacity": 3})
    assert fac.capacity("m") == 3
    again = facility_from_document(facility_to_document(fac))
    assert again.nodes["m"].capacity == 3 and again.nodes["w1"].capacity is None


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True])
def test_a_capacity_that_is_not_a_positive_integer_is_one_problem(bad: object) -> None:
    with pytest.raises(MapError) as err:
        drift({"capacity": bad})
    assert len(err.value.problems) == 1
    assert "capacity must be a positive integer" in str(err.value)


def test_a_single_lane_stretch_with_nowhere_to_wait_is_a_problem() -> None:
    nodes = [{"id": "c", "x": 0, "y": 0, "kind": "charger"}, {"id": "r", "x": 10, "y": 0},
             {"id": "p", "x": 50, "y": 0}, {"id": "q", "x": 90, "y": 0}]
    edges = [{"from": "c", "to": "r"}, {"from": "p", "to": "q", "single_lane": True}]
    with pytest.raises(MapError) as err:
        site(nodes, edges)
    assert any("no place to wait at either end" in str(p) for p in err.value.problems)
    # a two-way road to it gives it a place: then the map is fine as to blocks
    fixed = site(nodes, [*edges, {"from": "r", "to": "p"}])
    assert [b.ends for b in fixed.layout.blocks] == [("p",)]


def test_the_sample_coal_mine_has_blocks_with_places_at_their_ends() -> None:
    from fleet.facility.formats import load
    from fleet.samples import path

    fac = load(path("maps/coal_mine.yaml"))
    assert fac.layout.blocks
    assert all(b.ends for b in fac.layout.blocks)
    single = {e.key for e in fac.edges if e.single_lane}
    assert single == {k for b in fac.layout.blocks for k in b.edges}


def test_block_lengths_are_the_sums_of_their_edges() -> None:
    fac = drift({"tags": ["passing-bay"]})
    lengths = {b.id: b.length_m for b in fac.layout.blocks}
    assert lengths == {"a~m": 100.0, "b~m": 100.0}
    longest = fac.layout.longest_block()
    assert longest is not None and longest.id == "a~m"
    assert drift().layout.longest_block() == drift().layout.blocks[0]


def test_passing_bays_are_the_places_a_map_cut_into_single_lane_drifts() -> None:
    assert drift({"capacity": 3}).layout.passing_bays() == ["m"]
    # the map's capacity wins over the tag: one robot fits, so no bay (and no place)
    assert drift({"tags": ["passing-bay"], "capacity": 1}).layout.passing_bays() == []
    assert drift().layout.passing_bays() == []
    # rooms are places anyway, drawn as what they are
    assert drift({"kind": "refuge", "tags": ["passing-bay"]}).layout.passing_bays() == []


def test_a_junction_of_single_lane_drifts_is_a_place_but_no_bay() -> None:
    nodes = [{"id": "c", "x": 0, "y": 0, "kind": "charger"}, {"id": "j", "x": 50, "y": 0},
             {"id": "n", "x": 50, "y": 50, "kind": "refuge"},
             {"id": "s", "x": 50, "y": -50, "kind": "dock"}]
    edges = [{"from": x, "to": "j", "single_lane": True} for x in ("c", "n", "s")]
    fac = site(nodes, edges)
    assert fac.layout.is_place("j") and fac.capacity("j") == 2
    assert fac.layout.passing_bays() == []
    # a capacity makes a junction roomier, not a bay; the tag makes it one
    fac = site([*nodes[:1], {"id": "j", "x": 50, "y": 0, "capacity": 4}, *nodes[2:]], edges)
    assert fac.capacity("j") == 4 and fac.layout.passing_bays() == []
    fac = site([*nodes[:1], {"id": "j", "x": 50, "y": 0, "tags": ["passing-bay"]},
                *nodes[2:]], edges)
    assert fac.layout.passing_bays() == ["j"]


def test_passing_bays_are_cut_into_long_blocks_only() -> None:
    fac = drift()  # a~b: 200 m
    cut = cut_passing_bays(fac, 60.0)
    # walking from a: w1 at 40 m, w2 at 70 m (a bay), m 30 m past it, w3 60 m (a bay)
    assert cut.layout.passing_bays() == ["w2", "w3"]
    assert sorted(b.length_m for b in cut.layout.blocks) == [60.0, 70.0, 70.0]
    assert cut_passing_bays(fac, 250.0).layout.passing_bays() == []
    with pytest.raises(ValueError, match="positive"):
        cut_passing_bays(fac, 0.0)
