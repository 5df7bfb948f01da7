"""Fixtures of the manager's tests: a running manager on the in-memory network
(tests/manager/harness.py explains how its tests synchronise without sleeping)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Site, open_site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A started manager (manual clock at 0, in-memory network, SQLite in tmp_path)."""
    yield from open_site(tmp_path)
