"""Real Zenoh on loopback: one router per module on a free port, client buses per test."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from fleet.comms import Bus, client_config, free_port, router_config, tcp_endpoint

OpenClient = Callable[..., Bus]


@pytest.fixture(scope="module")
def router_endpoint() -> Iterator[str]:
    """The endpoint of a router (scouting off) listening on a free loopback port."""
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    with Bus.open(router_config([endpoint])):
        yield endpoint


@pytest.fixture
def open_client(router_endpoint: str) -> Iterator[OpenClient]:
    """Opens client buses on the module's router; closes those still open after the test."""
    buses: list[Bus] = []

    def _open(**options: object) -> Bus:
        bus = Bus.open(client_config([router_endpoint], **options))  # type: ignore[arg-type]
        buses.append(bus)
        return bus

    yield _open
    for bus in buses:
        bus.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# Zenoh propagates a new subscription to the router asynchronously; publishing right after
# declaring it may miss it. Tests wait this long after declaring before publishing.
SETTLE = 0.2
