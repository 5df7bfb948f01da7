"""Store fixtures: every test that takes ``db`` runs on a SQLite file in tmp_path and, when
FLEET_TEST_POSTGRES_URL is set (``.ci/postgres.sh`` prints one), on PostgreSQL too, each
test in a schema of its own that is dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url

from fleet.store import Store
from tests.store.factories import Database, postgres_url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL schema of this test's own (skipped without
    FLEET_TEST_POSTGRES_URL), dropped afterwards."""
    base = postgres_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        # psycopg passes "options" to the server: this connection's tables live in `schema`.
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()


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
