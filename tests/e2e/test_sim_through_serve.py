"""The simulator's acceptance through the real command line: ``fleet serve`` in one
process, ``fleet sim run --connect`` in another, the sample coal-mine gas patrol with its
seeded methane leak."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fleet.comms.config import free_port, tcp_endpoint
from sim.scenario import load_scenario
from sim.world import World
from tests.e2e.fleetkit import wait_for

ROOT = Path(__file__).resolve().parents[2]
LEAK = ROOT / "sim" / "scenarios" / "coal_mine_methane_leak.yaml"
SPEED = "300"

# half a minute of wall time: run with the drills, after the default suite (its 15
# minutes); fleet serve and fleet sim run --connect have quicker tests of their own
pytestmark = [pytest.mark.timeout(300), pytest.mark.drill]


def _fleet(*args: str, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleet", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout)


def _without_faults(tmp: Path) -> Path:
    """The leak scenario with every robot staying up (paths made absolute)."""
    doc = yaml.safe_load(LEAK.read_text(encoding="utf-8"))
    for key in ("map", "mission", "fleet"):
        doc[key] = str((LEAK.parent / doc[key]).resolve())
    doc.pop("faults", None)
    path = tmp / "leak.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_the_gas_patrol_through_fleet_serve_finds_the_leak_where_it_is(tmp_path: Path) -> None:
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    serve = subprocess.Popen(
        [sys.executable, "-m", "fleet", "serve", "--listen", endpoint, "--db",
         f"sqlite:///{tmp_path / 'fleet.db'}", "--speed", SPEED, "--plan-time-limit", "1"],
        cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: _fleet("robots", "--connect", endpoint, "--json",
                                       cwd=tmp_path).returncode == 0, 30)
        scenario = _without_faults(tmp_path)
        run = _fleet("sim", "run", str(scenario), "--connect", endpoint, "--speed", SPEED,
                     "--dwell", "2", "--json", "--timeout", "200", cwd=tmp_path, timeout=260)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
        final = json.loads(run.stdout)
        assert final["mission_status"] == "completed"

        sc = load_scenario(scenario)
        assert sc.mission is not None
        tasks = {t.point for t in sc.mission.tasks}
        expected = World(sc.facility, sc).expected_above("ch4", 1.0, points=tasks)
        assert expected == {"face-08", "face-09", "face-10", "tg-uc"}
        # the readings past 1 % CH4 are exactly at the points near the leak
        high = {h["point"] for h in final["high_readings"] if h["sensor"] == "ch4"}
        assert high == expected
        # and the manager stored one result per point and opened its anomalies there
        status = json.loads(_fleet("mission", "status", final["mission_id"], "--connect",
                                   endpoint, "--json", cwd=tmp_path).stdout)
        assert status["status"] == "completed" and set(status["done"]) == tasks
        listed = json.loads(_fleet("anomalies", "list", "--mission", final["mission_id"],
                                   "--severity", "warning", "--connect", endpoint, "--json",
                                   cwd=tmp_path).stdout)
        assert {a["inspection_point_id"] for a in listed if a["sensor"] == "ch4"} == expected
    finally:
        serve.send_signal(signal.SIGTERM)
        out, _ = serve.communicate(timeout=30)
    assert serve.returncode == 0, out[-3000:]
