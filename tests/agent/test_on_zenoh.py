"""The agent on real Zenoh over loopback: what the in-memory network cannot show.

One test per concern: the integration listed in docs/agent.md, run as a program that opens
its own client session; and an agent that loses its router and finds it again (a real
client session's reconnection and link check). The manager's side is the router itself, as
with the embedded router of ``fleet serve``, so its subscriptions exist before any robot can
reach it and no settling time is needed. Waits are on conditions, never sleeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.agent import AgentConfig, Capabilities, RobotAgent, Ticker
from fleet.comms import Bus, free_port, router_config, tcp_endpoint
from fleet.protocol.header import Header
from fleet.protocol.inspection import InspectionAck
from fleet.protocol.order import Action, ActionType, InstantActions
from fleet.protocol.state import ActionStatus, ConnectionState
from tests.agent.conftest import FakeBody, Recorder, order
from tests.agent.test_doc_example import ROOT, example_source

TIMEOUT = 15.0


@pytest.fixture
def endpoint() -> Iterator[str]:
    """A free loopback endpoint for routers the test opens and closes itself."""
    yield tcp_endpoint("127.0.0.1", free_port())


def state_request(serial: str, action_id: str) -> InstantActions:
    return InstantActions(Header("acme", serial),
                          (Action(action_id, ActionType.STATE_REQUEST),))


def handled(rec: Recorder, serial: str, action_id: str) -> None:
    """A barrier: the robot handles messages in order, so once it answers this state request
    it has handled everything sent to it before."""
    rec.send(state_request(serial, action_id))
    rec.wait_state(lambda s: s.action_state(action_id) is not None, timeout=TIMEOUT)


def test_the_documented_integration_works(tmp_path: Path, endpoint: str) -> None:
    with Bus.open(router_config([endpoint])) as router:
        rec = Recorder(router, "r7")
        script = tmp_path / "robot.py"
        script.write_text(example_source(), encoding="utf-8")
        results = tmp_path / "results.jsonl"
        env = {**os.environ, "ROUTER": endpoint, "SERIAL": "r7", "RESULTS": str(results),
               "PYTHONPATH": str(ROOT)}
        robot = subprocess.Popen([sys.executable, str(script)], env=env, cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert rec.wait_for(lambda: bool(rec.states()) and rec.presence == [True],
                                timeout=TIMEOUT)
            assert rec.connections() == [ConnectionState.ONLINE]
            rec.send(order("r7", base_end=2, inspect_at=(1,), duration=0.1))
            state = rec.wait_state(lambda s: s.last_node_id == "n2", timeout=TIMEOUT)
            assert [n.node_id for n in state.node_states] == ["n3", "n4"]
            assert rec.wait_for(lambda: len(rec.results()) >= 2)  # sent, then resent
            result = rec.results()[0]
            assert result.node_id == "n1"
            assert [r.unit for r in result.readings] == ["%vol", "%vol"]
            assert state.action_state("inspect-1").status is ActionStatus.FINISHED
            assert results.read_text().count(result.result_id) == 1
            rec.send(InspectionAck(Header("acme", "r7"), (result.result_id,)))
            handled(rec, "r7", "sr-1")
            assert results.read_text() == ""

            robot.send_signal(signal.SIGTERM)
            assert robot.wait(timeout=TIMEOUT) == 0
            assert rec.wait_for(lambda: rec.connections()[-1:] == [ConnectionState.OFFLINE]
                                and rec.presence == [True, False])
            rec.check_valid()
        finally:
            if robot.poll() is None:
                robot.kill()
                robot.wait(timeout=10)
            output = robot.stdout.read() if robot.stdout else ""
            assert "Traceback" not in output, output


def test_keeps_working_offline_and_catches_up_on_reconnection(endpoint: str) -> None:
    router = Bus.open(router_config([endpoint]))
    rec = Recorder(router, "off")
    body = FakeBody(move_s=1.0)
    config = AgentConfig("acme", "off", Capabilities(("ch4", "o2")), state_interval=0.25,
                         resend_after=30.0, resend_max=30.0)
    ticker = Ticker()
    ticker.start()
    agent = RobotAgent(config, body, connect=[endpoint], ticker=ticker)
    try:
        agent.start()
        assert rec.wait_for(lambda: bool(rec.states()) and rec.presence == [True])
        rec.send(order("off", base_end=4, inspect_at=(3,)))
        assert body.wait_for(lambda: body.moves == ["n0", "n1"])  # driving to n1
        router.close()

        body.move_s = 0.0
        body.clock.advance(1.0)
        assert body.wait_for(lambda: body.arrivals[-1:] == ["n4"]), body.arrivals
        # two of the agent's ticks run with the router gone: it has seen the link down
        ticked = threading.Event()
        ticker.add(lambda _now: ticked.set(), ticker.clock.monotonic() + 2 * 0.25)
        assert ticked.wait(TIMEOUT)
        assert len(agent.outbox) == 1  # taken offline, not acknowledged

        router = Bus.open(router_config([endpoint]))
        rec2 = Recorder(router, "off")
        assert rec2.wait_for(lambda: rec2.connections() == [ConnectionState.ONLINE]
                             and len(rec2.results()) == 1 and rec2.presence[-1:] == [True],
                             timeout=TIMEOUT)
        assert len(rec2.of("factsheet")) == 1  # type: ignore[arg-type]
        state = rec2.wait_state(lambda s: s.last_node_id == "n4")
        assert state.node_states == ()
        result = rec2.results()[0]
        assert (result.node_id, result.action_id) == ("n3", "inspect-3")
        rec2.send(InspectionAck(Header("acme", "off"), (result.result_id,)))
        handled(rec2, "off", "sr-1")
        assert len(agent.outbox) == 0
        rec.check_valid()
        rec2.check_valid()
    finally:
        agent.stop()
        ticker.close()
        router.close()
