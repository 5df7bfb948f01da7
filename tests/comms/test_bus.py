"""The Bus on real Zenoh over loopback: pub/sub, bad payloads, liveliness, queries."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

from fleet.comms import Request
from fleet.errors import FleetError, NotReachable, ProtocolError
from fleet.protocol import examples
from fleet.protocol.keys import ALIVE, ParsedKey, Topic, alive_key, subscription_key, topic_key
from fleet.protocol.messages import AnyMessage
from tests.comms.conftest import SETTLE, OpenClient, wait_until


class Inbox:
    """Collects what a subscription delivers, safely across Zenoh's threads."""

    def __init__(self) -> None:
        self.items: list[tuple[ParsedKey, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, key: ParsedKey, item: Any) -> None:
        with self._lock:
            self.items.append((key, item))

    def __len__(self) -> int:
        with self._lock:
            return len(self.items)


@pytest.mark.parametrize("interface", ["uagv", "site-a/uagv"])
def test_every_message_type_round_trips(open_client: OpenClient, interface: str) -> None:
    manager, robot = open_client(), open_client()
    inbox = Inbox()
    manager.subscribe(subscription_key(interface, manufacturer="acme"), inbox)
    time.sleep(SETTLE)
    sent = examples.all_examples()
    for message in sent:
        robot.publish(topic_key(interface, "acme", "r1", message.TOPIC), message)
    assert wait_until(lambda: len(inbox) == len(sent))
    received = {key.topic: message for key, message in inbox.items}
    assert received == {str(m.TOPIC): m for m in sent}
    assert {key.interface for key, _ in inbox.items} == {interface}
    assert manager.dropped == 0


def test_bad_payloads_are_logged_and_dropped_and_the_next_message_arrives(
        open_client: OpenClient, caplog: pytest.LogCaptureFixture) -> None:
    manager, robot = open_client(), open_client()
    inbox = Inbox()
    manager.subscribe(subscription_key("uagv", Topic.STATE), inbox)
    time.sleep(SETTLE)
    key = topic_key("uagv", "acme", "r2", Topic.STATE)
    invalid = examples.state().to_json()
    del invalid["batteryState"]
    with caplog.at_level(logging.WARNING, logger="fleet.comms.bus"):
        robot.publish_raw(key, b"{not json")
        robot.publish_raw(key, json.dumps(invalid).encode())  # skips the codec's checks
        robot.publish(key, examples.state())
        assert wait_until(lambda: len(inbox) == 1)
        assert wait_until(lambda: manager.dropped == 2)
    assert inbox.items[0][1] == examples.state()
    lines = [r.getMessage() for r in caplog.records if r.name == "fleet.comms.bus"]
    assert any(key in line and "not JSON" in line for line in lines), lines
    assert any(key in line and "missing required property 'batteryState'" in line
               for line in lines), lines


def test_a_failing_callback_is_logged_and_does_not_stop_delivery(
        open_client: OpenClient, caplog: pytest.LogCaptureFixture) -> None:
    manager, robot = open_client(), open_client()
    seen: list[AnyMessage] = []

    def flaky(key: ParsedKey, message: AnyMessage) -> None:
        seen.append(message)
        if len(seen) == 1:
            raise RuntimeError("boom")

    manager.subscribe(topic_key("uagv", "acme", "r3", Topic.CONNECTION), flaky)
    time.sleep(SETTLE)
    with caplog.at_level(logging.ERROR, logger="fleet.comms.bus"):
        for _ in range(2):
            robot.publish(topic_key("uagv", "acme", "r3", Topic.CONNECTION), examples.connection())
        assert wait_until(lambda: len(seen) == 2)
    assert manager.callback_errors == 1
    assert any("callback for uagv/v2/acme/r3/connection failed" in r.getMessage()
               for r in caplog.records)


def test_publish_checks_the_key_and_the_message(open_client: OpenClient) -> None:
    robot = open_client()
    with pytest.raises(ProtocolError, match="cannot be published"):
        robot.publish(topic_key("uagv", "acme", "r1", Topic.ORDER), examples.state())
    with pytest.raises(ProtocolError):
        robot.publish("not/a/key", examples.state())


def test_liveliness_token_appears_and_disappears_when_the_session_closes(
        open_client: OpenClient) -> None:
    manager, early, late = open_client(), open_client(), open_client()
    early.declare_alive(alive_key("uagv", "acme", "early"))
    events = Inbox()
    time.sleep(SETTLE)
    manager.watch_alive(subscription_key("uagv", ALIVE), events)
    # history: the token declared before the subscription is reported at once
    assert wait_until(lambda: (ParsedKey("uagv", "acme", "early", ALIVE), True) in events.items)
    late.declare_alive(alive_key("uagv", "acme", "late"))
    assert wait_until(lambda: (ParsedKey("uagv", "acme", "late", ALIVE), True) in events.items)
    # a liveliness query may time out on a loaded machine: ask again until it answers
    assert wait_until(lambda: {k.serial for k in manager.alive(
        subscription_key("uagv", ALIVE), timeout=2.0)} >= {"early", "late"})
    late.close()
    assert wait_until(lambda: (ParsedKey("uagv", "acme", "late", ALIVE), False) in events.items)
    assert (ParsedKey("uagv", "acme", "early", ALIVE), False) not in events.items
    assert late.closed


def test_a_frozen_robot_is_seen_gone_within_its_lease(router_endpoint: str,
                                                      open_client: OpenClient) -> None:
    # SIGSTOP keeps the TCP connection open but silent, like a cut cable: only the lease
    # (1 s, set on the robot's side) can tell the router the robot is gone
    manager = open_client()
    events = Inbox()
    manager.watch_alive(subscription_key("uagv", ALIVE), events)
    code = textwrap.dedent(f"""
        import time
        from fleet.comms import Bus, client_config
        from fleet.protocol import alive_key
        bus = Bus.open(client_config([{router_endpoint!r}], lease_ms=1000))
        bus.declare_alive(alive_key("uagv", "acme", "frozen"))
        print("up", flush=True)
        time.sleep(60)
    """)
    robot = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert robot.stdout is not None and robot.stdout.readline().strip() == "up"
        key = ParsedKey("uagv", "acme", "frozen", ALIVE)
        assert wait_until(lambda: (key, True) in events.items)
        robot.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        assert wait_until(lambda: (key, False) in events.items, timeout=5.0)
        assert time.monotonic() - stopped < 3.0
    finally:
        robot.kill()
        robot.wait(timeout=10)


def test_query_round_trip_error_answer_and_timeout(open_client: OpenClient) -> None:
    manager, cli = open_client(), open_client()
    requests: list[Request] = []

    def robots(request: Request) -> Any:
        requests.append(request)
        return {"robots": ["r1", "r2"], "echo": request.body}

    def refuse(request: Request) -> Any:
        raise FleetError("no mission named 'x'")

    def crash(request: Request) -> Any:
        raise RuntimeError("bug")

    manager.serve("fleet/manager/robots", robots)
    manager.serve("fleet/manager/mission", refuse)
    manager.serve("fleet/manager/crash", crash)
    time.sleep(SETTLE)
    answer = cli.request("fleet/manager/robots?state=idle", {"verbose": True})
    assert answer == {"robots": ["r1", "r2"], "echo": {"verbose": True}}
    assert requests[0].params == {"state": "idle"} and requests[0].key == "fleet/manager/robots"
    assert cli.request("fleet/manager/robots")["echo"] is None
    with pytest.raises(FleetError, match="no mission named 'x'") as refused:
        cli.request("fleet/manager/mission")
    assert not isinstance(refused.value, NotReachable)
    with pytest.raises(FleetError, match="internal error answering fleet/manager/crash"):
        cli.request("fleet/manager/crash")
    started = time.monotonic()
    with pytest.raises(NotReachable, match="no answer on fleet/manager/nobody"):
        cli.request("fleet/manager/nobody", timeout=0.5)
    assert time.monotonic() - started < 2.0


def test_closing_twice_is_harmless(open_client: OpenClient) -> None:
    bus = open_client()
    bus.subscribe(subscription_key("uagv", Topic.STATE), lambda k, m: None)
    with bus:
        pass
    bus.close()
    assert bus.closed
