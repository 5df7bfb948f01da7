"""Durability and concurrency: a writer killed with SIGKILL mid-batch, readers while writing,
threads recording overlapping batches."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fleet.bench.ingest import make_results
from fleet.errors import StoreError
from fleet.store import InspectionResultRow, ReadingRow, Store, schema
from fleet.store.database import transaction
from tests.store.factories import Database

# A child that records batches of results forever (deterministic ids from the seed) and
# prints the number of each batch once record_results has returned, i.e. committed.
WRITER = """
import sys, time
from fleet.store import Store
from fleet.bench.ingest import make_results
target, seed, batch, batches, pause = sys.argv[1:6]
seed, batch, batches, pause = int(seed), int(batch), int(batches), float(pause)
store = (Store.open(path=target[5:]) if target.startswith("path:") else Store.open(target))
data = make_results(batch * batches, seed=seed)
print("ready", flush=True)
for k in range(batches):
    acked = store.record_results(data[k * batch:(k + 1) * batch])
    assert len(acked) == batch
    print(k, flush=True)
    time.sleep(pause)
store.close()
"""


def start_writer(db: Database, *, seed: int, batch: int, batches: int,
                 pause: float = 0.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, db.argument(), str(seed), str(batch), str(batches),
         str(pause)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])


def snapshot(store: Store) -> tuple[int, int]:
    """(results, readings), both read in one transaction."""
    with transaction(store.engine, write=False) as connection:
        return (
            int(connection.execute(select(func.count()).select_from(InspectionResultRow))
                .scalar_one()),
            int(connection.execute(select(func.count()).select_from(ReadingRow)).scalar_one()))


def test_sigkill_mid_batch_keeps_every_committed_batch(db: Database) -> None:
    batch, batches = 500, 20
    rng = random.Random(11)
    for attempt in range(2):
        seed = 100 + attempt
        child = start_writer(db, seed=seed, batch=batch, batches=batches)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        acked: list[int] = []
        wanted = rng.randint(2, 4)
        while len(acked) < wanted:
            line = child.stdout.readline()
            assert line, "the writer died before it was killed"
            acked.append(int(line))
        time.sleep(rng.uniform(0.0, 0.05))  # land somewhere inside the next batch
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        acked += [int(line) for line in child.stdout.read().split()]  # printed before the kill
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL

        if db.kind == "sqlite":
            assert db.path is not None
            with sqlite3.connect(db.path / "fleet.db") as raw:
                assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        data = make_results(batch * batches, seed=seed)
        with db.open() as store:
            mine = [r["resultId"] for r in data]
            stored = store.stored(mine)
            for k in acked:  # every acknowledged batch is there, whole
                assert set(mine[k * batch:(k + 1) * batch]) <= stored
            # Batches are all or nothing: whole batches only, each with all its readings.
            assert len(stored) % batch == 0
            assert len(stored) // batch in (len(acked), len(acked) + 1)
            results, readings = snapshot(store)
            assert readings == 3 * results
            # The store goes on: the interrupted batch can be sent again.
            k = len(stored) // batch
            assert len(store.record_results(data[k * batch:(k + 1) * batch])) == batch


def test_a_reader_never_sees_half_a_batch(db: Database) -> None:
    batch, batches = 200, 25
    with db.open() as reader:
        child = start_writer(db, seed=5, batch=batch, batches=batches, pause=0.01)
        seen: list[tuple[int, int]] = []
        slowest = 0.0
        while child.poll() is None:
            t = time.perf_counter()
            seen.append(snapshot(reader))
            slowest = max(slowest, time.perf_counter() - t)
        assert child.returncode == 0
        seen.append(snapshot(reader))
    counts = [results for results, _ in seen]
    assert counts == sorted(counts), "a reader saw the count go down"
    assert all(results % batch == 0 and readings == 3 * results for results, readings in seen)
    assert seen[-1] == (batch * batches, 3 * batch * batches)
    assert len(set(counts)) > 2, "the reader saw no batch in between"
    assert slowest < 5.0, "a reader waited for the writer"


def test_threads_recording_overlapping_batches(store: Store) -> None:
    data = make_results(400, seed=9)
    errors: list[Exception] = []

    def send(offset: int) -> None:
        rng = random.Random(offset)
        try:
            for _ in range(6):
                lo = rng.randrange(0, 350)
                batch = data[lo:lo + rng.randint(1, 80)] + data[offset:offset + 10]
                acked = store.record_results(batch)
                assert acked == list(dict.fromkeys(r["resultId"] for r in batch))
        except (AssertionError, StoreError) as exc:  # the main thread fails the test
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(k * 50,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    results, readings = snapshot(store)
    assert readings == 3 * results
    assert results == len(store.stored([r["resultId"] for r in data]))


@pytest.mark.parametrize("kind", ["sqlite"])
def test_two_processes_open_a_new_database_at_once(tmp_path: Path, kind: str) -> None:
    """Both run the schema creation; the second waits for the first and finds it done."""
    code = ("import sys; from fleet.store import Store; "
            "s = Store.open(path=sys.argv[1]); print(s.revision()); s.close()")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert {out.strip() for out, _ in outputs} == {schema.head()}
