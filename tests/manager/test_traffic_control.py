"""Traffic control in the running manager: two robots wanting the same single-lane drift
from opposite ends, a robot lost inside it, and a manager restart.

tests/data/maps/drift.yaml: docks ``da`` and ``db`` off places ``A`` and ``B``, joined by
the single-lane block ``A~B`` (``A w1 w2 B``). r1 (at ``da``) inspects ``w2``, r2 (at
``db``) inspects ``w1``: each drives to the far end of the block and back, turning inside
it, so each must hold the block alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fleet.manager import ManagerSettings
from fleet.manager.missions import MissionRun
from fleet.planning.mission import load_mission

from ..conftest import DATA
from .harness import ScriptedRobot, Site, open_site

R1 = DATA / "missions" / "drift_far_end_r1.yaml"
R2 = DATA / "missions" / "drift_far_end_r2.yaml"
SETTINGS = ManagerSettings(plan_time_limit=0.5, robot_timeout=600.0)


@pytest.fixture
def drift(tmp_path: Path) -> Iterator[Site]:
    # robots here say nothing while they wait: a long silence before they count as lost
    for site in open_site(tmp_path, SETTINGS):
        site.facility = load_mission(R1).facility
        yield site


def released_nodes(robot: ScriptedRobot) -> list[str]:
    nodes, _, released = robot.route()
    return [n.node_id for n in nodes if released[n.sequence_id]]


def start_both(site: Site) -> tuple[ScriptedRobot, ScriptedRobot, MissionRun, MissionRun]:
    r1, r2 = site.robot("r1", node="da"), site.robot("r2", node="db")
    run1 = site.launch(R1)
    site.dispatched(r1, run1)
    run2 = site.launch(R2)
    site.dispatched(r2, run2)
    return r1, r2, run1, run2


def test_the_second_robot_waits_at_its_end_until_the_first_is_out(drift: Site) -> None:
    r1, r2, _, run2 = start_both(drift)
    assert [n.node_id for n in r1.current] == ["da", "A", "w1", "w2", "w1", "A", "da"]
    assert released_nodes(r1) == ["da", "A", "w1", "w2", "w1", "A", "da"]
    assert released_nodes(r2) == ["db", "B"]  # it waits at B, blocking no one
    waiting = drift.manager.queries.waiting("r2")
    assert waiting is not None and waiting.startswith("waiting for block A~B (held by r1)")
    status = drift.manager.queries.mission(run2.id)
    assert status["robots"][0]["waiting"] == waiting
    robots = {r["serial"]: r for r in drift.manager.queries.robots()}
    assert robots["r2"]["waiting"] == waiting and robots["r1"]["waiting"] is None

    # a wait over 30 s is a mission event; so is its end
    drift.at(31.0)
    drift.manager.dispatcher.sweep()
    [event] = drift.events(run2, "traffic_wait")
    assert event["what"] == "A~B" and event["holders"] == ["r1"] and event["seconds"] >= 30

    r1.report(3)  # at w2, still inside: nothing changes for r2
    drift.net.drain()
    assert released_nodes(r2) == ["db", "B"]
    r1.report(5)  # back at A: the block is free
    assert r2.wait_for(lambda: released_nodes(r2)[-1] == "db" and len(released_nodes(r2)) == 7)
    drift.manager.dispatcher.sweep()
    [over] = drift.events(run2, "traffic_wait_over")
    assert over["what"] == "A~B"
    assert drift.manager.queries.waiting("r2") is None


def test_without_traffic_control_both_are_sent_into_the_drift(tmp_path: Path) -> None:
    for site in open_site(tmp_path, replace(SETTINGS, traffic_control=False)):
        site.facility = load_mission(R1).facility
        r1, r2, _, _ = start_both(site)
        assert "w1" in released_nodes(r1) and "w2" in released_nodes(r2)


def test_a_robot_lost_in_the_drift_blocks_the_points_beyond_it_until_cleared(
        drift: Site) -> None:
    r1, r2, run1, run2 = start_both(drift)
    r1.report(2)  # inside the block, at w1
    drift.at(400.0)
    r2.report(0)  # r2 is heard (before the liveness thread looks at 700 s); r1 is not
    drift.at(700.0)
    drift.check()  # r1 went silent: lost where it stands
    assert drift.entry("r1").status.lost
    # the planner thread re-routes r2 (the blocked point, then the rerouted event)
    drift.wait_until(lambda: bool(drift.events(run2, "rerouted")))
    assert run2.blocked["w1"] == "no open way: lost robot r1 stands in block A~B"
    assert "blocked" in (run2.reason or "")
    [rerouted] = drift.events(run2, "rerouted")
    assert rerouted["blocked"] == ["w1"]
    # r2's horizon was replaced: it goes home without entering the drift
    assert r2.wait_for(lambda: [n.node_id for n in r2.current] == ["db", "B", "db"])
    status = drift.manager.queries.mission(run2.id)
    assert status["inspections"]["blocked"] == 1 and status["status"] == "dispatched"

    r2.report(2)  # home again; its round is over, the mission waits for w1
    drift.net.drain()
    assert not run2.status.terminal

    missions = drift.manager.clear_robot("", "r1", "rescue team: towed out at 14:05")
    assert run2.id in missions and run1.id in missions
    [cleared] = drift.events(run2, "robot_cleared")
    assert cleared["note"] == "rescue team: towed out at 14:05"
    assert cleared["unblocked"] == ["w1"]
    # planned again onto r2, through the drift now free
    assert r2.wait_for(lambda: len({o.order_id for o in r2.orders()}) == 2)
    assert "w1" in [n.node_id for n in r2.current]
    assert released_nodes(r2)[-1] == "db"


def test_reservations_are_rebuilt_after_a_restart(tmp_path: Path) -> None:
    sites = open_site(tmp_path, SETTINGS)
    site = next(sites)
    site.facility = load_mission(R1).facility
    r1 = site.robot("r1", node="da")
    run1 = site.launch(R1)
    site.dispatched(r1, run1)
    r1.report(2)
    site.net.drain()
    site.wait_until(lambda: True)
    received = list(r1.received)
    site.manager.core.persist(run1)
    sites.close()  # the manager stops (and its robots with it)

    for again in open_site(tmp_path, SETTINGS):
        again.facility = site.facility
        back = again.robot("r1", node="w1")
        back.received[:0] = received  # the order it still drives
        back.report(2)  # its first state to the new manager: still in the block
        r2 = again.robot("r2", node="db")
        run2 = again.launch(R2)
        again.dispatched(r2, run2)
        assert released_nodes(r2) == ["db", "B"]
        waiting = again.manager.queries.waiting("r2")
        assert waiting is not None and "held by r1" in waiting
