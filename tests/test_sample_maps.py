"""The sample sites meet the issue's requirements and stay in sync with their generator."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.facility import formats
from fleet.facility.blocks import PASSING_BAY_TAG
from fleet.facility.model import Access, EdgeKind, Facility, NodeKind, Zone, ZoneKind
from fleet.facility.protection import Epl, ExplosionGroup, MaOnlyReason, SiteKind

ROOT = Path(__file__).resolve().parents[1]
MINE = ROOT / "maps" / "coal_mine.yaml"
PLANT = ROOT / "maps" / "chemical_plant.yaml"
READABLE_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

ALL_ACCESS = Access(ratings=frozenset({Epl.MA, Epl.GA}), capabilities=frozenset({"stairs"}))


@pytest.fixture(scope="module")
def mine() -> Facility:
    return formats.load(MINE)


@pytest.fixture(scope="module")
def plant() -> Facility:
    return formats.load(PLANT)


def servable(fac: Facility, access: Access) -> set[str]:
    """Inspection points a robot with ``access`` can reach from a charger and return from,
    driving only edges it may use and standing only where it may stand."""
    g = nx.DiGraph()
    g.add_nodes_from(n for n in fac.nodes if fac.node_allowed(n, access))
    for e in fac.edges:
        if e.source in g and e.target in g and fac.traversable(e, access):
            g.add_edge(e.source, e.target)
            if not e.one_way:
                g.add_edge(e.target, e.source)
    there: set[str] = set()
    back: set[str] = set()
    for c in fac.chargers:
        if c in g:
            there |= nx.descendants(g, c) | {c}
            back |= nx.ancestors(g, c) | {c}
    return {p for p in fac.inspection_points if p in there and p in back}


def points_in(fac: Facility, zone: Zone) -> list[str]:
    return [p for p in fac.inspection_points if zone in fac.zones_at(p)]


def gas_zones(fac: Facility, atex: int) -> list[Zone]:
    return [z for z in fac.zones if z.kind is ZoneKind.GAS_HAZARD and z.atex_zone == atex]


def tagged_points(fac: Facility, tag: str) -> list[str]:
    return [p for p in fac.inspection_points if tag in fac.nodes[p].tags]


# ------------------------------------------------------------------ both sites
def test_both_maps_validate_through_the_cli() -> None:
    result = CliRunner().invoke(app, ["map", "validate", str(MINE), str(PLANT)])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == 2


def test_committed_maps_match_their_generator() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "maps" / "tools" / "make_samples.py"), "--check"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("which", ["mine", "plant"])
def test_ids_are_readable_and_every_point_is_named(which: str,
                                                   request: pytest.FixtureRequest) -> None:
    fac: Facility = request.getfixturevalue(which)
    assert all(READABLE_ID.match(n) for n in fac.nodes), [
        n for n in fac.nodes if not READABLE_ID.match(n)]
    for p in fac.inspection_points:
        assert fac.nodes[p].name, p
        assert fac.nodes[p].tags, p


@pytest.mark.parametrize("which", ["mine", "plant"])
def test_a_fully_equipped_robot_serves_every_point(which: str,
                                                   request: pytest.FixtureRequest) -> None:
    fac: Facility = request.getfixturevalue(which)
    assert servable(fac, ALL_ACCESS) == set(fac.inspection_points)


@pytest.mark.parametrize("which", ["mine", "plant"])
def test_no_go_zones_hold_no_nodes(which: str, request: pytest.FixtureRequest) -> None:
    fac: Facility = request.getfixturevalue(which)
    assert any(z.kind is ZoneKind.NO_GO for z in fac.zones)
    assert all(fac.node_allowed(n) for n in fac.nodes)


# ------------------------------------------------------------------ coal mine
def test_mine_size_and_stations(mine: Facility) -> None:
    assert len(mine.nodes) >= 150
    assert len(mine.inspection_points) >= 60
    assert len(mine.nodes_of_kind(NodeKind.CHARGER)) >= 2
    assert mine.nodes_of_kind(NodeKind.DOCK)
    assert mine.nodes_of_kind(NodeKind.REFUGE)


def test_mine_levels_joined_by_a_long_slow_shaft(mine: Facility) -> None:
    assert len(mine.levels) >= 2
    shafts = [e for e in mine.edges if e.kind is EdgeKind.SHAFT
              and mine.nodes[e.source].level != mine.nodes[e.target].level]
    assert shafts
    for e in shafts:
        assert e.length >= 300
        assert e.max_speed is not None and e.max_speed <= 1.0
        for end in (e.source, e.target):
            assert mine.nodes[end].kind is NodeKind.LANDING
            # shaft stations are speed-limited
            assert any(z.kind is ZoneKind.SPEED_LIMIT for z in mine.zones_at(end))
    # the levels are connected as a whole: every node reaches every other one
    undirected = mine.graph.to_undirected()
    assert nx.is_connected(undirected)


def test_mine_roads_and_entries(mine: Facility) -> None:
    single = [e for e in mine.edges if e.single_lane]
    double = [e for e in mine.edges if not e.single_lane and e.kind is EdgeKind.CORRIDOR]
    assert len(single) >= 30 and len(double) >= 30
    fastest_single = max(e.max_speed or math.inf for e in single)
    assert max(e.max_speed or 0 for e in double) > fastest_single
    assert any(e.closed for e in mine.edges)


def test_mine_is_group_one_without_atex_zones(mine: Facility) -> None:
    assert (mine.kind, mine.group) == (SiteKind.COAL_MINE, ExplosionGroup.I)
    assert not mine.has_atex_zones
    ma_only = [z for z in mine.zones if z.kind is ZoneKind.MA_ONLY]
    assert ma_only and all(z.reason is MaOnlyReason.GOAF_EDGE for z in ma_only)
    inside = {p for z in ma_only for p in points_in(mine, z)}
    assert inside == set(tagged_points(mine, "seal"))


def test_mine_comms_dead_zones_cover_corridors(mine: Facility) -> None:
    dead = [z for z in mine.zones if z.kind is ZoneKind.COMMS_DEAD]
    assert len(dead) >= 2
    crossed = {z.id for e in mine.edges for z in mine.zones_on_edge(e)
               if z.kind is ZoneKind.COMMS_DEAD}
    assert crossed == {z.id for z in dead}


def test_mine_tags_select_meaningful_sets(mine: Facility) -> None:
    for tag in ("face", "return", "conveyor", "belt-drive", "intake", "seal", "pump",
                "shaft", "door"):
        assert tagged_points(mine, tag), tag
    assert len(tagged_points(mine, "face")) >= 10


def test_mine_ratings_matter(mine: Facility) -> None:
    # group I: unrated and G-rated robots may not be underground at all; Mb everywhere but
    # the Ma-only seals; Ma everywhere
    for access in (Access(), Access(ratings=frozenset({Epl.GA}))):
        assert servable(mine, access) == set()
    mb = servable(mine, Access(ratings=frozenset({Epl.MB})))
    ma = servable(mine, Access(ratings=frozenset({Epl.MA})))
    both = servable(mine, Access(ratings=frozenset({Epl.MB, Epl.GB})))
    assert ma == set(mine.inspection_points)
    assert mb == both == ma - set(tagged_points(mine, "seal"))
    assert "face-05" in mb and "tg-uc" in mb


# ------------------------------------------------------------------ chemical plant
def test_plant_points_and_tags(plant: Facility) -> None:
    assert len(plant.inspection_points) >= 40
    for tag in ("tank", "pump", "flange", "valve", "loading", "compressor"):
        assert tagged_points(plant, tag), tag


def test_plant_atex_zones_hold_points(plant: Facility) -> None:
    assert (plant.kind, plant.group) == (SiteKind.CHEMICAL_PLANT, ExplosionGroup.II)
    assert not any(z.kind is ZoneKind.MA_ONLY for z in plant.zones)
    for atex in (0, 1, 2):
        zones = gas_zones(plant, atex)
        assert zones, atex
        assert any(points_in(plant, z) for z in zones), atex
    assert {z.gas for z in plant.zones if z.kind is ZoneKind.GAS_HAZARD} >= {"h2s"}


def test_plant_control_room_has_a_charger_nearby(plant: Facility) -> None:
    rooms = [n for n in plant.nodes.values() if "control-room" in n.tags
             and n.kind is NodeKind.WAYPOINT]
    assert rooms
    room = rooms[0]
    near = [c for c in plant.chargers
            if math.dist((plant.nodes[c].x, plant.nodes[c].y), (room.x, room.y)) <= 50]
    assert any(plant.nodes[c].kind is NodeKind.DOCK for c in near)
    assert any(plant.nodes[c].kind is NodeKind.CHARGER for c in near)


def test_plant_roads_platform_and_special_zones(plant: Facility) -> None:
    assert sum(e.one_way for e in plant.edges) >= 5
    assert any(e.single_lane for e in plant.edges)
    links = [e for e in plant.edges if e.kind in (EdgeKind.LIFT, EdgeKind.RAMP)]
    assert {e.kind for e in links} == {EdgeKind.LIFT, EdgeKind.RAMP}
    assert len(plant.levels) == 2
    assert any(z.kind is ZoneKind.RESTRICTED and z.capability == "stairs"
               for z in plant.zones)
    assert any(z.kind is ZoneKind.COMMS_DEAD for z in plant.zones)


def test_plant_protection_levels_and_stairs_matter(plant: Facility) -> None:
    zone0 = {p for z in gas_zones(plant, 0) for p in points_in(plant, z)}
    zone1 = {p for z in gas_zones(plant, 1) for p in points_in(plant, z)} - zone0
    gb = servable(plant, Access(ratings=frozenset({Epl.GB}), capabilities=frozenset({"stairs"})))
    gc = servable(plant, Access(ratings=frozenset({Epl.GC}), capabilities=frozenset({"stairs"})))
    ga_no_stairs = servable(plant, Access(ratings=frozenset({Epl.GA})))
    assert zone0 and not zone0 & gb
    assert zone1 and not zone1 & gc
    assert zone1 <= gb
    assert "r-101-top" not in ga_no_stairs and "c-101-top" in ga_no_stairs
    assert len(servable(plant, Access())) >= 8  # roads and the pipe rack are open to all


# ------------------------------------------------------------ space for traffic
FACE_M = 220.0  # the longwall face between its corners: no bay can be cut in a face line


@pytest.mark.parametrize("which", ["mine", "plant"])
def test_single_lane_drifts_have_a_place_to_meet_every_200_m(
        which: str, request: pytest.FixtureRequest) -> None:
    fac: Facility = request.getfixturevalue(which)
    layout = fac.layout
    assert layout.passing_bays()
    assert all(PASSING_BAY_TAG in fac.nodes[n].tags for n in layout.passing_bays())
    # a block of several edges (a drift, not one shaft or ramp) is short enough to wait for
    long_ones = {b.id: b.length_m for b in layout.blocks
                 if len(b.edges) > 1 and b.length_m > 200.0}
    assert long_ones == ({"face-lc~tg-uc": FACE_M} if which == "mine" else {})


def test_mine_passing_bays_split_the_longwall_district(mine: Facility) -> None:
    bays = set(mine.layout.passing_bays())
    assert {"hg-03", "hg-05", "face-lc", "tg-uc", "dev-03", "dev-05", "nw-02"} == bays
    assert mine.capacity("garage") == 3
    assert {b.id for b in mine.layout.blocks} >= {"face-lc~tg-uc", "dev-05~dev-face"}
