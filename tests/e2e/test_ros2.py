"""ROS 2 robots in the fleet, end to end on loopback: the coal-mine gas patrol on three
simulated VDA 5050 robots and two simulated Nav2 robots (sim.nav2) that the manager drives
through its ROS 2 link (fleet.manager.ros2_link), for both ways a ROS 2 robot appears on
Zenoh (rmw_zenoh, zenoh-bridge-ros2dds)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fleet import samples
from sim.runner import RunOptions, SimRun
from sim.scenario import load_scenario

pytestmark = pytest.mark.timeout(240)

TINY = Path(__file__).resolve().parents[2] / "tests" / "data" / "sim" / "tiny_patrol.yaml"
SPEED = 400.0
DWELL_S = 60.0
"""World seconds per inspection: at this speed a simulated Nav2 robot's sensor publishes
every 20 world seconds (sim.ros2_fleet: 20 real Hz at most), so a 20 s dwell could catch no
sample at all (a silent sensor fails the inspection: 1 run in 20 did); 60 s catches ~3."""


def _run(sim_run: Callable[..., SimRun], profile: str) -> SimRun:
    # the fleet's five robots; the last two (rail inspector RS-02, Ma crawler IS-01) are
    # Nav2 robots: IS-01 is the only one rated for the Ma-only seals
    return sim_run(load_scenario(samples.path("coal-mine-baseline")), speed=SPEED, robots=5,
                   ros2=2, ros2_profile=profile, dwell_s=DWELL_S, plan_time_limit=1.0)


def _status(run: SimRun) -> dict[str, Any]:
    return run.ask("mission/status", {"mission_id": run.mission_id})  # type: ignore[no-any-return]


# the zenoh-bridge-ros2dds profile is the same mission on other key names (its own unit
# tests cover those): run with the drills, after the default suite (its 15 minutes)
@pytest.mark.parametrize("profile", ["rmw_zenoh",
                                     pytest.param("ros2dds", marks=pytest.mark.drill)])
def test_a_mission_on_vda5050_and_nav2_robots_completes_past_a_killed_nav2_robot(
        sim_run: Callable[..., SimRun], profile: str) -> None:
    """Both kinds of robot do points, each point's result is stored once, and the points of
    a Nav2 robot killed on its way (its router gone: tokens and pose silent) are taken
    over by the others."""
    run = _run(sim_run, profile)
    nav2 = {r.serial for r in run.robots[3:]}
    doomed = run.robots[3].serial  # RS-02: another rail inspector can take its points
    assert run.ros2 is not None

    def moving() -> bool:
        return any(r["serial"] == doomed and r["reached"] >= 2
                   for r in _status(run)["robots"])

    end = time.monotonic() + 60
    while not moving():
        assert time.monotonic() < end, "the Nav2 robot never got going"
        time.sleep(0.1)
    run.ros2.kill(doomed)
    progress = run.run(timeout=180)
    assert progress.finished, progress
    status = _status(run)
    if status["status"] != "completed" and run.embedded is not None:  # shown on failure
        for e in run.embedded.store.events(run.mission_id or ""):
            if e.kind not in ("dispatched", "inspected"):
                print(e.at, e.kind, e.robot_serial, e.detail)
    assert status["status"] == "completed", status["inspections"]
    total = status["inspections"]["total"]
    assert status["inspections"]["done"] == total > 0
    # every point's result stored once, from both kinds of robot
    assert run.embedded is not None and run.mission_id is not None
    assert run.embedded.store.count_results(run.mission_id) == total
    by = Counter(status["done"].values())
    assert set(by) & nav2, f"no point done by a Nav2 robot: {by}"
    assert set(by) - nav2, f"no point done by a VDA 5050 robot: {by}"
    # the killed one was declared lost, and others did what it had left: taken from it
    # when it was lost, or before, when its next goal could not be sent (moveError)
    robots = {r["serial"]: r["status"] for r in run.ask("robots")}
    assert robots[doomed] == "connection_broken"
    events = run.embedded.store.events(run.mission_id)
    assert any(e.kind in ("robot_lost", "robot_stuck") and e.robot_serial == doomed
               for e in events), [(e.kind, e.robot_serial) for e in events]



def test_a_nav2_robot_that_rejects_its_goals_is_reported_and_the_mission_settles(
        tmp_path: Path) -> None:
    """The tiny patrol on a VDA 5050 robot (R1) and a Nav2 robot (R2) whose Nav2 rejects
    every goal (a few seconds): each rejection is a ``robot_stuck`` event with the robot's
    words, R2's point is handed back, and the mission settles instead of waiting for R2.
    Today the planner gives the handed-back point to R2 again (R1 is busy with the other
    one) until its handovers run out: it is then dropped with the rejection as the reason;
    were it planned for R1, R1 would do it. Either way nothing hangs or is lost."""
    run = SimRun(load_scenario(TINY), RunOptions(speed=100.0, robots=2, ros2=1,
                                                 plan_time_limit=1.0),
                 workdir=tmp_path / "run")
    assert run.ros2 is not None and [r.serial for r in run.robots] == ["R1", "R2"]
    run.ros2.robots["R2"].reject_goals = True  # before its first goal: no race
    with run:
        final = run.run(timeout=60)
        assert final.finished, final.to_json()
        assert run.embedded is not None and run.mission_id is not None
        events = [(e.kind, e.robot_serial, e.detail)
                  for e in run.embedded.store.events(run.mission_id)]
        stuck = [d for k, s, d in events if k == "robot_stuck" and s == "R2"]
        assert stuck, events  # R2 was given a point and could not set out for it
        assert all("the robot rejected the Nav2 goal" in d["error"] for d in stuck), stuck
        status = _status(run)
        done, dropped = status["done"], status["dropped"]
        assert set(done.values()) == {"R1"}, done  # R2 did nothing, R1 its own share
        assert set(done) | set(dropped) == {"p1", "p2"} and not set(done) & set(dropped)
        assert all("the robot rejected the Nav2 goal" in why for why in dropped.values())
        assert status["status"] == ("completed" if not dropped else "partially_completed")
        assert run.embedded.store.count_results(run.mission_id) == len(done)
        robots = {r["serial"]: r["status"] for r in run.ask("robots")}
        assert robots["R2"] == "online"  # a robot that says no is not a lost robot
