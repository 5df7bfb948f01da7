"""The plain-zenoh robot listed in docs/protocol.md, run against the manager's side.

It shows the doc is enough to write a robot: everything it publishes decodes, it follows an
order and its update through the base, runs an inspect action, resends the result until
acknowledged, answers a factsheetRequest, and says OFFLINE on SIGTERM.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fleet.comms import Bus
from fleet.protocol.header import Header
from fleet.protocol.inspection import (
    InspectionAck,
    InspectParams,
    Rejection,
    inspect_action,
)
from fleet.protocol.keys import ALIVE, ParsedKey, Topic, subscription_key, topic_key
from fleet.protocol.order import (
    Action,
    ActionType,
    InstantActions,
    NodePosition,
    RouteLeg,
    RouteStop,
    route_order,
)
from fleet.protocol.state import ActionStatus, ConnectionState, State
from tests.comms.conftest import SETTLE, OpenClient, wait_until

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
SERIAL = "docbot"


def robot_source() -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- example-robot -->\n```python\n(.*?)\n```", text, re.DOTALL)
    assert found, "the example robot is missing from docs/protocol.md"
    return found.group(1)


class Received:
    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, key: ParsedKey, message: Any) -> None:
        with self.lock:
            self.messages.append((key.topic, message))

    def of(self, topic: Topic) -> list[Any]:
        with self.lock:
            return [m for t, m in self.messages if t == topic]

    def last_state(self) -> State | None:
        states = self.of(Topic.STATE)
        return states[-1] if states else None


def _send(bus: Bus, message: Any) -> None:
    bus.publish(topic_key("uagv", "acme", SERIAL, message.TOPIC), message)


def test_the_documented_robot_works_end_to_end(tmp_path: Path, router_endpoint: str,
                                               open_client: OpenClient) -> None:
    manager = open_client()
    got = Received()
    presence: list[tuple[str, bool]] = []
    manager.subscribe(subscription_key("uagv", manufacturer="acme", serial=SERIAL), got)
    manager.watch_alive(subscription_key("uagv", ALIVE),
                        lambda key, present: presence.append((key.serial, present)))
    time.sleep(SETTLE)
    script = tmp_path / "robot.py"
    script.write_text(robot_source(), encoding="utf-8")
    env = {**os.environ, "ROUTER": router_endpoint, "SERIAL": SERIAL}
    robot = subprocess.Popen([sys.executable, str(script)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: (SERIAL, True) in presence, timeout=10)
        assert wait_until(lambda: bool(got.of(Topic.STATE)), timeout=10)
        assert [c.state for c in got.of(Topic.CONNECTION)] == [ConnectionState.ONLINE]
        sheet = got.of(Topic.FACTSHEET)[0]
        assert sheet.inspection is not None and sheet.supports("inspect")

        stops = [RouteStop("n0", NodePosition(0.0, 0.0, "L1")),
                 RouteStop("n1", NodePosition(5.0, 0.0, "L1"), (inspect_action(
                     "inspect-1", InspectParams("ip1", ("ch4", "o2"), 0.2)),)),
                 RouteStop("n2", NodePosition(9.0, 0.0, "L1"), (inspect_action(
                     "inspect-2", InspectParams("ip2", ("ch4",), 0.1)),))]
        legs = [RouteLeg("e0", 5.0), RouteLeg("e1", 4.0)]
        header = Header("acme", SERIAL)
        _send(manager, route_order(header, "o1", stops, legs, base_end=1))

        def finished_at(node: str) -> bool:
            state = got.last_state()
            return state is not None and state.last_node_id == node

        assert wait_until(lambda: finished_at("n1") and bool(got.of(Topic.INSPECTION)), 10)
        state = got.last_state()
        assert state is not None and [n.node_id for n in state.node_states] == ["n2"]
        assert not state.node_states[0].released  # the horizon is not driven
        result = got.of(Topic.INSPECTION)[0]
        assert (result.order_id, result.action_id, result.node_id) == ("o1", "inspect-1", "n1")
        assert [r.sensor for r in result.readings] == ["ch4", "o2"]
        assert wait_until(lambda: (s := got.last_state()) is not None
                          and s.action_state("inspect-1") is not None
                          and s.action_states[0].status is ActionStatus.FINISHED)

        # unacknowledged: the same resultId comes again; once acknowledged, no more
        assert wait_until(lambda: len(got.of(Topic.INSPECTION)) >= 2, timeout=5)
        assert {r.result_id for r in got.of(Topic.INSPECTION)} == {result.result_id}
        _send(manager, InspectionAck(header, (result.result_id,)))

        _send(manager, route_order(header, "o1", stops, legs, base_end=2, start=1,
                                   order_update_id=1))
        assert wait_until(lambda: finished_at("n2"), timeout=10)
        state = got.last_state()
        assert state is not None and state.node_states == () and state.order_update_id == 1
        # a result the manager refuses is not resent either, and the robot says why
        assert wait_until(lambda: any(r.action_id == "inspect-2"
                                      for r in got.of(Topic.INSPECTION)), timeout=5)
        refused = next(r for r in got.of(Topic.INSPECTION) if r.action_id == "inspect-2")
        _send(manager, InspectionAck.of(header, [], [Rejection(refused.result_id,
                                                               "readings out of range")]))

        _send(manager, InstantActions(header, (Action("ia-1", ActionType.FACTSHEET_REQUEST),)))
        assert wait_until(lambda: len(got.of(Topic.FACTSHEET)) == 2)
        resent = len(got.of(Topic.INSPECTION))
        time.sleep(2.5)
        assert len(got.of(Topic.INSPECTION)) == resent

        robot.send_signal(signal.SIGTERM)
        assert robot.wait(timeout=10) == 0
        assert wait_until(lambda: [c.state for c in got.of(Topic.CONNECTION)][-1:]
                          == [ConnectionState.OFFLINE])
        assert wait_until(lambda: (SERIAL, False) in presence)
        assert manager.dropped == 0
    finally:
        if robot.poll() is None:
            robot.kill()
            robot.wait(timeout=10)
        output = robot.stdout.read() if robot.stdout else ""
        assert "Traceback" not in output, output
    assert "readings out of range" in output
