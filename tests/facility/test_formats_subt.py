"""DARPA SubT edge lists: mapping, errors, the shared mines, the committed converted mine,
routing on it against plain Dijkstra, and fuzzing."""

from __future__ import annotations

import csv
import math
import random
import statistics
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.errors import MapError
from fleet.facility.formats import load
from fleet.facility.formats.subt_csv import read_subt_csv
from fleet.facility.model import NodeKind
from tests.facility.format_fuzz import FUZZ, FUZZ_DOCS, ROOT, SHARED, check_reader, text_mutated

MINES = SHARED / "bench" / "mines"
SR_CSV = MINES / "subt_sr_edgelist.csv"
EX_CSV = MINES / "subt_ex_edgelist.csv"
COMMITTED = ROOT / "maps" / "subt_safety_research.yaml"
needs_shared = pytest.mark.skipif(not SR_CSV.is_file(), reason="../shared/bench/mines is absent")

SMALL = """FROM,TO,LENGTH,NOTES
3,4,32.5,
3,5,16.6,
4,5,20.0,chokepoint
5,6,7.25,
2,3,40.0,
2,1,11.0,START
"""


def _csv_rows(path: Path) -> list[tuple[str, str, float, str]]:
    """The edge list read independently of the importer."""
    with path.open(newline="", encoding="utf-8") as f:
        return [(r["FROM"].strip(), r["TO"].strip(), float(r["LENGTH"]), r["NOTES"].strip())
                for r in csv.DictReader(f)]


def test_small_list_kinds_names_lengths_and_chokepoints() -> None:
    fac = read_subt_csv(SMALL, file="data/little_mine.csv")
    assert fac.name == "little_mine"
    assert list(fac.nodes) == ["3", "4", "5", "6", "2", "1"]
    assert fac.nodes["1"].kind is NodeKind.DOCK and fac.nodes["1"].name == "staging area"
    assert fac.nodes["2"].name == "portal" and fac.nodes["2"].kind is NodeKind.WAYPOINT
    assert fac.inspection_points == ["6"]  # the only dead end besides the staging area
    assert [(e.source, e.target, e.length) for e in fac.edges] == [
        ("3", "4", 32.5), ("3", "5", 16.6), ("4", "5", 20.0), ("5", "6", 7.25),
        ("2", "3", 40.0), ("2", "1", 11.0)]
    assert all(e.length_given and not e.one_way for e in fac.edges)
    assert [e.key for e in fac.edges if e.single_lane] == [("4", "5")]


def test_layout_is_deterministic_and_roughly_metric() -> None:
    a, b = read_subt_csv(SMALL), read_subt_csv(SMALL)
    assert {n.id: (n.x, n.y) for n in a.nodes.values()} == {
        n.id: (n.x, n.y) for n in b.nodes.values()}
    ratios = [math.dist(a.nodes[e.source].point.coords[0], a.nodes[e.target].point.coords[0])
              / e.length for e in a.edges]
    assert 0.6 < statistics.median(ratios) < 1.5


def test_disconnected_parts_are_drawn_apart_and_ids_kept_verbatim() -> None:
    text = "from,to,length\n1,2,10\n2,A-7,5\n 08 ,09,3\n"
    with pytest.raises(MapError) as info:
        read_subt_csv(text)
    reasons = [p.reason for p in info.value.problems]
    assert any("unreachable inspection point" in r for r in reasons), reasons
    rows = "FROM,TO,LENGTH\n1,2,10\n2,A-7,5\n08,09,3\n09,10,4\n10,08,5\n"
    fac = read_subt_csv(rows)
    assert list(fac.nodes) == ["1", "2", "A-7", "08", "09", "10"]
    left = max(fac.nodes[n].x for n in ("1", "2", "A-7"))
    assert min(fac.nodes[n].x for n in ("08", "09", "10")) > left


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", None, "no edges"),
        ("FROM,TO,LENGTH,NOTES\n", None, "no edges"),
        ("A,B,C\n1,2,3\n", 1, "expected a header row"),
        ("FROM,TO,LENGTH\n1,2,3\n\n2,3,abc\n", 4, "LENGTH must be a number of metres, got 'abc'"),
        ("FROM,TO,LENGTH\n1,2,3\n2,3,-4\n", 3, "LENGTH must be a positive number"),
        ("FROM,TO,LENGTH\n1,2,3\n2,3,inf\n", 3, "LENGTH must be a positive number"),
        ("FROM,TO,LENGTH\n1,2,3\n2,,4\n", 3, "row without FROM or TO"),
        ("FROM,TO,LENGTH,NOTES\n1,2,3,,extra\n", 2, "5 fields, the header names 4"),
        ("FROM,TO,LENGTH\n1,2,3\n2,1,4\n", 2, "duplicate edge"),
        ("FROM,TO,LENGTH\n1,2,3\n2,2,4\n", 3, "joins a node to itself"),
        ("FROM,TO,LENGTH\n3,2,3\n", None, "no node 1"),
        ('FROM,TO,LENGTH\n1,2,"3\n', 2, "not valid CSV"),
    ],
)
def test_bad_rows_name_their_line(text: str, line: int | None, words: str) -> None:
    with pytest.raises(MapError) as info:
        read_subt_csv(text, file="bad.csv")
    found = [(p.line, p.reason) for p in info.value.problems]
    assert any(pl == line and words in reason for pl, reason in found), found


# ------------------------------------------------------------------ shared mines
@needs_shared
@pytest.mark.parametrize("path", [SR_CSV, EX_CSV], ids=lambda p: p.stem)
def test_shared_mines_load_with_measured_lengths(path: Path) -> None:
    fac = load(path)
    rows = _csv_rows(path)
    assert {(a, b): length for a, b, length, _ in rows} == {e.key: e.length for e in fac.edges}
    g = nx.Graph([(a, b) for a, b, _, _ in rows])
    dead_ends = sorted(n for n in g if g.degree(n) == 1 and n != "1")
    assert sorted(fac.inspection_points) == dead_ends
    assert fac.chargers == ["1"]
    chokepoints = {(a, b) for a, b, _, note in rows if note == "chokepoint"}
    assert {e.key for e in fac.edges if e.single_lane} == chokepoints


@needs_shared
def test_experimental_mine_has_its_two_chokepoints() -> None:
    assert sum(e.single_lane for e in load(EX_CSV).edges) == 2


@needs_shared
def test_committed_map_is_the_conversion_of_the_edge_list() -> None:
    committed, fresh = load(COMMITTED), load(SR_CSV)
    assert committed.edges == fresh.edges
    assert [(n.id, n.kind, n.name) for n in committed.nodes.values()] == [
        (n.id, n.kind, n.name) for n in fresh.nodes.values()]
    assert "systems_tunnel_ground_truth" in (committed.description or "")


def test_committed_map_validates_without_shared() -> None:
    fac = load(COMMITTED)
    assert len(fac.nodes) == 71 and len(fac.edges) == 90
    assert fac.chargers == ["1"] and len(fac.inspection_points) == 15


# ------------------------------------------------ acceptance: routing on the mine
def _reference_pairs(nodes: list[str]) -> list[tuple[str, str]]:
    rng = random.Random(5050)
    pairs = [("1", n) for n in ("65", "43", "62", "71")]
    pairs += [tuple(rng.sample(nodes, 2)) for _ in range(12)]  # type: ignore[misc]
    return pairs


@needs_shared
def test_routes_on_converted_mine_equal_dijkstra_on_the_edge_list() -> None:
    routing = pytest.importorskip("fleet.facility.routing")
    fac = load(COMMITTED)
    rows = _csv_rows(SR_CSV)
    # Lengths in decimetres are exact integers, so every tie between paths is a true tie.
    exact = nx.Graph()
    for a, b, length, _ in rows:
        exact.add_edge(a, b, dm=round(length * 10))
    for source, target in _reference_pairs(sorted(exact.nodes)):
        best_dm = nx.dijkstra_path_length(exact, source, target, weight="dm")
        shortest = {tuple(p) for p in nx.all_shortest_paths(exact, source, target, weight="dm")}
        route = routing.shortest_route(fac, source, target)
        assert route is not None, (source, target)
        assert route.length_m == pytest.approx(best_dm / 10, abs=1e-6), (source, target)
        assert tuple(route.nodes) in shortest, (source, target, route.nodes, shortest)
        if len(shortest) == 1:
            assert tuple(route.nodes) == next(iter(shortest))


# -------------------------------------------------------------------- fuzzing
_ids = st.sampled_from(["1", "2", "3", "4", "5", " 6", "", "x y"])
_lengths = st.floats(-5, 200).map(lambda f: f"{f:.1f}") | st.sampled_from(
    ["", "nan", "1e999", "abc", "0", "3"])
_notes = st.sampled_from(["", "chokepoint", "START", "CHOKEPOINT", "note"])


@st.composite
def _edge_lists(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(["FROM,TO,LENGTH,NOTES", "from,to,length", "FROM,TO,NOTES"]))
    rows = draw(st.lists(st.tuples(_ids, _ids, _lengths, _notes), max_size=10))
    width = len(header.split(","))
    body = [",".join([a, b, length, note][:width]) for a, b, length, note in rows]
    return "\n".join([header, *body]) + "\n"


@FUZZ
@given(st.text(max_size=200))
def test_any_text_gives_facility_or_map_error(text: str) -> None:
    check_reader(read_subt_csv, text)


@FUZZ_DOCS
@given(_edge_lists())
def test_random_edge_lists_give_facility_or_map_error(text: str) -> None:
    check_reader(read_subt_csv, text)


@FUZZ_DOCS
@given(text_mutated(SMALL))
def test_mutated_lists_give_facility_or_map_error(text: str) -> None:
    check_reader(read_subt_csv, text)
