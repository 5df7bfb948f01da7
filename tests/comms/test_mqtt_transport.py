"""MqttTransport against real Mosquitto brokers on loopback (tests/mqtt_broker.py): the
transport seam's contract where MQTT carries it, VDA 5050's QoS/retain and last will,
reconnection, and the TLS broker of ``fleet security mqtt-config`` with its ACL."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fleet.comms import Bus, MqttOptions, MqttTransport, Will, vda5050_delivery
from fleet.comms.mqtt_transport import mqtt_filter
from fleet.errors import NotReachable, TransportError
from fleet.security.pki import Authority, Role
from tests.comms.conftest import wait_until
from tests.mqtt_broker import MakeBroker

ROOT = Path(__file__).resolve().parents[2]

Received = list[tuple[str, bytes]]


@pytest.fixture
def itf() -> str:
    """An interface chunk of this test's own: tests share the session's broker."""
    return f"t{uuid.uuid4().hex[:10]}"


OpenMqtt = Callable[..., MqttTransport]


@pytest.fixture
def open_mqtt(mqtt_url: str) -> Iterator[OpenMqtt]:
    """Opens transports on the session broker (``open_mqtt(**options)``); closes them after."""
    opened: list[MqttTransport] = []

    def _open(**options: Any) -> MqttTransport:
        transport = MqttTransport.open(MqttOptions(mqtt_url, **options))
        opened.append(transport)
        return transport

    yield _open
    for transport in opened:
        transport.close()


def _collect(into: Received) -> object:
    return lambda key, payload: into.append((key, payload))


# ---------------------------------------------------------------------------- no broker
@pytest.mark.parametrize("key_expr,topic", [
    ("uagv/v2/acme/r1/state", "uagv/v2/acme/r1/state"),
    ("uagv/v2/*/*/state", "uagv/v2/+/+/state"),
    ("uagv/**", "uagv/#"),
    ("site-a/uagv/v2/acme/*/**", "site-a/uagv/v2/acme/+/#"),
])
def test_zenoh_wildcards_become_mqtt_ones(key_expr: str, topic: str) -> None:
    assert mqtt_filter(key_expr) == topic


@pytest.mark.parametrize("key_expr", ["uagv/**/state", "uagv/r*", "uagv/$*", "a//b",
                                      "uagv/+/state", "uagv/#", "a/b?x=1"])
def test_key_expressions_without_an_mqtt_form_are_refused(key_expr: str) -> None:
    with pytest.raises(TransportError, match="no MQTT equivalent"):
        mqtt_filter(key_expr)


def test_vda5050_delivery_follows_the_topic_table() -> None:
    for topic in ("order", "instantActions", "state", "visualization", "factsheet"):
        assert vda5050_delivery(f"uagv/v2/acme/r1/{topic}") == (0, False)
    assert vda5050_delivery("uagv/v2/acme/r1/connection") == (1, True)
    assert vda5050_delivery("uagv/v2/acme/r1/inspection") == (1, False)
    assert vda5050_delivery("uagv/v2/acme/r1/inspectionAck") == (1, False)


@pytest.mark.parametrize("options,match", [
    ({"url": "tcp://127.0.0.1:1883"}, "mqtt://HOST:PORT"),
    ({"url": "mqtt://127.0.0.1:99999"}, "invalid MQTT URL"),
    ({"url": "mqtts://h:8883"}, "CA certificate"),
    ({"url": "mqtt://h", "ca": Path("ca.pem")}, "not mqtts"),
    ({"url": "mqtts://h", "ca": Path("c"), "cert": Path("c")}, "cert and key"),
    ({"url": "mqtt://h", "keepalive": 0}, "keepalive"),
])
def test_options_are_checked_when_built(options: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MqttOptions(**options)  # type: ignore[arg-type]


def test_options_default_ports() -> None:
    assert MqttOptions("mqtt://broker").port == 1883
    assert MqttOptions("mqtts://[::1]", ca=Path("ca.pem")).host == "::1"
    assert MqttOptions("mqtts://[::1]", ca=Path("ca.pem")).port == 8883


def test_an_unreachable_broker_is_one_line_naming_the_url() -> None:
    with pytest.raises(NotReachable) as caught:
        MqttTransport.open("mqtt://127.0.0.1:1")
    assert "\n" not in str(caught.value)
    assert "mqtt://127.0.0.1:1" in str(caught.value)
    assert "refused" in str(caught.value).lower()


# ---------------------------------------------------------------------------- plain broker
def test_round_trip_with_translated_wildcards(open_mqtt: OpenMqtt,
                                              itf: str) -> None:
    robot, manager = open_mqtt(), open_mqtt()
    states: Received = []
    everything: Received = []
    manager.subscribe(f"{itf}/v2/*/*/state", _collect(states))  # type: ignore[arg-type]
    manager.subscribe(f"{itf}/**", _collect(everything))  # type: ignore[arg-type]
    robot.publish(f"{itf}/v2/acme/r1/state", b'{"a": 1}')
    robot.publish(f"{itf}/v2/acme/r1/factsheet", b"{}")
    robot.publish(f"{itf}x/v2/acme/r1/state", b"elsewhere")
    assert wait_until(lambda: len(everything) == 2)
    time.sleep(0.1)
    assert states == [(f"{itf}/v2/acme/r1/state", b'{"a": 1}')]
    assert sorted(everything) == [(f"{itf}/v2/acme/r1/factsheet", b"{}"),
                                  (f"{itf}/v2/acme/r1/state", b'{"a": 1}')]
    assert robot.reachable() and manager.reachable()


def test_a_bus_works_over_mqtt(mqtt_url: str, itf: str) -> None:
    """The typed Bus runs unchanged on the MQTT transport."""
    from fleet.protocol.header import Header
    from fleet.protocol.keys import Topic, subscription_key, topic_key
    from fleet.protocol.state import Connection, ConnectionState

    with Bus(MqttTransport.open(mqtt_url)) as manager, Bus(MqttTransport.open(mqtt_url)) as robot:
        heard: list[object] = []
        manager.subscribe(subscription_key(itf, Topic.CONNECTION), lambda _k, m: heard.append(m))
        message = Connection(Header("acme", "r1"), ConnectionState.ONLINE)
        robot.publish(topic_key(itf, "acme", "r1", Topic.CONNECTION), message)
        assert wait_until(lambda: len(heard) == 1)
        assert heard[0] == message


def test_several_subscriptions_to_one_filter_each_get_every_message(
        open_mqtt: OpenMqtt, itf: str) -> None:
    a, b = open_mqtt(), open_mqtt()
    first: Received = []
    second: Received = []
    handle = b.subscribe(f"{itf}/x", _collect(first))  # type: ignore[arg-type]
    b.subscribe(f"{itf}/x", _collect(second))  # type: ignore[arg-type]
    a.publish(f"{itf}/x", b"1")
    assert wait_until(lambda: len(first) == 1 and len(second) == 1)
    handle.undeclare()
    handle.undeclare()
    a.publish(f"{itf}/x", b"2")
    assert wait_until(lambda: len(second) == 2)
    assert first == [(f"{itf}/x", b"1")]


def test_a_raising_callback_does_not_stop_delivery(open_mqtt: OpenMqtt,
                                                   itf: str) -> None:
    a, b = open_mqtt(), open_mqtt()
    got: Received = []

    def broken(key: str, payload: bytes) -> None:
        raise RuntimeError("a bug in a callback")

    b.subscribe(f"{itf}/broken", broken)
    b.subscribe(f"{itf}/ok", _collect(got))  # type: ignore[arg-type]
    for i in range(3):
        a.publish(f"{itf}/broken", b"x")
        a.publish(f"{itf}/ok", b"%d" % i)
    assert wait_until(lambda: len(got) == 3)
    assert b.reachable()


def test_remote_only_skips_own_publications(open_mqtt: OpenMqtt, itf: str) -> None:
    a, b = open_mqtt(), open_mqtt()
    got: Received = []
    a.subscribe(f"{itf}/k", _collect(got), remote_only=True)  # type: ignore[arg-type]
    a.publish(f"{itf}/k", b"mine")
    b.publish(f"{itf}/k", b"theirs")
    assert wait_until(lambda: len(got) == 1)
    time.sleep(0.1)
    assert got == [(f"{itf}/k", b"theirs")]
    with pytest.raises(TransportError, match="remote_only"):
        a.subscribe(f"{itf}/k", _collect(got))  # type: ignore[arg-type]


def test_connection_is_retained_for_late_subscribers_and_state_is_not(
        open_mqtt: OpenMqtt, itf: str) -> None:
    robot = open_mqtt()
    robot.publish(f"{itf}/v2/acme/r1/connection", b'{"connectionState": "ONLINE"}')
    robot.publish(f"{itf}/v2/acme/r1/state", b"{}")
    time.sleep(0.2)
    late = open_mqtt()
    got: Received = []
    late.subscribe(f"{itf}/v2/*/*/*", _collect(got))  # type: ignore[arg-type]
    assert wait_until(lambda: len(got) == 1)
    time.sleep(0.1)
    assert got == [(f"{itf}/v2/acme/r1/connection", b'{"connectionState": "ONLINE"}')]


def test_tokens_are_inert_and_queries_refused(open_mqtt: OpenMqtt,
                                              itf: str) -> None:
    t = open_mqtt()
    seen: list[object] = []
    t.declare_token(f"{itf}/v2/acme/r1/alive").undeclare()
    t.watch_tokens(f"{itf}/**", lambda k, p: seen.append(k)).undeclare()
    assert t.tokens(f"{itf}/**", timeout=0.1) == []
    with pytest.raises(TransportError, match="not carried over MQTT"):
        t.query(f"{itf}/manager/status", None, timeout=0.1)
    with pytest.raises(TransportError, match="not carried over MQTT"):
        t.serve(f"{itf}/manager/status", lambda q: None)  # type: ignore[arg-type,return-value]
    assert seen == []


def test_close_is_idempotent_and_publishing_after_it_fails(
        open_mqtt: OpenMqtt, itf: str) -> None:
    t = open_mqtt()
    t.close()
    t.close()
    assert t.closed and not t.reachable()
    with pytest.raises(TransportError, match="closed"):
        t.publish(f"{itf}/x", b"")


ROBOT = """
import sys, time
from fleet.comms import MqttOptions, MqttTransport, Will
url, topic = sys.argv[1], sys.argv[2]
t = MqttTransport.open(MqttOptions(url, will=Will(topic, b"CONNECTIONBROKEN")))
t.publish(topic, b"ONLINE")
print("ready", flush=True)
if sys.argv[3] == "close":
    t.close()
    print("closed", flush=True)
time.sleep(60)
"""


def _robot_process(url: str, topic: str, how: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    process = subprocess.Popen([sys.executable, "-c", ROBOT, url, topic, how], env=env,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    if how == "close":
        assert process.stdout.readline().strip() == "closed"
    return process


def test_the_broker_publishes_the_will_of_a_killed_client(
        open_mqtt: OpenMqtt, mqtt_url: str, itf: str) -> None:
    topic = f"{itf}/v2/acme/r1/connection"
    watcher = open_mqtt()
    got: Received = []
    watcher.subscribe(topic, _collect(got))  # type: ignore[arg-type]
    process = _robot_process(mqtt_url, topic, "kill")
    assert wait_until(lambda: got == [(topic, b"ONLINE")])
    process.send_signal(signal.SIGKILL)  # no DISCONNECT: the kernel just closes the socket
    process.wait(timeout=10)
    assert wait_until(lambda: len(got) == 2)
    assert got[1] == (topic, b"CONNECTIONBROKEN")
    late: Received = []  # the will is retained, as VDA 5050 asks
    open_mqtt().subscribe(topic, _collect(late))  # type: ignore[arg-type]
    assert wait_until(lambda: late == [(topic, b"CONNECTIONBROKEN")])


def test_a_clean_close_does_not_publish_the_will(
        open_mqtt: OpenMqtt, mqtt_url: str, itf: str) -> None:
    topic = f"{itf}/v2/acme/r1/connection"
    watcher = open_mqtt()
    got: Received = []
    watcher.subscribe(topic, _collect(got))  # type: ignore[arg-type]
    process = _robot_process(mqtt_url, topic, "close")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    time.sleep(0.5)
    assert got == [(topic, b"ONLINE")]


def test_subscriptions_come_back_after_the_broker_restarts(mqtt_brokers: MakeBroker) -> None:
    broker = mqtt_brokers()
    listener = MqttTransport.open(broker.url)
    try:
        got: Received = []
        listener.subscribe("uagv/v2/*/*/state", _collect(got))  # type: ignore[arg-type]
        broker.stop()
        assert wait_until(lambda: not listener.reachable())
        broker.start()
        assert wait_until(lambda: listener.reachable(), timeout=10)
        time.sleep(0.2)  # the SUBSCRIBE sent on reconnecting, acknowledged
        publisher = MqttTransport.open(broker.url)
        publisher.publish("uagv/v2/acme/r1/state", b"after")
        assert wait_until(lambda: got == [("uagv/v2/acme/r1/state", b"after")])
        publisher.close()
    finally:
        listener.close()


def test_after_a_broken_connection_the_last_retained_message_is_sent_again(
        mqtt_brokers: MakeBroker) -> None:
    broker = mqtt_brokers()
    topic = "uagv/v2/acme/r1/connection"
    robot = MqttTransport.open(MqttOptions(broker.url, client_id="acme-r1",
                                           will=Will(topic, b"CONNECTIONBROKEN")))
    listener = MqttTransport.open(broker.url)
    try:
        got: Received = []
        listener.subscribe(topic, _collect(got))  # type: ignore[arg-type]
        robot.publish(topic, b"ONLINE")
        assert wait_until(lambda: got == [(topic, b"ONLINE")])
        sock = robot._client.socket()  # the network drops; the client lives on
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)
        assert wait_until(lambda: (topic, b"CONNECTIONBROKEN") in got)
        assert wait_until(lambda: got[-1] == (topic, b"ONLINE") and robot.reachable(), 10)
        late: Received = []
        newcomer = MqttTransport.open(broker.url)
        newcomer.subscribe(topic, _collect(late))  # type: ignore[arg-type]
        assert wait_until(lambda: late == [(topic, b"ONLINE")])  # the retained one
        newcomer.close()
    finally:
        robot.close()
        listener.close()


# ---------------------------------------------------------------------------- TLS + ACL
@pytest.fixture(scope="module")
def security(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("mqtt-security") / "sec"
    authority = Authority.create(directory)
    authority.add_robot("acme/r1")
    authority.add_robot("acme/r2")
    return directory


def _identity(url: str, where: Path) -> MqttOptions:
    return MqttOptions(url, ca=where / "ca.pem", cert=where / "cert.pem", key=where / "key.pem")


def test_tls_robots_are_held_to_their_own_topics(mqtt_brokers: MakeBroker,
                                                 security: Path) -> None:
    broker = mqtt_brokers(security=security)
    manager = MqttTransport.open(_identity(broker.url, security / "manager"))
    r1 = MqttTransport.open(_identity(broker.url, security / "robots" / "acme" / "r1"))
    try:
        reports: Received = []
        orders: Received = []
        manager.subscribe("uagv/v2/**", _collect(reports))  # type: ignore[arg-type]
        r1.subscribe("uagv/v2/acme/r1/order", _collect(orders))  # type: ignore[arg-type]
        r1.subscribe("uagv/v2/acme/r2/order", _collect(orders))  # type: ignore[arg-type]
        r1.publish("uagv/v2/acme/r2/state", b"impersonating r2")  # refused by the ACL
        r1.publish("uagv/v2/acme/r1/state", b"own")
        manager.publish("uagv/v2/acme/r2/order", b"for r2")  # r1 may not read it
        manager.publish("uagv/v2/acme/r1/order", b"for r1")
        assert wait_until(lambda: len(orders) >= 1 and len(reports) >= 3)
        time.sleep(0.2)
        assert orders == [("uagv/v2/acme/r1/order", b"for r1")]
        assert ("uagv/v2/acme/r1/state", b"own") in reports
        assert not [r for r in reports if r[1] == b"impersonating r2"]
    finally:
        r1.close()
        manager.close()


def test_tls_refuses_clients_without_a_certificate(mqtt_brokers: MakeBroker,
                                                   security: Path) -> None:
    broker = mqtt_brokers(security=security)
    with pytest.raises(NotReachable) as caught:
        MqttTransport.open(MqttOptions(broker.url, ca=security / "ca" / "cert.pem"))
    assert "\n" not in str(caught.value) and broker.url in str(caught.value)
    assert "client certificate" in str(caught.value)
    with pytest.raises(NotReachable, match="mqtts://"):
        MqttTransport.open(broker.url.replace("mqtts://", "mqtt://"))


def test_tls_refuses_a_revoked_certificate(mqtt_brokers: MakeBroker, tmp_path: Path) -> None:
    authority = Authority.create(tmp_path / "sec")
    authority.add_robot("acme/r9")
    kept = tmp_path / "stolen"  # the robot's files as a thief would keep them
    shutil.copytree(tmp_path / "sec" / "robots" / "acme" / "r9", kept)
    authority.revoke(Role.ROBOT, "acme/r9")
    broker = mqtt_brokers(security=tmp_path / "sec")  # crlfile: the revocation list
    with pytest.raises(NotReachable, match="revoked"):
        MqttTransport.open(_identity(broker.url, kept))
