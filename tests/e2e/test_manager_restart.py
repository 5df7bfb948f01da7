"""Drill: the manager killed with SIGKILL mid-mission and restarted. Missions continue,
robots are re-adopted, and no inspection result is lost or stored twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.comms.config import free_port
from fleet.store import Store

from .fleetkit import ROOT, TINY_MISSION, robot, wait_for

pytestmark = [pytest.mark.drill, pytest.mark.timeout(180)]


def _serve(endpoint: str, db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fleet", "serve", "--listen", endpoint, "--db", f"sqlite:///{db}",
         "--robot-timeout", "5", "--plan-time-limit", "1"], cwd=ROOT, stderr=subprocess.DEVNULL,
        text=True)


def _ask(endpoint: str, *args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--connect", endpoint, "--json"])
    return json.loads(result.stdout) if result.exit_code == 0 else None


def test_manager_sigkill_and_restart_mid_mission(tmp_path: Path) -> None:
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    db = tmp_path / "fleet.db"
    server = _serve(endpoint, db)
    try:
        assert wait_for(lambda: _ask(endpoint, "robots") == [], 30)
        with robot(endpoint, "R1", speedup=8.0), robot(endpoint, "R2", speedup=8.0):
            assert wait_for(lambda: len(_ask(endpoint, "robots") or []) == 2, 30)
            mid = _ask(endpoint, "mission", "launch", str(TINY_MISSION))["mission_id"]
            assert wait_for(lambda: (_ask(endpoint, "mission", "status", mid) or {}).get(
                "status") == "running", 30)
            server.send_signal(signal.SIGKILL)
            server.wait(10)
            server = _serve(endpoint, db)
            assert wait_for(lambda: (_ask(endpoint, "mission", "status", mid) or {}).get(
                "status") == "completed", 90)
            status = _ask(endpoint, "mission", "status", mid)
            assert status["inspections"]["done"] == 2
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
    with Store.open(f"sqlite:///{db}") as store:
        results = store.results(mid)
        assert sorted(r.inspection_point_id for r in results) == ["p1", "p2"]
        kinds = [e.kind for e in store.events(mid)]
        assert "manager_restarted" in kinds and "robot_readopted" in kinds
