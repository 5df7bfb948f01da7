"""Continuous patrol as laps at 60x: two robots drive the cyclic plan's laps round a ring
(no return to the dock between laps), keep every point's idleness near the plan's, and
when one robot is stopped the other is re-planned onto the whole cycle."""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.clock import ScaledClock
from fleet.facility import load
from fleet.manager import Manager

from .fleetkit import ROOT, manager_on_port, robot, wait_for

pytestmark = pytest.mark.timeout(300)

SPEED = 120.0
RING = ROOT / "tests" / "data" / "maps" / "ring.yaml"
POINTS = ("r1", "r2", "r3", "r4")


def events(manager: Manager, mid: str, kind: str) -> list[tuple[str | None, Any]]:
    return [(e.robot_serial, e.detail) for e in manager.store.events(mid) if e.kind == kind]


def laps(manager: Manager, mid: str, serial: str) -> int:
    return sum(1 for s, _ in events(manager, mid, "dispatched") if s == serial)


def test_two_robots_drive_laps_and_one_takes_over_when_the_other_stops(
        tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    shutil.copy(RING, tmp_path / "maps" / "ring.yaml")
    mission = tmp_path / "patrol.yaml"
    mission.write_text("name: ring patrol\nmap: maps/ring.yaml\nmode: continuous\n"
                       "tasks:\n  - points: [r1, r2, r3, r4]\n    sensors: [ch4]\n"
                       "    dwell_s: 5\n    revisit: 5m\n")
    fac = load(RING)
    clock = ScaledClock(SPEED, start=datetime(2027, 1, 4, 6, tzinfo=UTC))
    runner = CliRunner()
    with ExitStack() as stack:
        manager, endpoint = stack.enter_context(
            manager_on_port(tmp_path, clock=clock, plan_time_limit=0.2))
        stack.enter_context(robot(endpoint, "R1", "dock", fac=fac, speedup=SPEED))
        r2 = stack.enter_context(robot(endpoint, "R2", "dock2", fac=fac, speedup=SPEED))
        assert wait_for(lambda: len(manager.registry.all()) == 2, timeout=10)
        out = runner.invoke(app, ["mission", "launch", str(mission), "--connect", endpoint])
        assert out.exit_code == 0, out.stderr
        mid = out.stdout.strip()
        run = manager.missions[mid]

        # one cyclic plan for both robots (a ring of 400 m at 1 m/s, 5 s dwells: 420 s a
        # lap, the robots 210 s apart)
        assert wait_for(lambda: run.laps is not None, timeout=20)
        assert run.laps is not None
        plan = run.laps.plan
        assert len(plan.cycles) == 1 and sorted(plan.cycles[0].robots) == ["R1", "R2"]
        assert plan.worst_s == pytest.approx(210.0)

        # the first laps (approach + formation): then measure from there on
        assert wait_for(lambda: all(laps(manager, mid, s) >= 2 for s in ("R1", "R2")),
                        timeout=60)
        with manager.lock:
            assert run.idleness is not None
            for v in run.idleness.points.values():
                v.worst_gap, v.gaps, v.total_gap = 0.0, 0, 0.0
        # three more laps each: about 10 real seconds
        assert wait_for(lambda: all(laps(manager, mid, s) >= 5 for s in ("R1", "R2")),
                        timeout=90)
        status = runner.invoke(app, ["mission", "status", mid, "--json", "--connect",
                                     endpoint])
        patrol = json.loads(status.stdout)["patrol"]
        assert patrol["gaps"] >= 8
        assert patrol["worst_s"] <= 1.25 * plan.worst_s, patrol
        assert patrol["overdue"] == {}
        human = runner.invoke(app, ["mission", "status", mid, "--connect", endpoint]).stdout
        assert "patrol:" in human and "idleness worst" in human
        # laps, not rounds: after its first lap a robot never drove back to a dock
        for serial in ("R1", "R2"):
            with manager.lock:
                driven = run.driven_before.get(serial, []) + \
                    run.assignments[serial].driven()
            assert sum(1 for n in driven if n.startswith("dock")) == 1, driven
        assert not events(manager, mid, "patrol_fallback")

        # R2 stops: R1 alone is re-planned onto the whole cycle and keeps every point
        r2.stop()
        assert wait_for(lambda: any(d.get("robots") == ["R1"]
                                    for _, d in events(manager, mid, "patrol_planned")),
                        timeout=30)
        with manager.lock:
            assert run.idleness is not None
            counts = {p: run.idleness.points[p].count for p in POINTS}

        def all_visited_again() -> bool:
            with manager.lock:
                assert run.idleness is not None
                return all(run.idleness.points[p].count > counts[p] for p in POINTS)

        assert wait_for(all_visited_again, timeout=40)
        replans = [d for _, d in events(manager, mid, "patrol_planned")]
        assert isinstance(replans[-1], dict) and replans[-1]["replan"] is True
        # the cycle is kept (previous=): only the number of robots on it changed
        assert replans[-1]["cycles"][0]["points"] == list(plan.cycles[0].points)
        assert not events(manager, mid, "sent_home") and not events(manager, mid,
                                                                    "patrol_fallback")
        assert run.status.value in ("running", "dispatched")
        assert runner.invoke(app, ["mission", "abort", mid, "--connect",
                                   endpoint]).exit_code == 0
