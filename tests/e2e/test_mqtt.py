"""Robots on MQTT beside robots on Zenoh, through a real Mosquitto broker: a mixed fleet
finishes a coal-mine mission, a robot killed on MQTT is lost through its last will and its
work taken over, and one that shuts down cleanly is ``offline``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fleet.manager.lifecycle import RobotStatus
from sim.runner import SimRun
from sim.scenario import load_scenario
from sim.space import SpaceParams

from .fleetkit import wait_for

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "sim" / "tiny_patrol.yaml"


def test_robots_on_mqtt_and_zenoh_share_a_mission_and_mqtt_losses_are_told_apart(
        sim_run: Callable[..., SimRun], mqtt_url: str) -> None:
    scenario = load_scenario(TINY)
    # R1 and R2 on MQTT, R3 on Zenoh; ghosts: a dead robot must not block the drift for
    # good (the takeover is the point here, not physics)
    run = sim_run(scenario, speed=100.0, robots=3, mqtt=mqtt_url, mqtt_robots=2,
                  space=SpaceParams(ghosts=True), manager={"traffic_control": False})
    manager = run.manager
    assert manager is not None and run.fleet is not None
    on_mqtt = {"R1", "R2"}

    def working(serials: set[str]) -> str | None:
        for r in (run.mission_status() or {}).get("robots", []):
            if r["serial"] in serials and r["remaining"] and r["reached"] >= 1:
                return str(r["serial"])
        return None

    assert wait_for(lambda: working(on_mqtt) is not None, 30)
    doomed = working(on_mqtt)
    assert doomed is not None
    run.fleet.kill(doomed)  # its MQTT connection dies: the broker publishes its will
    entry = manager.registry.find(doomed)
    assert entry is not None
    assert wait_for(lambda: entry.status is RobotStatus.CONNECTION_BROKEN, 10)
    final = run.run(timeout=90)
    assert final.mission_status == "completed", final.to_json()
    assert run.embedded is not None
    events = [(e.kind, e.robot_serial, e.detail) for e in
              run.embedded.store.events(run.mission_id)]
    lost = [d for k, s, d in events if k == "robot_lost" and s == doomed]
    assert lost and "MQTT last will" in lost[0]["why"]
    status = run.mission_status()
    assert status is not None and doomed not in set(status["done"].values())
    # the robots that did the work: Zenoh's R3 and the surviving MQTT robot among them
    assert set(status["done"].values()) <= {"R1", "R2", "R3"} - {doomed}

    # a clean shutdown on MQTT: OFFLINE (retained), then a clean disconnect: offline
    survivor = (on_mqtt - {doomed}).pop()
    sim = run.fleet.robot(survivor)  # type: ignore[attr-defined]
    kept = manager.registry.find(survivor)
    assert kept is not None and kept.status is RobotStatus.ONLINE
    sim.stop()
    assert wait_for(lambda: kept.status is RobotStatus.OFFLINE, 10)
    assert sim.own is not None
    sim.own.close()  # its connection goes now: OFFLINE then no presence is still offline
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:  # (a will, wrongly sent, lands within this)
        assert kept.status is RobotStatus.OFFLINE
        time.sleep(0.05)
