"""Session configurations and opening: failures are NotReachable, quickly, in one line."""

from __future__ import annotations

import json
import socket
import time

import pytest

from fleet.comms import Bus, client_config, free_port, open_session, router_config, tcp_endpoint
from fleet.errors import NotReachable


def test_client_against_a_dead_port_fails_fast_with_one_line() -> None:
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    started = time.monotonic()
    with pytest.raises(NotReachable) as caught:
        open_session(client_config([endpoint], timeout_ms=300))
    assert time.monotonic() - started < 3.0
    message = str(caught.value)
    assert message.startswith(f"no Zenoh router reachable at {endpoint}")
    assert "\n" not in message and ".rs:" not in message


def test_router_on_a_busy_port_is_not_reachable_either() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        endpoint = tcp_endpoint("127.0.0.1", busy.getsockname()[1])
        with pytest.raises(NotReachable, match=f"cannot start a Zenoh router on {endpoint}"):
            Bus.open(router_config([endpoint]))


def test_configs_carry_the_settings() -> None:
    config = client_config(["tcp/127.0.0.1:7447"], timeout_ms=1500, lease_ms=1000)
    assert json.loads(config.get_json("mode")) == "client"
    assert json.loads(config.get_json("connect/endpoints")) == ["tcp/127.0.0.1:7447"]
    assert json.loads(config.get_json("connect/timeout_ms")) == 1500
    assert json.loads(config.get_json("scouting/multicast/enabled")) is False
    assert json.loads(config.get_json("transport/link/tx/lease")) == 1000
    router = router_config(["tcp/127.0.0.1:7447"], connect=["tcp/10.1.1.1:7447"],
                           multicast_scouting=True)
    assert json.loads(router.get_json("mode")) == "router"
    assert json.loads(router.get_json("scouting/multicast/enabled")) is True
    assert json.loads(router.get_json("connect/endpoints")) == ["tcp/10.1.1.1:7447"]


@pytest.mark.parametrize("make", [
    lambda: router_config([]),
    lambda: client_config([]),
    lambda: client_config(["tcp/127.0.0.1:1"], timeout_ms=-1),
    lambda: client_config(["tcp/127.0.0.1:1"], lease_ms=10),
])
def test_config_arguments_are_checked(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_tcp_endpoint_brackets_ipv6() -> None:
    assert tcp_endpoint("::1", 7447) == "tcp/[::1]:7447"
    assert tcp_endpoint("127.0.0.1", 7447) == "tcp/127.0.0.1:7447"
