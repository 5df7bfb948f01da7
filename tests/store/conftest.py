"""Store fixtures: every test that takes ``db`` runs on a SQLite file in tmp_path and, when
FLEET_TEST_POSTGRES_URL is set (``.ci/postgres.sh`` prints one), on PostgreSQL too, each
test in a schema of its own that is dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.store import Store
from tests.store.factories import Database


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield Database("sqlite", None, tmp_path)
        return
    yield Database("postgres", request.getfixturevalue("pg_url"), None)


@pytest.fixture
def store(db: Database) -> Iterator[Store]:
    """An open store on ``db``."""
    s = db.open()
    try:
        yield s
    finally:
        s.close()
