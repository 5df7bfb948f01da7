"""``fleet anomalies`` offline parts: the limits command, --since, and errors in one line.
(The commands that talk to a manager run in tests/e2e/test_anomalies.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fleet.cli.anomalies import since_iso
from fleet.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "maps" / "tiny.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_limits_lists_the_defaults_with_their_sources() -> None:
    code, out, _ = run("anomalies", "limits")
    assert code == 0
    assert "ch4 (%vol): info 0.75; warning 1; alarm 1.5; warning on a change of +0.5 within " \
           "3600 s" in out
    assert "o2 (%vol): alarm 23.5; warning below 20; alarm below 19.5" in out
    assert out.count("source:") == 9
    code, out, _ = run("anomalies", "limits", "--json")
    assert {d["sensor"] for d in json.loads(out)} >= {"ch4", "co", "h2s", "o2", "lel"}


def test_limits_at_a_point_of_a_mission(tmp_path: Path) -> None:
    mission = tmp_path / "m.yaml"
    mission.write_text(f"name: m\nmap: {TINY}\ntasks:\n  - points: [p1]\n    sensors: [ch4]\n"
                       "limits:\n  zones:\n    face-gas: {ch4: {alarm: 2.5}}\n",
                       encoding="utf-8")
    code, out, err = run("anomalies", "limits", "--mission", str(mission), "--point", "p1",
                         "--json")
    assert code == 0, err
    ch4 = next(d for d in json.loads(out) if d["sensor"] == "ch4")
    assert ch4["above"]["alarm"] == 2.5 and ch4["sources"][-1] == "zone face-gas (mission)"


def test_limit_errors_are_one_line_each(tmp_path: Path) -> None:
    mission = tmp_path / "m.yaml"
    mission.write_text(f"name: m\nmap: {TINY}\ntasks:\n  - points: [p1]\n    sensors: [ch4]\n"
                       "limits:\n  ch4: {alarm: high}\n", encoding="utf-8")
    code, _, err = run("anomalies", "limits", "--mission", str(mission))
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: {mission}:7: limits.ch4.above: alarm must be a number (or null to remove "
        "it), got 'high'"]
    code, _, err = run("anomalies", "limits", "--point", "p1")
    assert code == 1 and "no point 'p1'" in err and "Traceback" not in err


def test_since_takes_ages_and_times() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert since_iso("90m", now=now) == "2025-03-01T10:30:00+00:00"
    assert since_iso("2d", now=now) == "2025-02-27T12:00:00+00:00"
    assert since_iso("2025-03-01T08:00", now=now) == "2025-03-01T08:00:00+00:00"
    assert since_iso("2025-03-01T08:00+01:00") == "2025-03-01T07:00:00+00:00"
    assert since_iso(None) is None
    with pytest.raises(typer.BadParameter, match="neither an ISO 8601 time nor an age"):
        since_iso("yesterday")


def test_no_manager_is_exit_2_in_one_line() -> None:
    from fleet.comms.config import free_port

    code, _, err = run("anomalies", "list", "--connect", f"tcp/127.0.0.1:{free_port()}")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no ")


def test_serve_refuses_a_webhook_without_its_secret(tmp_path: Path) -> None:
    code, _, err = run("serve", "--db", f"sqlite:///{tmp_path / 'f.db'}", "--listen",
                       "tcp/127.0.0.1:0", "--webhook", "http://127.0.0.1:1/x")
    assert code == 1
    assert err.strip() == ("error: webhooks need a signing secret (--webhook-secret-env NAME, "
                           "naming a set environment variable)")
    code, _, err = run("serve", "--listen", "tcp/127.0.0.1:0", "--webhook",
                       "http://127.0.0.1:1/x", "--webhook-secret-env", "FLEET_NO_SUCH_VAR_X")
    assert code == 1 and "FLEET_NO_SUCH_VAR_X" in err
