"""The methane lockout scenario end to end (sim/scenarios/coal_mine_lockout.yaml), checked
from what was recorded: the states the robots published (a subscriber of our own, not the
manager's belief), the store's results, lockouts, closures, anomalies and mission events."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from shapely.geometry import LineString, Point
from shapely.ops import unary_union

from fleet.facility.protection import Epl
from fleet.protocol.header import parse_timestamp
from fleet.protocol.keys import ParsedKey, Topic, subscription_key
from fleet.protocol.state import METHANE_LOCKOUT, ErrorLevel, State
from sim.runner import SimRun
from sim.scenario import load_scenario

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
LOCKOUT = ROOT / "sim" / "scenarios" / "coal_mine_lockout.yaml"
POWER_OFF = 1.5  # % CH4 at a coal face (AQ1029)
RESTORE = 1.0


@dataclass(frozen=True)
class Seen:
    """A state as a robot published it: world seconds, robot, last node, position."""

    t: float
    serial: str
    node: str
    x: float | None
    y: float | None
    locked: bool
    """The state carries the FATAL methaneLockout error."""
    stamped: datetime
    """The robot's own timestamp (its header)."""


def test_the_lockout_scenario_locks_closes_inspects_reopens_and_resets(
        sim_run: Callable[..., SimRun]) -> None:
    scenario = load_scenario(LOCKOUT)
    (leak,) = scenario.world.sources
    assert leak.end_s is not None
    run = sim_run(scenario, speed=300.0)
    assert run.observer is not None and run.embedded is not None
    seen: list[Seen] = []
    lock = threading.Lock()

    def on_state(key: ParsedKey, message: object) -> None:
        if isinstance(message, State):
            pos = message.agv_position
            with lock:
                seen.append(Seen(run.clock.monotonic(), key.serial, message.last_node_id,
                                 None if pos is None else pos.x,
                                 None if pos is None else pos.y,
                                 any(e.error_type == METHANE_LOCKOUT
                                     and e.level is ErrorLevel.FATAL for e in message.errors),
                                 parse_timestamp(message.header.timestamp)))

    run.observer.subscribe(subscription_key(run.options.interface, Topic.STATE), on_state)
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
    with lock:
        states = list(seen)
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

    # from the closing to the reopening no other Mb robot's published position was inside
    # (the locked-out robot stands powered off where it stopped: the one exception)
    fac = scenario.facility
    shapes = [Point(fac.nodes[n].x, fac.nodes[n].y).buffer(1.0) for n in nodes]
    shapes += [LineString([(fac.nodes[e.source].x, fac.nodes[e.source].y),
                           (fac.nodes[e.target].x, fac.nodes[e.target].y)]).buffer(1.0)
               for e in fac.edges if e.source in nodes and e.target in nodes]
    area = unary_union(shapes)
    during = [s for s in states if opened <= s.t <= reopened]
    assert {s.serial for s in during} >= mb, "every robot published states meanwhile"
    inside = [s for s in during if s.serial in mb - {locked} and (
        s.node in nodes or (s.x is not None and s.y is not None
                            and area.contains(Point(s.x, s.y))))]
    assert not inside, inside[:5]
    # the locked robot stopped where it read the gas, and stayed there until the reset
    reset_at = world(lockout.reset_at) if lockout.reset_at is not None else None
    assert reset_at is not None
    assert {s.node for s in states if s.serial == locked
            and world(lockout.locked_at) + 1.0 < s.t < reset_at} == {lockout.node_id}

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
