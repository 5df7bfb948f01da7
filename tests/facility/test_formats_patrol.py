"""patrolling_sim ``.graph`` files: geometry, dedupe, kinds, the shared samples, fuzzing."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from networkx.algorithms import approximation

from fleet.errors import MapError
from fleet.facility.formats import load
from fleet.facility.formats.patrol_graph import read_patrol_graph
from fleet.facility.model import Facility, NodeKind
from tests.facility.format_fuzz import FUZZ, FUZZ_DOCS, SHARED, check_reader, text_mutated

PATROL = SHARED / "bench" / "patrol"
SAMPLES = sorted(PATROL.glob("*/*.graph")) if PATROL.is_dir() else []

# Shortest closed walks through all vertices, from ../shared/bench/patrol/SOURCE.md (metres).
REFERENCE_WALK_M = {
    "grid": 148.2, "cumberland": 387.1, "example": 280.8, "DIAG_labs": 154.9,
    "DIAG_floor1": 413.5, "broughton": 1086.6, "1r5": 85.0, "ctcv": 119.6,
    "move_base_arena": 53.85,
}

# 4 vertices at resolution 0.5 m/px, offset (10, -2) m. 1-2 is listed with different costs
# from its two ends, 0-3 twice from vertex 0 (two ways round a pillar), 2-3 from one end.
SMALL = """4
100
80
0.5
10
-2

0
10
20
3
1 E 12
3 N 30
3 S 26

1
20
20
2
0 W 12
2 N 22

2
20
40
2
1 S 20
3 W 9

3
10
40
1
0 S 28
"""


def _graph(fac: Facility) -> nx.Graph:
    g = nx.Graph()
    for e in fac.edges:
        g.add_edge(e.source, e.target, weight=e.length)
    return g


def test_small_graph_geometry_lengths_and_kinds() -> None:
    fac = read_patrol_graph(SMALL, file="maps/small.graph")
    assert fac.name == "small"
    assert {n.id: (n.x, n.y) for n in fac.nodes.values()} == {
        "0": (15.0, 8.0), "1": (20.0, 8.0), "2": (20.0, 18.0), "3": (15.0, 18.0)}
    assert fac.nodes["0"].kind is NodeKind.DOCK
    assert fac.inspection_points == ["1", "2", "3"]
    lengths = {(e.source, e.target): e.length for e in fac.edges}
    # 1-2: 22 px one way, 20 px the other; 0-3: 30, 26 and 28 px: the shortest wins
    assert lengths == {("0", "1"): 6.0, ("0", "3"): 13.0, ("1", "2"): 10.0, ("2", "3"): 4.5}
    assert all(e.length_given and not e.one_way for e in fac.edges)
    assert fac.meta["resolution_m_per_px"] == 0.5


def test_first_vertex_is_the_dock_when_there_is_no_vertex_0() -> None:
    text = "2 10 10 1.0 0 0\n5 0 0 1 6 E 3\n6 3 0 1 5 W 3\n"
    fac = read_patrol_graph(text)
    assert fac.chargers == ["5"] and fac.inspection_points == ["6"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "file ends early: expected the number of vertices"),
        ("2 10 10 0.5 0 0\n0 1 1 1\n1 E 3\n", 3, "file ends early: expected the id of vertex 2"),
        ("1 10 10 0 0 0\n", 1, "resolution must be positive"),
        ("1 10 10 0.5 0 0\n0 1 x 0\n", 2, "the y of vertex 0 must be a number, got 'x'"),
        ("1 10 10 0.5 0 0\n0 1 1 -1\n", 2, "degree of vertex 0 must be a non-negative integer"),
        ("2 10 10 0.5 0 0\n0 1 1 1 1 Q 3\n1 2 2 1 0 W 3\n", 2, "must be one of N, NE"),
        ("1 10 10 0.5 0 0\n0 1 1 0\n\n7\n", 4, "unexpected '7' after the last of 1 vertices"),
        ("1 10 10 0.5 0 0\n0 1 1 1 5 E 3\n", 2, "dangling edge"),
        ("2 10 10 0.5 0 0\n0 1 1 1 1 E 3\n0 2 2 1 0 W 3\n", 3, "duplicate node id"),
        ("2 10 10 0.5 0 0\n0 1 1 1 1 E 0\n1 2 2 1 0 W 0\n", 2, "non-positive length"),
        ("1 10 10 0.5 0 0\n0 1e999 1 0\n", 2, "must be finite"),
    ],
)
def test_bad_files_name_their_line(text: str, line: int, words: str) -> None:
    with pytest.raises(MapError) as info:
        read_patrol_graph(text, file="bad.graph")
    found = [(p.line, p.reason) for p in info.value.problems]
    assert any(pl == line and words in reason for pl, reason in found), found


@pytest.mark.skipif(not SAMPLES, reason="../shared/bench/patrol is absent")
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_every_shared_sample_loads_and_matches_its_reference_walk(path: Path) -> None:
    fac = load(path)
    declared = int(path.read_text().split()[0])
    assert len(fac.nodes) == declared
    assert fac.chargers == ["0"]
    assert len(fac.inspection_points) == declared - 1
    g = _graph(fac)
    assert nx.is_connected(g)
    # A closed walk through every vertex is at least a spanning tree and at most a doubled
    # one; with lengths off by a unit or a factor the published figure falls outside.
    reference = REFERENCE_WALK_M[path.stem]
    mst = nx.minimum_spanning_tree(g).size(weight="weight")
    assert mst - 0.05 <= reference <= 2 * mst + 0.05
    if g.number_of_edges() == g.number_of_nodes() - 1:  # a tree: every edge walked twice
        assert 2 * sum(e.length for e in fac.edges) == pytest.approx(reference, abs=0.1)
    else:  # a heuristic tour can only be longer than the optimum
        tour = approximation.traveling_salesman_problem(
            g, weight="weight", cycle=True,
            method=lambda h, weight: approximation.greedy_tsp(h, weight=weight))
        walked = sum(nx.shortest_path_length(g, a, b, weight="weight")
                     for a, b in pairwise(tour))
        assert walked >= reference - 0.1


@pytest.mark.skipif(not SAMPLES, reason="../shared/bench/patrol is absent")
def test_undirected_edges_are_deduplicated() -> None:
    path = PATROL / "grid" / "grid.graph"
    words = path.read_text().split()
    listed = 0
    i = 6
    for _ in range(int(words[0])):
        degree = int(words[i + 3])
        listed += degree
        i += 4 + 3 * degree
    assert len(load(path).edges) == listed // 2 == 40


# -------------------------------------------------------------------- fuzzing
_tokens = st.one_of(
    st.integers(-2, 30).map(str), st.floats(-100, 100).map(lambda f: f"{f:.2f}"),
    st.sampled_from(["N", "NE", "E", "SE", "S", "SW", "W", "NW", "x", "nan", "1e999", "0.0"]),
)


@FUZZ
@given(st.text(max_size=200))
def test_any_text_gives_facility_or_map_error(text: str) -> None:
    check_reader(read_patrol_graph, text)


@FUZZ
@given(st.lists(_tokens, max_size=60), st.sampled_from([" ", "\n"]))
def test_random_token_streams_give_facility_or_map_error(words: list[str], sep: str) -> None:
    check_reader(read_patrol_graph, sep.join(words))


@st.composite
def _structured(draw: st.DrawFn) -> str:
    """Well-shaped files with random contents: right header, random vertices and edges."""
    n = draw(st.integers(0, 6))
    lines = [str(n), "50", "50", draw(st.sampled_from(["0.05", "0.1", "1"])), "0", "0"]
    for vid in draw(st.lists(st.integers(0, 7), min_size=n, max_size=n)):
        nbrs = draw(st.lists(st.tuples(st.integers(0, 7), st.sampled_from(["N", "E", "SW"]),
                                       st.integers(0, 40)), max_size=3))
        lines.append(f"{vid} {draw(st.integers(-5, 50))} {draw(st.integers(-5, 50))} "
                     f"{len(nbrs)}")
        lines += [f"{a} {d} {c}" for a, d, c in nbrs]
    return "\n".join(lines) + "\n"


@FUZZ_DOCS
@given(_structured())
def test_random_structured_files_give_facility_or_map_error(text: str) -> None:
    check_reader(read_patrol_graph, text)


@FUZZ_DOCS
@given(text_mutated(SMALL))
def test_mutated_files_give_facility_or_map_error(text: str) -> None:
    check_reader(read_patrol_graph, text)
