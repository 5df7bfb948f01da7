"""A plain VDA 5050 2.0 robot over MQTT (tests/e2e/vda20_robot.py: paho and json, written
from the 2.0 text and schemas) completes a mission of ``fleet serve --mqtt``, and everything
the manager sent it is valid against the official 2.0.0 schemas with version 2.0.x."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from fleet.comms.config import free_port, tcp_endpoint
from fleet.protocol.validation import load_schema
from tests.e2e.fleetkit import QUICK_MISSION, wait_for
from tests.mqtt_broker import Broker

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
ROBOT = Path(__file__).with_name("vda20_robot.py")
SCHEMAS_2_0 = ROOT / "fleet" / "protocol" / "schemas" / "2.0.0"


def _fleet(*args: str, cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleet", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout)


def _json(*args: str, cwd: Path) -> Any:
    done = _fleet(*args, "--json", cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _robot(robots: list[dict[str, Any]], serial: str) -> dict[str, Any] | None:
    return next((r for r in robots if r["serial"] == serial), None)


def test_a_plain_2_0_robot_on_mqtt_completes_a_mission_spoken_to_in_2_0(
        tmp_path: Path, mqtt_brokers: Callable[..., Broker]) -> None:
    broker = mqtt_brokers()
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    received = tmp_path / "received.jsonl"
    serve = subprocess.Popen(
        [sys.executable, "-m", "fleet", "serve", "--listen", endpoint, "--db",
         f"sqlite:///{tmp_path / 'fleet.db'}", "--mqtt", broker.url, "--plan-time-limit", "1"],
        cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    robot = None
    try:
        assert wait_for(lambda: _fleet("robots", "--connect", endpoint, "--json",
                                       cwd=tmp_path).returncode == 0, 30)
        robot = subprocess.Popen(
            [sys.executable, str(ROBOT)], cwd=tmp_path, text=True, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "BROKER": f"127.0.0.1:{broker.port}", "SERIAL": "v20",
                 "RECEIVED": str(received)})

        def robots() -> list[dict[str, Any]]:
            listed: list[dict[str, Any]] = _json("robots", "--connect", endpoint, cwd=tmp_path)
            return listed

        # it publishes its factsheet only when asked: the manager asks, then can plan
        assert wait_for(lambda: (r := _robot(robots(), "v20")) is not None
                        and bool(r["sensors"]), 40), robots()
        mission_id = _json("mission", "launch", str(QUICK_MISSION), "--connect", endpoint,
                           cwd=tmp_path)["mission_id"]

        def status() -> dict[str, Any]:
            got: dict[str, Any] = _json("mission", "status", mission_id, "--connect",
                                        endpoint, cwd=tmp_path)
            return got

        assert wait_for(lambda: status()["status"] in ("completed", "failed"), 90), status()
        final = status()
        assert final["status"] == "completed", final
        assert set(final["done"]) == {"p1", "p2"} and set(final["done"].values()) == {"v20"}
        v20 = _robot(robots(), "v20")
        # states every 5 s (its declared interval), beyond the manager's 3 s timeout: judged
        # by its own interval, it was never lost
        assert v20 is not None and v20["status"] == "online" and not v20["refused"], v20
        assert v20["vda5050"] == "2.0.0"

        robot.send_signal(signal.SIGTERM)  # OFFLINE, then a clean disconnect
        robot.wait(timeout=10)
        assert wait_for(lambda: (r := _robot(robots(), "v20")) is not None
                        and r["status"] == "offline", 10), robots()
    finally:
        for process in (robot, serve):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        out, _ = serve.communicate(timeout=30)
        if robot is not None:
            robot.communicate(timeout=10)
    assert serve.returncode == 0, out[-3000:]

    sent = [json.loads(line) for line in received.read_text().splitlines()]
    topics = {m["topic"] for m in sent}
    assert {"order", "instantActions", "inspectionAck"} <= topics, topics
    for m in sent:
        message = m["message"]
        assert message["version"] == "2.0.0", m
        schema = (json.loads((SCHEMAS_2_0 / f"{m['topic']}.schema").read_text())
                  if m["topic"] != "inspectionAck" else load_schema("inspectionAck"))
        Draft202012Validator(schema).validate(message)
    asked = [a for m in sent if m["topic"] == "instantActions"
             for a in m["message"]["actions"]]
    assert any(a["actionName"] == a["actionType"] == "factsheetRequest" for a in asked)
