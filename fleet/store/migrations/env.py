"""Alembic's environment: runs the migrations on the connection the store hands over.

:func:`fleet.store.schema.upgrade` puts an open connection, already inside its
transaction, in ``config.attributes["connection"]``; the migrations run in that
transaction, so an upgrade is all or nothing (SQLite and PostgreSQL both have
transactional DDL). Without a connection (the ``alembic`` command line, for authoring a
revision) the URL comes from ``sqlalchemy.url`` in the configuration.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

import fleet.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url, or run the migrations through fleet.store")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


_main()
