"""The leadership lease of managers that share one PostgreSQL database.

One row of ``manager_leases`` per site (its VDA 5050 interface). A manager :meth:`claims
<Lease.claim>` it: it gets it when it already holds it (a renewal, same epoch) or when the
lease has run out (a takeover: the epoch goes up by one); otherwise the claim returns None.
Expiry is judged on the database's clock (``clock_timestamp()``) only, so the managers'
own clocks never have to agree.

Why a lease row and not an advisory lock: a session-level ``pg_try_advisory_lock`` is
held as long as the server believes the holder's connection alive, which after a network
cut or a frozen process is the server's TCP keepalive (minutes by default), and the holder
cannot tell when it lost it. A lease runs out at a known time, which lets the holder stop
*before* anyone else may start (:meth:`Lease.claim`'s ``valid_until``), and its epoch is a
fencing token for the database writes (:meth:`Lease.fence`).

PostgreSQL only: a SQLite site runs one manager (UsageError otherwise).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

from fleet.errors import StoreError, UsageError
from fleet.store.database import database_url, describe, translate_errors

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2
"""Seconds a claim waits to reach the database before it counts as failed."""

STATEMENT_TIMEOUT_MS = 1500
"""A claim blocked longer (a lock, a slow server) fails rather than holding the loop."""

IDLE_IN_TRANSACTION_MS = 2000
"""The server ends a leader's transaction left idle this long (a frozen process holding the
lease row shared would otherwise hold off every takeover)."""

_CLAIM = text("""
INSERT INTO manager_leases AS l (site, holder, epoch, expires_at, renewed_at, info)
VALUES (:site, :holder, 1, clock_timestamp() + make_interval(secs => :ttl),
        clock_timestamp(), CAST(:info AS JSONB))
ON CONFLICT (site) DO UPDATE SET
    epoch = CASE WHEN l.holder = :holder AND l.epoch = :epoch
                      AND l.expires_at > clock_timestamp()
                 THEN l.epoch ELSE l.epoch + 1 END,
    holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
    renewed_at = EXCLUDED.renewed_at, info = EXCLUDED.info
WHERE (l.holder = :holder AND l.epoch = :epoch AND l.expires_at > clock_timestamp())
   OR l.expires_at <= clock_timestamp()
RETURNING epoch
""")

_RELEASE = text("""
UPDATE manager_leases SET expires_at = clock_timestamp()
WHERE site = :site AND holder = :holder AND epoch = :epoch
""")

_READ = text("""
SELECT holder, epoch, info, renewed_at, expires_at,
       EXTRACT(EPOCH FROM expires_at - clock_timestamp()) AS expires_in,
       EXTRACT(EPOCH FROM clock_timestamp() - renewed_at) AS renewed_ago
FROM manager_leases WHERE site = :site
""")

_TERMINATE = text("""
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE application_name = :app AND pid <> pg_backend_pid()
""")

_FENCE = text("""
SELECT 1 FROM manager_leases
WHERE site = :site AND holder = :holder AND epoch = :epoch
  AND expires_at > clock_timestamp()
FOR SHARE
""")


@dataclass(frozen=True)
class LeaseView:
    """A site's lease as the database has it."""

    site: str
    holder: str
    epoch: int
    info: dict[str, Any]
    renewed_at: datetime
    expires_at: datetime
    expires_in: float
    """Seconds until it runs out (negative: run out that long ago), database clock."""
    renewed_ago: float
    """Seconds since its holder last claimed it, database clock."""

    @property
    def live(self) -> bool:
        """Whether the holder still leads (the lease has not run out)."""
        return self.expires_in > 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what ``fleet status`` shows)."""
        return {"site": self.site, "holder": self.holder, "epoch": self.epoch,
                "info": self.info, "live": self.live,
                "expires_in_s": round(self.expires_in, 3),
                "renewed_ago_s": round(self.renewed_ago, 3)}


@dataclass(frozen=True)
class Claim:
    """A claim that succeeded: this manager leads in ``epoch`` until ``valid_until``."""

    epoch: int
    valid_until: float
    """``time.monotonic()`` before which nobody else can hold the lease: the claim's
    start plus the lease's time to live, less :attr:`Lease.margin`. The database's lease
    runs out no earlier than that start plus the time to live (its statement ran after
    it), so a manager that stops acting at ``valid_until`` has stopped before any other
    manager may start, as long as the two clocks' rates differ by less than the margin
    (docs/operations.md: what fencing guarantees)."""


class Lease:
    """``holder``'s lease on leading ``site``, in the PostgreSQL database at ``url``.

    Uses a small engine of its own (no pool, short connect and statement timeouts), so a
    claim fails within seconds when the database is out of reach, and is never queued
    behind the manager's own writes. Every method raises StoreError (one line) when the
    database cannot be reached or answers with an error.
    """

    def __init__(self, url: str, site: str, holder: str, *, ttl: float = 3.0,
                 margin: float = 0.5, info: dict[str, Any] | None = None) -> None:
        if not 0 < margin < ttl:
            raise UsageError(f"the lease margin ({margin:g} s) must be between 0 and its "
                             f"time to live ({ttl:g} s)")
        address = database_url(url, None)
        if address.get_backend_name() != "postgresql":
            raise UsageError(f"leadership needs PostgreSQL; {describe(address)} is not "
                             "(a SQLite site runs one manager)")
        self.site = site
        self.holder = holder
        self.ttl = ttl
        self.margin = margin
        self.info = dict(info or {})
        self.epoch: int | None = None
        """The epoch of the last successful claim (None: never held, or released)."""
        self._engine = create_engine(address, poolclass=NullPool, connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S})
        # a claim frozen between its update and its commit would hold the row: the server
        # ends it after IDLE_IN_TRANSACTION_MS, as it does the manager's own transactions
        _on_connect(self._engine, statement_timeout=STATEMENT_TIMEOUT_MS, lock_timeout=1000,
                    idle_in_transaction_session_timeout=IDLE_IN_TRANSACTION_MS)
        self._url = address

    def claim(self) -> Claim | None:
        """Renew the lease, or take it over when it has run out; None when another
        manager holds it. StoreError when the database cannot say."""
        start = time.monotonic()
        try:
            row = self._claim()
        except StoreError:
            # held up by a lock: a holder whose lease has run out (frozen mid-transaction)
            # has its sessions ended, then the claim is tried once more
            if not self._break():
                raise
            start = time.monotonic()
            row = self._claim()
        if row is None:
            self.epoch = None
            return None
        self.epoch = int(row[0])
        return Claim(self.epoch, start + self.ttl - self.margin)

    def _claim(self) -> Any:
        with translate_errors(self._url), self._engine.begin() as connection:
            return connection.execute(_CLAIM, {
                "site": self.site, "holder": self.holder, "epoch": self.epoch or -1,
                "ttl": self.ttl, "info": json.dumps(self.info)}).first()

    def _break(self) -> bool:
        """End the sessions of the lease's holder when its lease has run out and it is not
        this manager; whether any were ended."""
        with translate_errors(self._url), self._engine.begin() as connection:
            row = connection.execute(_READ, {"site": self.site}).first()
            if row is None or row.holder == self.holder or float(row.expires_in) > 0:
                return False
            ended = connection.execute(_TERMINATE, {
                "app": _app_name(self.site, row.holder)}).all()
        if ended:
            log.warning("ended %d database sessions of %s, whose lease of %s ran out",
                        len(ended), row.holder, self.site)
        return bool(ended)

    def release(self) -> None:
        """Give the lease up now (a clean shutdown), so that a standby need not wait for
        it to run out; nothing when this manager does not hold it."""
        if self.epoch is None:
            return
        with translate_errors(self._url), self._engine.begin() as connection:
            connection.execute(_RELEASE, {"site": self.site, "holder": self.holder,
                                          "epoch": self.epoch})
        self.epoch = None

    def read(self) -> LeaseView | None:
        """The site's lease as stored (None: nobody has ever led it)."""
        with translate_errors(self._url), self._engine.begin() as connection:
            row = connection.execute(_READ, {"site": self.site}).first()
        if row is None:
            return None
        return LeaseView(self.site, row.holder, int(row.epoch), dict(row.info or {}),
                         row.renewed_at, row.expires_at, float(row.expires_in),
                         float(row.renewed_ago))

    def fence(self, connection: Connection) -> None:
        """The write fence of the manager that holds this lease (install it with
        :func:`fleet.store.database.fence_writes`): a writing transaction first takes the
        lease row shared, so it commits only while this manager's epoch is current, and a
        takeover (which updates the row) waits until it has committed; StoreError when
        this manager does not lead (any more)."""
        epoch = self.epoch
        held = epoch is not None and connection.execute(_FENCE, {
            "site": self.site, "holder": self.holder, "epoch": epoch}).first() is not None
        if not held:
            raise StoreError(f"manager {self.holder} does not lead site {self.site} "
                             f"(epoch {epoch}): write refused")

    def guard(self, engine: Engine) -> None:
        """Set up the holder's own database ``engine`` (call before its first use, or
        dispose of its pool after): the server ends a transaction on it left idle for
        :data:`IDLE_IN_TRANSACTION_MS`, and its sessions carry :attr:`application_name`,
        so that a standby taking over can end the ones a frozen holder keeps open (they
        would hold the lease row shared, and so the takeover off, for as long as it
        stays frozen: :meth:`claim`)."""
        _on_connect(engine, idle_in_transaction_session_timeout=IDLE_IN_TRANSACTION_MS,
                    application_name=self.application_name)

    @property
    def application_name(self) -> str:
        """What the holder's sessions are called on the server (``fleet SITE HOLDER``)."""
        return _app_name(self.site, self.holder)

    def close(self) -> None:
        """Close the lease's connections (the lease itself is left as it is)."""
        self._engine.dispose()


def _app_name(site: str, holder: str) -> str:
    return f"fleet {site} {holder}"[:63]  # the server keeps 63 bytes


def _on_connect(engine: Engine, **settings: int | str) -> None:
    """``SET name = value`` on every new connection of ``engine`` (numbers: milliseconds)."""
    # not the "options" connection parameter: it would replace the URL's own (a
    # search_path, say)
    @event.listens_for(engine, "connect")
    def _set(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for name, value in settings.items():
                if isinstance(value, str):
                    cursor.execute("SELECT set_config(%s, %s, false)", (name, value))
                else:
                    cursor.execute(f"SET {name} = {int(value)}")
        finally:
            cursor.close()
        dbapi_connection.commit()
