"""The simulated radio on real Zenoh (loopback): coverage follows the body through dead
zones (token, link check, traffic), retransmission of the protocol's one-shot messages,
and a dead robot's silence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fleet.agent import Pose
from fleet.clock import ScaledClock
from fleet.comms import Bus, client_config, free_port, router_config, tcp_endpoint
from fleet.facility import load
from fleet.facility.model import Facility
from fleet.protocol import examples
from fleet.protocol.codec import encode
from fleet.protocol.keys import ALIVE, Topic, alive_key, subscription_key, topic_key
from sim.body import Leg
from sim.link import Coverage, DelayQueue, Link, LinkModel, Outcome
from sim.radio import MAX_TRIES, Radio, _stretches
from tests.sim.factories import TINY_MAP

SPEED = 50.0
KEY = alive_key("uagv", examples.MANUFACTURER, examples.SERIAL)


@pytest.fixture(scope="module")
def tiny() -> Facility:
    return load(TINY_MAP)


@dataclass
class Air:
    """A router (the manager's side) and a radio on a client session (the robot's)."""

    router: Bus
    radio: Radio
    clock: ScaledClock
    heard: list[str]
    tokens: set[str]

    def present(self) -> bool:
        return examples.SERIAL in self.tokens


def _wait(predicate: object, timeout: float = 5.0) -> bool:
    assert callable(predicate)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


@pytest.fixture
def air(tiny: Facility, request: pytest.FixtureRequest) -> Iterator[Air]:
    model = getattr(request, "param", LinkModel(latency_ms=20, jitter_ms=5, loss=0.0))
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    clock = ScaledClock(SPEED)
    queue = DelayQueue()
    queue.start(clock)
    heard: list[str] = []
    tokens: set[str] = set()
    with Bus.open(router_config([endpoint])) as router, \
            Bus.open(client_config([endpoint])) as client:
        router.watch_alive(subscription_key("uagv", ALIVE),
                           lambda key, present: (tokens.add if present else tokens.discard)(
                               key.serial))
        router.subscribe_raw(
            subscription_key("uagv", manufacturer=examples.MANUFACTURER),
            lambda key, _payload: heard.append(key.rsplit("/", 1)[1]))
        link = Link(model, Coverage(tiny), seed=1, robot=examples.SERIAL, queue=queue)
        radio = Radio(client.transport, link, clock)
        radio.on_motion(None, Pose(0, 0, 0, "L1"), "dock")
        yield Air(router, radio, clock, heard, tokens)
        queue.close()


def test_stretches_cut_a_leg_where_it_enters_a_dead_zone(tiny: Facility) -> None:
    # bottom (60, 20) -> p2 (80, 20); the dead zone spans x 70..90
    leg = Leg(("bottom", "p2"), 60, 20, 80, 20, "L2", "L2", 0.0, 1.0, 0.0, 20.0)
    assert _stretches(Coverage(tiny), leg) == [(0.0, 0.5, True), (0.5, 1.0, False)]
    back = Leg(("p2", "bottom"), 80, 20, 60, 20, "L2", "L2", 0.25, 1.0, 0.0, 15.0)
    assert _stretches(Coverage(tiny), back) == [(0.25, 0.5, False), (0.5, 1.0, True)]
    shaft = Leg(("top", "bottom"), 40, 20, 60, 20, "L1", "L2", 0.0, 1.0, 0.0, 120.0)
    assert _stretches(Coverage(tiny), shaft) == [(0.0, 1.0, True)]


def test_out_of_coverage_the_token_goes_and_nothing_passes(air: Air) -> None:
    radio = air.radio
    radio.declare_token(KEY)
    assert _wait(air.present)
    radio.publish(topic_key("uagv", examples.MANUFACTURER, examples.SERIAL, Topic.STATE),
                  encode(examples.state()))
    assert _wait(lambda: "state" in air.heard)
    assert radio.reachable()

    radio.on_motion(None, Pose(80, 20, 0, "L2"), "p2")  # inside the dead zone
    assert not radio.link.connected
    assert not radio.reachable()
    assert _wait(lambda: not air.present())
    air.heard.clear()
    radio.publish(topic_key("uagv", examples.MANUFACTURER, examples.SERIAL, Topic.STATE),
                  encode(examples.state()))
    time.sleep(0.2)
    assert air.heard == []

    radio.on_motion(None, Pose(60, 20, 0, "L2"), "bottom")
    assert _wait(air.present)
    assert radio.reachable()


def test_a_leg_into_a_dead_zone_drops_the_token_when_it_crosses(air: Air) -> None:
    radio = air.radio
    radio.declare_token(KEY)
    assert _wait(air.present)
    now = air.clock.monotonic()
    # 20 world seconds to p2: the zone starts half way, 10 s (0.2 s real) in
    leg = Leg(("bottom", "p2"), 60, 20, 80, 20, "L2", "L2", 0.0, 1.0, now, now + 20.0)
    radio.on_motion(leg, Pose(60, 20, 0, "L2"), None)
    assert radio.link.connected
    assert _wait(lambda: not air.present())
    crossed = air.clock.monotonic() - now
    assert crossed >= 10.0


def test_downlink_reaches_the_robot_only_in_coverage(air: Air) -> None:
    got: list[str] = []
    air.radio.subscribe(
        subscription_key("uagv", manufacturer=examples.MANUFACTURER, serial=examples.SERIAL),
        lambda key, _payload: got.append(key.rsplit("/", 1)[1]))
    base = ("uagv", examples.MANUFACTURER, examples.SERIAL)
    time.sleep(0.2)  # the subscription reaches the router
    air.router.publish(topic_key(*base, Topic.ORDER), examples.order())
    air.router.publish(topic_key(*base, Topic.STATE), examples.state())  # not for a robot
    assert _wait(lambda: got == ["order"])
    air.radio.on_motion(None, Pose(80, 20, 0, "L2"), "p2")
    air.router.publish(topic_key(*base, Topic.INSTANT_ACTIONS), examples.instant_actions())
    time.sleep(0.3)
    assert got == ["order"]


@pytest.mark.parametrize("air", [LinkModel(latency_ms=5, jitter_ms=0, loss=1.0)],
                         indirect=True)
def test_lost_radio_retransmits_one_shot_messages_and_drops_the_rest(air: Air) -> None:
    radio = air.radio
    base = ("uagv", examples.MANUFACTURER, examples.SERIAL)
    radio.publish(topic_key(*base, Topic.STATE), encode(examples.state()))
    assert radio.given_up == 0  # a lost state is not retried
    radio.publish(topic_key(*base, Topic.CONNECTION), encode(examples.connection()))
    assert radio.given_up == 1  # every one of MAX_TRIES sends lost
    assert radio.link.counts[Outcome.SCHEDULED] == 0
    assert sum(radio.link.counts.values()) == 1 + MAX_TRIES


def test_a_cut_radio_stays_silent_whatever_the_coverage(air: Air) -> None:
    radio = air.radio
    radio.declare_token(KEY)
    assert _wait(air.present)
    radio.cut()
    assert _wait(lambda: not air.present())
    radio.on_motion(None, Pose(0, 0, 0, "L1"), "dock")
    radio.publish(topic_key("uagv", examples.MANUFACTURER, examples.SERIAL,
                            Topic.CONNECTION), encode(examples.connection()))
    time.sleep(0.3)
    assert not air.present() and "connection" not in air.heard


def test_a_clean_withdrawal_waits_for_the_last_message(air: Air) -> None:
    radio = air.radio
    radio.grace_s = 5.0  # world seconds: 0.1 s real
    token = radio.declare_token(KEY)
    assert _wait(air.present)
    radio.publish(topic_key("uagv", examples.MANUFACTURER, examples.SERIAL,
                            Topic.CONNECTION), encode(examples.connection(online=False)))
    token.undeclare()
    assert air.present()  # still there: OFFLINE is in the air
    assert _wait(lambda: "connection" in air.heard)
    assert _wait(lambda: not air.present())


@pytest.mark.parametrize("air", [LinkModel(latency_ms=0, jitter_ms=0, loss=0.0)],
                         indirect=True)
def test_a_perfect_link_delivers_on_the_senders_thread(air: Air) -> None:
    radio = air.radio
    key = topic_key("uagv", examples.MANUFACTURER, examples.SERIAL, Topic.STATE)
    radio.publish(key, encode(examples.state()))
    assert len(radio.link.queue) == 0 and radio.sent == 1
    assert _wait(lambda: "state" in air.heard)
    radio.on_motion(None, Pose(80, 20, 0, "L2"), "p2")
    radio.publish(key, encode(examples.state()))
    assert radio.sent == 1
