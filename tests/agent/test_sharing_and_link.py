"""Many agents on one bus and one ticker; a scaled clock; an agent that keeps working while
its link is down and catches up when it returns (all on the in-memory network)."""

from __future__ import annotations

import time

from fleet.agent import ScaledClock, Ticker
from fleet.comms import Bus, MemoryNetwork
from fleet.protocol.header import Header
from fleet.protocol.inspection import InspectionAck
from fleet.protocol.keys import Topic
from fleet.protocol.state import ConnectionState
from tests.agent.conftest import FakeBody, Launch, ManualTime, order


def test_agents_share_one_bus_and_one_ticker(launch: Launch, net: MemoryNetwork,
                                             manual: ManualTime) -> None:
    serials = ["s1", "s2", "s3"]
    bodies = {s: FakeBody() for s in serials}
    with Bus(net.transport()) as shared:
        launched = {s: launch(s, body=bodies[s], bus=shared, manual_clock=True)
                    for s in serials}
        agents = {s: a for s, (a, _, _) in launched.items()}
        recorders = {s: r for s, (_, _, r) in launched.items()}
        assert len(manual.ticker) == 3
        for rec in recorders.values():
            assert rec.wait_for(lambda rec=rec: rec.connections() == [ConnectionState.ONLINE]
                                and rec.presence == [True])
        recorders["s2"].send(order("s2", base_end=4, inspect_at=()))
        assert bodies["s2"].wait_for(lambda: bodies["s2"].arrivals[-1:] == ["n4"])
        assert bodies["s1"].moves == bodies["s3"].moves == [], "each hears only its orders"

        agents["s1"].stop(grace=0)
        recorders["s1"].drain()
        assert recorders["s1"].connections()[-1] is ConnectionState.OFFLINE
        assert recorders["s1"].presence == [True, False]
        assert not shared.closed, "an agent never closes a bus it was given"
        before = {s: len(recorders[s].states()) for s in serials}
        manual.advance(2.0, step=1.0)
        assert len(recorders["s1"].states()) == before["s1"]
        assert all(len(recorders[s].states()) >= before[s] + 2 for s in ("s2", "s3"))
        assert recorders["s2"].state().last_node_id == "n4"
        assert recorders["s3"].presence == [True]
        for agent in agents.values():
            agent.stop(grace=0)
        assert len(manual.ticker) == 0
    for rec in recorders.values():
        rec.check_valid()


def test_a_scaled_clock_paces_the_state_interval(launch: Launch) -> None:
    clock = ScaledClock(50.0)
    with Ticker(clock) as ticker:
        began = time.monotonic()
        _, _, rec = launch("fast", ticker=ticker, state_interval=2.0)
        assert rec.wait_for(lambda: len(rec.states()) >= 5)
        elapsed = time.monotonic() - began
    # four intervals of 2 s on the robot's clock: 8 s at speed 1, 0.16 s at speed 50
    assert elapsed < 4.0, elapsed
    stamps = [s.header.timestamp for s in rec.states()[:5]]
    assert len(set(stamps)) == 5


def test_keeps_working_offline_and_catches_up_on_reconnection(
        launch: Launch, net: MemoryNetwork, manual: ManualTime) -> None:
    body = FakeBody(move_s=1.0)
    link = Bus(net.transport())
    agent, _, rec = launch("off", body=body, bus=link, manual_clock=True,
                           resend_after=30.0, resend_max=30.0)
    try:
        rec.send(order("off", base_end=4, inspect_at=(3,)))
        assert body.wait_for(lambda: body.moves == ["n0", "n1"])
        link.transport.set_reachable(False)  # type: ignore[attr-defined]
        rec.drain()
        assert rec.presence == [True, False], "the manager sees the token go"
        manual.advance(1.0)  # the agent's tick notices the link is down
        heard = len(rec.messages)

        body.move_s = 0.0
        body.clock.advance(1.0)
        assert body.wait_for(lambda: body.arrivals[-1:] == ["n4"]), body.arrivals
        assert len(agent.outbox) == 1, "inspected offline, not acknowledged"
        rec.drain()
        assert len(rec.messages) == heard, "nothing crosses a cut link"

        link.transport.set_reachable(True)  # type: ignore[attr-defined]
        manual.advance(1.0)  # the next tick finds it back: ONLINE, factsheet, state, results
        assert rec.connections() == [ConnectionState.ONLINE, ConnectionState.ONLINE]
        assert rec.presence == [True, False, True]
        assert len(rec.of(Topic.FACTSHEET)) == 2
        assert len(rec.results()) == 1 and len(agent.outbox) == 1
        manual.advance(0.125)  # the paced state with the last node reached
        state = rec.wait_state(lambda s: s.last_node_id == "n4")
        assert state.node_states == ()
        result = rec.results()[0]
        assert (result.node_id, result.action_id) == ("n3", "inspect-3")
        rec.send(InspectionAck(Header("acme", "off"), (result.result_id,)))
        rec.drain()
        assert len(agent.outbox) == 0
        rec.check_valid()
    finally:
        agent.stop(grace=0)
        link.close()
