"""The verifier catches a deliberately broken plan for every constraint."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fleet.errors import PlanningError
from fleet.facility.model import Epl, Facility
from fleet.planning.mission import MissionSpec
from fleet.planning.plan import Plan, RobotPlan, Unassigned
from fleet.planning.planner import plan_mission
from fleet.planning.robots import Fleet
from fleet.planning.verify import check_plan, verify_plan

from .factories import fleet, mission, robot_class, site, square, task


def _site(*, closed: bool = False, no_go: bool = False, atex: int | None = 1) -> Facility:
    zones = []
    if atex is not None:
        zones.append({"id": "face", "kind": "gas_hazard", "atex_zone": atex,
                      "polygon": square(190, -5, 210, 5)})
    if no_go:
        zones.append({"id": "goaf", "kind": "no_go", "polygon": square(40, -5, 60, 5)})
    return site(
        [("D", 0, 0, "dock"), ("A", 100, 0, "waypoint"), ("P", 200, 0, "inspection"),
         ("B", 0, 100, "waypoint"), ("C", 200, 100, "charger")],
        [{"from": "D", "to": "A", "closed": closed}, ("A", "P"), ("D", "B"), ("B", "C"),
         ("C", "P")],
        zones,
    )


CLASS = robot_class("gb", epl=Epl.GB, battery_wh=1000, wh_per_metre=0.5)


@pytest.fixture(scope="module")
def good() -> tuple[Plan, MissionSpec, Fleet]:
    m = mission(_site(), task("P", dwell_s=30, window=(0, 1000)))
    f = fleet(("r1", CLASS, "D"))
    return plan_mission(m, f, time_limit=1.0), m, f


def _violations(plan: Plan, m: MissionSpec, f: Fleet) -> str:
    result = check_plan(plan, m, f)
    assert not result.ok
    return "\n".join(result.violations)


def _with_round(plan: Plan, rp: RobotPlan) -> Plan:
    return replace(plan, robots=(rp,))


def test_good_plan_passes(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, f = good
    result = verify_plan(plan, m, f)
    assert result.served == {"P"}
    assert result.makespan_s == pytest.approx(plan.makespan_s)
    assert result.distance_m == pytest.approx(400.0)


def test_missing_sensor(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, _ = good
    blind = fleet(("r1", replace(CLASS, sensors=frozenset({"o2"})), "D"))
    assert "lacks sensors ch4" in _violations(plan, m, blind)


def test_protection_level_too_low(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, _ = good
    gc = fleet(("r1", replace(CLASS, ratings=frozenset({Epl.GC})), "D"))
    assert "forbidden zone face" in _violations(plan, m, gc)


def test_closed_edge(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, f = good
    closed = replace(m, facility=_site(closed=True))
    assert "edge D-A is closed" in _violations(plan, closed, f)


def test_no_go_zone(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, f = good
    fenced = replace(m, facility=_site(no_go=True))
    assert "forbidden zone goaf" in _violations(plan, fenced, f)


def test_battery_below_reserve(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, _ = good
    weak = fleet(("r1", replace(CLASS, battery_wh=200), "D"))
    assert "below the reserve" in _violations(plan, m, weak)


def test_dwell_too_short(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, f = good
    longer = replace(m, tasks=(task("P", dwell_s=120),))
    assert "shorter than 120.0 s" in _violations(plan, longer, f)


def test_outside_time_window(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, f = good
    early = replace(m, tasks=(task("P", window=(0, 10)),))
    assert "outside its window" in _violations(plan, early, f)


def test_wrong_arrival_time(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, f = good
    rp = plan.robots[0]
    stops = list(rp.stops)
    stops[1] = replace(stops[1], arrival=stops[1].arrival - 50)
    assert "recomputed" in _violations(_with_round(plan, replace(rp, stops=tuple(stops))), m, f)


def test_broken_path(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, f = good
    rp = plan.robots[0]
    stops = list(rp.stops)
    stops[1] = replace(stops[1], path=("D", "P"))
    assert "no drivable edge D -> P" in _violations(
        _with_round(plan, replace(rp, stops=tuple(stops))), m, f)


def test_task_served_twice(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, _ = good
    rp = plan.robots[0]
    twin = replace(rp, serial="r2")
    two = fleet(("r1", CLASS, "D"), ("r2", CLASS, "D"))
    assert "already inspected by r1" in _violations(replace(plan, robots=(rp, twin)), m, two)


def test_task_neither_served_nor_listed(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, f = good
    assert "neither served nor listed" in _violations(replace(plan, robots=()), m, f)


def test_served_and_listed(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, f = good
    from fleet.planning.plan import DropReason

    both = replace(plan, unassigned=(Unassigned("P", DropReason.BATTERY),))
    assert "both served and listed" in _violations(both, m, f)


def test_round_must_start_and_end_at_dock(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, _ = good
    elsewhere = fleet(("r1", CLASS, "C"))
    text = _violations(plan, m, elsewhere)
    assert "does not start at its dock C" in text and "does not end at its dock C" in text


def test_verify_plan_raises_with_reasons(good: tuple[Plan, MissionSpec, Fleet]) -> None:
    plan, m, _ = good
    blind = fleet(("r1", replace(CLASS, sensors=frozenset()), "D"))
    with pytest.raises(PlanningError, match=r"plan failed verification: .*lacks sensors"):
        verify_plan(plan, m, blind)


def test_a_charging_stop_for_a_robot_that_cannot_be_sent_to_charge() -> None:
    """A plan made for a robot that can charge is refused for the same robot when it
    cannot be sent to charge (no startCharging: a ROS 2 robot)."""
    fac = site([("D", 0, 0, "dock"), ("C", 500, 0, "charger"), ("P", 1000, 0, "inspection")],
               [("D", "C"), ("C", "P")])
    small = robot_class("small", battery_wh=700, wh_per_metre=0.5, charge_w=1000)
    m = mission(fac, task("P"), reserve_pct=20)
    f = fleet(("r1", small, "D"))
    plan = plan_mission(m, f, time_limit=1.0)
    assert plan.robots[0].charging_stops >= 1 and check_plan(plan, m, f).ok
    (r1,) = f.robots
    cannot = Fleet((replace(r1, charges=False),), f.classes)
    assert "r1 cannot be sent to charge" in _violations(plan, m, cannot)
