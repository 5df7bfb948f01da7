"""Methane lockouts in a running manager (docs/gas-safety.md, "Lockout"): the robot is
LOCKED_OUT, its points go to others at once, an ALARM anomaly names robot, place and
reading, and only a recorded reset returns it to service (in-memory network, manual
clock, a real SQLite file)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fleet.anomaly.record import MissionRecord
from fleet.errors import FleetError
from fleet.manager import RobotStatus
from fleet.manager.missions import MissionRun
from fleet.protocol.order import ActionType
from fleet.protocol.state import METHANE_LOCKOUT, Error, ErrorLevel, State

from .harness import TINY_MISSION, ScriptedRobot, Site, open_site


def lockout(robot: ScriptedRobot, reached: int, node: str = "p1") -> State:
    """The robot reached route index ``reached`` and locked itself out at ``node``."""
    state = robot.report(reached)
    error = Error(METHANE_LOCKOUT, ErrorLevel.FATAL, "methane 1.62 %vol", references={
        "nodeId": node, "sensor": "ch4", "value": "1.62", "unit": "%vol",
        "powerOffLevel": "1.5"})
    locked = replace(state, header=robot.stamper.blank(), errors=(error,), node_states=(),
                     edge_states=())
    robot.send(locked)
    return locked


def locked_at_p1(site: Site) -> tuple[ScriptedRobot, MissionRun]:
    r1 = site.robot("r1")
    run = site.launch()
    site.dispatched(r1, run)
    lockout(r1, 2)
    site.net.drain()
    return r1, run


def test_a_lockout_takes_the_robot_out_and_hands_its_points_back(site: Site) -> None:
    r1, run = locked_at_p1(site)
    entry = site.entry()
    assert entry.status is RobotStatus.LOCKED_OUT and not entry.status.lost
    assert entry.mission_id is None
    [event] = site.events(run, "robot_locked_out")
    assert event["node"] == "p1" and "ch4 1.62 %vol" in event["reading"]
    assert "p2" in event["remaining"] and "p2" in run.pool
    assert not run.failed, "the actions it dropped on locking out are not failed inspections"
    fleet = site.manager.registry.available_fleet(run.spec.facility)
    assert fleet.robots == ()
    # the lockout's own reading closed the area at once (before any inspection result)
    [closure] = site.manager.closures.open()
    assert (closure.node_id, closure.source) == ("p1", "robot acme/r1")
    # the alarm names robot, place and reading
    [anomaly] = [a for a in site.store.anomalies() if a.rule == "lockout"]
    assert (anomaly.severity, anomaly.inspection_point_id, anomaly.rule) == ("alarm", "p1",
                                                                             "lockout")
    assert anomaly.serial_number == "r1" and anomaly.peak == pytest.approx(1.62)
    assert "robot" in (anomaly.detail or {}) and "locked out at p1" in anomaly.detail[
        "description"]
    # its link may come and go: it stays locked out
    r1.drop_token()
    site.net.drain()
    site.at(100.0)
    site.check()
    assert site.entry().status is RobotStatus.LOCKED_OUT


def test_only_a_recorded_reset_returns_it_to_service(site: Site) -> None:
    r1, _ = locked_at_p1(site)
    with pytest.raises(FleetError, match="no robot"):
        site.manager.reset_robot("", "nobody", by="ann", note="x")
    answer = site.manager.reset_robot("", "r1", by="ann", note="gas cleared, reset at p1")
    assert answer["status"] == "locked_out", "its state still carries the error"
    [reset] = [a for m in r1.instants() for a in m.actions]
    assert reset.action_type == ActionType.RESET_LOCKOUT.value
    [row] = site.store.lockouts()
    assert (row.reset_by, row.note) == ("ann", "gas cleared, reset at p1")
    assert row.reset_at is not None
    [alarm] = [a for a in site.store.anomalies() if a.rule == "lockout"]
    assert alarm.status == "resolved", "people reset it: the lockout's alarm is over"
    assert alarm.resolved_by == "ann" and "gas cleared" in (alarm.resolve_note or "")
    lockout(r1, 2)  # the robot has not cleared it yet
    site.net.drain()
    assert site.entry().status is RobotStatus.LOCKED_OUT and len(site.store.lockouts()) == 1
    r1.report(2)  # the person reset it: no error
    site.net.drain()
    assert site.entry().status is RobotStatus.ONLINE
    with pytest.raises(FleetError, match="not locked out"):
        site.manager.reset_robot("", "r1", by="ann", note="again")


def test_a_lockout_survives_a_manager_restart(tmp_path: Path) -> None:
    sites = open_site(tmp_path)
    site = next(sites)
    locked_at_p1(site)
    sites.close()  # stop the manager
    again = open_site(tmp_path)
    site = next(again)
    try:
        assert site.entry("r1").status is RobotStatus.LOCKED_OUT
        r1 = site.robot("r1")  # it comes online again, error cleared on the robot
        site.net.drain()
        assert site.entry("r1").status is RobotStatus.LOCKED_OUT, "not without the reset"
        site.manager.reset_robot("", "r1", by="bo", note="reset")
        assert site.entry("r1").status is RobotStatus.ONLINE
        assert r1.instants()
    finally:
        again.close()


def test_the_mission_report_lists_the_lockout_until_and_after_the_reset(site: Site) -> None:
    _, run = locked_at_p1(site)
    [listed] = site.manager.queries.report(run.id).lockouts
    assert (listed.serial, listed.node_id, listed.value, listed.open) == ("r1", "p1",
                                                                         1.62, True)
    site.manager.reset_robot("", "r1", by="ann", note="reset at p1")
    record = site.manager.queries.report(run.id)
    [listed] = record.lockouts
    assert (listed.open, listed.reset_by, listed.note) == (False, "ann", "reset at p1")
    assert MissionRecord.from_json(record.to_json()) == record


def test_inspect_actions_carry_the_places_power_off_level(site: Site, tmp_path: Path) -> None:
    """The robot's interlock level is the place's (docs/gas-safety.md): the manager puts
    the methane power-off level of each point's location type in its ``inspect`` action,
    here the general rule at p1 (1.5 %) and a face return at p2 (1.0 %, the mission's
    limits say p2 is one)."""
    mission = tmp_path / "patrol.yaml"
    mission.write_text(TINY_MISSION.read_text().replace("../maps/tiny.yaml", str(
        TINY_MISSION.parent.parent / "maps" / "tiny.yaml"))
        + "limits:\n  points:\n    p2: {location: face-return}\n")
    r1 = site.robot("r1")
    run = site.launch(mission)
    site.dispatched(r1, run)
    levels = {a.parameters["inspectionPointId"]: a.parameters.get("powerOffLevel")
              for n in r1.order.nodes for a in n.actions if a.action_type == "inspect"}
    assert levels == {"p1": 1.5, "p2": 1.0}


def test_a_robot_back_in_service_with_no_way_home_tries_again(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reset while its way home is shut (a robot lost in a drift, say), the robot stays
    where it stands; on a later state, the way open again, it is sent home."""
    r1, run = locked_at_p1(site)
    obstacles = site.manager.obstacles
    real = obstacles.way_home
    monkeypatch.setattr(obstacles, "way_home", lambda *_args, **_kw: None)
    site.manager.reset_robot("", "r1", by="ann", note="gas cleared")
    r1.report(2)
    site.net.drain()
    assert site.entry().status is RobotStatus.ONLINE
    assert site.events(run, "sent_home") == []
    r1.report(2)  # still shut: it stays
    site.net.drain()
    assert site.events(run, "sent_home") == []
    monkeypatch.setattr(obstacles, "way_home", real)
    r1.report(2)
    site.net.drain()
    assert site.events(run, "sent_home") == [{"from": "p1", "to": "dock"}]
    r1.report(2)  # sent once, not on every state
    site.net.drain()
    assert len(site.events(run, "sent_home")) == 1
