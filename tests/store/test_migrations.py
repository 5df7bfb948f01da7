"""Schema migrations: Store.open upgrades in place, keeps data, and matches the tables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from fleet.errors import StoreError
from fleet.store import schema
from fleet.store.database import database_url, make_engine, transaction
from tests.store.factories import Database

TABLES = {"missions", "mission_events", "inspection_results", "readings",
          "anomalies", "anomaly_observations", "alert_deliveries", "sensor_readings",
          "lockouts", "closures", "schedules", "schedule_events"}


@pytest.fixture
def engine(db: Database) -> Iterator[Engine]:
    """A bare engine on ``db`` (set up as the store sets it up), with no schema yet."""
    e = make_engine(database_url(db.url, db.path))
    yield e
    e.dispose()


def test_the_bundled_migrations_form_one_line() -> None:
    revisions = schema.revisions()
    assert revisions[0] == "0001"
    assert revisions[-1] == schema.head()
    assert (schema.MIGRATIONS / "script.py.mako").is_file()  # package data, for authoring


def test_a_new_database_is_created_at_head(db: Database, engine: Engine) -> None:
    with db.open() as store:
        assert store.revision() == schema.head()
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_an_old_database_is_upgraded_in_place_keeping_its_data(
        db: Database, engine: Engine) -> None:
    initial = schema.revisions()[0]
    schema.upgrade(engine, initial)
    # Rows written with the initial revision's columns, as an old manager would have.
    with transaction(engine, write=True) as connection:
        connection.execute(text(
            "INSERT INTO missions (id, name, status, document, created_at, updated_at) "
            "VALUES (:id, 'old', 'running', 'name: old', :t, :t)"),
            {"id": "a" * 32, "t": "2024-12-31 23:00:00.000000"})
        connection.execute(text(
            "INSERT INTO inspection_results (result_id, order_id, action_id, manufacturer, "
            "serial_number, inspection_point_id, node_id, measured_at, received_at, position)"
            " VALUES (:rid, 'o', 'a', 'acme', 'R1', 'P1', 'N1', :t, :t, :pos)"),
            {"rid": "9b2f6a52-3c1e-4d7a-9a55-0d2f4b8e7c11", "t": "2024-12-31 23:00:00.000000",
             "pos": '{"x": 1.0, "y": 2.0, "theta": 0.0, "mapId": "L0"}'})
    with transaction(engine, write=False) as connection:
        assert schema.current(connection) == initial

    with db.open() as store:
        assert store.revision() == schema.head()
        mission = store.mission("a" * 32)
        assert mission is not None and (mission.name, mission.status) == ("old", "running")
        [result] = store.results()
        assert result.position == {"x": 1.0, "y": 2.0, "theta": 0.0, "mapId": "L0"}
        assert result.measured_at.isoformat() == "2024-12-31T23:00:00+00:00"


def test_migrations_match_the_tables(db: Database, engine: Engine) -> None:
    db.open().close()
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={
            "compare_type": True}), SQLModel.metadata)
    ours = [d for d in diff if not _foreign(d)]
    assert ours == []


def _foreign(difference: object) -> bool:
    """A difference about a table that is not the store's (other packages' SQLModel tables)."""
    text_ = repr(difference)
    return not any(f"'{t}'" in text_ or f"name='{t}'" in text_ for t in TABLES | {
        "alembic_version"})


def test_downgrade_and_upgrade_again(db: Database, engine: Engine) -> None:
    db.open().close()
    with transaction(engine, write=True) as connection:
        command.downgrade(schema.alembic_config(connection), "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    with db.open() as store:
        assert store.revision() == schema.head()
        store.add_mission("after", "doc")


def test_revision_0003_drops_the_unused_robots_table(db: Database, engine: Engine) -> None:
    schema.upgrade(engine, "0002")
    assert "robots" in inspect(engine).get_table_names()
    schema.upgrade(engine)
    assert "robots" not in inspect(engine).get_table_names()
    with transaction(engine, write=True) as connection:
        command.downgrade(schema.alembic_config(connection), "0002")
    assert "robots" in inspect(engine).get_table_names()  # recreated empty


def test_a_database_from_a_newer_version_is_refused(db: Database, engine: Engine) -> None:
    db.open().close()
    with transaction(engine, write=True) as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match=r"revision '9999'.*newer version"):
        db.open()
