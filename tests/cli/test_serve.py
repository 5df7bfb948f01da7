"""``fleet serve`` as a real process: answers the CLI, keeps missions, stops on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.comms.config import free_port

ROOT = Path(__file__).resolve().parents[2]
MISSION = ROOT / "tests" / "data" / "missions" / "tiny_patrol.yaml"

pytestmark = pytest.mark.timeout(120)


def _start(endpoint: str, db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fleet", "serve", "--listen", endpoint, "--db",
         f"sqlite:///{db}"], cwd=ROOT, stderr=subprocess.PIPE, text=True)


def _ask(endpoint: str, *args: str) -> object:
    for _ in range(50):
        result = CliRunner().invoke(app, [*args, "--connect", endpoint, "--json"])
        if result.exit_code != 2:  # 2: not up yet
            assert result.exit_code == 0, result.output
            return json.loads(result.stdout)
        time.sleep(0.2)
    raise AssertionError("the manager never answered")


def test_serve_answers_keeps_missions_across_restart_and_stops_cleanly(tmp_path: Path) -> None:
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    db = tmp_path / "fleet.db"
    server = _start(endpoint, db)
    try:
        assert _ask(endpoint, "robots") == []
        launched = _ask(endpoint, "mission", "launch", str(MISSION))
        mid = launched["mission_id"]  # type: ignore[index]
        assert launched["status"] == "queued"  # type: ignore[index]
        server.send_signal(signal.SIGTERM)
        assert server.wait(20) == 0
        assert "fleet manager stopped" in (server.stderr.read() if server.stderr else "")
        server = _start(endpoint, db)
        missions = _ask(endpoint, "mission", "list")
        assert [m["mission_id"] for m in missions] == [mid]  # type: ignore[union-attr,index]
        status = _ask(endpoint, "mission", "status", mid)
        # rebuilt from what the first manager persisted: still waiting for robots
        assert status["status"] == "queued"  # type: ignore[index]
        assert status["inspections"]["waiting"] == 2  # type: ignore[index]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)


def test_serve_on_a_taken_port_is_one_line(tmp_path: Path) -> None:
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    first = _start(endpoint, tmp_path / "a.db")
    try:
        _ask(endpoint, "robots")
        second = _start(endpoint, tmp_path / "b.db")
        assert second.wait(30) != 0
        err = second.stderr.read() if second.stderr else ""
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1].startswith("error: ")
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(20)
