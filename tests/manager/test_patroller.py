"""Laps built from a cyclic patrol plan (fleet.manager.patroller): the RobotPlan a robot of
a continuous mission is dispatched with."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fleet.facility import load
from fleet.facility.routing import path_edges
from fleet.manager import MissionStatus
from fleet.manager.patroller import charging_lap, lap_plan, nearest_charger, needs_charge
from fleet.manager.registry import RobotEntry
from fleet.planning.patrol import PatrolPlan, PatrolPoint, PatrolRobot, plan_patrol
from fleet.planning.plan import RobotPlan, StopKind
from fleet.planning.robots import RobotClass
from fleet.protocol import examples
from fleet.protocol.factsheet import AgvActionSpec
from fleet.protocol.order import ActionType
from fleet.protocol.state import ActionStatus
from tests.e2e.fleetkit import ROOT, wait_for

from .harness import ScriptedRobot, Site

RING = load(ROOT / "tests" / "data" / "maps" / "ring.yaml")
POINTS = ("r1", "r2", "r3", "r4")
CLS = RobotClass("acme/x", speed=1.0, battery_wh=1000, wh_per_metre=0.1, wh_per_second=0.01,
                 charge_w=500, sensors=frozenset({"ch4"}))
DWELL = {p: 5.0 for p in POINTS}


def ring_plan() -> PatrolPlan:
    return plan_patrol(RING, [PatrolPoint(p, 300, 5) for p in POINTS],
                       [PatrolRobot("A", "dock"), PatrolRobot("B", "dock2")], time_limit=0.2)


def check_drivable(rp: RobotPlan) -> None:
    for prev, stop in zip(rp.stops, rp.stops[1:], strict=False):
        assert stop.path[0] == prev.node and stop.path[-1] == stop.node
        path_edges(RING, stop.path)  # raises when a step is not an edge


def test_first_lap_drives_the_approach_then_the_whole_cycle_back_to_the_join_node() -> None:
    plan = ring_plan()
    part = plan.robots[0]
    cycle = plan.cycles[part.cycle]
    join = cycle.nodes[part.join]
    rp = lap_plan(plan, RobotEntry("acme", "A"), CLS, RING, start="dock", dwell=DWELL,
                  battery_wh=1000, approach=True)
    kinds = [s.kind for s in rp.stops]
    assert kinds[0] is StopKind.START and rp.stops[0].node == "dock"
    assert kinds[-1] is StopKind.RETURN and rp.stops[-1].node == join
    assert sorted(rp.inspections) == sorted(POINTS)  # every stop of the cycle, once
    check_drivable(rp)
    route = rp.route
    assert tuple(route[:len(part.approach)]) == part.approach
    assert rp.distance_m == pytest.approx(cycle.length_m + 20 + (100 if join != "r1" else 0))
    # the inspections come in the cycle's order, starting from the join node
    order = list(cycle.points)
    k = order.index(rp.inspections[0])
    assert rp.inspections == order[k:] + order[:k]
    assert all(s.service_s == 5.0 for s in rp.stops if s.kind is StopKind.INSPECT)


def test_a_later_lap_starts_and_ends_at_the_join_node_and_drives_one_period() -> None:
    plan = ring_plan()
    part = plan.robots[1]
    cycle = plan.cycles[part.cycle]
    join = cycle.nodes[part.join]
    rp = lap_plan(plan, RobotEntry("acme", "B"), CLS, RING, start=join, dwell=DWELL,
                  battery_wh=1000, approach=False)
    assert rp.stops[0].node == join == rp.stops[-1].node
    assert rp.distance_m == pytest.approx(cycle.length_m)
    assert rp.finish == pytest.approx(cycle.period_s)  # one lap: the plan's period
    assert len(rp.inspections) == len(POINTS)
    check_drivable(rp)
    # the battery goes down by driving and dwelling
    assert rp.energy_wh() == pytest.approx(400 * 0.1 + 4 * 5 * 0.01)


def test_a_robot_off_its_planned_start_takes_the_quickest_way_to_its_join_node() -> None:
    plan = ring_plan()
    rp = lap_plan(plan, RobotEntry("acme", "A"), CLS, RING, start="r3", dwell=DWELL,
                  battery_wh=1000, approach=True)
    assert rp.stops[0].node == "r3"
    check_drivable(rp)
    with pytest.raises(KeyError):
        lap_plan(plan, RobotEntry("acme", "Z"), CLS, RING, start="r3", dwell=DWELL,
                 battery_wh=1000, approach=True)


def test_one_point_patrol_laps_stand_at_the_point() -> None:
    plan = plan_patrol(RING, [PatrolPoint("r2", 300, 5)], [PatrolRobot("A", "dock")],
                       time_limit=0.2)
    rp = lap_plan(plan, RobotEntry("acme", "A"), CLS, RING, start="r2", dwell=DWELL,
                  battery_wh=1000, approach=False)
    assert [s.kind for s in rp.stops] == [StopKind.START, StopKind.INSPECT, StopKind.RETURN]
    assert rp.route == ["r2"]


def test_charging_lap_goes_to_the_nearest_charger_fills_up_and_comes_back() -> None:
    plan = ring_plan()
    part = plan.robots[0]
    join = plan.cycles[part.cycle].nodes[part.join]
    way = nearest_charger(RING, join, CLS)
    assert way is not None and way[-1] in ("dock", "dock2") and way[0] == join
    rp = charging_lap(RobotEntry("acme", "A"), CLS, RING, start=join, charger=way, join=join,
                      battery_wh=300)
    assert [s.kind for s in rp.stops] == [StopKind.START, StopKind.CHARGE, StopKind.RETURN]
    charge = rp.stops[1]
    assert charge.battery_departure_wh == CLS.battery_wh  # leaves full
    assert rp.stops[-1].node == join and rp.inspections == []
    check_drivable(rp)


def test_needs_charge_keeps_the_reserve_after_the_lap_and_the_way_to_a_charger() -> None:
    plan = ring_plan()
    part = plan.robots[1]
    join = plan.cycles[part.cycle].nodes[part.join]
    rp = lap_plan(plan, RobotEntry("acme", "B"), CLS, RING, start=join, dwell=DWELL,
                  battery_wh=1000, approach=False)
    lap = rp.energy_wh()  # 40.2 Wh
    way_wh = (100 + 20) * 0.1 if join != "r1" else 20 * 0.1
    reserve = 0.2 * CLS.battery_wh
    assert not needs_charge(rp, CLS, RING, battery_wh=reserve + lap + way_wh + 1,
                            reserve_pct=20)
    assert needs_charge(rp, CLS, RING, battery_wh=reserve + lap + way_wh - 1, reserve_pct=20)


# -- in a running manager (manual clock, scripted robot) -----------------------------------

PATROL = """name: Tiny face patrol
map: {map}
mode: continuous
battery_reserve_pct: {reserve}
tasks:
  - points: [p1]
    sensors: [ch4, o2]
    dwell_s: 20
    revisit: 10m
"""


def _mission(tmp_path: Path, reserve: float) -> Path:
    path = tmp_path / "patrol.yaml"
    path.write_text(PATROL.format(map=ROOT / "tests" / "data" / "maps" / "tiny.yaml",
                                  reserve=reserve))
    return path


def _finish_lap(site: Site, r1: ScriptedRobot, count: int) -> None:
    """The robot drives its lap ``count`` (1-based) to the end, every inspection stored."""
    order = r1.wait_orders(count)[-1]
    points = list(r1.inspect_ids())
    r1.report(len(order.nodes) - 1)
    for p in points:
        r1.send(r1.result(p))
    site.net.drain()


def _wait_until(site: Site, r1: ScriptedRobot, t: float) -> None:
    """Move the clock to ``t`` (manager-clock timestamp) a few seconds at a time, the robot
    standing where its lap ended and saying so (a silent robot would be taken out)."""
    while (now := site.clock.now().timestamp()) < t:
        site.at(site.clock.monotonic() + min(2.0, t - now))
        r1.report(len(r1.order.nodes) - 1)
        site.net.drain()


def test_laps_follow_each_other_at_their_slots(site: Site, tmp_path: Path) -> None:
    r1 = site.robot("r1")
    run = site.launch(_mission(tmp_path, reserve=20))
    site.wait_until(lambda: len(site.events(run, "dispatched")) == 1)
    assert run.laps is not None
    period = run.laps.plan.cycles[0].period_s  # one point: the lap is its dwell
    first = r1.orders()[0]
    assert first.nodes[0].node_id == "dock"  # the approach, then p1
    _finish_lap(site, r1, 1)
    site.wait_until(lambda: bool(site.events(run, "robot_finished")))
    # done before its slot (the clock did not move): held until then, not sent now
    site.net.drain()
    assert len(r1.orders()) == 1
    slot = run.laps.slot("r1", 1)
    _wait_until(site, r1, slot - 1)
    assert len(r1.orders()) == 1
    _wait_until(site, r1, slot + 0.01)
    second = r1.wait_orders(2)[-1]
    assert [n.node_id for n in second.nodes] == ["p1"]  # from the join node, no dock
    assert slot == pytest.approx(run.laps.epoch + run.laps.plan.robots[0].join_at_s + period)


@pytest.mark.parametrize("charges", [True, False], ids=["charger", "no-charging"])
def test_a_robot_short_of_battery_is_sent_to_charge_first(site: Site, tmp_path: Path,
                                                         charges: bool) -> None:
    r1 = site.robot("r1")  # reports 90 % standing, 80 % on its laps
    if charges:  # a factsheet offering startCharging / stopCharging
        fs = examples.factsheet()
        r1.send(replace(fs, header=r1.stamper.blank(), agv_actions=(
            *fs.agv_actions, AgvActionSpec(ActionType.START_CHARGING.value, ("NODE",)),
            AgvActionSpec(ActionType.STOP_CHARGING.value, ("INSTANT",)))))
        site.net.drain()
    run = site.launch(_mission(tmp_path, reserve=85))
    site.wait_until(lambda: len(site.events(run, "dispatched")) == 1)
    _finish_lap(site, r1, 1)
    site.wait_until(lambda: bool(site.events(run, "robot_finished")))
    assert run.laps is not None
    _wait_until(site, r1, run.laps.slot("r1", 1) + 0.01)
    site.wait_until(lambda: bool(site.events(run, "patrol_charging")
                                 or site.events(run, "patrol_no_charger")))
    a = run.assignments["r1"]  # the second lap's route (the robot's orders are parts)
    nodes = [s.node_id for s in a.stops]
    if charges:  # p1, the way to the dock (charging there to full), back to p1
        assert site.events(run, "patrol_charging")[0]["charger"] == "dock"
        assert nodes == ["p1", "a", "dock", "a", "p1"] and a.points == []
        [charge] = a.charges
        assert charge.node_id == "dock" and charge.target_pct == 100.0
    else:  # a robot that cannot be told to charge patrols on, and the event says why
        assert site.events(run, "patrol_no_charger")[0]["battery_pct"] == 80.0
        assert nodes == ["p1"]


def test_a_paused_patrol_is_planned_afresh_on_resuming(site: Site, tmp_path: Path) -> None:
    r1 = site.robot("r1")
    run = site.launch(_mission(tmp_path, reserve=20))
    site.wait_until(lambda: len(site.events(run, "dispatched")) == 1)
    site.manager.control(run.id, "pause")
    r1.answer_instants(ActionType.START_PAUSE.value, ActionStatus.FINISHED)
    site.net.drain()
    assert run.status is MissionStatus.PAUSED  # paused once the robot confirmed
    before = site.clock.monotonic()
    site.at(before + 1.5)  # the planner looks while paused
    assert wait_for(lambda: run.laps is not None and not run.laps.robots, timeout=10)
    site.manager.control(run.id, "resume")
    r1.answer_instants(ActionType.STOP_PAUSE.value, ActionStatus.FINISHED)
    site.net.drain()
    # its slots ran on meanwhile: a new plan (the same cycle) spaces the robots again
    site.wait_until(lambda: len(site.events(run, "patrol_planned")) == 2)
    again = site.events(run, "patrol_planned")[-1]
    assert again["replan"] is True and again["cycles"][0]["points"] == ["p1"]
