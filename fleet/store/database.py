"""The database behind a store: where it is, how connections are set up, what errors say.

SQLite (the default, one file) is set up on every new connection with:

- ``journal_mode=WAL``: readers never block the writer and the writer never blocks
  readers, and a commit appends to the write-ahead log instead of rewriting pages, so a
  process killed mid-transaction leaves the database as of its last commit.
- ``synchronous=FULL`` (default; ``NORMAL`` on request): in WAL mode NORMAL is already safe
  against a killed process (a committed transaction is in the WAL, which the operating
  system keeps), but it may lose the last commits on a power cut or kernel crash. The
  manager acknowledges inspection results as soon as they are committed and the robot then
  forgets them, so an acknowledged result must survive a power cut too: FULL syncs the WAL
  at every commit. With batched commits this costs one fsync per batch.
- ``foreign_keys=ON`` (SQLite leaves them off unless asked) and a busy timeout, so a second
  process waits for a lock instead of failing at once.
- Transactions that write start with ``BEGIN IMMEDIATE`` (they take the write lock first and
  wait for it under the busy timeout, instead of failing when a read transaction tries to
  become a write transaction); the others with a plain ``BEGIN``. pysqlite's own implicit
  transaction handling is switched off for this (its BEGIN comes too late for a
  read-then-write transaction to be atomic).

Any other SQLAlchemy URL works too (``postgresql://user:pw@host/db`` uses psycopg 3).
Every database error leaves this package as :class:`~fleet.errors.StoreError` with a
one-line message that names the database (password hidden).
"""

from __future__ import annotations

import logging
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from fleet.errors import StoreError

log = logging.getLogger(__name__)

DEFAULT_FILE = "fleet.db"
"""The file name of the default SQLite database inside a directory."""

BUSY_TIMEOUT_S = 30.0
"""How long a SQLite connection waits for another process's lock before giving up."""

Synchronous = Literal["FULL", "NORMAL"]

_WRITE = "fleet_write"
"""Execution option marking a connection whose transaction will write."""

WriteFence = Callable[[Connection], None]
"""Run first inside every writing transaction; raises StoreError to refuse the write."""

_FENCES: weakref.WeakKeyDictionary[Engine, WriteFence] = weakref.WeakKeyDictionary()


def sqlite_path(path: str | Path | None) -> Path:
    """The SQLite file for ``path``: a directory (``fleet.db`` inside it) or a file path.

    ``path`` names a file when it has a suffix and is not an existing directory; None means
    the current directory. Missing parent directories are created; StoreError when they
    cannot be.
    """
    p = Path.cwd() if path is None else Path(path).expanduser()
    target = p / DEFAULT_FILE if p.is_dir() or not p.suffix else p
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the directory {target.parent}: "
                         f"{exc.strerror or exc}") from None
    return target


def database_url(url: str | None, path: str | Path | None) -> URL:
    """The URL of the database to open: ``url`` when given, else the SQLite file at ``path``."""
    if url is None:
        return URL.create("sqlite+pysqlite", database=str(sqlite_path(path)))
    try:
        return make_url(url)
    except (SQLAlchemyError, ValueError) as exc:
        raise StoreError(f"not a database URL: {url!r} ({exc})") from None


def describe(url: URL) -> str:
    """How messages name the database: the SQLite file, or the URL without its password."""
    if url.get_backend_name() == "sqlite":
        return url.database if url.database not in (None, "", ":memory:") else "in-memory SQLite"
    return url.render_as_string(hide_password=True)


def make_engine(url: URL, *, synchronous: Synchronous = "FULL") -> Engine:
    """An engine for ``url``, with the SQLite setup described in the module docstring.

    StoreError when the URL names a driver that is not installed or not known.
    """
    if synchronous not in ("FULL", "NORMAL"):
        raise StoreError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
    kwargs: dict[str, Any] = {}
    is_sqlite = url.get_backend_name() == "sqlite"
    if not is_sqlite:
        # a server that went away (restarted, or out of reach a while) leaves dead
        # connections in the pool: each is tested before use rather than failing a write
        kwargs["pool_pre_ping"] = True
    if is_sqlite:
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
        if url.database in (None, "", ":memory:"):
            # One shared connection, or every connection would see its own empty database.
            kwargs["poolclass"] = StaticPool
    try:
        engine = create_engine(url, **kwargs)
    except ImportError as exc:
        raise StoreError(f"database {describe(url)}: its driver is not installed "
                         f"({exc.name or exc})") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"database {describe(url)}: {exc}") from None
    if is_sqlite:
        _setup_sqlite(engine, synchronous)
    return engine


def _setup_sqlite(engine: Engine, synchronous: Synchronous) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # None: pysqlite issues no BEGIN of its own; _on_begin below does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """A connection inside one transaction, committed when the block ends without error.

    ``write`` says the transaction will write (on SQLite it then takes the write lock at
    once); a transaction that only reads sees one snapshot of the database throughout
    (REPEATABLE READ on PostgreSQL). Database errors raised in the block become StoreError.
    """
    with translate_errors(engine.url), engine.connect() as connection:
        if write:
            connection.execution_options(**{_WRITE: True})
        elif connection.dialect.name == "postgresql":
            # One snapshot for the whole read, as SQLite gives (READ COMMITTED would let a
            # second query see commits made after the first).
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            fence = _FENCES.get(engine) if write else None
            if fence is not None:
                fence(connection)
            yield connection


def fence_writes(engine: Engine, fence: WriteFence | None) -> None:
    """Run ``fence`` first inside every writing :func:`transaction` on ``engine`` (None
    removes it). A fence that raises StoreError refuses the write: nothing of the
    transaction is committed. A manager sharing PostgreSQL with standbys fences every write
    with its lease (:meth:`fleet.store.leases.Lease.fence`)."""
    if fence is None:
        _FENCES.pop(engine, None)
    else:
        _FENCES[engine] = fence


@contextmanager
def orm_session(engine: Engine, *, write: bool) -> Iterator[Session]:
    """A SQLModel session inside one :func:`transaction`; rows it returns stay readable
    after the block (nothing expires on commit). A writing block is flushed before the
    commit, so a constraint it breaks raises inside :func:`transaction` (StoreError)."""
    with transaction(engine, write=write) as connection, \
            Session(bind=connection, expire_on_commit=False) as session:
        yield session
        if write:
            session.flush()


@contextmanager
def translate_errors(url: URL) -> Iterator[None]:
    """Turn database errors raised in the block into StoreError with a plain message."""
    try:
        yield
    except DBAPIError as exc:
        raise StoreError(f"database {describe(url)}: {plain(exc.orig or exc)}") from exc
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise StoreError(f"database {describe(url)}: {plain(exc)}") from exc
    except OSError as exc:
        raise StoreError(f"database {describe(url)}: {exc.strerror or exc}") from exc


def plain(exc: BaseException) -> str:
    """The message of a driver's exception on one line, without SQLAlchemy's decorations."""
    lines = [line.strip() for line in str(exc).splitlines()]
    # SQLAlchemy appends "(Background on this error at: https://sqlalche.me/...)" lines.
    text = " ".join(line for line in lines if line and not line.startswith("(Background"))
    return text or type(exc).__name__
