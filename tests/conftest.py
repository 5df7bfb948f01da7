"""Shared fixtures: paths to the project's data and to ../shared (which may be absent)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url

from tests.mqtt_broker import mqtt_brokers, mqtt_url
from tests.store.factories import postgres_url

__all__ = ["mqtt_brokers", "mqtt_url"]  # real Mosquitto brokers, for every MQTT test

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


@pytest.fixture
def pg_schemas() -> Iterator[Callable[[], str]]:
    """Makes fresh PostgreSQL schemas of this test's own, each call one more (its URL);
    skipped without FLEET_TEST_POSTGRES_URL; all dropped afterwards."""
    base = postgres_url()
    admin = create_engine(base)
    made: list[str] = []

    def make() -> str:
        schema = f"test_{uuid.uuid4().hex[:12]}"
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        made.append(schema)
        # psycopg passes "options" to the server: this connection's tables live in `schema`.
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.begin() as connection:
            for schema in made:
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def pg_url(pg_schemas: Callable[[], str]) -> str:
    """The URL of a fresh PostgreSQL schema of this test's own (skipped without
    FLEET_TEST_POSTGRES_URL), dropped afterwards."""
    return pg_schemas()
