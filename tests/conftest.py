"""Shared fixtures: paths to the project's data and to ../shared (which may be absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
MAPS = ROOT / "maps"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def data_dir() -> Path:
    """tests/data."""
    return DATA


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the project; skips the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the project")
    return SHARED
