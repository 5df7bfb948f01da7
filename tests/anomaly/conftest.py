"""Anomaly fixtures: the store suite's databases (SQLite always, PostgreSQL when
FLEET_TEST_POSTGRES_URL is set), and a factory of inspection results."""

from __future__ import annotations

from tests.store.conftest import db, store

__all__ = ["db", "store"]
