"""The transport contract (fleet.comms.transport), held by both implementations: Zenoh on
loopback and the in-memory network. The same test body runs on each."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from fleet.comms import (
    Answer,
    MemoryNetwork,
    Query,
    Transport,
    ZenohTransport,
    client_config,
    free_port,
    router_config,
    tcp_endpoint,
)
from fleet.errors import TransportError


@dataclass
class Net:
    """Two parties on one network, and how to wait for what reaches them."""

    a: Transport
    b: Transport
    settle: Callable[[], None]
    """Block until what was sent (and subscriptions declared) has propagated."""
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def notify(self) -> None:
        with self.cond:
            self.cond.notify_all()


@pytest.fixture(params=["memory", "zenoh"])
def net(request: pytest.FixtureRequest) -> Iterator[Net]:
    if request.param == "memory":
        network = MemoryNetwork()
        a, b = network.transport(), network.transport()
        yield Net(a, b, network.drain)
        a.close()
        b.close()
        network.close()
        return
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    router = ZenohTransport.open(router_config([endpoint]))
    a = ZenohTransport.open(client_config([endpoint]))
    b = ZenohTransport.open(client_config([endpoint]))
    # Zenoh propagates declarations to the router asynchronously: a query round trip
    # through the router after declaring is the settle point (no sleep)
    probe = f"probe/{free_port()}"
    router.serve(probe, lambda q: Answer(b"{}"))

    def settle() -> None:
        for party in (a, b):
            party.query(probe, None, timeout=2.0)

    yield Net(a, b, settle)
    for t in (a, b, router):
        t.close()


def test_puts_reach_matching_subscriptions_only(net: Net) -> None:
    got: list[tuple[str, bytes]] = []

    def keep(key: str, payload: bytes) -> None:
        got.append((key, payload))
        net.notify()

    net.b.subscribe("site/v2/*/r1/state", keep)
    net.settle()
    net.a.publish("site/v2/acme/r1/state", b'{"n": 1}')
    net.a.publish("site/v2/acme/r2/state", b'{"n": 2}')  # another robot: not matched
    net.a.publisher("site/v2/acme/r1/state").put(b'{"n": 3}')
    assert net.wait_for(lambda: len(got) == 2)
    net.settle()
    assert got == [("site/v2/acme/r1/state", b'{"n": 1}'),
                   ("site/v2/acme/r1/state", b'{"n": 3}')]


def test_remote_only_skips_a_partys_own_puts(net: Net) -> None:
    own: list[str] = []
    other: list[str] = []
    net.a.subscribe("k/**", lambda key, _p: (own.append(key), net.notify()), remote_only=True)
    net.b.subscribe("k/**", lambda key, _p: (other.append(key), net.notify()))
    net.settle()
    net.a.publish("k/1", b"{}")
    net.b.publish("k/2", b"{}")
    assert net.wait_for(lambda: own == ["k/2"] and sorted(other) == ["k/1", "k/2"])


def test_tokens_appear_with_history_and_go_when_undeclared(net: Net) -> None:
    seen: list[tuple[str, bool]] = []
    early = net.a.declare_token("site/v2/acme/r1/alive")
    net.settle()
    net.b.watch_tokens("site/v2/*/*/alive",
                       lambda key, present: (seen.append((key, present)), net.notify()))
    assert net.wait_for(lambda: ("site/v2/acme/r1/alive", True) in seen)
    assert net.b.tokens("site/v2/**", timeout=2.0) == ["site/v2/acme/r1/alive"]
    early.undeclare()
    assert net.wait_for(lambda: ("site/v2/acme/r1/alive", False) in seen)
    assert net.b.tokens("site/v2/**", timeout=1.0) == []


def test_a_closed_party_s_tokens_go(net: Net) -> None:
    seen: list[bool] = []
    net.b.watch_tokens("t/*", lambda _k, present: (seen.append(present), net.notify()))
    net.settle()
    net.a.declare_token("t/x")
    assert net.wait_for(lambda: seen == [True])
    net.a.close()
    net.a.close()  # idempotent
    assert net.a.closed
    assert net.wait_for(lambda: seen == [True, False])


def test_queries_get_answers_errors_and_nothing(net: Net) -> None:
    def handler(query: Query) -> Answer:
        if query.params.get("fail"):
            return Answer(b'{"error": "no"}', error=True)
        return Answer(b'{"echo": %s}' % (query.payload or b"null"))

    net.a.serve("api/echo", handler)
    net.settle()
    assert net.b.query("api/echo", b'{"x": 1}', timeout=2.0) == [Answer(b'{"echo": {"x": 1}}')]
    assert net.b.query("api/echo?fail=1", None, timeout=2.0) == [
        Answer(b'{"error": "no"}', error=True)]
    assert net.b.query("api/nobody", None, timeout=0.5) == []


def test_a_handler_that_raises_answers_an_error(net: Net) -> None:
    def broken(_query: Query) -> Answer:
        raise RuntimeError("bug")

    net.a.serve("api/broken", broken)
    net.settle()
    answers = net.b.query("api/broken", None, timeout=2.0)
    assert len(answers) == 1 and answers[0].error


def test_reachable_and_errors_after_close(net: Net) -> None:
    assert net.a.reachable()
    net.a.close()
    assert not net.a.reachable()
    with pytest.raises(TransportError):
        net.a.publish("k/after", b"{}")


def test_memory_party_cut_off_neither_sends_nor_receives() -> None:
    network = MemoryNetwork()
    a, b = network.transport(), network.transport()
    got: list[str] = []
    seen: list[bool] = []
    b.subscribe("k/*", lambda key, _p: got.append(key))
    b.watch_tokens("t/*", lambda _k, present: seen.append(present))
    a.declare_token("t/a")
    a.set_reachable(False)
    a.publish("k/lost", b"{}")
    b.publish("k/unheard", b"{}")  # b receives its own: it is not cut off
    network.drain()
    assert seen == [True, False] and got == ["k/unheard"] and not a.reachable()
    a.set_reachable(True)
    a.publish("k/back", b"{}")
    network.drain()
    assert seen == [True, False, True] and got == ["k/unheard", "k/back"]
    network.close()


def test_memory_when_idle_reads_with_nothing_in_flight() -> None:
    network = MemoryNetwork()
    a, b = network.transport(), network.transport()
    got: list[str] = []
    release = threading.Event()

    def slow(key: str, _p: bytes) -> None:
        if key == "k/slow":
            release.wait(5)
        got.append(key)

    b.subscribe("k/*", slow)
    for i in range(50):
        a.publish(f"k/{i}", b"{}")
    # every sample queued before is delivered when read() runs
    assert network.when_idle(lambda: len(got)) == 50
    a.publish("k/slow", b"{}")
    with pytest.raises(TransportError):
        network.when_idle(lambda: len(got), timeout=0.1)
    release.set()
    assert network.when_idle(lambda: got[-1]) == "k/slow"
    network.close()


def test_a_ros2_service_call_carries_attachments_both_ways(net: Net) -> None:
    """What a ROS 2 service call over rmw_zenoh needs: a complete queryable, a query to
    complete ones only, CDR bytes unlabelled, and the attachment echoed in the reply."""
    def handler(query: Query) -> Answer:
        assert query.payload is not None and query.attachment is not None
        return Answer(query.payload[::-1], attachment=query.attachment, json=False)

    net.a.serve("0/add/srv/RIHS01_x", handler, complete=True)
    net.settle()
    cdr, tag = b"\x00\x01\x00\x00\x05\x00\x00\x00", bytes(range(33))
    answers = net.b.query("0/add/srv/RIHS01_x", cdr, timeout=2.0, attachment=tag,
                          complete=True, json=False)
    assert [(a.payload, a.attachment, a.error) for a in answers] == [(cdr[::-1], tag, False)]


def test_a_put_with_an_attachment_and_no_json_label_is_delivered(net: Net) -> None:
    got: list[tuple[str, bytes]] = []

    def on_sample(key: str, payload: bytes) -> None:
        got.append((key, payload))
        net.notify()

    net.b.subscribe("0/chatter/**", on_sample)
    net.settle()
    net.a.publish("0/chatter/T/RIHS01_x", b"\x00\x01\x00\x00", attachment=bytes(33),
                  json=False)
    assert net.wait_for(lambda: got == [("0/chatter/T/RIHS01_x", b"\x00\x01\x00\x00")])
