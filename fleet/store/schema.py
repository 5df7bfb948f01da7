"""Schema revisions: which revision a database is at, and upgrading it in place.

The migration scripts live in :mod:`fleet.store.migrations` (shipped as package data) and
run through Alembic's API; no ``alembic.ini`` is needed. :func:`upgrade` is what
:meth:`fleet.store.Store.open` calls: it creates the tables in an empty database and brings
an older one to the newest revision, in one transaction, keeping its data.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from fleet.errors import StoreError
from fleet.store.database import describe, transaction

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
"""The directory of the migration environment (``env.py``, ``versions/``)."""

_PG_LOCK_KEY = 0x666C656574  # "fleet": serialises concurrent upgrades on PostgreSQL


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the bundled migrations, running on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def head() -> str:
    """The newest revision id, the one :func:`upgrade` brings databases to."""
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    if len(heads) != 1:  # a packaging mistake, not a user's: two branches were merged badly
        raise StoreError(f"the bundled migrations have {len(heads)} heads, expected one")
    return heads[0]


def current(connection: Connection) -> str | None:
    """The revision ``connection``'s database is at; None when it has no schema yet."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default the newest), in one transaction.

    Does nothing when it is already there. StoreError when the database is at a revision
    these migrations do not know (written by a newer version of this program) or when the
    database refuses.
    """
    target = head() if revision == "head" else revision
    known = revisions()
    with transaction(engine, write=True) as connection:
        if connection.dialect.name == "postgresql":
            # Two managers starting at once must not both create the tables.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _PG_LOCK_KEY})
        at = current(connection)
        if at is not None and at not in known:
            raise StoreError(
                f"database {describe(engine.url)} is at schema revision {at!r}, which this "
                f"version of fleet does not know (known: {', '.join(known)}); it was written "
                "by a newer version")
        if at == target:
            return
        command.upgrade(alembic_config(connection), target)
