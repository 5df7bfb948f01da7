"""The methane lockout scenario end to end (sim/scenarios/coal_mine_lockout.yaml), checked
from what was recorded: the states the robots published (a subscriber of our own, not the
manager's belief), the store's results, lockouts, closures, anomalies and mission events."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from fleet.facility.protection import Epl
from sim.closure_watch import ClosedArea, StateLog, intrusions
from sim.runner import SimRun
from sim.scenario import load_scenario

# about a minute of wall time: run with the drills, after the default suite (its 15 minutes);
# the lockout, closures and resets each have quicker tests of their own
pytestmark = [pytest.mark.timeout(300), pytest.mark.drill]

ROOT = Path(__file__).resolve().parents[2]
LOCKOUT = ROOT / "sim" / "scenarios" / "coal_mine_lockout.yaml"
POWER_OFF = 1.5  # % CH4 at a coal face (AQ1029)
RESTORE = 1.0


def test_the_lockout_scenario_locks_closes_inspects_reopens_and_resets(
        sim_run: Callable[..., SimRun]) -> None:
    scenario = load_scenario(LOCKOUT)
    (leak,) = scenario.world.sources
    assert leak.end_s is not None
    run = sim_run(scenario, speed=300.0)
    assert run.observer is not None and run.embedded is not None
    log = StateLog(run)
    final = run.run(timeout=240)
    assert final.finished, final.to_json()
    store = run.embedded.store
    mb = {r.serial for r in scenario.fleet.robots if Epl.MA not in r.robot_class.ratings}
    ma = {r.serial for r in scenario.fleet.robots} - mb
    assert ma == {"IS-01"}

    def world(at: datetime) -> float:
        return (at - run.start_date).total_seconds()

    missions = [run.mission_id, *run.launched]
    results = sorted((r for m in missions if m for r in store.results(m)),
                     key=lambda r: r.measured_at)

    # the first Mb robot to read at or above 1.5 % is locked out within one world second
    first = next(r for r in results if r.serial_number in mb
                 and (x := r.reading("ch4")) is not None and x.value >= POWER_OFF)
    (lockout,) = store.lockouts()
    assert (lockout.serial, lockout.node_id) == (first.serial_number,
                                                first.inspection_point_id)
    read_at = world(first.measured_at)
    locked = lockout.serial
    states = log.states()
    # its own states say it (the robot's timestamps, the clock its result carries; the
    # result is stamped as it is sent, after the drive is cut): the first one carrying the
    # FATAL error, within a second, stands at the node of the reading (it stopped there);
    # the manager marked it locked out within the second too
    stop = next(s for s in states if s.serial == locked and s.locked)
    arrived = min(s.stamped for s in states if s.serial == locked
                  and s.node == lockout.node_id)
    assert arrived <= stop.stamped and stop.node == lockout.node_id
    assert world(stop.stamped) - read_at <= 1.0
    assert world(lockout.locked_at) - read_at <= 1.0, "the manager marked it as fast"
    # ... with an ALARM anomaly naming it
    alarms = store.anomalies(severity="alarm")
    assert any(a.rule == "lockout" and a.sensor == f"lockout:{locked}" for a in alarms), alarms

    # the area round it was closed, and reopened by a fixed sensor's reading below 1.0 %
    # after the leak was sealed
    (closure,) = store.closures()
    assert closure.node_id == lockout.node_id and closure.reopened_at is not None
    opened, reopened = world(closure.opened_at), world(closure.reopened_at)
    assert reopened >= leak.end_s
    match = re.fullmatch(r"sensor (\S+) read ch4 (\S+) %vol", closure.reopened_by or "")
    assert match is not None, closure.reopened_by
    assert float(match[2]) < RESTORE
    nodes = {str(n) for n in closure.nodes or ()}
    assert {"face-10", "tg-uc"} <= nodes

    # from the closing to the reopening no Mb robot's published position was inside (the
    # locked-out robot, powered off where it stopped, is the exception)
    assert {s.serial for s in states if opened <= world(s.stamped) <= reopened} >= mb, \
        "every robot published states meanwhile"
    assert intrusions(states, [ClosedArea.of_row(closure)], scenario.facility, mb) == []
    # the locked robot stopped where it read the gas, and stayed there until the reset
    reset_at = world(lockout.reset_at) if lockout.reset_at is not None else None
    assert reset_at is not None
    assert {s.node for s in states if s.serial == locked
            and world(lockout.locked_at) + 1.0 < world(s.stamped) < reset_at} == {lockout.node_id}

    # the Ma robot inspected the points inside it could reach while the area was closed
    by_ma = {r.inspection_point_id for r in results if r.serial_number in ma
             and opened <= world(r.measured_at) <= reopened}
    assert by_ma & nodes, (by_ma, nodes)

    # the reset robot came back into service and took work again
    assert final.robot_status.get("locked_out", 0) == 0
    robots = {r["serial"]: r for r in run.ask("robots")}
    assert robots[locked]["status"] == "online"
    # (mission events carry wall-clock times: the re-check launched after the reset is
    # where to look, and its results carry world times)
    again = [e for m in run.launched for e in store.events(m)
             if e.kind == "dispatched" and e.robot_serial == locked
             and (e.detail or {}).get("points")]
    assert again, "the reset robot was given points"
    assert any(r.serial_number == locked and world(r.measured_at) > reset_at
               for r in results)

    # fleet sim run --json counts them
    summary = final.to_json()
    assert (summary["lockouts"], summary["closures"]) == (1, 1)
