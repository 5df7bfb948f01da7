"""Re-planning after an event: only what the event reaches changes, from where robots are."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fleet.errors import MissionError
from fleet.planning.mission import MissionSpec, load_mission
from fleet.planning.plan import Plan, StopKind
from fleet.planning.planner import plan_mission
from fleet.planning.replan import (
    Underway,
    clearly_worse,
    full_replan,
    replan,
    underway_at,
)
from fleet.planning.robots import Fleet, load_fleet
from fleet.samples import resolve

LIMIT = 5.0


@pytest.fixture(scope="module")
def patrol() -> tuple[MissionSpec, Fleet, Plan]:
    mission = load_mission(resolve(Path("coal-mine-gas-patrol")))
    assert mission.fleet_path is not None
    fleet = load_fleet(mission.fleet_path)
    return mission, fleet, plan_mission(mission, fleet, time_limit=LIMIT)


def _state(plan: Plan, fleet: Fleet, at: float) -> tuple[dict[str, Underway],
                                                            dict[str, str | None]]:
    states: dict[str, Underway] = {}
    heading: dict[str, str | None] = {}
    for robot in fleet.robots:
        rp = next((r for r in plan.robots if r.serial == robot.serial), None)
        if rp is None:
            states[robot.serial] = Underway(robot)
        else:
            states[robot.serial], heading[robot.serial] = underway_at(rp, robot, at)
    return states, heading


def test_a_robot_underway_starts_where_it_is_heading(patrol: tuple[MissionSpec, Fleet, Plan]
                                                     ) -> None:
    _, fleet, plan = patrol
    rp = max(plan.robots, key=lambda r: len(r.inspections))
    at = rp.stops[2].arrival - 1.0  # on its way to its second stop
    u, heading = underway_at(rp, fleet.robot(rp.serial), at)
    assert u.robot.start == rp.stops[2].node and heading == rp.stops[2].node
    assert u.robot.ready_s == pytest.approx(rp.stops[2].departure - at)
    assert u.points == tuple(rp.inspections[2:])
    assert u.finish_s == pytest.approx(rp.finish - at)
    done, nothing = underway_at(rp, fleet.robot(rp.serial), rp.finish + 1)
    assert done.robot.start is None and not done.points and nothing is None


def test_a_lost_robots_points_go_to_its_neighbours_and_no_one_else_changes(
        patrol: tuple[MissionSpec, Fleet, Plan]) -> None:
    mission, fleet, plan = patrol
    at = 0.3 * plan.makespan_s
    states, heading = _state(plan, fleet, at)
    lost = max(states, key=lambda s: len(states[s].points))
    orphans = tuple(p for p in (heading.get(lost), *states[lost].points) if p)
    assert len(orphans) >= 2
    rest = [u for s, u in states.items() if s != lost]
    result = replan(mission, rest, orphans=orphans, time_limit=LIMIT)
    served = {p for r in result.plan.robots for p in r.inspections}
    assert set(orphans) <= served and not result.unassigned
    assert lost not in result.candidates and result.changed <= result.candidates
    assert len(result.candidates) < len(rest)  # not the whole fleet
    for r in result.plan.robots:  # each from where it stands, when it gets there
        robot = states[r.serial].robot
        assert r.stops[0].kind is StopKind.START and r.stops[0].node == robot.start_node
        assert r.stops[0].departure == pytest.approx(robot.ready_s)
        assert r.stops[-1].node == robot.dock
        if r.serial not in result.changed:
            assert tuple(r.inspections) == states[r.serial].points
    # what the re-planned robots did not have is exactly the orphans (nothing lost,
    # nothing taken from robots outside the re-plan)
    had = {p for s in result.candidates for p in states[s].points}
    assert served == had | set(orphans)
    full = full_replan(mission, rest, orphans=orphans, time_limit=LIMIT)
    assert full.makespan_s > 0 and isinstance(clearly_worse(result, full), bool)


def test_a_joining_robot_takes_a_share(patrol: tuple[MissionSpec, Fleet, Plan]) -> None:
    mission, fleet, plan = patrol
    states, _ = _state(plan, fleet, 0.1 * plan.makespan_s)
    busiest = max(plan.robots, key=lambda r: r.finish)
    cls = fleet.robot(busiest.serial).robot_class
    new = replace(fleet.robot(busiest.serial), serial="NEW-01", start=None, ready_s=0.0,
                  battery_wh=None)
    result = replan(mission, [*states.values(), Underway(new)], touched=["NEW-01"],
                    time_limit=LIMIT)
    assert "NEW-01" in result.changed
    assert result.plan.robot("NEW-01").inspections
    assert cls.name == result.plan.robot("NEW-01").robot_class
    before = max(u.finish_s for u in states.values())
    assert result.makespan_s <= before + 1e-6


def test_a_robot_whose_way_is_closed_is_sent_round(patrol: tuple[MissionSpec, Fleet, Plan]
                                                   ) -> None:
    mission, fleet, plan = patrol
    fac = mission.facility
    states, _ = _state(plan, fleet, 0.0)
    rp = max(plan.robots, key=lambda r: len(r.inspections))
    u = states[rp.serial]
    # close the first edge of its way to its last point that another way goes round
    last = next(s for s in reversed(rp.stops) if s.kind is StopKind.INSPECT)
    for a, b in zip(last.path, last.path[1:], strict=False):
        edge = fac.edge_between(a, b)
        assert edge is not None
        site = replace(fac, edges=tuple(replace(e, closed=True) if e.key == edge.key else e
                                        for e in fac.edges))
        try:
            result = replan(mission, list(states.values()), touched=[rp.serial], site=site,
                            time_limit=LIMIT)
        except MissionError:
            continue
        if not result.unassigned:
            break
    else:
        pytest.skip("no edge on that way has a way round")
    assert rp.serial in result.changed
    new = result.plan.robot(rp.serial)
    walked = {(x, y) for s in new.stops for x, y in zip(s.path, s.path[1:], strict=False)}
    assert (a, b) not in walked
    assert set(new.inspections) <= set(u.points) | {
        p for s in result.candidates for p in states[s].points}


def test_a_start_that_is_no_node_is_a_mission_error(patrol: tuple[MissionSpec, Fleet, Plan]
                                                    ) -> None:
    mission, fleet, _ = patrol
    r = replace(fleet.robots[0], start="nowhere", ready_s=10.0)
    with pytest.raises(MissionError, match="start 'nowhere' is not a node"):
        plan_mission(mission, Fleet((r,)), time_limit=LIMIT)
