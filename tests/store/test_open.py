"""Opening a store: where the SQLite file goes, how it is set up, and plain errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from fleet.errors import StoreError
from fleet.store import Store
from fleet.store.database import transaction
from fleet.store.schema import head


def pragma(store: Store, name: str) -> object:
    with transaction(store.engine, write=False) as connection:
        return connection.execute(text(f"PRAGMA {name}")).scalar_one()


def test_a_directory_gets_fleet_db(tmp_path: Path) -> None:
    target = tmp_path / "state" / "manager"  # missing directories are created
    with Store.open(path=target) as store:
        assert store.url == str(target / "fleet.db")
        assert store.revision() == head()
    assert (target / "fleet.db").is_file()


def test_a_file_path_and_a_url(tmp_path: Path) -> None:
    with Store.open(path=tmp_path / "site.sqlite") as store:
        store.add_mission("m", "doc")
    with Store.open(f"sqlite:///{tmp_path / 'site.sqlite'}") as store:
        assert len(store.missions()) == 1


def test_default_is_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Store.open() as store:
        assert Path(store.url) == tmp_path / "fleet.db"


@pytest.mark.parametrize(("synchronous", "level"), [("FULL", 2), ("NORMAL", 1)])
def test_sqlite_is_set_up_for_durability(tmp_path: Path, synchronous: str,
                                         level: int) -> None:
    with Store.open(path=tmp_path, synchronous=synchronous) as store:  # type: ignore[arg-type]
        assert pragma(store, "journal_mode") == "wal"
        assert pragma(store, "synchronous") == level
        assert pragma(store, "foreign_keys") == 1
        assert pragma(store, "busy_timeout") == 30_000
    # WAL is a property of the file: another program opening it sees it too.
    with sqlite3.connect(tmp_path / "fleet.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    with (Store.open(path=tmp_path) as store,
          pytest.raises(StoreError, match="FOREIGN KEY"),
          transaction(store.engine, write=True) as connection):
        connection.execute(text(
            "INSERT INTO mission_events (mission_id, at, kind) "
            "VALUES ('nope', '2025-01-01 00:00:00.000000', 'x')"))


def test_an_unknown_synchronous_mode(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="FULL or NORMAL"):
        Store.open(path=tmp_path, synchronous="OFF")  # type: ignore[arg-type]


def test_a_directory_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(StoreError, match="cannot create the directory"):
        Store.open(path=tmp_path / "plain-file" / "sub")


def test_a_file_that_cannot_be_opened(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "x.db"
    with pytest.raises(StoreError, match="unable to open database file") as info:
        Store.open(f"sqlite:///{missing}")
    assert str(missing) in str(info.value)
    assert "\n" not in str(info.value)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "fleet.db").write_bytes(b"this is not SQLite, just bytes " * 100)
    with pytest.raises(StoreError, match="not a database"):
        Store.open(path=tmp_path)


def test_bad_urls() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        Store.open("no url at all")
    with pytest.raises(StoreError, match="driver is not installed"):
        Store.open("mysql://user@localhost/fleet")


def test_unreachable_postgresql_is_one_plain_line() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError) as info:
        Store.open("postgresql+psycopg://fleet:secret@127.0.0.1:1/fleet")
    message = str(info.value)
    assert "127.0.0.1" in message and "refused" in message.lower()
    assert "secret" not in message and "\n" not in message
    assert "Traceback" not in message and "sqlalche.me" not in message


def test_errors_after_opening_are_store_errors(tmp_path: Path) -> None:
    store = Store.open(path=tmp_path)
    with transaction(store.engine, write=True) as connection:
        connection.execute(text("DROP TABLE readings"))
    with pytest.raises(StoreError, match="no such table: readings"):
        store.readings("P1", "ch4")
    store.close()


def test_a_read_only_database_reads_and_refuses_writes_plainly(tmp_path: Path) -> None:
    with Store.open(path=tmp_path) as store:
        store.add_mission("m", "doc")
    # (Tests run as root, for whom file permissions do not apply: SQLite's read-only mode.)
    read_only = f"sqlite:///file:{tmp_path / 'fleet.db'}?mode=ro&uri=true"
    with Store.open(read_only) as store:
        assert len(store.missions()) == 1
        with pytest.raises(StoreError, match="readonly database") as info:
            store.add_mission("n", "doc")
        assert "\n" not in str(info.value)
