"""The planner honours every hard constraint where a naive plan would break it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fleet.errors import MissionError
from fleet.facility.model import Epl, Facility
from fleet.planning.mission import Objective
from fleet.planning.plan import DropReason, StopKind
from fleet.planning.planner import plan_mission
from fleet.planning.robots import Fleet, Robot
from fleet.planning.verify import check_plan

from .factories import fleet, mission, robot_class, site, square, task

LIMIT = 1.0  # seconds of solver time: these scenarios are tiny


def _detour_site(**direct: object) -> Facility:
    """Dock D and point P 100 m apart; a 300 m detour D-W1-W2-P."""
    return site(
        [("D", 0, 0, "dock"), ("P", 100, 0, "inspection"), ("W1", 0, 100, "waypoint"),
         ("W2", 100, 100, "waypoint")],
        [{"from": "D", "to": "P", **direct}, ("D", "W1"), ("W1", "W2"), ("W2", "P")],
    )


def test_closed_edge_is_never_traversed() -> None:
    fac = _detour_site(closed=True)
    m = mission(fac, task("P"))
    plan = plan_mission(m, fleet(("r1", robot_class(), "D")), time_limit=LIMIT)
    (rp,) = plan.robots
    assert rp.inspections == ["P"]
    assert rp.distance_m == pytest.approx(600.0)  # the naive direct path would be 200 m
    assert ("D", "P") not in set(zip(rp.route, rp.route[1:], strict=False))


def test_no_go_zone_is_never_crossed() -> None:
    fac = site(
        [("D", 0, 0, "dock"), ("P", 100, 0, "inspection"), ("W1", 0, 100, "waypoint"),
         ("W2", 100, 100, "waypoint")],
        [("D", "P"), ("D", "W1"), ("W1", "W2"), ("W2", "P")],
        [{"id": "goaf", "kind": "no_go", "polygon": square(40, -10, 60, 10)}],
    )
    plan = plan_mission(mission(fac, task("P")), fleet(("r1", robot_class(), "D")),
                        time_limit=LIMIT)
    assert plan.robots[0].distance_m == pytest.approx(600.0)


def _two_docks_site() -> Facility:
    """Point P next to dock D1; dock D2 1 km away; P inside an ATEX zone 1 polygon."""
    return site(
        [("D1", 0, 0, "dock"), ("P", 20, 0, "inspection"), ("D2", 1000, 0, "dock"),
         ("Z0", 1020, 50, "inspection")],
        [("D1", "P"), ("P", "D2"), ("D2", "Z0")],
        [{"id": "face", "kind": "gas_hazard", "atex_zone": 1, "gas": "ch4",
          "polygon": square(10, -5, 30, 5)},
         {"id": "vent", "kind": "gas_hazard", "atex_zone": 0, "gas": "ch4",
          "polygon": square(1015, 45, 1025, 55)}],
    )


def test_protection_level_decides_who_serves_a_hazard_zone() -> None:
    fac = _two_docks_site()
    near_gc = robot_class("gc-bot", epl=Epl.GC)
    far_gb = robot_class("gb-bot", epl=Epl.GB)
    m = mission(fac, task("P"), task("Z0"))
    plan = plan_mission(m, fleet(("near", near_gc, "D1"), ("far", far_gb, "D2")),
                        time_limit=LIMIT)
    # the naive nearest robot (Gc, 20 m away) may not enter ATEX zone 1
    assert plan.robot("far").inspections == ["P"]
    (dropped,) = plan.unassigned
    assert dropped.point == "Z0" and dropped.reason is DropReason.PROTECTION
    assert "needs Ga" in dropped.detail


def test_sensors_decide_who_serves_a_point() -> None:
    fac = _two_docks_site()
    plan = plan_mission(
        mission(fac, task("P", sensors=["h2s"])),
        fleet(("near", robot_class("plain"), "D1"),
              ("far", robot_class("h2s-bot", sensors=["h2s", "lel"]), "D2")),
        time_limit=LIMIT)
    assert plan.robot("far").inspections == ["P"]
    with pytest.raises(KeyError):
        plan.robot("near")


def test_no_robot_with_the_sensors_is_reported() -> None:
    fac = _two_docks_site()
    plan = plan_mission(mission(fac, task("P", sensors=["thermal"])),
                        fleet(("r1", robot_class(), "D1")), time_limit=LIMIT)
    assert plan.robots == ()
    (u,) = plan.unassigned
    assert u.reason is DropReason.NO_SENSORS and "thermal" in u.detail


def _long_drift() -> Facility:
    """Dock D, charger C at 500 m, point P at 1000 m along one drift."""
    return site(
        [("D", 0, 0, "dock"), ("C", 500, 0, "charger"), ("P", 1000, 0, "inspection")],
        [("D", "C"), ("C", "P")],
    )


def test_charging_stops_keep_the_battery_above_the_reserve() -> None:
    fac = _long_drift()
    small = robot_class("small", battery_wh=700, wh_per_metre=0.5, charge_w=1000)
    m = mission(fac, task("P"), reserve_pct=20)
    # the naive round trip needs 1000 Wh of a 700 Wh battery
    plan = plan_mission(m, fleet(("r1", small, "D")), time_limit=LIMIT)
    rp = plan.robots[0]
    assert rp.inspections == ["P"]
    assert rp.charging_stops >= 2
    reserve = 0.2 * 700
    assert all(s.battery_arrival_wh >= reserve - 1e-6 for s in rp.stops)
    charging = [s for s in rp.stops if s.kind is StopKind.CHARGE]
    assert all(s.node == "C" and s.service_s > 0 for s in charging)
    assert check_plan(plan, m, fleet(("r1", small, "D"))).ok


def _two_points() -> Facility:
    """Dock D and charger C together at 0 m, point P1 at 200 m and P2 at 1000 m."""
    return site(
        [("D", 0, 0, "dock"), ("C", 0, 10, "charger"), ("P1", 200, 0, "inspection"),
         ("P2", 1000, 0, "inspection")],
        [("D", "C"), ("D", "P1"), ("P1", "P2")],
    )


def test_a_robot_that_cannot_be_sent_to_charge_gets_only_what_its_charge_reaches() -> None:
    """A ROS 2 robot (no startCharging) with 600 of 1200 Wh, 10 % reserve, 0.5 Wh/m: P1
    (400 m there and back) fits, P2 (2000 m) does not. Where a robot that can charge would
    be planned a charging stop, it gets none; P2 goes to the other robot, or is left with
    the reason when there is none."""
    fac = _two_points()
    cls = robot_class("rail", battery_wh=1200, wh_per_metre=0.5, charge_w=1000)
    m = mission(fac, task("P1"), task("P2"), reserve_pct=10)
    nav2 = Robot("test", "nav2", cls, "D", 600.0, charges=False)
    alone = Fleet((nav2,), {cls.name: cls})
    plan = plan_mission(m, alone, time_limit=LIMIT)
    (rp,) = plan.robots
    assert rp.inspections == ["P1"] and rp.charging_stops == 0
    (left,) = plan.unassigned
    assert (left.point, left.reason) == ("P2", DropReason.BATTERY)
    assert "too little charge" in left.detail
    assert all(s.battery_arrival_wh >= 120 - 1e-6 for s in rp.stops)
    assert check_plan(plan, m, alone).ok
    # the same robot able to charge would do both, charging on the way
    able = Fleet((replace(nav2, charges=True),), {cls.name: cls})
    (rp,) = plan_mission(m, able, time_limit=LIMIT).robots
    assert sorted(rp.inspections) == ["P1", "P2"] and rp.charging_stops >= 1
    # with a robot that can charge beside it, everything is done, and P2 by that one
    both = Fleet((nav2, Robot("test", "vda", cls, "D", 600.0)), {cls.name: cls})
    plan = plan_mission(m, both, time_limit=LIMIT)
    assert not plan.unassigned
    done = {p: r.serial for r in plan.robots for p in r.inspections}
    assert done["P2"] == "vda"
    assert all(r.charging_stops == 0 for r in plan.robots if r.serial == "nav2")
    assert check_plan(plan, m, both).ok


@pytest.mark.parametrize(("level_pct", "charges"), [(100, 0), (60, 1), (None, 0)])
def test_a_round_starts_with_the_battery_the_robot_has(level_pct: float | None,
                                                       charges: int) -> None:
    """A robot back from an earlier round starts this one with what its state reports: the
    plan charges it on the way when that is not enough (the round drives 1000 Wh, keeps a
    120 Wh reserve, of 1200 Wh when full), and the verifier holds it to that start."""
    fac = _long_drift()
    cls = robot_class("big", battery_wh=1200, wh_per_metre=0.5, charge_w=1000)
    m = mission(fac, task("P"), reserve_pct=10)
    start = None if level_pct is None else 1200 * level_pct / 100
    bot = Robot("test", "r1", cls, "D", start)
    plan = plan_mission(m, Fleet((bot,), {cls.name: cls}), time_limit=LIMIT)
    (rp,) = plan.robots
    assert rp.inspections == ["P"]
    assert rp.stops[0].battery_departure_wh == pytest.approx(bot.start_wh)
    assert rp.charging_stops == charges
    assert all(s.battery_arrival_wh >= 120 - 1e-6 for s in rp.stops)
    assert check_plan(plan, m, Fleet((bot,), {cls.name: cls})).ok
    # the same plan is wrong for a robot with less in its battery than it says
    low = Robot("test", "r1", cls, "D", 300.0)
    assert not check_plan(plan, m, Fleet((low,), {cls.name: cls})).ok


def test_point_beyond_battery_range_is_unassigned() -> None:
    fac = _long_drift()
    tiny = robot_class("tiny", battery_wh=300, wh_per_metre=0.5)
    plan = plan_mission(mission(fac, task("P")),
                        fleet(("r1", tiny, "D")), time_limit=LIMIT)
    (u,) = plan.unassigned
    assert u.reason is DropReason.BATTERY


def test_time_window_and_dwell_are_respected() -> None:
    fac = site(
        [("D", 0, 0, "dock"), ("P1", 50, 0, "inspection"), ("P2", 300, 0, "inspection")],
        [("D", "P1"), ("P1", "P2")],
    )
    # nearest-first (P1 then P2) reaches P2 at 330 s, after its window closes at 310 s
    m = mission(fac, task("P1", dwell_s=30), task("P2", dwell_s=45, window=(0, 310)))
    plan = plan_mission(m, fleet(("r1", robot_class(), "D")), time_limit=LIMIT)
    rp = plan.robots[0]
    assert rp.inspections == ["P2", "P1"]
    p2 = next(s for s in rp.stops if s.node == "P2")
    assert p2.service_start <= 310 and p2.service_s >= 45


def test_lower_priority_is_dropped_first() -> None:
    fac = site(
        [("D", 0, 0, "dock"), ("LOW", -300, 0, "inspection"), ("HIGH", 300, 0, "inspection")],
        [("D", "LOW"), ("D", "HIGH")],
    )
    m = mission(fac, task("LOW", priority=1, window=(0, 310)),
                task("HIGH", priority=5, window=(0, 310)))
    plan = plan_mission(m, fleet(("r1", robot_class(), "D")), time_limit=LIMIT)
    assert plan.robots[0].inspections == ["HIGH"]
    (u,) = plan.unassigned
    assert u.point == "LOW" and u.reason is DropReason.CAPACITY


def test_unreachable_point_is_reported() -> None:
    fac = site(
        [("D", 0, 0, "dock"), ("P", 10, 0, "inspection"), ("Q", 50, 0, "inspection")],
        [("D", "P"), ("P", "Q")],
        [{"id": "lab", "kind": "restricted", "capability": "stairs",
          "polygon": square(45, -5, 55, 5)}],
    )
    plan = plan_mission(mission(fac, task("P"), task("Q")),
                        fleet(("r1", robot_class(), "D")), time_limit=LIMIT)
    (u,) = plan.unassigned
    assert u.point == "Q" and u.reason is DropReason.CAPABILITY


def test_makespan_spreads_work_and_distance_saves_travel() -> None:
    fac = site(
        [("D", 0, 0, "dock"), ("E1", 100, 0, "inspection"), ("E2", 200, 0, "inspection"),
         ("W1", -100, 0, "inspection"), ("W2", -200, 0, "inspection")],
        [("D", "E1"), ("E1", "E2"), ("D", "W1"), ("W1", "W2")],
    )
    robots = fleet(("r1", robot_class(), "D"), ("r2", robot_class(), "D"))
    tasks = [task(p) for p in ("E1", "E2", "W1", "W2")]
    by_time = plan_mission(mission(fac, *tasks, objective=Objective.MAKESPAN), robots,
                           time_limit=LIMIT)
    by_dist = plan_mission(mission(fac, *tasks, objective=Objective.DISTANCE), robots,
                           time_limit=LIMIT)
    assert len(by_time.robots) == 2
    assert by_time.makespan_s == pytest.approx(400 + 60, abs=1.0)
    assert by_time.makespan_s < 800
    assert by_dist.distance_m == pytest.approx(800.0)
    assert by_dist.distance_m <= by_time.distance_m + 1e-6


def test_unknown_dock_is_a_mission_error() -> None:
    fac = _long_drift()
    with pytest.raises(MissionError, match="dock 'nowhere' is not a node"):
        plan_mission(mission(fac, task("P")),
                     fleet(("r1", robot_class(), "nowhere")), time_limit=LIMIT)
