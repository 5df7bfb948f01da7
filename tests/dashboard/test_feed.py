"""The feed's merge of the manager's live messages: snapshots at the start and on gaps,
robots gone, anomalies closed, silence, and the pages' queues."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fleet.comms import Bus, MemoryNetwork
from fleet.dashboard.feed import Feed
from fleet.dashboard.state import Applied, LiveState
from fleet.errors import NotReachable
from tests.dashboard.fakes import ITF, FakeManager, anomaly, robot


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_feed(network: MemoryNetwork, clock: Clock) -> Feed:
    return Feed(lambda: Bus(network.transport()), ITF, where="memory", clock=clock)


def test_a_feed_starts_from_a_snapshot_then_applies_deltas(network: MemoryNetwork,
                                                           clock: Clock) -> None:
    manager = FakeManager(network)
    manager.publish(robots=[robot("r1"), robot("r2")])
    feed = make_feed(network, clock)
    feed.step()
    assert manager.snapshots == 1 and feed.connected
    assert set(feed.state()["robots"]) == {"r1", "r2"}
    manager.publish(robots=[robot("r1", x=5.0)], gone=["r2"])
    state = feed.state()
    assert state["robots"]["r1"]["x"] == 5.0 and "r2" not in state["robots"]
    assert state["seq"] == manager.seq


def test_a_gap_in_seq_asks_a_snapshot_and_applies_what_came_after(network: MemoryNetwork,
                                                                 clock: Clock) -> None:
    manager = FakeManager(network)
    feed = make_feed(network, clock)
    feed.step()
    manager.publish(robots=[robot("r1")])
    manager.publish(skip=2, robots=[robot("r2")])  # two messages lost
    assert "r2" not in feed.state()["robots"]  # not applied on a gap
    manager.publish(robots=[robot("r3")])  # arrives while the snapshot is awaited
    feed.step()
    assert manager.snapshots == 2
    assert set(feed.state()["robots"]) == {"r1", "r2", "r3"}
    assert feed.state()["seq"] == manager.seq


def test_closed_anomalies_leave_the_list(network: MemoryNetwork, clock: Clock) -> None:
    manager = FakeManager(network)
    feed = make_feed(network, clock)
    feed.step()
    manager.publish(anomalies=[anomaly(1), anomaly(2, severity="alarm")])
    assert set(feed.state()["anomalies"]) == {"1", "2"}
    manager.publish(anomalies_closed=[1])
    assert set(feed.state()["anomalies"]) == {"2"}


def test_complete_lists_are_kept_until_the_next_one(network: MemoryNetwork,
                                                    clock: Clock) -> None:
    manager = FakeManager(network)
    feed = make_feed(network, clock)
    feed.step()
    block = {"site": "mine", "block": "b1", "holder": "r1", "nodes": ["n1", "n2"]}
    manager.publish(blocks=[block])
    manager.publish(robots=[robot("r1")])
    assert feed.state()["blocks"] == [block]
    manager.publish(blocks=[])
    assert feed.state()["blocks"] == []


def test_a_snapshot_carries_missions_and_lists(network: MemoryNetwork, clock: Clock) -> None:
    manager = FakeManager(network)
    mission = {"mission_id": "m1", "name": "patrol", "status": "running", "site": "mine",
               "done": 3, "total": 9, "robots": ["r1"]}
    run = {"name": "night", "next_run": "2026-01-01T22:00:00+00:00", "mission": "patrol"}
    manager.publish(missions=[mission], schedules=[run])
    feed = make_feed(network, clock)
    feed.step()
    state = feed.state()
    assert state["missions"] == {"m1": mission} and state["schedules"] == [run]


def test_events_are_kept_per_robot_and_bounded(network: MemoryNetwork,
                                               clock: Clock) -> None:
    manager = FakeManager(network)
    feed = make_feed(network, clock)
    feed.step()
    for n in range(30):
        manager.event("r1", f"k{n}")
    manager.event(None, "mission_started")
    kept = feed.state()["events"]["r1"]
    assert len(kept) == 20 and kept[-1]["kind"] == "k29"


def test_silence_means_disconnected_and_the_feed_reconnects(network: MemoryNetwork,
                                                           clock: Clock) -> None:
    manager = FakeManager(network)
    feed = make_feed(network, clock)
    feed.step()
    assert feed.connected
    manager.bus.transport.set_reachable(False)  # type: ignore[attr-defined]
    clock.now += 3.5
    feed.step()
    state = feed.state()
    assert not state["connected"]
    assert state["error"].startswith("manager not reachable at memory")
    feed.step()  # still away: the snapshot is asked again, no answer
    assert not feed.connected
    with pytest.raises(NotReachable, match="manager not reachable"):
        feed.ask("anomalies/ack", {"id": 1, "by": "x", "note": "y"})
    manager.bus.transport.set_reachable(True)  # type: ignore[attr-defined]
    manager.publish(robots=[robot("r9")])
    feed.step()
    assert feed.connected and "r9" in feed.state()["robots"]


def test_a_manager_never_seen_is_reported(network: MemoryNetwork, clock: Clock) -> None:
    feed = make_feed(network, clock)
    feed.step()
    state = feed.state()
    assert not state["connected"]
    assert "manager not reachable at memory" in state["error"]


def test_listeners_get_the_state_first_then_changes(network: MemoryNetwork,
                                                    clock: Clock) -> None:
    manager = FakeManager(network)
    feed = make_feed(network, clock)
    feed.step()

    async def scenario() -> list[tuple[str, Any]]:
        listener = feed.listen(asyncio.get_running_loop())
        await asyncio.to_thread(manager.publish, robots=[robot("r1")])
        await asyncio.to_thread(manager.event, "r1", "arrived")
        items = [await asyncio.wait_for(listener.queue.get(), 2) for _ in range(3)]
        feed.unlisten(listener)
        return items

    items = asyncio.run(scenario())
    assert [kind for kind, _ in items] == ["state", "delta", "event"]
    assert items[1][1]["robots"][0]["serial"] == "r1"


def test_a_listener_that_falls_behind_is_dropped(network: MemoryNetwork,
                                                 clock: Clock) -> None:
    manager = FakeManager(network)
    feed = make_feed(network, clock)
    feed.step()

    async def scenario() -> tuple[bool, str]:
        listener = feed.listen(asyncio.get_running_loop(), maxsize=3)
        for _ in range(5):
            await asyncio.to_thread(manager.event, "r1", "arrived")
        await asyncio.sleep(0.05)
        last = ""
        while not listener.queue.empty():
            last = listener.queue.get_nowait()[0]
        return listener.dropped, last

    assert asyncio.run(scenario()) == (True, "closed")


def test_live_state_rules() -> None:
    live = LiveState()
    assert live.apply({"seq": 5, "full": False}) is Applied.GAP
    assert live.apply({"seq": 5, "full": True, "robots": [robot("a")]}) is Applied.MERGED
    assert live.apply({"seq": 5, "full": False}) is Applied.STALE
    assert live.apply({"seq": "x"}) is Applied.STALE
    assert live.apply({"seq": 6, "robots": [robot("b")]}) is Applied.MERGED
    assert set(live.robots) == {"a", "b"}
    assert live.apply({"seq": 6, "full": True, "robots": []}) is Applied.MERGED
    assert live.robots == {}
    # a manager that restarted counts from the start again: a gap, then its snapshot
    assert live.apply({"seq": 2, "robots": [robot("c")]}) is Applied.GAP
    assert live.apply({"seq": 1, "full": True, "robots": [robot("c")]}) is Applied.MERGED
    assert set(live.robots) == {"c"} and live.seq == 1
    # a site with standbys: the leading manager is named, and a takeover shows
    assert live.to_json()["manager"] is None
    live.apply({"seq": 2, "manager": {"name": "mgr-a", "epoch": 3}})
    assert live.to_json()["manager"] == {"name": "mgr-a", "epoch": 3}
    live.apply({"seq": 1, "full": True, "manager": {"name": "mgr-b", "epoch": 4}})
    assert live.to_json()["manager"] == {"name": "mgr-b", "epoch": 4}


def test_a_restarted_manager_is_followed_from_its_new_count(network: MemoryNetwork,
                                                            clock: Clock) -> None:
    manager = FakeManager(network)
    for n in range(5):
        manager.publish(robots=[robot(f"r{n}")])
    feed = make_feed(network, clock)
    feed.step()
    assert feed.state()["seq"] == 5
    manager.bus.close()
    again = FakeManager(network)  # a new manager process: seq starts again, one robot left
    again.publish(robots=[robot("r0")])
    again.publish(robots=[robot("r0", x=9.0)])
    feed.step()
    state = feed.state()
    assert again.snapshots == 1 and state["seq"] == again.seq
    assert set(state["robots"]) == {"r0"} and state["robots"]["r0"]["x"] == 9.0


def test_a_session_that_cannot_be_opened_is_reported_and_retried(clock: Clock) -> None:
    from fleet.errors import TransportError

    tries: list[int] = []

    def opener() -> Bus:
        tries.append(1)
        raise TransportError("zenoh said no")

    feed = Feed(opener, ITF, where="tls/10.0.0.5:7447", clock=clock)
    feed.step()
    feed.step()
    assert len(tries) == 2 and not feed.connected
    assert feed.state()["error"] == ("manager not reachable at tls/10.0.0.5:7447 "
                                     "(interface uagv): zenoh said no")
