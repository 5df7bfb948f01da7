"""The routing solver layer on tiny problems whose optimum is known by hand."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pytest

from fleet.errors import PlanningError
from fleet.planning.solver import (
    Client,
    Depot,
    Problem,
    Solution,
    SolveProgress,
    VehicleType,
    VisitKind,
    euclidean_matrix,
    solve,
)

LIMIT = 0.5  # seconds per solve: plenty for a handful of clients


def plane(points: Sequence[tuple[float, float]], clients: Sequence[Client],
          vehicles: Sequence[VehicleType], depots: Sequence[Depot] = (Depot(0),),
          speed: float = 1.0) -> Problem:
    """Points in the plane, straight-line legs driven at ``speed`` m/s."""
    d = euclidean_matrix(points)
    return Problem((d,), (d / speed,), tuple(depots), tuple(clients), tuple(vehicles))


def served_by(solution: Solution) -> dict[int, int]:
    """Client index -> vehicle type that serves it."""
    return {c: r.vehicle_type for r in solution.routes for c in r.clients}


# A depot at the centre of a diamond of four clients, 10 m away each.
DIAMOND = [(0, 0), (0, 10), (10, 0), (0, -10), (-10, 0)]
SIDE = math.hypot(10, 10)


def test_distance_objective_takes_one_tour_around_the_diamond() -> None:
    p = plane(DIAMOND, [Client(i) for i in range(1, 5)], [VehicleType(count=2)])
    s = solve(p, objective="distance", time_limit=LIMIT)
    assert s.feasible and not s.dropped
    assert s.distance == pytest.approx(20 + 3 * SIDE)
    assert s.cost == s.distance
    assert len(s.routes) == 1


def test_makespan_objective_splits_the_diamond_between_two_robots() -> None:
    p = plane(DIAMOND, [Client(i) for i in range(1, 5)], [VehicleType(count=2)])
    s = solve(p, objective="makespan", time_limit=1.0)
    assert s.feasible
    assert len(s.routes) == 2
    assert s.makespan == pytest.approx(20 + SIDE)  # each robot: two neighbouring corners
    assert s.cost == s.makespan
    assert sorted(len(r.clients) for r in s.routes) == [2, 2]
    assert s.makespan == pytest.approx(max(r.end for r in s.routes))


def test_makespan_counts_dwell_and_balances_work() -> None:
    # Three clients on one spot 5 m away, 100 s of dwell each: with three robots the best
    # makespan gives each robot one client (5 + 100 + 5 = 110 s).
    p = plane([(0, 0), (5, 0)], [Client(1, service=100.0)] * 3, [VehicleType(count=3)])
    s = solve(p, objective="makespan", time_limit=1.0)
    assert s.feasible and len(s.routes) == 3
    assert s.makespan == pytest.approx(110.0)
    d = solve(p, objective="distance", time_limit=LIMIT)
    assert d.makespan == pytest.approx(310.0)  # one robot does all: shortest distance


def test_forbidden_vehicle_types_are_respected_even_when_costly() -> None:
    # Two clients side by side: one robot could serve both, but each may only be served by
    # a different vehicle type, so two routes are needed.
    points = [(0, 0), (50, 0), (51, 0)]
    clients = [Client(1, allowed=frozenset({0})), Client(2, allowed=frozenset({1}))]
    p = plane(points, clients, [VehicleType(name="camera"), VehicleType(name="gas")])
    s = solve(p, objective="distance", time_limit=LIMIT)
    assert s.feasible
    assert served_by(s) == {0: 0, 1: 1}
    assert s.distance == pytest.approx(100 + 102)


def test_unreachable_clients_are_forbidden_to_that_profile() -> None:
    # Profile 1 (a robot that cannot pass a door) has no way to location 2.
    d = euclidean_matrix([(0, 0), (10, 0), (20, 0)])
    blocked = d.copy()
    blocked[:, 2] = blocked[2, :] = np.inf
    blocked[2, 2] = 0
    p = Problem((blocked, d), (blocked, d), (Depot(0),), (Client(1), Client(2)),
                (VehicleType(profile=0), VehicleType(profile=1)))
    s = solve(p, objective="distance", time_limit=LIMIT)
    assert s.feasible
    assert served_by(s)[1] == 1
    assert math.isfinite(s.distance)


def test_required_client_nobody_may_serve_is_a_planning_error() -> None:
    p = plane([(0, 0), (1, 0)], [Client(1, allowed=frozenset(), name="t7")], [VehicleType()])
    with pytest.raises(PlanningError, match="t7"):
        solve(p, objective="distance", time_limit=LIMIT)


def test_lower_priority_is_dropped_first_when_time_runs_short() -> None:
    # Low-priority client 10 m west (20 s round trip), high-priority one 30 m east (60 s).
    # Only 70 s of route: both would need 80 s, so the cheap low-priority one goes.
    points = [(0, 0), (-10, 0), (30, 0)]
    clients = [Client(1, required=False, priority=1), Client(2, required=False, priority=2)]
    p = plane(points, clients, [VehicleType(max_duration=70.0)])
    for objective in ("distance", "makespan"):
        s = solve(p, objective=objective, time_limit=LIMIT)  # type: ignore[arg-type]
        assert s.feasible
        assert s.dropped == (0,)
        assert s.routes[0].clients == (1,)
        assert s.routes[0].duration <= 70.0


def test_optional_clients_are_kept_when_they_fit_however_far() -> None:
    points = [(0, 0), (-1000, 0), (3000, 0)]
    clients = [Client(1, required=False, priority=1), Client(2, required=False, priority=5)]
    p = plane(points, clients, [VehicleType()])
    s = solve(p, objective="distance", time_limit=LIMIT)
    assert s.feasible and s.dropped == ()


def test_priority_levels_drop_in_order() -> None:
    # One robot, 100 s: five optional clients 10 m apart in five directions each need a
    # 20 s round trip; only four fit, so the single lowest-priority one is dropped.
    angles = np.linspace(0, 2 * np.pi, 5, endpoint=False)
    points = [(0.0, 0.0)] + [(1000 * np.cos(a), 1000 * np.sin(a)) for a in angles]
    clients = [Client(i + 1, required=False, priority=p) for i, p in enumerate([3, 1, 4, 2, 5])]
    d = euclidean_matrix(points)
    # Make every client-to-client leg as long as going back to the depot and out again.
    for i in range(1, 6):
        for j in range(1, 6):
            if i != j:
                d[i, j] = 2000.0
    p = Problem((d,), (d,), (Depot(0),), tuple(clients), (VehicleType(max_duration=8000.0),))
    s = solve(p, objective="distance", time_limit=LIMIT)
    assert s.feasible
    assert s.dropped == (1,)  # priority 1


def test_time_windows_and_dwell_are_respected() -> None:
    # East client must be served first (window [0, 40]), west one late ([200, 300]);
    # dwell 30 s each. Distance alone would not care about the order.
    points = [(0, 0), (20, 0), (-20, 0)]
    clients = [Client(1, service=30.0, tw_early=0.0, tw_late=40.0),
               Client(2, service=30.0, tw_early=200.0, tw_late=300.0)]
    p = plane(points, clients, [VehicleType()])
    for objective in ("distance", "makespan"):
        s = solve(p, objective=objective, time_limit=LIMIT)  # type: ignore[arg-type]
        assert s.feasible
        (route,) = s.routes
        assert route.clients == (0, 1)
        for stop in route.stops:
            if stop.kind is VisitKind.CLIENT:
                c = clients[stop.index]
                assert c.tw_early <= stop.start <= c.tw_late
                assert stop.end - stop.start == pytest.approx(c.service)
        assert route.end >= 200.0 + 30.0 + 20.0
    # makespan: served at 200, dwell to 230, 20 m home.
    assert s.makespan == pytest.approx(250.0)


def test_impossible_window_gives_an_infeasible_solution() -> None:
    p = plane([(0, 0), (100, 0)], [Client(1, tw_late=10.0)], [VehicleType()])
    s = solve(p, objective="distance", time_limit=LIMIT)
    assert not s.feasible


def test_each_robot_starts_and_ends_at_its_own_dock() -> None:
    # Two docks 1 km apart, two clients near each dock.
    points = [(0, 0), (1000, 0), (5, 5), (-5, 5), (1005, 5), (995, 5)]
    depots = [Depot(0, name="west"), Depot(1, name="east")]
    vehicles = [VehicleType(start_depot=0), VehicleType(start_depot=1)]
    p = plane(points, [Client(i) for i in range(2, 6)], vehicles, depots)
    for objective in ("distance", "makespan"):
        s = solve(p, objective=objective, time_limit=LIMIT)  # type: ignore[arg-type]
        assert s.feasible
        assert served_by(s) == {0: 0, 1: 0, 2: 1, 3: 1}
        for r in s.routes:
            assert r.stops[0].kind is VisitKind.DEPOT and r.stops[-1].kind is VisitKind.DEPOT
            assert r.stops[0].index == r.stops[-1].index == r.vehicle_type


def test_max_distance_forces_a_second_robot() -> None:
    # 100 m budget: a single tour of both far clients is 2 * 30 + 60 = 120 m.
    p = plane([(0, 0), (30, 0), (-30, 0)], [Client(1), Client(2)],
              [VehicleType(count=2, max_distance=100.0)])
    s = solve(p, objective="distance", time_limit=LIMIT)
    assert s.feasible and len(s.routes) == 2
    assert all(r.distance <= 100.0 for r in s.routes)


def test_reload_depots_allow_several_trips() -> None:
    # Capacity 2, four unit demands, one robot: it must come back to reload once.
    points = [(0, 0), (10, 0), (10, 1), (-10, 0), (-10, 1)]
    # The depot's 100 s of service (say, charging) apply at the start and on the reload.
    clients = [Client(i, demand=(1,)) for i in range(1, 5)]
    p = plane(points, clients, [VehicleType(capacity=(2,), reload_depots=(0,))],
              depots=[Depot(0, service=100.0)])
    s = solve(p, objective="distance", time_limit=LIMIT)
    assert s.feasible and len(s.routes) == 1
    (route,) = s.routes
    trips = {stop.trip for stop in route.stops if stop.kind is VisitKind.CLIENT}
    assert len(trips) == 2
    assert s.distance == pytest.approx(2 * (10 + 1 + math.hypot(10, 1)))
    reload = route.stops[3]
    assert reload.kind is VisitKind.DEPOT and reload.end - reload.start == pytest.approx(100)
    assert route.start == 0.0 and route.stops[0].end == pytest.approx(100.0)
    assert route.duration == pytest.approx(s.distance + 200.0)


def test_slower_profile_changes_the_makespan() -> None:
    d = euclidean_matrix([(0, 0), (50, 0)])
    p = Problem((d,), (d / 0.5,), (Depot(0),), (Client(1),), (VehicleType(),))
    s = solve(p, objective="makespan", time_limit=LIMIT)
    assert s.makespan == pytest.approx(200.0)
    assert s.distance == pytest.approx(100.0)


def test_progress_reports_and_no_improvement_stops_early() -> None:
    seen: list[SolveProgress] = []
    p = plane(DIAMOND, [Client(i) for i in range(1, 5)], [VehicleType(count=2)])
    s = solve(p, objective="distance", time_limit=30.0, no_improvement=200,
              progress=seen.append)
    assert s.seconds < 10.0
    assert seen and seen[-1].best == pytest.approx(s.distance, abs=0.5)
    assert all(a.elapsed <= b.elapsed for a, b in itertools.pairwise(seen))


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"depots": ()}, "depot"),
        ({"clients": (Client(9),)}, "out of range"),
        ({"clients": (Client(1, tw_early=5.0, tw_late=1.0),)}, "time window"),
        ({"vehicle_types": (VehicleType(count=0),)}, "count"),
        ({"vehicle_types": (VehicleType(profile=3),)}, "profile"),
        ({"clients": (Client(1, demand=(1,)), Client(1))}, "demand"),
    ],
)
def test_invalid_problems_are_planning_errors(kwargs: dict[str, object], reason: str) -> None:
    d = euclidean_matrix([(0, 0), (1, 0)])
    fields: dict[str, object] = {"distances": (d,), "durations": (d,), "depots": (Depot(0),),
                                 "clients": (Client(1),), "vehicle_types": (VehicleType(),)}
    fields.update(kwargs)
    with pytest.raises(PlanningError, match=reason):
        Problem(**fields)  # type: ignore[arg-type]


def test_bad_arguments_are_planning_errors() -> None:
    p = plane([(0, 0), (1, 0)], [Client(1)], [VehicleType()])
    with pytest.raises(PlanningError, match="objective"):
        solve(p, objective="fastest", time_limit=1.0)  # type: ignore[arg-type]
    with pytest.raises(PlanningError, match="time limit"):
        solve(p, objective="distance", time_limit=0.0)


@pytest.mark.parametrize("objective", ["distance", "makespan"])
def test_a_lone_robot_finds_the_optimal_tour_of_points_on_a_circle(objective: str) -> None:
    # Points in convex position: the optimal tour visits them in angular order. The tour
    # is seeded by a TSP solver since PyVRP has no intra-route 2-opt.
    angles = np.linspace(0, 2 * np.pi, 60, endpoint=False)[1:]  # the depot is at angle 0
    angles = np.random.default_rng(3).permutation(angles)
    points = [(100.0, 0.0)] + [(100 * np.cos(a), 100 * np.sin(a)) for a in angles]
    optimum = 60 * 2 * 100 * np.sin(np.pi / 60)
    p = plane(points, [Client(i, service=10.0) for i in range(1, 60)], [VehicleType()])
    s = solve(p, objective=objective, time_limit=1.0)  # type: ignore[arg-type]
    assert s.feasible
    assert s.distance == pytest.approx(optimum)
    assert s.makespan == pytest.approx(optimum + 59 * 10.0)


def test_matrices_may_be_nested_lists_but_must_be_numeric() -> None:
    p = Problem(([[0, 3], [3, 0]],), ([[0, 3], [3, 0]],), (Depot(0),), (Client(1),),  # type: ignore[arg-type]
                (VehicleType(),))
    assert solve(p, objective="distance", time_limit=LIMIT).distance == 6.0
    with pytest.raises(PlanningError, match="numeric"):
        Problem(([["a", "b"], [1, 0]],), ([[0, 1], [1, 0]],), (Depot(0),), (),  # type: ignore[arg-type]
                (VehicleType(),))


def _ring(n: int, robots: int) -> Problem:
    """``n`` clients on a circle of radius 100 around one dock, ``robots`` robots."""
    pts = [(0.0, 0.0)] + [(100 * math.cos(2 * math.pi * k / n),
                           100 * math.sin(2 * math.pi * k / n)) for k in range(n)]
    return plane(pts, [Client(i, service=5.0, required=False) for i in range(1, n + 1)],
                 [VehicleType(count=robots)])


@pytest.mark.parametrize("objective", ["distance", "makespan"])
def test_a_search_that_stops_improving_stops_before_its_time_limit(objective: str) -> None:
    # 30 s of limit for twelve points: every run converges long before (the rule counts
    # iterations, so the same seed gives the same plan however busy the machine is)
    p = _ring(12, 3)
    first = solve(p, objective=objective, time_limit=30.0, seed=3)  # type: ignore[arg-type]
    again = solve(p, objective=objective, time_limit=30.0, seed=3)  # type: ignore[arg-type]
    assert first.stopped == "converged" and first.seconds < 15.0
    assert first.feasible and not first.dropped
    assert [r.clients for r in first.routes] == [r.clients for r in again.routes]


def test_a_search_cut_short_says_so() -> None:
    # 200 points in 0.05 s: the first run cannot converge in its share
    s = solve(_ring(200, 4), objective="makespan", time_limit=0.05)
    assert s.stopped == "limit"


def test_the_convergence_rule_doubles_and_has_a_floor() -> None:
    from fleet.planning.solver import _Converged

    rule = _Converged(10)
    costs = [100.0] * 5 + [90.0] + [90.0] * 40  # better at iteration 5, then nothing
    stops = [i for i, c in enumerate(costs) if rule(c)]
    assert stops[0] == 5 + 10  # the floor (10 is more than the 5 it took)
    late = _Converged(10)
    costs = [100.0 - k for k in range(31)] + [70.0] * 40  # better up to iteration 30
    stops = [i for i, c in enumerate(costs) if late(c)]
    assert stops[0] == 30 + 30  # as long again as it took to find its best
    probe = _Converged(10, doubling=False)  # a probe: the floor only, improving or not
    assert next(i for i, c in enumerate(range(100, 0, -1)) if probe(float(c))) == 10


def test_operators_that_loop_on_mixed_fleets_are_left_out_there_only() -> None:
    from fleet.planning.solver import LOOPING_OPERATORS, _operators

    mixed = plane(DIAMOND, [Client(i) for i in range(1, 5)],
                  [VehicleType(count=1), VehicleType(count=1)])
    alike = plane(DIAMOND, [Client(i) for i in range(1, 5)], [VehicleType(count=2)])
    names = {op.__name__ for op in _operators(mixed)}
    assert names and not names & set(LOOPING_OPERATORS)
    assert set(LOOPING_OPERATORS) <= {op.__name__ for op in _operators(alike)}
