"""Many agents on one session and one ticker; an agent that keeps working while the link is
down and catches up when it returns."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fleet.agent import AgentConfig, Capabilities, RobotAgent, ScaledClock, Ticker
from fleet.comms import Bus, client_config, free_port, router_config, tcp_endpoint
from fleet.protocol.header import Header
from fleet.protocol.inspection import InspectionAck
from fleet.protocol.state import ConnectionState
from tests.agent.conftest import SETTLE, FakeBody, Recorder, order, wait_until


def config(serial: str, **options: object) -> AgentConfig:
    settings: dict[str, object] = {"state_interval": 0.3} | options
    return AgentConfig("acme", serial, Capabilities(("ch4", "o2")), **settings)  # type: ignore[arg-type]


def test_agents_share_one_session_and_one_ticker(router_endpoint: str, manager: Bus) -> None:
    serials = ["s1", "s2", "s3"]
    recorders = {s: Recorder(manager, s) for s in serials}
    time.sleep(SETTLE)
    with Bus.open(client_config([router_endpoint])) as shared, Ticker() as ticker:
        agents = {s: RobotAgent(config(s), FakeBody(), bus=shared, ticker=ticker)
                  for s in serials}
        for agent in agents.values():
            agent.start()
        assert len(ticker) == 3
        for rec in recorders.values():
            assert wait_until(lambda rec=rec: rec.connections() == [ConnectionState.ONLINE]
                              and rec.presence == [True] and len(rec.states()) >= 2)
        time.sleep(SETTLE)
        recorders["s2"].send(order("s2", base_end=4, inspect_at=()))
        recorders["s2"].wait_state(lambda s: s.last_node_id == "n4")

        agents["s1"].stop()
        assert wait_until(lambda: recorders["s1"].connections()[-1] is ConnectionState.OFFLINE)
        assert wait_until(lambda: recorders["s1"].presence == [True, False])
        assert not shared.closed, "an agent never closes a bus it was given"
        before = {s: len(recorders[s].states()) for s in serials}
        time.sleep(0.7)
        assert len(recorders["s1"].states()) == before["s1"]
        assert all(len(recorders[s].states()) >= before[s] + 2 for s in ("s2", "s3"))
        assert recorders["s3"].presence == [True]
        for agent in agents.values():
            agent.stop()
        assert len(ticker) == 0
    for rec in recorders.values():
        rec.check_valid()


def test_a_scaled_clock_paces_the_state_interval(router_endpoint: str, manager: Bus) -> None:
    rec = Recorder(manager, "fast")
    time.sleep(SETTLE)
    clock = ScaledClock(10.0)
    agent = RobotAgent(config("fast", state_interval=2.0), FakeBody(), clock=clock,
                       connect=[router_endpoint])
    with agent:
        time.sleep(1.0)  # 10 s on the robot's clock: about 5 states
    states = [s for s in rec.states()]
    assert 4 <= len(states) <= 8, len(states)


@pytest.fixture
def restartable() -> Iterator[str]:
    """An endpoint for routers the test opens and closes itself."""
    yield tcp_endpoint("127.0.0.1", free_port())


def test_keeps_working_offline_and_catches_up_on_reconnection(restartable: str) -> None:
    # The manager is the router here, as with the embedded router of `fleet serve`: its
    # subscriptions exist the moment the robot can reach it again.
    router = Bus.open(router_config([restartable]))
    rec = Recorder(router, "off")
    body = FakeBody(move_s=0.15)
    agent = RobotAgent(config("off", resend_after=30.0, resend_max=30.0), body,
                       connect=[restartable])
    try:
        agent.start()
        assert wait_until(lambda: bool(rec.states()))
        time.sleep(SETTLE)
        rec.send(order("off", base_end=4, inspect_at=(3,)))
        rec.wait_state(lambda s: s.last_node_id == "n0")
        router.close()

        assert wait_until(lambda: body.arrivals[-1:] == ["n4"], timeout=5), body.arrivals
        assert len(agent.outbox) == 1  # taken offline, not acknowledged

        router = Bus.open(router_config([restartable]))
        rec2 = Recorder(router, "off")
        assert wait_until(lambda: rec2.connections() == [ConnectionState.ONLINE], timeout=10)
        assert wait_until(lambda: len(rec2.results()) == 1 and rec2.presence[-1:] == [True])
        assert len(rec2.of("factsheet")) == 1  # type: ignore[arg-type]
        state = rec2.wait_state(lambda s: s.last_node_id == "n4")
        assert state.node_states == ()
        result = rec2.results()[0]
        assert (result.node_id, result.action_id) == ("n3", "inspect-3")
        rec2.send(InspectionAck(Header("acme", "off"), (result.result_id,)))
        assert wait_until(lambda: len(agent.outbox) == 0)
        rec.check_valid()
        rec2.check_valid()
    finally:
        agent.stop()
        router.close()
