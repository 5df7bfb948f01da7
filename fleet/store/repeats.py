"""One inspection per action: a batch of results sorted into inspections and repeats.

A robot may run one ``inspect`` action several times (a retry, a replayed order, a bug)
and publish a result each time, each with a ``resultId`` of its own. The first result
stored for an (``orderId``, ``actionId``) is the action's **inspection**; a later one with
another ``resultId`` is a **repeat** of it: stored (with its readings) and acknowledged, but
not an inspection: ``repeat_of`` names the inspection, the anomaly rules never judge it
(``rules_checked`` is set) and its readings carry ``repeat`` (the anomaly history leaves
them out). The database keeps the rule itself (a partial unique index on
``(order_id, action_id) WHERE repeat_of IS NULL``), so it holds across restarts and
between managers sharing a PostgreSQL database; :func:`insert_batch` sorts a batch
accordingly inside the caller's write transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, select
from sqlalchemy.dialects import postgresql

from fleet.store.ingest import insert_sqlite
from fleet.store.tables import INSPECTION, InspectionResultRow, ReadingRow

_RESULTS = cast(Table, InspectionResultRow.__table__)  # type: ignore[attr-defined]
_READINGS = cast(Table, ReadingRow.__table__)  # type: ignore[attr-defined]
_CHUNK = 500
_ROUNDS = 3
"""Insert attempts per batch on PostgreSQL: a row that lost a race with another writer (the
same resultId, or another result of the same action, committed meanwhile) is sorted again
and retried; a third loss in a row would need three writers racing on one action."""


@dataclass(frozen=True, slots=True)
class Repeat:
    """A repeat :meth:`fleet.store.Store.record_batch` stored: result ``result_id`` of
    ``serial_number``'s order ``order_id``, action ``action_id`` (inspection point
    ``inspection_point_id``, mission ``mission_id`` when known), repeating the inspection
    ``repeat_of``; ``count`` numbers it among that inspection's repeats (1 for the first):
    how many were stored once it was."""

    result_id: str
    repeat_of: str
    mission_id: str | None
    order_id: str
    action_id: str
    serial_number: str
    inspection_point_id: str
    count: int


def stored_ids(connection: Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are stored already (inspections or repeats)."""
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        found.update(connection.execute(select(_RESULTS.c.result_id).where(
            _RESULTS.c.result_id.in_(ids[start:start + _CHUNK]))).scalars())
    return found


def _inspections(connection: Connection, orders: Iterable[str]) -> dict[tuple[str, str], str]:
    """(order, action) → the stored inspection's result id, for these orders."""
    wanted = sorted(set(orders))
    t = _RESULTS.c
    out: dict[tuple[str, str], str] = {}
    for start in range(0, len(wanted), _CHUNK):
        # the condition spelt as the partial unique index spells it, so SQLite uses it
        for order, action, rid in connection.execute(
                select(t.order_id, t.action_id, t.result_id)
                .where(t.order_id.in_(wanted[start:start + _CHUNK])).where(INSPECTION)):
            out[(order, action)] = rid
    return out


def _sort(connection: Connection, rows: list[dict[str, Any]],
          readings: list[dict[str, Any]]) -> None:
    """Set ``repeat_of`` and ``rules_checked`` on ``rows`` (none stored yet, in batch
    order: the first of an action without a stored inspection becomes it) and ``repeat``
    on their ``readings``."""
    first = _inspections(connection, (r["order_id"] for r in rows))
    repeats: set[str] = set()
    for row in rows:
        pair = (row["order_id"], row["action_id"])
        inspection = first.setdefault(pair, row["result_id"])
        row["repeat_of"] = None if inspection == row["result_id"] else inspection
        row["rules_checked"] = row["repeat_of"] is not None
        if row["repeat_of"] is not None:
            repeats.add(row["result_id"])
    for reading in readings:
        reading["repeat"] = reading["result_id"] in repeats


def _insert_postgres(connection: Connection, rows: list[dict[str, Any]],
                     readings: list[dict[str, Any]]) -> set[str]:
    """Insert ``rows`` but those that conflict (with any unique index), and the readings
    of those inserted; the ids inserted."""
    # RETURNING yields only the rows actually inserted, also when a concurrent transaction
    # (another manager) inserted the same id, or an inspection of the same action, first.
    stmt = postgresql.insert(_RESULTS).on_conflict_do_nothing().returning(
        _RESULTS.c.result_id)
    fresh = set(connection.execute(stmt, rows).scalars())
    mine = [r for r in readings if r["result_id"] in fresh]
    if mine:
        connection.execute(insert(_READINGS), mine)
    return fresh


def insert_batch(connection: Connection, rows: list[dict[str, Any]],
                 readings: list[dict[str, Any]]) -> tuple[set[str], list[dict[str, Any]]]:
    """Store the rows of a batch not stored yet (``rows`` and ``readings`` as
    :func:`fleet.store.results.result_rows` builds them, distinct ids) in the caller's write
    transaction, each as an inspection or a repeat; the ids inserted, and the inserted rows
    that are repeats (``repeat_of`` set on each) with ``"count"`` added: the repeat's
    number among its inspection's repeats (the last one's is how many are stored now)."""
    todo = rows
    ids = [r["result_id"] for r in rows]
    stored = stored_ids(connection, ids)
    todo = [r for r in rows if r["result_id"] not in stored]
    fresh: set[str] = set()
    for _ in range(_ROUNDS):
        if not todo:
            break
        _sort(connection, todo, readings)
        if connection.dialect.name == "postgresql":
            inserted = _insert_postgres(connection, todo, readings)
        else:
            # SQLite's writers are serialised (BEGIN IMMEDIATE): nobody can have inserted
            # anything since the reads above, so every row goes in
            inserted = insert_sqlite(connection, todo, readings)
        fresh |= inserted
        lost = [r for r in todo if r["result_id"] not in inserted]
        gone = stored_ids(connection, [r["result_id"] for r in lost]) if lost else set()
        todo = [r for r in lost if r["result_id"] not in gone]
    repeats = [r for r in rows if r["result_id"] in fresh and r.get("repeat_of")]
    counts = repeat_counts(connection, [r["repeat_of"] for r in repeats])
    # numbered in batch order: the repeats of this batch are the last of their inspection's
    before = {k: n - sum(r["repeat_of"] == k for r in repeats) for k, n in counts.items()}
    out = []
    for r in repeats:
        before[r["repeat_of"]] += 1
        out.append({**r, "count": before[r["repeat_of"]]})
    return fresh, out


def repeat_counts(connection: Connection, inspections: Sequence[str]) -> dict[str, int]:
    """Inspection result id → how many repeats of it are stored."""
    wanted = sorted(set(inspections))
    t = _RESULTS.c
    out: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        for rid, n in connection.execute(
                select(t.repeat_of, func.count()).where(t.repeat_of.in_(
                    wanted[start:start + _CHUNK])).group_by(t.repeat_of)):
            out[str(rid)] = int(n)
    return out
