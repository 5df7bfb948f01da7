"""Fixtures of the dashboard's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fleet.comms import MemoryNetwork


@pytest.fixture
def network() -> Iterator[MemoryNetwork]:
    net = MemoryNetwork()
    yield net
    net.close()
