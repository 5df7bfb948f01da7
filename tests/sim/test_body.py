"""The simulated body: driving times by edge kind, pose along an edge, battery, pause and
resume, faults (stuck, drain), inspections from the World, charging, alarms.

Most tests run on a ManualClock that advances itself by every wait (single thread, exact
world times); the pose test steps a threaded move by hand.
"""

from __future__ import annotations

import math
import threading
import time

import pytest

from fleet.agent import ActionFailed, ChargingBody, InspectionFailed, MoveFailed, MoveTarget
from fleet.clock import ManualClock
from fleet.facility import load
from fleet.facility.model import Epl, Facility
from fleet.planning.robots import Robot, RobotClass
from fleet.protocol.inspection import Reading, Severity
from sim.body import ALARMS, BodyParams, Leg, Pace, SimBody, alarm, alarm_findings
from sim.scenario import Fault, FaultKind, Scenario
from sim.world import GasLeak, World, WorldSpec
from tests.sim.factories import TINY_MAP

CRAWLER = RobotClass("crawler", speed=1.0, battery_wh=100.0, wh_per_metre=0.5,
                     wh_per_second=0.02, charge_w=360.0, sensors=frozenset({"ch4", "o2", "co"}),
                     ratings=frozenset({Epl.GB}))


@pytest.fixture(scope="module")
def tiny() -> Facility:
    return load(TINY_MAP)


def _world(fac: Facility, *faults: Fault) -> World:
    leak = GasLeak(sensor="ch4", node="p1", peak=2.5, decay_m=10.0)
    return World(fac, Scenario("t", fac, seed=4, world=WorldSpec(sources=(leak,)),
                               faults=faults))


def _body(fac: Facility, clock: ManualClock, *faults: Fault, node: str = "dock",
          params: BodyParams | None = None, cls: RobotClass = CRAWLER,
          pace: Pace | None = None) -> SimBody:
    robot = Robot("acme", "R1", cls, "dock")
    return SimBody(robot, fac, _world(fac, *faults), clock, node=node, params=params,
                   faults=faults, pace=pace)


def _go(body: SimBody, node: str, cancel: threading.Event | None = None) -> bool:
    return body.move_to(MoveTarget(node, 0), cancel or threading.Event())


def test_is_a_charging_body(tiny: Facility) -> None:
    assert isinstance(_body(tiny, ManualClock(auto=True)), ChargingBody)


def test_drives_at_the_class_speed_capped_by_the_edge_and_single_lane(tiny: Facility) -> None:
    clock = ManualClock(auto=True)
    body = _body(tiny, clock)
    # dock-a: 20 m, edge max 1.5 > class 1.0 -> 20 s
    assert _go(body, "a")
    assert clock.monotonic() == pytest.approx(20.0)
    # a-p1: 20 m single lane: 1.0 * 0.8 -> 25 s
    assert _go(body, "p1")
    assert clock.monotonic() == pytest.approx(45.0)
    # p1-top: 20 m at 1.0 -> 20 s; top-bottom: shaft 60 m capped at 0.5 m/s -> 120 s
    assert _go(body, "top") and _go(body, "bottom")
    assert clock.monotonic() == pytest.approx(185.0)
    assert body.node == "bottom"
    assert body.position().map_id == "L2"
    assert body.distance_m == pytest.approx(120.0)


def test_pose_is_interpolated_while_driving(tiny: Facility) -> None:
    clock = ManualClock()
    body = _body(tiny, clock, params=BodyParams(poll_s=100.0))
    done: list[bool] = []
    worker = threading.Thread(target=lambda: done.append(_go(body, "a")))
    worker.start()
    while body.node == "dock":  # the leg starts on the worker
        time.sleep(0.001)
    clock.advance(5.0)
    x, y, theta, level = body.position()
    assert (x, y, level) == (pytest.approx(5.0), pytest.approx(0.0), "L1")
    assert theta == pytest.approx(0.0)
    clock.advance(15.0)
    worker.join(5)
    assert done == [True]
    assert body.position()[:2] == (pytest.approx(20.0), pytest.approx(0.0))


def test_battery_drains_per_metre_and_per_second(tiny: Facility) -> None:
    clock = ManualClock(auto=True)
    body = _body(tiny, clock)
    _go(body, "a")  # 20 m at 0.5 Wh/m (the planner's price: per metre while driving)
    assert body.charge_wh == pytest.approx(90.0)
    body.inspect("a", ["ch4"], 30.0, threading.Event())  # 30 s standing: 0.6 Wh
    assert body.battery() == (pytest.approx(89.4), False)


def test_battery_drain_fault_multiplies_the_draw_from_its_time(tiny: Facility) -> None:
    clock = ManualClock(auto=True)
    drain = Fault(at_s=10.0, robot="R1", kind=FaultKind.BATTERY_DRAIN, factor=3.0)
    body = _body(tiny, clock, drain)
    _go(body, "a")  # 10 s at 0.5 Wh/s, then 10 s at 1.5 Wh/s
    assert body.charge_wh == pytest.approx(100 - 5.0 - 15.0)


def test_flat_battery_stops_the_robot(tiny: Facility) -> None:
    clock = ManualClock(auto=True)
    small = RobotClass("tiny", 1.0, 5.0, 0.5, 0.0, 100.0, frozenset({"ch4"}), Epl.GB)
    body = _body(tiny, clock, cls=small)
    with pytest.raises(MoveFailed, match="battery flat"):
        _go(body, "a")  # 5 Wh last 10 m
    assert clock.monotonic() == pytest.approx(10.0)
    assert body.position()[0] == pytest.approx(10.0)
    assert body.battery().charge == 0.0


def test_pause_stops_between_nodes_and_resuming_completes_the_edge(tiny: Facility) -> None:
    clock = ManualClock()
    body = _body(tiny, clock, params=BodyParams(poll_s=100.0))
    cancel = threading.Event()
    result: list[bool] = []
    worker = threading.Thread(target=lambda: result.append(_go(body, "a", cancel)))
    worker.start()
    while body.node == "dock":
        time.sleep(0.001)
    clock.advance(8.0)
    cancel.set()
    worker.join(5)
    assert result == [False]
    assert body.node is None
    assert body.position()[0] == pytest.approx(8.0)
    auto = ManualClock(8.0, auto=True)
    body.clock = auto
    assert _go(body, "a")
    assert auto.monotonic() == pytest.approx(20.0)  # the 12 m left
    assert body.distance_m == pytest.approx(20.0)


def test_a_paused_robot_can_drive_back_to_where_it_came_from(tiny: Facility) -> None:
    clock = ManualClock()
    body = _body(tiny, clock, params=BodyParams(poll_s=100.0))
    cancel = threading.Event()
    worker = threading.Thread(target=lambda: _go(body, "a", cancel))
    worker.start()
    while body.node == "dock":
        time.sleep(0.001)
    clock.advance(5.0)
    cancel.set()
    worker.join(5)
    body.clock = ManualClock(5.0, auto=True)
    assert _go(body, "dock")
    assert body.node == "dock"
    assert body.clock.monotonic() == pytest.approx(10.0)


def test_stuck_for_a_while_delays_arrival(tiny: Facility) -> None:
    clock = ManualClock(auto=True)
    stuck = Fault(at_s=5.0, robot="R1", kind=FaultKind.STUCK, duration_s=12.0)
    body = _body(tiny, clock, stuck)
    assert _go(body, "a")
    assert clock.monotonic() == pytest.approx(32.0)
    assert body.distance_m == pytest.approx(20.0)


def test_stuck_for_good_fails_the_move_after_the_report_time(tiny: Facility) -> None:
    clock = ManualClock(auto=True)
    stuck = Fault(at_s=5.0, robot="R1", kind=FaultKind.STUCK)
    body = _body(tiny, clock, stuck, params=BodyParams(stuck_report_s=30.0))
    with pytest.raises(MoveFailed, match="stuck between dock and a"):
        _go(body, "a")
    assert clock.monotonic() == pytest.approx(35.0)
    assert body.position()[0] == pytest.approx(5.0)


def test_other_robots_faults_do_not_touch_this_body(tiny: Facility) -> None:
    clock = ManualClock(auto=True)
    body = _body(tiny, clock, Fault(at_s=0.0, robot="R9", kind=FaultKind.STUCK))
    assert _go(body, "a") and clock.monotonic() == pytest.approx(20.0)


def test_moves_that_cannot_be_driven_fail_with_a_reason(tiny: Facility) -> None:
    body = _body(tiny, ManualClock(auto=True))
    with pytest.raises(MoveFailed, match="no edge from dock to p2"):
        _go(body, "p2")
    with pytest.raises(MoveFailed, match="unknown node"):
        _go(body, "nowhere")
    assert _go(body, "dock")  # already there: the first node of an order


def test_inspection_reads_the_world_at_the_node_with_alarm_findings(tiny: Facility) -> None:
    clock = ManualClock(auto=True)
    body = _body(tiny, clock, node="p1")
    readings, findings = body.inspect("p1", ["ch4", "o2"], 20.0, threading.Event())
    assert clock.monotonic() == pytest.approx(20.0)
    values = {r.sensor: r for r in readings}
    assert values["ch4"].unit == "%vol"
    assert values["ch4"].value == pytest.approx(2.5, abs=0.05)  # the leak's source
    assert 20.0 < values["o2"].value < 20.9  # methane displaces some oxygen
    assert [(f.type, f.severity) for f in findings] == [("ch4_alarm", Severity.CRITICAL)]
    # the same visit of the same point by the same robot reads the same
    again = _body(tiny, ManualClock(auto=True), node="p1")
    assert again.inspect("p1", ["ch4", "o2"], 20.0, threading.Event())[0] == readings


def test_failed_sensor_is_left_out_and_reported(tiny: Facility) -> None:
    clock = ManualClock(auto=True)
    fail = Fault(at_s=0.0, robot="R1", kind=FaultKind.SENSOR_FAIL, sensor="o2")
    body = _body(tiny, clock, fail, node="a")
    readings, findings = body.inspect("a", ["ch4", "o2"], 1.0, threading.Event())
    assert [r.sensor for r in readings] == ["ch4"]
    assert [(f.type, f.description) for f in findings] == [("sensor_fault", "o2 gave no reading")]
    with pytest.raises(InspectionFailed, match="sensor o2 failed"):
        body.inspect("a", ["o2"], 1.0, threading.Event())


def test_inspection_refuses_what_it_cannot_measure(tiny: Facility) -> None:
    body = _body(tiny, ManualClock(auto=True), node="a")
    with pytest.raises(InspectionFailed, match="h2s not carried"):
        body.inspect("a", ["h2s"], 1.0, threading.Event())
    wide = RobotClass("wide", 1.0, 100.0, 0.1, 0.0, 100.0, frozenset({"radon"}), Epl.GB)
    with pytest.raises(InspectionFailed, match="radon unknown to the simulated world"):
        _body(tiny, ManualClock(auto=True), cls=wide).inspect("dock", ["radon"], 1.0,
                                                              threading.Event())


def test_charging_at_a_dock_fills_the_battery_and_not_elsewhere(tiny: Facility) -> None:
    clock = ManualClock(auto=True)
    body = _body(tiny, clock, params=BodyParams(charge_pct=50.0))
    body.start_charging()
    assert body.battery() == (50.0, True)
    clock.advance(100.0)  # 360 W: 0.1 Wh/s
    assert body.charge_wh == pytest.approx(60.0)
    clock.advance(10_000.0)
    assert body.battery() == (100.0, True)
    body.stop_charging()
    assert not body.battery().charging
    _go(body, "a")
    with pytest.raises(ActionFailed, match=r"not at a charger \(a\)"):
        body.start_charging()


def test_listener_hears_each_leg_and_stop(tiny: Facility) -> None:
    heard: list[tuple[Leg | None, str | None]] = []
    body = _body(tiny, ManualClock(auto=True))
    body.listener = lambda leg, pose, node: heard.append((leg, node))
    _go(body, "a")
    assert len(heard) == 2
    leg, _ = heard[0]
    assert leg is not None and leg.edge == ("dock", "a") and (leg.t0, leg.t1) == (0.0, 20.0)
    assert heard[1] == (None, "a")


def test_pace_counts_world_and_real_seconds(tiny: Facility) -> None:
    pace = Pace()
    body = _body(tiny, ManualClock(auto=True), pace=pace)
    _go(body, "a")
    assert pace.world_s == pytest.approx(20.0) and pace.waits >= 4  # poll_s 5
    speed = pace.speed()
    assert speed is not None and speed > 100  # a manual clock costs no real time


@pytest.mark.parametrize(("sensor", "value", "high"), [
    ("ch4", 0.99, False), ("ch4", 1.0, True), ("o2", 19.5, False), ("o2", 19.4, True),
    ("h2s", 12.0, True), ("acoustic", 120.0, False),
])
def test_alarm_levels(sensor: str, value: float, high: bool) -> None:
    assert alarm(sensor, value) is high
    assert bool(alarm_findings([Reading(sensor, value, "u")])) is high


def test_every_alarm_sensor_is_known_to_the_world() -> None:
    from sim.world import DEFAULT_SENSORS

    assert set(ALARMS) <= set(DEFAULT_SENSORS)
    assert not any(alarm(s, spec.background) for s, spec in DEFAULT_SENSORS.items())
    assert math.isfinite(sum(level for _, level in ALARMS.values()))
