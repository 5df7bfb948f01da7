"""The synthetic mine: valid, exactly the size asked for, deterministic, mine-like."""

from __future__ import annotations

import time as clock
from collections import Counter

import pytest

from fleet.facility.generate import generate_mine
from fleet.facility.model import LEVEL_LINKS, EdgeKind, NodeKind, ZoneKind
from fleet.facility.validate import check_facility


@pytest.mark.parametrize(("nodes", "points", "levels", "seed"), [
    (300, 10, 1, 0),
    (600, 20, 2, 1),
    (2000, 100, 2, 2),
    (5000, 300, 3, 3),
])
def test_valid_and_exactly_sized(nodes: int, points: int, levels: int, seed: int) -> None:
    fac = generate_mine(nodes=nodes, inspection_points=points, levels=levels, seed=seed)
    check_facility(fac)  # raises MapError listing every problem
    assert len(fac.nodes) == nodes
    assert len(fac.inspection_points) == points
    assert list(fac.levels) == [f"L{i + 1}" for i in range(levels)]
    kinds = Counter(n.kind for n in fac.nodes.values())
    assert kinds[NodeKind.DOCK] == 4
    assert kinds[NodeKind.CHARGER] == 2 * levels
    assert kinds[NodeKind.REFUGE] == levels
    assert kinds[NodeKind.LANDING] == levels


def test_same_seed_same_mine_other_seed_other_mine() -> None:
    a = generate_mine(nodes=2000, inspection_points=50, seed=11)
    b = generate_mine(nodes=2000, inspection_points=50, seed=11)
    c = generate_mine(nodes=2000, inspection_points=50, seed=12)
    assert a.nodes == b.nodes and a.edges == b.edges
    assert [(z.id, z.polygon.wkt) for z in a.zones] == [(z.id, z.polygon.wkt) for z in b.zones]
    assert a.edges != c.edges


def test_has_the_features_of_a_mine() -> None:
    fac = generate_mine(nodes=10_000, inspection_points=500, seed=0)
    check_facility(fac)
    edges = fac.edges
    assert sum(e.one_way for e in edges) >= 10
    assert sum(e.closed for e in edges) >= 3
    assert sum(e.single_lane for e in edges) >= 20
    kinds = Counter(e.kind for e in edges)
    assert kinds[EdgeKind.SHAFT] == 1 and kinds[EdgeKind.RAMP] >= 10
    for e in edges:  # only shafts and ramps join levels
        a, b = fac.nodes[e.source], fac.nodes[e.target]
        assert a.level == b.level or e.kind in LEVEL_LINKS
    zones = Counter(z.kind for z in fac.zones)
    assert zones[ZoneKind.NO_GO] == 1 and zones[ZoneKind.SPEED_LIMIT] == 1
    assert zones[ZoneKind.RESTRICTED] == 1 and zones[ZoneKind.COMMS_DEAD] == 1
    assert {z.atex_zone for z in fac.zones if z.kind is ZoneKind.GAS_HAZARD} == {0, 1, 2}
    # Corridors are chains of waypoints 10-20 m apart (crosscuts and spurs a bit shorter).
    corridor = sorted(e.length for e in edges if e.kind is EdgeKind.CORRIDOR)
    median = corridor[len(corridor) // 2]
    assert 8.0 <= median <= 20.0
    degree = Counter(x for e in edges for x in (e.source, e.target))
    share_chain = sum(1 for d in degree.values() if d == 2) / len(fac.nodes)
    assert share_chain > 0.6  # most nodes are waypoints along corridors
    # Some inspection points lie in gas zones: not every robot may reach them all.
    assert any(z.kind is ZoneKind.GAS_HAZARD for p in fac.inspection_points
               for z in fac.zones_at(p))


def test_too_small_or_too_many_points_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="too few"):
        generate_mine(nodes=30, inspection_points=1)
    with pytest.raises(ValueError, match="reachable waypoints"):
        generate_mine(nodes=400, inspection_points=400)
    with pytest.raises(ValueError, match="levels"):
        generate_mine(nodes=400, inspection_points=1, levels=0)


@pytest.mark.slow
def test_100k_nodes_build_in_seconds() -> None:
    start = clock.perf_counter()
    fac = generate_mine(nodes=100_000, inspection_points=1000, seed=0)
    assert clock.perf_counter() - start < 30.0  # a few seconds when the machine is idle
    assert len(fac.nodes) == 100_000 and len(fac.inspection_points) == 1000
