"""Fault drills: a rogue client on robot topics, and every robot offline."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import zenoh

from fleet.manager.lifecycle import MissionStatus
from fleet.planning.mission import load_mission

from .fleetkit import TINY_MISSION, manager_on_port, robot, wait_for

pytestmark = pytest.mark.timeout(120)

GARBAGE: list[tuple[str, bytes]] = [
    ("state", b"\x00\xffnot json"),
    ("state", b"[1, 2, 3]"),
    ("state", json.dumps({"headerId": 1, "orderId": 5}).encode()),
    ("state", b"{" * 10_000),
    ("connection", json.dumps({"connectionState": "MAYBE"}).encode()),
    ("factsheet", json.dumps({"inspection": {"sensors": "all"}}).encode()),
    ("inspection", json.dumps({"resultId": "not-a-uuid", "readings": "lots"}).encode()),
    ("order", b"{\"orderId\": 7}"),
    ("instantActions", b"null"),
    ("nonsense", b"{}"),
]


def _launch(manager, name: str = "drill"):  # type: ignore[no-untyped-def]
    spec = load_mission(TINY_MISSION)
    return manager.launch(name, spec, TINY_MISSION.read_text())


def test_rogue_client_does_not_disturb_robots_or_manager(tmp_path: Path) -> None:
    with manager_on_port(tmp_path) as (manager, endpoint), robot(endpoint, "R1"), \
            robot(endpoint, "R2"):
        assert wait_for(lambda: sum(1 for r in manager.registry.all()
                                    if r.robot_class() is not None) == 2)
        stop = threading.Event()
        config = zenoh.Config()
        config.insert_json5("mode", '"client"')
        config.insert_json5("connect/endpoints", json.dumps([endpoint]))
        config.insert_json5("scouting/multicast/enabled", "false")
        sent = [0]

        def rogue() -> None:
            with zenoh.open(config) as session:
                while not stop.is_set():
                    for serial in ("R1", "R2", "GHOST"):
                        for topic, payload in GARBAGE:
                            session.put(f"uagv/v2/acme/{serial}/{topic}", payload)
                            sent[0] += 1
                    stop.wait(0.05)

        thread = threading.Thread(target=rogue, daemon=True)
        thread.start()
        try:
            run = _launch(manager)
            assert wait_for(lambda: run.status is MissionStatus.COMPLETED, 60)
        finally:
            stop.set()
            thread.join(10)
        assert sent[0] > 100
        assert manager.bus.dropped > 0  # rejected and logged, not crashed on
        assert manager.store.count_results(run.id) == 2
        robots = {r.serial: r.status.value for r in manager.registry.all()}
        assert robots["R1"] == robots["R2"] == "online"


def test_every_robot_offline_mission_waits(tmp_path: Path) -> None:
    with manager_on_port(tmp_path) as (manager, endpoint):
        run = _launch(manager)
        assert wait_for(lambda: run.waiting_reported, 10)
        assert run.status is MissionStatus.QUEUED
        assert "waiting for a capable robot" in (run.reason or "")
        with robot(endpoint, "LATE"):  # a robot comes online: the mission goes ahead
            assert wait_for(lambda: run.status is MissionStatus.COMPLETED, 60)


def test_every_robot_offline_mission_fails_when_told_not_to_wait(tmp_path: Path) -> None:
    with manager_on_port(tmp_path, wait_for_robots=False) as (manager, _endpoint):
        run = _launch(manager)
        assert wait_for(lambda: run.status is MissionStatus.FAILED, 10)
        assert run.reason == "no capable robot online"
        events = [e.kind for e in manager.store.events(run.id)]
        assert "status" in events


@pytest.mark.drill  # 20 s: run by .ci/run after the default suite
def test_robots_lost_mid_mission_mission_waits_then_continues(tmp_path: Path) -> None:
    with manager_on_port(tmp_path) as (manager, endpoint):
        with robot(endpoint, "GONE", speedup=2.0):
            assert wait_for(lambda: any(r.robot_class() for r in manager.registry.all()))
            run = _launch(manager)
            assert wait_for(lambda: run.status is MissionStatus.RUNNING, 30)
        # its only robot stopped (OFFLINE): the work waits, the mission is not failed
        assert wait_for(lambda: bool(run.pool), 15)
        assert run.status is MissionStatus.RUNNING
        with robot(endpoint, "SPARE"):
            assert wait_for(lambda: run.status is MissionStatus.COMPLETED, 60)
        assert "SPARE" in run.done.values()
