"""Cyclic patrol planning: cycles through every point, exact spacing, idleness within the
cyclic bound, target classes beating one shared cycle, and the joins."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet.errors import PlanningError
from fleet.facility.model import Facility
from fleet.facility.routing import path_edges
from fleet.planning.mission import DEFAULT_REVISIT_S, Mode
from fleet.planning.patrol import (
    PatrolPlan,
    PatrolPoint,
    PatrolRobot,
    PatrolStrategy,
    plan_patrol,
    points_from_mission,
)
from tests.planning.factories import mission, site, task


def grid_site(cols: int, rows: int, *, spacing: float = 10.0, drop: Sequence[int] = (),
              stretch: Sequence[float] = ()) -> Facility:
    """A ``cols x rows`` grid of inspection points with a dock below its corner; edges
    whose number is in ``drop`` are left out (the grid stays connected through the
    others), ``stretch[i]`` lengthens edge ``i`` by that factor (a winding corridor)."""
    nodes = [("dock", 0.0, -spacing, "dock")]
    nodes += [(f"p{x}_{y}", x * spacing, y * spacing, "inspection")
              for x in range(cols) for y in range(rows)]
    edges: list[dict[str, object]] = [{"from": "dock", "to": "p0_0"}]
    pairs = [((x, y), (x + 1, y)) for x in range(cols - 1) for y in range(rows)]
    pairs += [((x, y), (x, y + 1)) for x in range(cols) for y in range(rows - 1)]
    g = nx.Graph(pairs)
    for i, (a, b) in enumerate(pairs):
        if i in drop:
            g.remove_edge(a, b)
            if nx.is_connected(g):
                continue
            g.add_edge(a, b)
        factor = stretch[i] if i < len(stretch) else 1.0
        edges.append({"from": f"p{a[0]}_{a[1]}", "to": f"p{b[0]}_{b[1]}",
                      "length": spacing * factor})
    return site(nodes, edges)


def metric(fac: Facility) -> dict[str, dict[str, float]]:
    """Shortest lengths between all nodes, computed here with networkx alone."""
    g = nx.Graph()
    for e in fac.edges:
        g.add_edge(e.source, e.target, weight=e.length)
    return dict(nx.all_pairs_dijkstra_path_length(g))


def optimal_tour(fac: Facility, points: Sequence[str]) -> float:
    """The shortest closed tour through ``points`` by brute force (few points only)."""
    d = metric(fac)
    first, rest = points[0], points[1:]
    return min(sum(d[a][b] for a, b in itertools.pairwise([first, *perm, first]))
               for perm in itertools.permutations(rest))


def robots(k: int, start: str = "dock", speed: float = 1.0) -> list[PatrolRobot]:
    return [PatrolRobot(f"r{i}", start, speed) for i in range(k)]


def check_plan(fac: Facility, plan: PatrolPlan, points: Sequence[PatrolPoint],
               fleet: Sequence[PatrolRobot]) -> None:
    """What the module promises, checked from the plan and the map alone."""
    ids = [p.id for p in points]
    inspected = [p for c in plan.cycles for p in c.points]
    assert sorted(inspected) == sorted(ids)  # every point a stop of exactly one cycle
    for c in plan.cycles:
        assert tuple(c.nodes[j] for j in c.stops) == c.points
        closed = [*c.nodes, c.nodes[0]] if len(c.nodes) > 1 else list(c.nodes)
        edges = path_edges(fac, closed)  # drivable closed walk
        assert c.length_m == pytest.approx(sum(e.length for e in edges))
        assert c.period_s == pytest.approx(
            sum(e.length for e in edges) / c.speed
            + sum(p.dwell_s for p in points if p.id in c.points))
    by_name = {r.name: r for r in fleet}
    for part in plan.robots:
        c = plan.cycles[part.cycle]
        assert part.robot in c.robots
        start = by_name[part.robot]
        assert part.approach[0] == start.start and part.approach[-1] == c.nodes[part.join]
        drive = sum(e.length for e in path_edges(fac, part.approach)) / start.speed
        assert drive <= part.join_at_s + 1e-6  # there in time
        if c.period_s > 0:  # its place on the cycle agrees with where it joins
            at = (part.offset_s + part.join_at_s) % c.period_s
            assert min(abs(at - c.arrivals_s[part.join]),
                       c.period_s - abs(at - c.arrivals_s[part.join])) < 1e-6
        assert part.join_at_s <= plan.formation_s + 1e-9
        route = plan.route(part.robot)
        assert route[0] == c.nodes[part.join] and sorted(route) == sorted(c.nodes)
    for c in plan.cycles:  # exact spacing: offsets a whole gap apart
        offs = sorted(p.offset_s % c.period_s for p in plan.robots
                      if plan.cycles[p.cycle] is c) if c.period_s > 0 else []
        for a, b in itertools.pairwise([*offs, offs[0] + c.period_s] if offs else []):
            assert b - a == pytest.approx(c.gap_s)
        for p in c.points:
            assert plan.worst_idleness_s[p] == pytest.approx(c.gap_s)


def test_equal_targets_one_walk_through_every_point_robots_evenly_spaced() -> None:
    fac = grid_site(3, 3)
    points = [PatrolPoint(p, 600) for p in fac.inspection_points]
    for k in (1, 2, 3, 4):
        fleet = robots(k)
        plan = plan_patrol(fac, points, fleet, time_limit=2)
        check_plan(fac, plan, points, fleet)
        assert plan.strategy is PatrolStrategy.SINGLE and len(plan.cycles) == 1
        # 9 points on a 3 x 3 grid of 10 m: the best closed walk is 100 m (odd grid)
        assert plan.cycles[0].length_m == pytest.approx(optimal_tour(fac, fac.inspection_points))
        assert plan.worst_s == pytest.approx(100.0 / k)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cols=st.integers(2, 3), rows=st.integers(2, 3), k=st.integers(1, 4),
       drop=st.lists(st.integers(0, 12), max_size=3),
       stretch=st.lists(st.sampled_from([1.0, 1.5, 3.0]), max_size=12),
       speed=st.sampled_from([0.5, 1.0, 2.0]))
def test_worst_idleness_is_the_best_walk_over_k_v_on_small_graphs(
        cols: int, rows: int, k: int, drop: list[int], stretch: list[float],
        speed: float) -> None:
    fac = grid_site(cols, rows, drop=drop, stretch=stretch)
    pts = fac.inspection_points
    points = [PatrolPoint(p, 3600) for p in pts]
    fleet = robots(k, speed=speed)
    plan = plan_patrol(fac, points, fleet, time_limit=1)
    check_plan(fac, plan, points, fleet)
    best = optimal_tour(fac, pts)
    assert plan.cycles[0].length_m == pytest.approx(best, rel=1e-6)
    assert plan.worst_s == pytest.approx(best / (k * speed), rel=1e-6)


def two_clusters(far_target: float = 600) -> tuple[Facility, list[PatrolPoint]]:
    """A 20 m square of four points by the dock that want a visit every minute, and four
    points 50 m apart along a drift starting 95 m away, which can wait ``far_target``."""
    nodes = [("dock", 0, -5, "dock")]
    nodes += [(f"n{i}", 5 * (i % 2), 5 * (i // 2), "inspection") for i in range(4)]
    nodes += [(f"f{i}", 100 + 50 * i, 0, "inspection") for i in range(4)]
    edges = [("dock", "n0"), ("n0", "n1"), ("n1", "n3"), ("n3", "n2"), ("n2", "n0"),
             ("n1", "f0"), ("f0", "f1"), ("f1", "f2"), ("f2", "f3")]
    fac = site(nodes, edges)
    points = [PatrolPoint(f"n{i}", 60) for i in range(4)]
    points += [PatrolPoint(f"f{i}", far_target) for i in range(4)]
    return fac, points


def test_different_targets_do_better_than_one_cycle() -> None:
    fac, points = two_clusters()
    fleet = robots(2)
    single = plan_patrol(fac, points, fleet, strategy=PatrolStrategy.SINGLE, time_limit=1)
    best = plan_patrol(fac, points, fleet, time_limit=1)
    check_plan(fac, single, points, fleet)
    check_plan(fac, best, points, fleet)
    # one cycle: the square and the drift out and back, 20 + 2 x 245 m, shared by two
    assert single.worst_s == pytest.approx(510 / 2)
    assert single.worst_ratio == pytest.approx(255 / 60)
    assert best.strategy is PatrolStrategy.SPLIT and len(best.cycles) == 2
    assert best.worst_ratio < single.worst_ratio
    assert single.overdue and not best.overdue  # one cycle misses the 60 s target
    # a robot on each: the square every 20 s, the drift (2 x 150 m) every 300 s
    assert best.worst_idleness_s["n0"] == pytest.approx(20.0)
    assert best.worst_idleness_s["f3"] == pytest.approx(300.0)
    assert best.worst_ratio == pytest.approx(0.5)
    assert dict(best.considered) == pytest.approx({"60s | 600s": 0.5, "60s+600s": 255 / 60})


def test_robots_are_allotted_to_the_cycle_that_needs_them() -> None:
    fac, points = two_clusters(far_target=150)
    fleet = robots(4)
    plan = plan_patrol(fac, points, fleet, time_limit=1)
    check_plan(fac, plan, points, fleet)
    far, near = plan.cycle_of("f0"), plan.cycle_of("n0")
    # near: 20 s a lap against 60 s; far: 300 s against 150 s, so it takes three
    assert (len(near.robots), len(far.robots)) == (1, 3)
    assert plan.worst_idleness_s["f0"] == pytest.approx(100.0)
    assert plan.worst_ratio == pytest.approx(100 / 150)


def test_one_robot_or_split_forced_on_one_class_stays_one_cycle() -> None:
    fac, points = two_clusters()
    assert len(plan_patrol(fac, points, robots(1), time_limit=1).cycles) == 1
    same = [PatrolPoint(p.id, 600) for p in points]
    plan = plan_patrol(fac, same, robots(2), strategy=PatrolStrategy.SPLIT, time_limit=1)
    assert len(plan.cycles) == 1


def test_robots_on_one_cycle_keep_the_slowest_pace_and_join_in_formation() -> None:
    fac = grid_site(3, 2)
    points = [PatrolPoint(p, 600, dwell_s=5) for p in fac.inspection_points]
    fleet = [PatrolRobot("fast", "dock", 2.0), PatrolRobot("slow", "p2_1", 0.5)]
    plan = plan_patrol(fac, points, fleet, time_limit=1)
    check_plan(fac, plan, points, fleet)
    (c,) = plan.cycles
    assert c.speed == 0.5
    assert c.period_s == pytest.approx(60 / 0.5 + 6 * 5)
    assert plan.worst_s == pytest.approx(c.period_s / 2)
    assert plan.formation_s == max(p.join_at_s for p in plan.robots)


def test_unknown_robot_or_point_lookups_say_so() -> None:
    fac = grid_site(2, 1)
    plan = plan_patrol(fac, [PatrolPoint("p0_0")], robots(1), time_limit=1)
    with pytest.raises(KeyError, match="no robot 'x'"):
        plan.route("x")
    with pytest.raises(KeyError, match="no cycle inspects 'p1_0'"):
        plan.cycle_of("p1_0")


def test_tiny_patrols_one_and_two_points() -> None:
    fac = grid_site(2, 1)
    one = plan_patrol(fac, [PatrolPoint("p1_0", 60)], robots(2), time_limit=1)
    assert one.cycles[0].nodes == ("p1_0",) and one.worst_s == 0.0
    two = plan_patrol(fac, [PatrolPoint("p0_0", 60), PatrolPoint("p1_0", 60)], robots(1),
                      time_limit=1)
    check_plan(fac, two, [PatrolPoint("p0_0", 60), PatrolPoint("p1_0", 60)], robots(1))
    assert two.worst_s == pytest.approx(20.0)


@pytest.mark.parametrize(("points", "fleet", "words"), [
    ([], robots(1), "at least one point"),
    ([PatrolPoint("p0_0")], [], "at least one robot"),
    ([PatrolPoint("p0_0"), PatrolPoint("p0_0")], robots(1), "points listed twice: p0_0"),
    ([PatrolPoint("p0_0")], [PatrolRobot("a", "dock")] * 2, "robots listed twice: a"),
    ([PatrolPoint("zz")], robots(1), "unknown nodes: zz"),
    ([PatrolPoint("p0_0")], robots(1, start="nowhere"), "unknown nodes: nowhere"),
])
def test_bad_input_is_a_planning_error_naming_it(points: list[PatrolPoint],
                                                 fleet: list[PatrolRobot], words: str) -> None:
    with pytest.raises(PlanningError, match=words):
        plan_patrol(grid_site(2, 2), points, fleet, time_limit=1)


def test_unreachable_points_and_robots_are_named() -> None:
    fac = site([("dock", 0, 0, "dock"), ("a", 10, 0, "inspection"), ("b", 20, 0, "inspection"),
                ("island", 50, 50, "inspection"), ("far", 60, 50, "dock")],
               [("dock", "a"), ("a", "b"), ("island", "far")])
    with pytest.raises(PlanningError, match="island"):
        plan_patrol(fac, [PatrolPoint("a"), PatrolPoint("island")], robots(1), time_limit=1)
    with pytest.raises(PlanningError, match="cannot reach"):
        plan_patrol(fac, [PatrolPoint("a"), PatrolPoint("b")], robots(1, start="far"),
                    time_limit=1)


@pytest.mark.parametrize("bad", [
    {"revisit_s": 0}, {"revisit_s": math.inf}, {"dwell_s": -1}, {"dwell_s": math.nan}])
def test_point_values_are_checked(bad: dict[str, float]) -> None:
    with pytest.raises(PlanningError, match="point p"):
        PatrolPoint("p", **bad)
    with pytest.raises(PlanningError, match="robot r: speed"):
        PatrolRobot("r", "dock", 0.0)


def test_a_continuous_mission_gives_its_patrol_points() -> None:
    fac = grid_site(2, 1)
    spec = mission(fac, task("p0_0", dwell_s=10))
    with pytest.raises(PlanningError, match="not continuous"):
        points_from_mission(spec)
    from dataclasses import replace

    spec = replace(spec, mode=Mode.CONTINUOUS,
                   tasks=(replace(spec.tasks[0], revisit_s=120.0),
                          replace(task("p1_0", dwell_s=0), revisit_s=DEFAULT_REVISIT_S)))
    assert points_from_mission(spec) == [PatrolPoint("p0_0", 120.0, 10.0),
                                         PatrolPoint("p1_0", DEFAULT_REVISIT_S, 0.0)]


def test_replanning_after_a_robot_leaves_keeps_the_cycle_and_respaces() -> None:
    fac = grid_site(3, 3)
    points = [PatrolPoint(p, 600) for p in fac.inspection_points]
    before = plan_patrol(fac, points, robots(3), time_limit=1)
    # r1 is lost; the two others are wherever their approach took them
    now = [PatrolRobot(p.robot, p.approach[-1]) for p in before.robots if p.robot != "r1"]
    after = plan_patrol(fac, points, now, time_limit=1, previous=before)
    check_plan(fac, after, points, now)
    assert after.cycles[0].nodes == before.cycles[0].nodes
    assert after.worst_s == pytest.approx(before.cycles[0].period_s / 2)


@pytest.mark.parametrize("order", [["a", "b", "c"], ["a", "c", "b"]])
def test_one_way_corridors_are_driven_forwards_only(order: list[str]) -> None:
    # a one-way loop a -> b -> c -> a of 30 m: against it, a tour would cost two laps
    fac = site([("dock", 0, -10, "dock"), ("a", 0, 0, "inspection"),
                ("b", 10, 0, "inspection"), ("c", 5, 8, "inspection")],
               [("dock", "a"), {"from": "a", "to": "b", "length": 10, "one_way": True},
                {"from": "b", "to": "c", "length": 10, "one_way": True},
                {"from": "c", "to": "a", "length": 10, "one_way": True}])
    points = [PatrolPoint(p, 600) for p in order]
    plan = plan_patrol(fac, points, robots(2), time_limit=1)
    check_plan(fac, plan, points, robots(2))
    assert plan.cycles[0].length_m == pytest.approx(30.0)
    assert plan.worst_s == pytest.approx(15.0)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cols=st.integers(2, 3), rows=st.integers(1, 3), k=st.integers(1, 4),
       targets=st.lists(st.sampled_from([30.0, 120.0, 600.0, 3600.0]), min_size=9,
                        max_size=9),
       dwell=st.sampled_from([0.0, 5.0]))
def test_the_chosen_plan_is_never_worse_than_one_cycle(
        cols: int, rows: int, k: int, targets: list[float], dwell: float) -> None:
    fac = grid_site(cols, rows)
    points = [PatrolPoint(p, t, dwell) for p, t in zip(fac.inspection_points, targets,
                                                       strict=False)]
    fleet = robots(k)
    single = plan_patrol(fac, points, fleet, strategy=PatrolStrategy.SINGLE, time_limit=1)
    best = plan_patrol(fac, points, fleet, time_limit=1)
    check_plan(fac, single, points, fleet)
    check_plan(fac, best, points, fleet)
    assert best.worst_ratio <= single.worst_ratio * (1 + 1e-9)
    assert len(best.cycles) <= min(k, len(set(targets[:len(points)])))
    assert best.worst_ratio == pytest.approx(min(r for _, r in best.considered))
