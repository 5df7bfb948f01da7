"""Continuous patrol end to end at 60x: a mission with ``mode: continuous`` keeps its robot
patrolling, each point visited about as often as its target asks, until it is stopped;
``fleet mission status`` shows the idleness."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.clock import ScaledClock

from .fleetkit import TINY_MAP, manager_on_port, robot, wait_for

pytestmark = pytest.mark.timeout(300)

SPEED = 60.0


@pytest.mark.slow  # the two-robot laps test (test_patrol_laps.py) covers this path too
def test_a_continuous_mission_patrols_until_stopped(tmp_path: Path) -> None:
    shutil.copytree(TINY_MAP.parent, tmp_path / "maps")
    (tmp_path / "missions").mkdir()
    mission = tmp_path / "missions" / "patrol.yaml"
    mission.write_text("name: face patrol\nmap: ../maps/tiny.yaml\nmode: continuous\n"
                       "tasks:\n  - points: [p1]\n    sensors: [ch4]\n    dwell_s: 5\n"
                       "    revisit: 4m\n")
    clock = ScaledClock(SPEED, start=datetime(2027, 1, 4, 6, tzinfo=UTC))
    with manager_on_port(tmp_path, clock=clock, plan_time_limit=0.2) as (manager, endpoint), \
            robot(endpoint, "R1", speedup=SPEED):
        runner = CliRunner()
        out = runner.invoke(app, ["mission", "launch", str(mission), "--connect", endpoint])
        assert out.exit_code == 0, out.stderr
        mid = out.stdout.strip()

        def status() -> dict[str, object]:
            result = runner.invoke(app, ["mission", "status", mid, "--json",
                                         "--connect", endpoint])
            answer: dict[str, object] = json.loads(result.stdout)
            return answer

        # 20 world minutes: about five visits of p1 (target 4 minutes)
        assert wait_for(lambda: (status().get("patrol") or {}).get("gaps", 0) >= 4,  # type: ignore[union-attr]
                        timeout=40)
        s = status()
        patrol = s["patrol"]
        assert isinstance(patrol, dict)
        assert s["status"] in ("running", "dispatched")  # never completes by itself
        assert 0 < patrol["average_s"] <= patrol["worst_s"] <= 4 * 60 * 1.25, patrol
        assert patrol["overdue"] == {}
        human = runner.invoke(app, ["mission", "status", mid, "--connect", endpoint]).stdout
        assert "patrol:" in human and "idleness worst" in human
        assert runner.invoke(app, ["mission", "abort", mid, "--connect", endpoint]).exit_code == 0
        # counted at the stop, not at the status above: a one-point patrol's laps are its
        # dwell long (the robot stands at p1 inspecting), so visits go on up to the abort
        idle = manager.missions[mid].idleness
        assert idle is not None
        visits = sum(v.count for v in idle.points.values())
        time.sleep(300 / SPEED)  # five world minutes after the stop: no more visits
        assert manager.missions[mid].status.value == "aborted"
        assert manager.missions[mid].idleness is not None
        assert sum(v.count for v in manager.missions[mid].idleness.points.values()) <= visits + 1
