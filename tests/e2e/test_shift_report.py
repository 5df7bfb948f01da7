"""The shift report through the whole system: a robot agent on real Zenoh does a mission,
finds methane, a supervisor acknowledges it; ``fleet report --since`` then shows the
mission completed, the anomaly's steps, and the robot busy for its round, from the events
the manager itself recorded."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fleet.anomaly.shift import ShiftRecord
from fleet.cli.main import app
from fleet.comms import Bus
from fleet.comms.config import client_config
from fleet.manager.api import api_key

from .fleetkit import TINY_MISSION, capabilities, manager_on_port, robot, wait_for

pytestmark = pytest.mark.timeout(180)


def cli(endpoint: str, *args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--connect", endpoint, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_shift_with_a_mission_done_by_a_robot(tmp_path: Path) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    with manager_on_port(tmp_path) as (_manager, endpoint), \
            robot(endpoint, "R1", caps=capabilities(epl=["Ma", "Gb"])) as r1:
        r1.body.readings["ch4"] = 1.2  # type: ignore[attr-defined]  # a GraphBody
        assert wait_for(lambda: any(r["sensors"] for r in cli(endpoint, "robots")))
        mid = cli(endpoint, "mission", "launch", str(TINY_MISSION))["mission_id"]
        assert wait_for(lambda: cli(endpoint, "mission", "status", mid)["status"]
                        == "completed", 60)
        assert wait_for(lambda: len(cli(endpoint, "anomalies", "list", "--open")) == 2, 10)
        first = cli(endpoint, "anomalies", "list", "--open")[-1]["id"]
        ack = CliRunner().invoke(app, ["anomalies", "ack", str(first), "--note", "on it",
                                       "--by", "ann", "--connect", endpoint])
        assert ack.exit_code == 0, ack.output

        with Bus.open(client_config([endpoint], timeout_ms=2000)) as bus:
            record = ShiftRecord.from_json(bus.request(
                api_key("uagv", "report/shift"), {"since": since.isoformat()}, timeout=20.0))
        [mission] = record.missions
        assert (mission.mission_id, mission.status, mission.robots) == (mid, "completed",
                                                                        ("R1",))
        assert mission.inspections is not None and mission.inspections.done == 2
        assert mission.results == 2 and mission.ended_at is not None
        assert [s.event for s in record.steps].count("opened") == 2
        assert [(s.anomaly_id, s.by) for s in record.steps if s.event == "acknowledged"] == [
            (first, "ann")]
        [r] = record.robots
        assert (r.serial, r.manufacturer) == ("R1", "acme")
        # busy from its dispatch to the end of its round, idle the rest: nothing invented
        assert r.busy_s > 0 and r.lost_s == r.locked_out_s == r.charging_s == 0
        assert r.busy_s + r.idle_s == pytest.approx(
            (record.covered_until - record.since).total_seconds())

        out = tmp_path / "shift.html"
        result = CliRunner().invoke(app, ["report", "--since", since.isoformat(), "--tz",
                                          "America/New_York", "-o", str(out), "--connect",
                                          endpoint])
        assert result.exit_code == 0, result.output
        page = out.read_text(encoding="utf-8")
        assert mid[:8] in page and "completed" in page and "acme/R1" in page
        assert re.search(r"\d\d:\d\d:\d\d E[SD]T \(", page)  # New York time, then UTC
