"""The metric closure equals networkx's Dijkstra, in distance and in time, and its paths
are real drivable paths with exactly the matrix entries."""

from __future__ import annotations

import itertools
import math
import time as clock
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from fleet.errors import MapError, PlanningError
from fleet.facility.closure import drivable_arcs, metric_closure
from fleet.facility.generate import generate_mine
from fleet.facility.model import Access, Edge, Epl, Facility, Level, Node, Zone, ZoneKind
from fleet.facility.protection import parse_ratings
from fleet.facility.routing import edge_time, measure_path, shortest_route


def timed_graph(fac: Facility, access: Access | None) -> nx.DiGraph:
    """The drivable arcs as networkx sees them: ``w`` length, ``t`` seconds."""
    g = nx.DiGraph()
    g.add_nodes_from(fac.nodes)
    for e in fac.edges:
        if not fac.traversable(e, access):
            continue
        t = edge_time(fac, e, access)
        g.add_edge(e.source, e.target, w=e.length, t=t)
        if not e.one_way:
            g.add_edge(e.target, e.source, w=e.length, t=t)
    return g


def path_time(g: nx.DiGraph, path: list[str]) -> float:
    return float(sum(g[a][b]["t"] for a, b in itertools.pairwise(path)))


def check_routes(fac: Facility, closure: Any, access: Access | None) -> None:
    """Every finite entry's route is drivable and has exactly that length and time."""
    pts = closure.points
    for i, a in enumerate(pts):
        for j, b in enumerate(pts):
            if not math.isfinite(closure.distance[i, j]):
                with pytest.raises(PlanningError):
                    closure.route(a, b)
                continue
            r = closure.route(a, b)
            assert r.nodes[0] == a and r.nodes[-1] == b
            assert r.length_m == pytest.approx(closure.distance[i, j], rel=1e-9, abs=1e-9)
            assert r.time_s == pytest.approx(closure.time[i, j], rel=1e-9, abs=1e-9)
            again = measure_path(fac, r.nodes, access=access)
            assert again.length_m == pytest.approx(r.length_m, rel=1e-9, abs=1e-9)
            assert again.time_s == pytest.approx(r.time_s, rel=1e-9, abs=1e-9)
            assert closure.path(a, b) == list(r.nodes)


# ------------------------------------------------------------------- random facilities
@st.composite
def corridor_networks(draw: st.DrawFn) -> tuple[Facility, list[str]]:
    """Junctions joined by corridors of 0-3 waypoints: one-way chains (some driven both
    ways, which blocks them), parallel corridors between the same junctions, closed and
    speed-capped edges, a speed-limit zone and sometimes a no-go zone. Integer lengths make
    ties exact, so every shortest path can be listed."""
    n_junctions = draw(st.integers(2, 6))
    nodes: dict[str, Node] = {}
    for k in range(n_junctions):
        nodes[f"j{k}"] = Node(f"j{k}", float(k * 10), float((k * 7) % 5 * 10))
    edges: list[Edge] = []
    n_corridors = draw(st.integers(1, 9))
    for c in range(n_corridors):
        a = draw(st.integers(0, n_junctions - 1))
        b = draw(st.integers(0, n_junctions - 1).filter(lambda x, a=a: x != a))
        inner = draw(st.integers(0, 3))
        chain = [f"j{a}"]
        for w in range(inner):
            nid = f"c{c}w{w}"
            ja, jb = nodes[f"j{a}"], nodes[f"j{b}"]
            t = (w + 1) / (inner + 1)
            nodes[nid] = Node(nid, ja.x + t * (jb.x - ja.x) + 1.0 + c,
                              ja.y + t * (jb.y - ja.y) + 1.0)
            chain.append(nid)
        chain.append(f"j{b}")
        if inner == 0 and any({e.source, e.target} == {chain[0], chain[1]} for e in edges):
            continue  # one edge per pair of nodes, as validation demands
        direction = draw(st.sampled_from(["both", "forward", "backward", "mixed"]))
        for k, (u, v) in enumerate(itertools.pairwise(chain)):
            one_way = direction != "both"
            if direction == "backward" or (direction == "mixed" and k % 2):
                u, v = v, u
            edges.append(Edge(u, v, float(draw(st.integers(1, 4))), one_way=one_way,
                              closed=draw(st.booleans()) and draw(st.booleans())
                              and draw(st.booleans()),
                              max_speed=draw(st.sampled_from([None, None, 0.5, 2.0]))))
    zones = [Zone("slow", ZoneKind.SPEED_LIMIT, "0", box(-1, -1, 21, 41), max_speed=0.4)]
    if draw(st.booleans()):
        x = float(draw(st.integers(0, n_junctions - 1)) * 10)
        zones.append(Zone("hole", ZoneKind.NO_GO, "0", box(x + 2, -5, x + 6, 45)))
    if draw(st.booleans()):
        zones.append(Zone("gas", ZoneKind.GAS_HAZARD, "0", box(25, -5, 45, 45), atex_zone=1))
    fac = Facility("random", {"0": Level("0")}, nodes, tuple(edges), tuple(zones))
    ids = list(nodes)
    points = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=8))
    return fac, points


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=corridor_networks(), epl=st.sampled_from([None, Epl.GB]),
       speed=st.sampled_from([1.0, 1.5]))
def test_closure_equals_networkx_on_random_networks(net: tuple[Facility, list[str]],
                                                    epl: Epl | None, speed: float) -> None:
    fac, points = net
    access = Access(ratings=parse_ratings(epl), speed=speed)
    closure = metric_closure(fac, points, access=access)
    g = timed_graph(fac, access)
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            d, t = closure.distance[i, j], closure.time[i, j]
            if not (fac.node_allowed(a, access) and fac.node_allowed(b, access)):
                assert math.isinf(d) and math.isinf(t)
                continue
            try:
                expect = nx.dijkstra_path_length(g, a, b, weight="w")
            except nx.NetworkXNoPath:
                assert math.isinf(d) and math.isinf(t)
                continue
            assert d == pytest.approx(expect)
            # The time is that of one of the (exactly tied) shortest paths.
            times = [path_time(g, p) for p in nx.all_shortest_paths(g, a, b, weight="w")]
            assert any(t == pytest.approx(x) for x in times), (t, times)
    check_routes(fac, closure, access)


# ----------------------------------------------------------------------- generated mines
@pytest.mark.parametrize(("seed", "access"), [
    (1, None),
    (2, Access(ratings=frozenset({Epl.GB}), speed=1.2)),
    (3, Access(capabilities=frozenset({"hoist"}), speed=0.8)),
])
def test_closure_equals_networkx_on_generated_mines(seed: int, access: Access | None) -> None:
    fac = generate_mine(nodes=3000, inspection_points=60, seed=seed, levels=2)
    points = fac.inspection_points[::2] + fac.chargers
    closure = metric_closure(fac, points, access=access)
    g = timed_graph(fac, access)
    checked = 0
    for i, a in enumerate(points):
        if not fac.node_allowed(a, access):
            assert np.isinf(closure.distance[i]).all() and np.isinf(closure.distance[:, i]).all()
            continue
        dist, paths = nx.single_source_dijkstra(g, a, weight="w")
        for j, b in enumerate(points):
            if b not in dist or not fac.node_allowed(b, access):
                assert math.isinf(closure.distance[i, j])
                continue
            assert closure.distance[i, j] == pytest.approx(dist[b], rel=1e-9)
            # Jittered geometry: distance ties do not happen, so the paths agree.
            assert closure.time[i, j] == pytest.approx(path_time(g, paths[b]), rel=1e-9)
            checked += 1
    assert checked > len(points) ** 2 // 2
    # The longest route: drivable, and as long as the matrix and shortest_route say.
    far = np.unravel_index(np.argmax(np.where(np.isfinite(closure.distance),
                                              closure.distance, -1)), closure.distance.shape)
    r = closure.route(points[far[0]], points[far[1]])
    assert r.length_m == pytest.approx(closure.distance[far])
    assert measure_path(fac, r.nodes, access=access).time_s == pytest.approx(closure.time[far])
    short = shortest_route(fac, points[far[0]], points[far[1]], access=access)
    assert short is not None and short.length_m == pytest.approx(r.length_m)


def test_gas_zone_points_are_unreachable_without_protection() -> None:
    fac = generate_mine(nodes=3000, inspection_points=200, seed=5)
    points = fac.inspection_points
    gassy = [p for p in points if any(z.kind is ZoneKind.GAS_HAZARD for z in fac.zones_at(p))]
    assert gassy, "the generated mine should put some points in gas zones"
    plain = metric_closure(fac, points, access=Access())
    protected = metric_closure(fac, points, access=Access(ratings=frozenset({Epl.GA})))
    for p in gassy:
        k = plain.index(p)
        assert np.isinf(plain.distance[k]).all() and np.isinf(plain.time[:, k]).all()
        assert np.isfinite(protected.distance[k]).any()


# --------------------------------------------------------------------------- edge cases
def small() -> Facility:
    nodes = {n: Node(n, x, 0.0) for n, x in (("a", 0.0), ("b", 10.0), ("c", 20.0),
                                               ("d", 30.0), ("island", 99.0))}
    edges = (Edge("a", "b", 10.0), Edge("b", "c", 10.0, one_way=True), Edge("c", "d", 10.0))
    return Facility("small", {"0": Level("0")}, nodes, edges)


def test_unreachable_pairs_are_inf_and_directed() -> None:
    c = metric_closure(small(), ["a", "d", "island"])
    assert c.distance[0, 1] == 30.0 and c.time[0, 1] == 30.0
    assert math.isinf(c.distance[1, 0]) and math.isinf(c.time[1, 0])
    assert math.isinf(c.distance[0, 2]) and math.isinf(c.distance[2, 0])
    assert c.distance[2, 2] == 0.0 and c.time[2, 2] == 0.0
    with pytest.raises(PlanningError, match="no route from d to a"):
        c.path("d", "a")
    assert c.path("a", "d") == ["a", "b", "c", "d"]
    assert c.path("a", "a") == ["a"]


def test_repeated_points_and_index() -> None:
    c = metric_closure(small(), ["b", "a", "b"])
    assert c.points == ("b", "a", "b")
    assert c.index("b") == 0 and c.index("a") == 1
    assert c.distance[0, 2] == 0.0 and c.distance[2, 1] == 10.0
    with pytest.raises(KeyError):
        c.index("d")


def test_forbidden_point_has_inf_row_and_column() -> None:
    fac = small()
    hole = Zone("hole", ZoneKind.NO_GO, "0", box(28, -1, 32, 1))
    fac = Facility(fac.name, fac.levels, fac.nodes, fac.edges, (hole,))
    c = metric_closure(fac, ["a", "d"])
    assert math.isinf(c.distance[1, 1]) and math.isinf(c.distance[0, 1])
    assert c.distance[0, 0] == 0.0


def test_unknown_point_is_a_map_error() -> None:
    with pytest.raises(MapError, match="unknown node 'ghost'"):
        metric_closure(small(), ["a", "ghost"])


def test_no_points_and_no_edges() -> None:
    assert metric_closure(small(), []).distance.shape == (0, 0)
    bare = Facility("bare", {"0": Level("0")}, {"a": Node("a", 0, 0), "b": Node("b", 1, 0)}, ())
    c = metric_closure(bare, ["a", "b"])
    assert c.distance[0, 0] == 0.0 and math.isinf(c.distance[0, 1])


def test_arcs_can_be_reused() -> None:
    fac = generate_mine(nodes=1500, inspection_points=30, seed=7)
    access = Access(ratings=frozenset({Epl.GB}))
    arcs = drivable_arcs(fac, access)
    pts = fac.inspection_points
    a = metric_closure(fac, pts, access=access, arcs=arcs)
    b = metric_closure(fac, pts[::-1], access=access)
    assert np.array_equal(a.distance[::-1, ::-1], b.distance)
    assert len(arcs.src) == sum((1 if e.one_way else 2) for e in fac.edges
                                if fac.traversable(e, access))


@pytest.mark.slow
def test_closure_of_1000_points_on_100k_nodes_is_fast() -> None:
    fac = generate_mine(nodes=100_000, inspection_points=1000, seed=0)
    access = Access(ratings=frozenset({Epl.GB}))
    arcs = drivable_arcs(fac, access)
    start = clock.perf_counter()
    c = metric_closure(fac, fac.inspection_points, access=access, arcs=arcs)
    elapsed = clock.perf_counter() - start
    assert c.distance.shape == (1000, 1000)
    assert elapsed < 10.0  # the target is 5 s; leave room for a busy shared machine
