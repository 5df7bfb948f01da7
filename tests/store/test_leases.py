"""The leadership lease (fleet.store.leases) on a real PostgreSQL: one holder at a time,
renewals keep the epoch, a takeover raises it only once the lease has run out, a release
hands over at once, and the write fence refuses the writes of a manager that lost it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import DBAPIError

from fleet.errors import StoreError, UsageError
from fleet.store import Store
from fleet.store.database import fence_writes
from fleet.store.leases import Lease

SITE = "site-a/uagv"


@pytest.fixture
def store(pg_url: str) -> Iterator[Store]:
    s = Store.open(pg_url)
    try:
        yield s
    finally:
        s.close()


def _lease(url: str, holder: str, ttl: float = 1.0) -> Lease:
    return Lease(url, SITE, holder, ttl=ttl, margin=0.2, info={"host": "test"})


def test_one_holder_renewals_keep_the_epoch_a_takeover_raises_it(store: Store,
                                                                 pg_url: str) -> None:
    a, b = _lease(pg_url, "m1"), _lease(pg_url, "m2")
    try:
        started = time.monotonic()
        first = a.claim()
        assert first is not None and first.epoch == 1
        assert started + 0.8 - 0.01 <= first.valid_until <= time.monotonic() + 0.8
        assert b.claim() is None  # held
        renewed = a.claim()
        assert renewed is not None and renewed.epoch == 1
        view = b.read()
        assert view is not None and view.holder == "m1" and view.live
        assert view.info == {"host": "test"} and 0 < view.expires_in <= 1.0
        # m1 stops renewing: m2 gets it once it has run out, not before
        while (taken := b.claim()) is None:
            assert time.monotonic() < started + 5, "never taken over"
            time.sleep(0.05)
        assert taken.epoch == 2 and time.monotonic() >= renewed.valid_until
        assert a.claim() is None and a.epoch is None  # m1 lost it for good
    finally:
        a.close()
        b.close()


def test_a_release_hands_over_at_once(store: Store, pg_url: str) -> None:
    a, b = _lease(pg_url, "m1", ttl=30.0), _lease(pg_url, "m2", ttl=30.0)
    try:
        assert a.claim() is not None and b.claim() is None
        a.release()
        taken = b.claim()
        assert taken is not None and taken.epoch == 2
        a.release()  # no longer held: nothing happens
        assert b.read() is not None and b.read().holder == "m2"  # type: ignore[union-attr]
    finally:
        a.close()
        b.close()


def test_the_write_fence_refuses_a_manager_that_lost_the_lease(store: Store,
                                                               pg_url: str) -> None:
    a, b = _lease(pg_url, "m1", ttl=30.0), _lease(pg_url, "m2", ttl=30.0)
    try:
        assert a.claim() is not None
        fence_writes(store.engine, a.fence)
        store.add_mission("m", "doc", mission_id="one")
        a.release()
        assert b.claim() is not None
        with pytest.raises(StoreError, match="manager m1 does not lead site site-a/uagv"):
            store.add_mission("m", "doc", mission_id="two")
        assert store.mission("two") is None and store.mission("one") is not None
        store.missions()  # reads are not fenced
    finally:
        fence_writes(store.engine, None)
        a.close()
        b.close()


def test_sqlite_has_no_leadership(tmp_path: object) -> None:
    with pytest.raises(UsageError, match="leadership needs PostgreSQL"):
        Lease("sqlite:///x.db", SITE, "m1")


def test_a_takeover_ends_the_sessions_of_a_holder_frozen_mid_transaction(
        store: Store, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A holder frozen inside a write transaction holds the lease row shared (its write
    fence): once its lease has run out, the claimant ends that holder's sessions (named
    by the guard) and takes over, instead of waiting for as long as the holder stays
    frozen."""
    import fleet.store.leases as leases

    monkeypatch.setattr(leases, "IDLE_IN_TRANSACTION_MS", 60_000)  # only the break helps
    a, b = _lease(pg_url, "m1", ttl=1.0), _lease(pg_url, "m2", ttl=1.0)
    try:
        a.guard(store.engine)
        store.engine.dispose()
        assert a.claim() is not None
        fence_writes(store.engine, a.fence)
        frozen = store.engine.connect()
        transaction = frozen.begin()
        a.fence(frozen)  # the row taken shared, and the process "freezes" here
        time.sleep(1.2)  # its lease runs out
        taken = b.claim()
        assert taken is not None and taken.epoch == 2
        with pytest.raises(DBAPIError):  # its session was ended by the server
            transaction.commit()
        frozen.close()
    finally:
        fence_writes(store.engine, None)
        a.close()
        b.close()
