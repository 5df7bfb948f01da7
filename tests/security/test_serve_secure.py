"""``fleet serve --secure`` as a real process, reached by the CLI with supervisor
credentials from the environment."""

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

pytestmark = pytest.mark.timeout(120)


def test_secure_serve_answers_a_supervisor(tmp_path: Path) -> None:
    endpoint = f"tls/127.0.0.1:{free_port()}"
    sec = tmp_path / "sec"
    init = CliRunner().invoke(app, ["security", "init", str(sec), "--robot", "acme/r1",
                                    "--supervisor", "alice", "--connect", endpoint])
    assert init.exit_code == 0, init.output
    server = subprocess.Popen(
        [sys.executable, "-m", "fleet", "serve", "--secure", str(sec), "--listen", endpoint,
         "--db", f"sqlite:///{tmp_path / 'fleet.db'}"], cwd=ROOT, stderr=subprocess.PIPE,
        text=True)
    try:
        env = {"FLEET_CREDENTIALS": str(sec / "supervisors" / "alice")}
        for _ in range(50):
            result = CliRunner().invoke(app, ["robots", "--connect", endpoint, "--json"],
                                        env=env)
            if result.exit_code != 2:
                break
            time.sleep(0.2)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == []
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(20) == 0


def test_secure_serve_refuses_a_plain_endpoint(tmp_path: Path) -> None:
    sec = tmp_path / "sec"
    assert CliRunner().invoke(app, ["security", "init", str(sec)]).exit_code == 0
    result = CliRunner().invoke(app, ["serve", "--secure", str(sec), "--listen",
                                      f"tcp/127.0.0.1:{free_port()}"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "tls/ endpoints only" in lines[0], lines


def test_secure_serve_without_a_directory_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--secure", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert "not a fleet security directory" in result.stderr
