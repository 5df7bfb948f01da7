"""The integration listed in docs/agent.md, run as a program against a router.

It keeps the doc honest: the example connects, announces itself, drives an order through
its base, inspects, resends its result until acknowledged, and says OFFLINE on SIGTERM.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from fleet.agent import RobotAgent, progress
from fleet.comms import Bus
from fleet.protocol.header import Header
from fleet.protocol.inspection import InspectionAck
from fleet.protocol.state import ActionStatus, ConnectionState
from tests.agent.conftest import SETTLE, Recorder, order, wait_until

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "agent.md"


def example_source() -> str:
    found = re.search(r"<!-- example-agent -->\n```python\n(.*?)\n```",
                      DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert found, "the example integration is missing from docs/agent.md"
    return found.group(1)


def test_the_example_is_about_thirty_lines() -> None:
    lines = [line for line in example_source().splitlines() if line.strip()]
    assert 25 <= len(lines) <= 45, len(lines)


def test_the_documented_integration_works(tmp_path: Path, router_endpoint: str,
                                          manager: Bus) -> None:
    rec = Recorder(manager, "r7")
    time.sleep(SETTLE)
    script = tmp_path / "robot.py"
    script.write_text(example_source(), encoding="utf-8")
    results = tmp_path / "results.jsonl"
    env = {**os.environ, "ROUTER": router_endpoint, "SERIAL": "r7", "RESULTS": str(results),
           "PYTHONPATH": str(ROOT)}
    robot = subprocess.Popen([sys.executable, str(script)], env=env, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: bool(rec.states()) and rec.presence == [True], timeout=15)
        assert rec.connections() == [ConnectionState.ONLINE]
        time.sleep(SETTLE)
        rec.send(order("r7", base_end=2, inspect_at=(1,), duration=0.1))
        state = rec.wait_state(lambda s: s.last_node_id == "n2", timeout=10)
        assert [n.node_id for n in state.node_states] == ["n3", "n4"]
        assert wait_until(lambda: len(rec.results()) >= 2, timeout=5)  # sent, then resent
        result = rec.results()[0]
        assert result.node_id == "n1" and [r.unit for r in result.readings] == ["%vol", "%vol"]
        assert state.action_state("inspect-1").status is ActionStatus.FINISHED
        assert results.read_text().count(result.result_id) == 1
        rec.send(InspectionAck(Header("acme", "r7"), (result.result_id,)))
        assert wait_until(lambda: results.read_text() == "")

        robot.send_signal(signal.SIGTERM)
        assert robot.wait(timeout=15) == 0
        assert wait_until(lambda: rec.connections()[-1:] == [ConnectionState.OFFLINE])
        assert wait_until(lambda: rec.presence == [True, False])
        rec.check_valid()
    finally:
        if robot.poll() is None:
            robot.kill()
            robot.wait(timeout=10)
        output = robot.stdout.read() if robot.stdout else ""
        assert "Traceback" not in output, output


def test_the_doc_names_every_public_name_it_uses() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in ("RobotBody", "ChargingBody", "MoveFailed", "InspectionFailed", "AgentConfig",
                 "Capabilities", "ScaledClock", "Ticker", "result_store", "state_interval"):
        assert f"{name}" in text, name
    error_types = [value for name, value in vars(progress).items()
                   if name.isupper() and isinstance(value, str)]
    assert len(error_types) == 6
    for error in error_types:
        assert f"| `{error}` |" in text, f"docs/agent.md does not explain {error}"
    assert RobotAgent.__doc__
