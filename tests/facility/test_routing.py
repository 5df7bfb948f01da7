"""Routing: shortest routes honour closures, one-way edges, zones and robot access."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from shapely.geometry import LineString, Point, box
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.errors import MapError
from fleet.facility.generate import generate_mine
from fleet.facility.model import (
    Access,
    Edge,
    EdgeKind,
    Epl,
    Facility,
    Level,
    Node,
    NodeKind,
    Zone,
    ZoneKind,
)
from fleet.facility.protection import parse_ratings
from fleet.facility.routing import Route, measure_path, path_edges, shortest_route

TINY = Path(__file__).resolve().parents[1] / "data" / "maps" / "tiny.yaml"

NodeSpec = tuple[Any, ...]  # (id, x, y) or (id, x, y, level)
EdgeSpec = tuple[Any, ...]  # (a, b) or (a, b, {edge flags, length})


def site(nodes: Iterable[NodeSpec], edges: Iterable[EdgeSpec],
         zones: Sequence[Zone] = ()) -> Facility:
    """A one-level facility from ``(id, x, y[, level])`` nodes and ``(a, b[, flags])``
    edges; edge length is the distance unless ``flags`` gives ``length``."""
    ns = {}
    for spec in nodes:
        nid, x, y = spec[0], spec[1], spec[2]
        level = spec[3] if len(spec) > 3 else "0"
        ns[nid] = Node(nid, x, y, level=level)
    es = []
    for spec in edges:
        a, b = spec[0], spec[1]
        flags = dict(spec[2]) if len(spec) > 2 else {}
        length = flags.pop("length", math.dist((ns[a].x, ns[a].y), (ns[b].x, ns[b].y)))
        es.append(Edge(a, b, length, **flags))
    levels = {lv: Level(lv) for lv in {n.level for n in ns.values()}}
    return Facility("test", levels, ns, tuple(es), tuple(zones))


def drivable_graph(fac: Facility, access: Access | None) -> nx.DiGraph:
    """networkx graph of the arcs the model lets the robot drive (``w``: length)."""
    g = nx.DiGraph()
    g.add_nodes_from(fac.nodes)
    for e in fac.edges:
        if fac.traversable(e, access):
            g.add_edge(e.source, e.target, w=e.length)
            if not e.one_way:
                g.add_edge(e.target, e.source, w=e.length)
    return g


def reference_length(fac: Facility, a: str, b: str, access: Access | None,
                     graph: nx.DiGraph | None = None) -> float:
    """networkx's shortest length over the edges the model lets the robot drive."""
    g = drivable_graph(fac, access) if graph is None else graph
    if not (fac.node_allowed(a, access) and fac.node_allowed(b, access)):
        return math.inf
    try:
        return float(nx.dijkstra_path_length(g, a, b, weight="w"))
    except nx.NetworkXNoPath:
        return math.inf


# A square with a diagonal: s -> t directly (100 m) or round by u (2 x 80 m) or by v.
SQUARE = [("s", 0.0, 0.0), ("t", 100.0, 0.0), ("u", 50.0, 62.45), ("v", 50.0, -62.45)]


def square(direct: dict[str, Any] | None = None, zones: Sequence[Zone] = (),
           via_v: dict[str, Any] | None = None) -> Facility:
    return site(SQUARE, [("s", "t", direct or {}), ("s", "u"), ("u", "t"),
                         ("s", "v", via_v or {}), ("v", "t", via_v or {})], zones)


def over_direct(kind: ZoneKind, **attrs: Any) -> Zone:
    """A zone over the middle of the direct s-t edge only."""
    return Zone("z", kind, "0", box(40, -5, 60, 5), **attrs)


def test_direct_route_is_shortest() -> None:
    r = shortest_route(square(), "s", "t")
    assert r == Route(("s", "t"), 100.0, 100.0)


def test_closed_edge_is_avoided() -> None:
    r = shortest_route(square({"closed": True}), "s", "t")
    assert r is not None and r.nodes in (("s", "u", "t"), ("s", "v", "t"))
    assert r.length_m == pytest.approx(2 * math.hypot(50, 62.45))


def test_one_way_edge_only_forwards() -> None:
    fac = square({"one_way": True}, via_v={"closed": True})
    assert shortest_route(fac, "s", "t") == Route(("s", "t"), 100.0, 100.0)
    back = shortest_route(fac, "t", "s")
    assert back is not None and back.nodes == ("t", "u", "s")


def test_one_way_dead_end_has_no_route_back() -> None:
    fac = site([("a", 0, 0), ("b", 10, 0)], [("a", "b", {"one_way": True})])
    assert shortest_route(fac, "a", "b") is not None
    assert shortest_route(fac, "b", "a") is None


def test_no_go_zone_is_avoided_by_every_robot() -> None:
    fac = square(zones=[over_direct(ZoneKind.NO_GO)])
    for access in (None, Access(ratings=frozenset({Epl.GA}), capabilities=frozenset({"x"}))):
        r = shortest_route(fac, "s", "t", access=access)
        assert r is not None and len(r.nodes) == 3


@pytest.mark.parametrize(("atex", "epl", "through"), [
    (0, Epl.GA, True), (0, Epl.GB, False), (0, Epl.GC, False), (0, None, False),
    (1, Epl.GA, True), (1, Epl.GB, True), (1, Epl.GC, False), (1, None, False),
    (2, Epl.GA, True), (2, Epl.GB, True), (2, Epl.GC, True), (2, None, False),
])
def test_atex_zone_needs_a_matching_protection_level(atex: int, epl: Epl | None,
                                                     through: bool) -> None:
    fac = square(zones=[over_direct(ZoneKind.GAS_HAZARD, atex_zone=atex)])
    r = shortest_route(fac, "s", "t", access=Access(ratings=parse_ratings(epl)))
    assert r is not None
    assert (r.nodes == ("s", "t")) is through
    access = Access(ratings=parse_ratings(epl))
    assert r.length_m == pytest.approx(reference_length(fac, "s", "t", access))
    # Without an access only closures and no-go zones count.
    assert shortest_route(fac, "s", "t") == Route(("s", "t"), 100.0, 100.0)


def test_restricted_zone_needs_the_capability() -> None:
    fac = square(zones=[over_direct(ZoneKind.RESTRICTED, capability="hoist")])
    plain = shortest_route(fac, "s", "t", access=Access())
    able = shortest_route(fac, "s", "t", access=Access(capabilities=frozenset({"hoist"})))
    assert plain is not None and len(plain.nodes) == 3
    assert able is not None and able.nodes == ("s", "t")


def test_ends_inside_a_forbidden_zone_have_no_route() -> None:
    gas = Zone("g", ZoneKind.GAS_HAZARD, "0", box(95, -5, 105, 5), atex_zone=1)
    fac = square(zones=[gas])
    assert shortest_route(fac, "s", "t", access=Access(ratings=frozenset({Epl.GC}))) is None
    assert shortest_route(fac, "t", "s", access=Access(ratings=frozenset({Epl.GC}))) is None
    assert shortest_route(fac, "t", "t", access=Access(ratings=frozenset({Epl.GC}))) is None
    gb = Access(ratings=frozenset({Epl.GB}))
    assert shortest_route(fac, "t", "t", access=gb) == Route(("t",), 0, 0)


def test_speed_limit_zone_sets_the_time() -> None:
    fac = square(zones=[over_direct(ZoneKind.SPEED_LIMIT, max_speed=0.25)])
    fast = Access(speed=2.0)
    short = shortest_route(fac, "s", "t", access=fast)
    assert short is not None and short.nodes == ("s", "t")
    assert short.time_s == pytest.approx(100 / 0.25)
    quick = shortest_route(fac, "s", "t", access=fast, weight="time")
    detour = 2 * math.hypot(50, 62.45)
    assert quick is not None and len(quick.nodes) == 3
    assert quick.length_m == pytest.approx(detour)
    assert quick.time_s == pytest.approx(detour / 2.0)


def test_edge_max_speed_and_robot_speed_set_the_time() -> None:
    fac = site([("a", 0, 0), ("b", 30, 0), ("c", 60, 0)],
               [("a", "b", {"max_speed": 0.5}), ("b", "c")])
    r = shortest_route(fac, "a", "c", access=Access(speed=1.5))
    assert r is not None and r.time_s == pytest.approx(30 / 0.5 + 30 / 1.5)
    assert shortest_route(fac, "a", "c") == Route(("a", "b", "c"), 60.0, 90.0)


def test_level_link_zones_touch_only_the_landings() -> None:
    # A shaft whose straight line would cross a no-go zone on the upper level: only its
    # landing points count, so the shaft stays usable.
    nodes: list[NodeSpec] = [("top", 0, 0, "U"), ("bottom", 50, 0, "D")]
    no_go = Zone("z", ZoneKind.NO_GO, "U", box(20, -5, 30, 5))
    fac = site(nodes, [("top", "bottom", {"kind": EdgeKind.SHAFT, "length": 40.0})], [no_go])
    assert shortest_route(fac, "top", "bottom") == Route(("top", "bottom"), 40.0, 40.0)
    landing = Zone("l", ZoneKind.NO_GO, "D", box(45, -5, 55, 5))
    fac = site(nodes, [("top", "bottom", {"kind": EdgeKind.SHAFT, "length": 40.0})], [landing])
    assert shortest_route(fac, "top", "bottom") is None


def test_zones_on_edge_match_shapely_edge_by_edge() -> None:
    fac = generate_mine(nodes=1500, inspection_points=20, seed=4)
    for e in fac.edges:
        a, b = fac.nodes[e.source], fac.nodes[e.target]
        expect = set()
        for z in fac.zones:
            if a.level == b.level == z.level:
                geom = LineString([(a.x, a.y), (b.x, b.y)]) if (a.x, a.y) != (b.x, b.y) \
                    else Point(a.x, a.y)
                hit = geom.intersects(z.polygon)
            else:
                hit = any(n.level == z.level and n.point.intersects(z.polygon) for n in (a, b))
            if hit:
                expect.add(z.id)
        assert {z.id for z in fac.zones_on_edge(e)} == expect, e


def test_unknown_node_is_a_map_error() -> None:
    with pytest.raises(MapError, match="unknown node 'nowhere'"):
        shortest_route(square(), "s", "nowhere")


@pytest.mark.parametrize("access", [None, Access(), Access(ratings=frozenset({Epl.GB})),
                                    Access(ratings=frozenset({Epl.GA}),
                                           capabilities=frozenset({"hoist"}))])
def test_generated_mine_matches_networkx(access: Access | None) -> None:
    fac = generate_mine(nodes=2500, inspection_points=40, seed=2)
    graph = drivable_graph(fac, access)
    ends = fac.inspection_points[:12] + fac.chargers[:3]
    for a in ends[:4]:
        for b in ends:
            r = shortest_route(fac, a, b, access=access)
            expect = reference_length(fac, a, b, access, graph)
            if math.isinf(expect):
                assert r is None
                continue
            assert r is not None and r.length_m == pytest.approx(expect)
            again = measure_path(fac, r.nodes, access=access)
            assert again.length_m == pytest.approx(r.length_m)
            assert again.time_s == pytest.approx(r.time_s)


def test_path_edges_and_measure_path_refuse_what_cannot_be_driven() -> None:
    fac = square({"one_way": True}, zones=[Zone("g", ZoneKind.GAS_HAZARD, "0",
                                                 box(45, 55, 55, 70), atex_zone=2)])
    assert [e.key for e in path_edges(fac, ["s", "u", "t"])] == [("s", "u"), ("u", "t")]
    with pytest.raises(MapError, match="no edge from t to s"):
        path_edges(fac, ["t", "s"])
    with pytest.raises(MapError, match="may not stand"):
        measure_path(fac, ["s", "u"], access=Access())
    with pytest.raises(MapError, match="may not drive"):
        measure_path(fac, ["s", "u", "t"], access=Access())
    with pytest.raises(MapError, match="empty path"):
        measure_path(fac, [])
    r = measure_path(fac, ["s", "u", "t"], access=Access(ratings=frozenset({Epl.GC}), speed=2.0))
    assert r.time_s == pytest.approx(r.length_m / 2.0)


# ------------------------------------------------------------------------------- CLI
runner = CliRunner()


def test_cli_route_json() -> None:
    result = runner.invoke(app, ["map", "route", str(TINY), "dock", "p2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["nodes"] == ["dock", "a", "p1", "top", "bottom", "p2"]
    assert data["length_m"] == pytest.approx(140.0)
    # 80 m of corridor at 1 m/s, 60 m of shaft at 0.5 m/s.
    assert data["time_s"] == pytest.approx(80 + 120)


def test_cli_route_for_a_robot_that_may_not_pass() -> None:
    result = runner.invoke(app, ["map", "route", str(TINY), "dock", "p2", "--json",
                                 "--robot-class", "epl=none"])
    assert result.exit_code == 1
    assert "no route from dock to p2" in result.output
    ok = runner.invoke(app, ["map", "route", str(TINY), "dock", "p2",
                             "--robot-class", "epl=Gb,speed=2"])
    assert ok.exit_code == 0, ok.output
    # dock-a is capped at 1.5 m/s and the shaft at 0.5 m/s; the rest at the robot's 2 m/s.
    assert ok.output.startswith("140.0 m, 163 s, 6 nodes: dock -> a -> p1")


def test_cli_route_unknown_node() -> None:
    result = runner.invoke(app, ["map", "route", str(TINY), "dock", "ghost"])
    assert result.exit_code == 1
    assert "unknown node 'ghost'" in result.output


def test_kinds_of_generated_ends_are_sensible() -> None:
    # Guards the fixtures above: the generated mine has the kinds these tests pick from.
    fac = generate_mine(nodes=2500, inspection_points=40, seed=2)
    kinds = {n.kind for n in fac.nodes.values()}
    assert {NodeKind.INSPECTION, NodeKind.DOCK, NodeKind.CHARGER} <= kinds
