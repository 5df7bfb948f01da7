"""The site as physical space: the rules of :class:`sim.space.Space` call by call (exact
world times, no clock), standoffs and deadlocks in the wait-for graph, bodies driving
head-on through a single-lane drift on a fast world clock until the space finds them
deadlocked, a stopped or killed robot keeping its place, and whole runs (``fleet sim
run``) ending in a deadlock, or not with ghosts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from fleet.agent import MoveTarget
from fleet.cli.main import app
from fleet.clock import ScaledClock
from fleet.comms import Bus
from fleet.comms.memory import MemoryNetwork
from fleet.facility.model import (
    Edge,
    Facility,
    Level,
    Node,
    NodeKind,
    Zone,
    ZoneKind,
    build_facility,
)
from fleet.planning.robots import Fleet, Robot, RobotClass
from sim.body import BodyParams, SimBody
from sim.errors import ScenarioError
from sim.progress import Progress, stalled
from sim.robots import SimFleet, robots_of, starts_of
from sim.runner import TERMINAL, RunOptions, SimRun
from sim.scenario import Scenario, load_scenario
from sim.space import Space, SpaceParams, SpaceReport, WaitKind
from sim.world import World
from tests.sim.factories import scenario_on

HEAD_ON = Path(__file__).resolve().parents[1] / "data" / "sim" / "drift_head_on.yaml"
TINY = Path(__file__).resolve().parents[1] / "data" / "sim" / "tiny_patrol.yaml"

CRAWLER = RobotClass("crawler", speed=1.0, battery_wh=1000.0, wh_per_metre=0.1,
                     wh_per_second=0.01, charge_w=100.0, sensors=frozenset({"ch4"}))


def drift() -> Facility:
    """A single-lane drift between two docks, then a two-lane road.

    ``west`` (dock, 2) ─ ``w1`` ─ ``mid`` ─ ``e1`` ─ ``east`` (dock, 2): single-lane edges of
    20 m along x, so ``w1``, ``mid`` and ``e1`` hold one robot each; ``east`` ═ ``r1`` ═
    ``r2``: two-lane road, 20 m a stretch (``r1`` holds two).
    """
    def node(i: str, x: float, kind: NodeKind = NodeKind.WAYPOINT) -> Node:
        return Node(i, x, 0.0, level="L", kind=kind)

    lane = {"single_lane": True}
    return build_facility(
        name="drift", levels=[Level("L")],
        nodes=[node("west", 0, NodeKind.DOCK), node("w1", 20), node("mid", 40),
               node("e1", 60), node("east", 80, NodeKind.DOCK), node("r1", 100),
               node("r2", 120)],
        edges=[Edge("west", "w1", 20.0, **lane), Edge("w1", "mid", 20.0, **lane),
               Edge("mid", "e1", 20.0, **lane), Edge("e1", "east", 20.0, **lane),
               Edge("east", "r1", 20.0), Edge("r1", "r2", 20.0)])


@pytest.fixture(scope="module")
def fac() -> Facility:
    return drift()


def _space(fac: Facility, **params: float) -> Space:
    return Space(fac, SpaceParams(**params))  # type: ignore[arg-type]


def test_the_drift_has_the_capacities_the_rules_rely_on(fac: Facility) -> None:
    assert [fac.capacity(n) for n in ("west", "w1", "mid", "e1", "east", "r1")] == \
        [2, 1, 1, 1, 2, 2]


def test_a_full_node_holds_the_robot_at_the_end_of_its_edge(fac: Facility) -> None:
    space = _space(fac)
    space.place({"A": "mid", "B": "w1"})
    assert space.request_edge("B", "w1", "mid", 0.0) is None
    space.drive("B", 0.0, 0.0, 1.0, 20.0)
    assert space.at("w1") == ()  # left its node with its first leg
    wait = space.arrive("B", "mid", 20.0)
    assert wait is not None and wait.kind is WaitKind.NODE_FULL
    assert wait.blockers == ("A",) and wait.where == "w1->mid"
    assert space.where("B") == "w1->mid"  # still on the edge
    # A is let onto its edge but fills mid until its first leg starts
    assert space.request_edge("A", "mid", "e1", 25.0) is None
    assert space.arrive("B", "mid", 25.0) is not None
    space.drive("A", 0.0, 25.0, 1.0, 45.0)
    assert space.arrive("B", "mid", 26.0) is None
    assert space.at("mid") == ("B",)
    [record] = space.records()
    assert (record.serial, record.kind, record.blockers) == ("B", WaitKind.NODE_FULL, ("A",))
    assert (record.start, record.duration_s) == (20.0, 6.0)
    assert space.report(26.0).robot_wait_s == 6.0


def test_no_entering_a_single_lane_edge_against_oncoming_traffic(fac: Facility) -> None:
    space = _space(fac)
    space.place({"A": "w1", "B": "mid"})
    assert space.request_edge("A", "w1", "mid", 0.0) is None
    space.drive("A", 0.0, 0.0, 1.0, 20.0)
    wait = space.request_edge("B", "mid", "w1", 1.0)
    assert wait is not None and wait.kind is WaitKind.ONCOMING
    assert (wait.where, wait.blockers) == ("mid", ("A",))
    assert space.where("B") == "mid"


def test_two_lane_edges_take_traffic_both_ways(fac: Facility) -> None:
    space = _space(fac)
    space.place({"A": "east", "B": "r1"})
    assert space.request_edge("A", "east", "r1", 0.0) is None
    space.drive("A", 0.0, 0.0, 1.0, 20.0)
    assert space.request_edge("B", "r1", "east", 1.0) is None
    assert space.waiting() == {}


def test_robots_follow_with_the_gap_and_never_overtake(fac: Facility) -> None:
    space = _space(fac, gap_m=5.0)
    space.place({"A": "east", "B": "east"})
    assert space.request_edge("A", "east", "r1", 0.0) is None
    space.drive("A", 0.0, 0.0, 1.0, 20.0)  # 1 m/s
    wait = space.request_edge("B", "east", "r1", 2.0)  # A 2 m in: within the gap
    assert wait is not None and (wait.kind, wait.blockers) == (WaitKind.AHEAD, ("A",))
    assert space.request_edge("B", "east", "r1", 5.0) is None
    assert space.on("east", "r1") == ("A", "B")
    assert space.room("B", 10.0) == pytest.approx(0.25)  # (10 m - 5 m) / 20 m
    space.drive("B", 0.0, 10.0, 0.25, 15.0)
    space.halt("A", 0.75, 15.0)  # A stops 15 m in
    assert space.room("B", 20.0) == pytest.approx(0.5)
    space.drive("B", 0.25, 20.0, 0.5, 25.0)
    assert space.room("B", 30.0) == pytest.approx(0.5)  # cannot move: an open wait
    assert space.waiting()["B"].kind is WaitKind.AHEAD
    # B may not leave the edge before A, wherever it is
    wait = space.arrive("B", "r1", 30.0)
    assert wait is not None and wait.blockers == ("A",)
    space.drive("A", 0.75, 30.0, 1.0, 35.0)
    assert space.arrive("A", "r1", 35.0) is None
    assert space.room("B", 35.0) == 1.0


def test_turning_back_only_alone_on_the_edge(fac: Facility) -> None:
    space = _space(fac)
    space.place({"A": "east", "B": "east"})
    space.request_edge("A", "east", "r1", 0.0)
    space.drive("A", 0.0, 0.0, 0.5, 10.0)
    space.halt("A", 0.5, 10.0)
    space.request_edge("B", "east", "r1", 11.0)
    wait = space.request_edge("A", "r1", "east", 12.0)
    assert wait is not None and (wait.kind, wait.blockers) == (WaitKind.REVERSE, ("B",))
    space.halt("B", 0.0, 13.0, node="east")  # B never moved: back at its dock
    assert space.request_edge("A", "r1", "east", 14.0) is None
    assert space.where("A") == "r1->east"
    assert space.position_m("A", 14.0) == pytest.approx(10.0)


def test_ghosts_pass_through_each_other(fac: Facility) -> None:
    space = Space(fac, SpaceParams(ghosts=True))
    space.place({s: "mid" for s in "ABC"})  # no room check
    assert space.request_edge("A", "mid", "w1", 0.0) is None
    assert space.request_edge("B", "mid", "w1", 0.0) is None
    assert space.room("B", 0.0) == 1.0 and space.arrive("B", "w1", 1.0) is None
    report = space.report(10.0)
    assert (report.ghosts, report.standoffs, report.deadlocks, report.robot_wait_s) == \
        (True, 0, 0, 0.0)


def test_too_many_robots_at_a_node_is_one_line_naming_node_capacity_and_robots(
        fac: Facility) -> None:
    space = _space(fac)
    with pytest.raises(ScenarioError) as err:
        space.place({"A": "mid", "B": "mid", "C": "west"}, source="s.yaml")
    assert str(err.value) == ("s.yaml: mid: holds at most 1 robot (its capacity), but 2 "
                              "start there: A, B")
    assert space.where("C") is None  # none placed


def test_a_head_on_standoff_is_counted_once_and_becomes_a_deadlock(fac: Facility) -> None:
    space = _space(fac, deadlock_s=120.0, look_every_s=2.0)
    space.place({"A": "mid", "B": "e1"})
    assert space.request_edge("B", "e1", "mid", 0.0) is None
    space.drive("B", 0.0, 0.0, 1.0, 20.0)
    assert space.arrive("B", "mid", 20.0) is not None  # mid holds A
    assert space.request_edge("A", "mid", "e1", 21.0) is not None  # B comes the other way
    space.look(22.0)
    report = space.report(22.0)
    assert (report.standoffs, report.deadlocks, report.stuck) == (1, 0, ())
    assert report.waiting == ("A", "B")
    for t in (100.0, 141.0, 150.0, 300.0):  # asked again and again: still one of each
        space.arrive("B", "mid", t)
        space.request_edge("A", "mid", "e1", t)
    report = space.report(300.0)
    assert (report.standoffs, report.deadlocks, report.stuck) == (1, 1, ("A", "B"))
    assert report.robot_wait_s == pytest.approx((300 - 20) + (300 - 21))


def test_a_wait_behind_a_standing_robot_is_no_cycle(fac: Facility) -> None:
    space = _space(fac, deadlock_s=10.0, look_every_s=1.0)
    space.place({"A": "mid", "B": "w1"})
    space.request_edge("B", "w1", "mid", 0.0)
    space.drive("B", 0.0, 0.0, 1.0, 20.0)
    for t in (20.0, 50.0, 100.0):
        space.arrive("B", "mid", t)
    report = space.report(100.0)
    assert (report.standoffs, report.deadlocks, report.waiting) == (0, 0, ("B",))


# ---------------------------------------------------------------------- bodies


def _until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def _bodies(fac: Facility, space: Space, clock: ScaledClock, starts: dict[str, str]
            ) -> dict[str, SimBody]:
    scenario = scenario_on(fac)
    world = World(fac, scenario)
    space.place(starts, clock.monotonic())
    return {s: SimBody(Robot("acme", s, CRAWLER, n), fac, world, clock, node=n,
                       params=BodyParams(space_poll_s=1.0), space=space)
            for s, n in starts.items()}


def _drive(body: SimBody, route: list[str], cancel: threading.Event) -> threading.Thread:
    def go() -> None:
        for node in route:
            if not body.move_to(MoveTarget(node, 0), cancel):
                return

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def test_bodies_meeting_head_on_in_a_drift_end_in_a_standoff_and_deadlock(
        fac: Facility) -> None:
    clock = ScaledClock(200.0)
    space = _space(fac, deadlock_s=20.0, look_every_s=1.0)
    bodies = _bodies(fac, space, clock, {"A": "west", "B": "east"})
    cancel = threading.Event()
    threads = [_drive(bodies["A"], ["w1", "mid", "e1", "east"], cancel),
               _drive(bodies["B"], ["e1", "mid", "w1", "west"], cancel)]
    try:
        assert _until(lambda: space.report(clock.monotonic()).deadlocks == 1), \
            space.report(clock.monotonic())
        report = space.report(clock.monotonic())
        assert report.standoffs == 1 and report.stuck == ("A", "B")
        waits = space.waiting()
        assert {w.kind for w in waits.values()} == {WaitKind.ONCOMING, WaitKind.NODE_FULL}
        # whoever stands in a node, the other is stopped at the end of the edge into it
        [full] = [w for w in waits.values() if w.kind is WaitKind.NODE_FULL]
        other = bodies[full.blockers[0]]
        stopped = bodies[full.serial]
        assert stopped.node is None and other.node is not None
        assert stopped.position().x == pytest.approx(fac.nodes[other.node].x)
        before = stopped.position()
        assert _until(lambda: clock.monotonic() > report.at + 5.0)
        assert stopped.position() == before  # a waiting robot stays where it stopped
    finally:
        cancel.set()
        for t in threads:
            t.join(5.0)
    assert not any(t.is_alive() for t in threads)


def test_a_robot_stopped_for_good_keeps_its_stretch_of_edge(fac: Facility) -> None:
    clock = ScaledClock(20.0)
    space = _space(fac, gap_m=5.0)
    bodies = _bodies(fac, space, clock, {"A": "east", "B": "east"})
    dead = threading.Event()  # what kill does to a moving robot: its move is cancelled
    first = _drive(bodies["A"], ["r1"], dead)
    assert _until(lambda: (space.position_m("A", clock.monotonic()) or 0.0) > 10.0)
    dead.set()
    first.join(5.0)
    assert space.where("A") == "east->r1"
    stopped_at = space.position_m("A", clock.monotonic())
    assert stopped_at is not None and 10.0 < stopped_at < 20.0
    cancel = threading.Event()
    second = _drive(bodies["B"], ["r1"], cancel)
    try:
        assert _until(lambda: "B" in space.waiting())
        assert space.waiting()["B"].blockers == ("A",)
        b_at = space.position_m("B", clock.monotonic())
        assert b_at is not None and b_at <= stopped_at - 5.0 + 1e-6
        assert space.where("A") == "east->r1"
    finally:
        cancel.set()
        second.join(5.0)


def test_a_killed_robot_stays_in_the_space(fac: Facility) -> None:
    scenario = Scenario("t", fac, fleet=scenario_on(fac).fleet)
    robots = [Robot("acme", "A", CRAWLER, "w1"), Robot("acme", "B", CRAWLER, "east")]
    space = _space(fac)
    network = MemoryNetwork()
    fleet = SimFleet(scenario, robots, bus=Bus(network.transport()),
                     clock=ScaledClock(10.0), space=space)
    with fleet:
        assert space.at("w1") == ("A",)
        fleet.kill("A")
        assert not fleet.robot("A").alive
        assert space.at("w1") == ("A",)
    network.close()


# ---------------------------------------------------------------------- runs


def _report(stuck: tuple[str, ...]) -> SpaceReport:
    return SpaceReport(0.0, False, 1, 1, 10.0, 2, stuck, stuck)


def _status(state: str, remaining: dict[str, list[str]]) -> dict[str, object]:
    return {"status": state, "robots": [{"serial": s, "remaining": r}
                                        for s, r in remaining.items()]}


def test_a_run_stalls_only_when_every_robot_with_work_left_is_deadlocked() -> None:
    work = {"A": ["p1"], "B": ["p2"], "C": []}
    assert stalled(_status("running", work), _report(("A", "B")), TERMINAL)
    assert not stalled(_status("running", work), _report(("A",)), TERMINAL)
    assert not stalled(_status("completed", work), _report(("A", "B")), TERMINAL)
    assert not stalled(_status("running", {"A": []}), _report(("A",)), TERMINAL)
    assert not stalled(_status("running", work), None, TERMINAL)  # ghosts
    assert not stalled(None, _report(("A", "B")), TERMINAL)  # nothing launched


def _head_on(**options: Any) -> Progress:
    # the manager's traffic control would keep the robots apart: off, they meet head-on
    run_options = RunOptions(speed=100.0, manager={"traffic_control": False}, **options)
    with SimRun(load_scenario(HEAD_ON), run_options) as run:
        return run.run(timeout=60)


@pytest.mark.parametrize("processes", [False, True], ids=["one process", "one each"])
def test_robots_meeting_head_on_in_a_drift_end_the_run_deadlocked(processes: bool) -> None:
    """Two robots sent through a single-lane drift from its two ends, without traffic
    control: they meet head-on, and the run ends there instead of at its timeout, whether
    the robots share this process or each has one (and the space is served to them)."""
    final = _head_on(processes=processes)
    assert (final.standoffs, final.deadlocks, final.stalled) == (1, 1, True)
    assert final.space is not None and final.space.stuck == ("E", "W")
    assert final.makespan_s is None and final.mission_status == "running"
    assert final.inspections["done"] == 0
    assert final.robot_wait_s >= 2 * SpaceParams().deadlock_s


def test_ghosts_cross_the_drift_through_each_other() -> None:
    final = _head_on(space=SpaceParams(ghosts=True))
    assert final.mission_status == "completed" and final.space is None
    assert (final.standoffs, final.deadlocks, final.robot_wait_s) == (0, 0, 0.0)
    assert final.makespan_s is not None and final.makespan_s > 0


def test_traffic_control_keeps_the_robots_apart_in_the_drift() -> None:
    """The manager's traffic control (on by default) sends one robot through the drift at
    a time: the physical run completes without a standoff; its summary says so."""
    result = CliRunner().invoke(app, ["sim", "run", str(HEAD_ON), "--speed", "100", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["mission_status"] == "completed" and summary["ghosts"] is False
    assert (summary["standoffs"], summary["deadlocks"], summary["stalled"]) == (0, 0, False)
    assert summary["inspections_done"] == summary["inspections_total"] == 2


def test_copies_beyond_the_docks_room_park_in_the_nearest_room_off_the_drift() -> None:
    scenario = load_scenario(TINY)  # two robots in a dock for two, one in a refuge for two
    starts = starts_of(scenario, robots_of(scenario, 4))
    assert starts == {"R1": "dock", "R2": "dock", "R3": "ref", "R1-1": "ref"}
    with pytest.raises(ScenarioError, match="no room left on the site for robot R2-1"):
        starts_of(scenario, robots_of(scenario, 5))


def test_no_robot_is_parked_out_of_radio_coverage(fac: Facility) -> None:
    fleet = Fleet((Robot("acme", "A", CRAWLER, "east"), Robot("acme", "B", CRAWLER, "east")))
    heard = Scenario("t", fac, fleet=fleet)
    assert starts_of(heard, robots_of(heard, 3))["A-1"] == "west"  # east is full
    dead = Zone("dead", ZoneKind.COMMS_DEAD, "L", polygon=box(-5, -5, 5, 5))  # round west
    deaf = build_facility(name="d", levels=list(fac.levels.values()),
                          nodes=list(fac.nodes.values()), edges=list(fac.edges), zones=[dead])
    scenario = Scenario("t", deaf, fleet=fleet)
    with pytest.raises(ScenarioError, match="no room left on the site for robot A-1"):
        starts_of(scenario, robots_of(scenario, 3))
