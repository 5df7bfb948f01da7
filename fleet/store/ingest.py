"""The SQLite fast path of the busy writes: the rows straight to the driver.

SQLAlchemy's per-row parameter processing costs about a third of an ingest batch on
SQLite (a dict per row, a bind processor per value). Here the rows that
:func:`fleet.store.results.result_rows` built become tuples and go to the driver's
``executemany`` as they are, with the values bound exactly as the column types would
bind them: timestamps as the fixed-width UTC text of :class:`~fleet.store.tables.UtcDateTime`
(the rows already hold naive UTC datetimes), JSON columns as ``json.dumps`` text (None
as SQL NULL). The columns are named from the tables, so a renamed column fails loudly.

Only for SQLite, whose writers are serialised (``BEGIN IMMEDIATE``): which ids are new,
and which are repeats, is read first, inside the same transaction
(:func:`fleet.store.repeats.insert_batch`), and nobody can insert one in between.
PostgreSQL keeps the ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` path.
:func:`insert_rows` does the same for any table (the anomaly log's observations) and
:func:`mark_checked` flags results as checked by the anomaly rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, Connection, Table

from fleet.store.tables import InspectionResultRow, ReadingRow, UtcDateTime

_RESULTS = cast(Table, InspectionResultRow.__table__)  # type: ignore[attr-defined]
_READINGS = cast(Table, ReadingRow.__table__)  # type: ignore[attr-defined]

_RESULT_COLUMNS = ("result_id", "mission_id", "order_id", "action_id", "manufacturer",
                   "serial_number", "inspection_point_id", "node_id", "measured_at",
                   "received_at", "position", "findings", "repeat_of", "rules_checked")
_READING_COLUMNS = ("result_id", "seq", "sensor", "value", "unit", "inspection_point_id",
                    "measured_at", "repeat")
_CHUNK = 500


def _insert_sql(table: Table, columns: Sequence[str]) -> str:
    for c in columns:
        table.c[c]  # a KeyError here if a column is renamed, not a silent mismatch
    return (f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})")


_INSERT_RESULT = _insert_sql(_RESULTS, _RESULT_COLUMNS)
_INSERT_READING = _insert_sql(_READINGS, _READING_COLUMNS)


def _time(moment: datetime) -> str:
    # UtcDateTime's SQLite text; result_rows already made every timestamp naive UTC
    return moment.isoformat(" ", "microseconds")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def insert_sqlite(connection: Connection, rows: list[dict[str, Any]],
                  readings: list[dict[str, Any]]) -> set[str]:
    """Insert ``rows`` (none stored yet: :func:`fleet.store.repeats.insert_batch` has
    looked, and sorted them into inspections and repeats) and their readings; the ids
    inserted."""
    if not rows:
        return set()
    received = _time(rows[0]["received_at"])  # one per batch (result_rows)
    measured = {r["result_id"]: _time(r["measured_at"]) for r in rows}
    connection.exec_driver_sql(_INSERT_RESULT, [
        (r["result_id"], r["mission_id"], r["order_id"], r["action_id"],
         r["manufacturer"], r["serial_number"], r["inspection_point_id"], r["node_id"],
         measured[r["result_id"]],
         received if r["received_at"] is rows[0]["received_at"] else _time(r["received_at"]),
         _json(r["position"]), _json(r["findings"]), r["repeat_of"],
         int(r["rules_checked"])) for r in rows])
    # a reading's time is its result's: formatted once per result, not per reading
    values = [(r["result_id"], r["seq"], r["sensor"], r["value"], r["unit"],
               r["inspection_point_id"], measured[r["result_id"]], int(r["repeat"]))
              for r in readings if r["result_id"] in measured]
    if values:
        connection.exec_driver_sql(_INSERT_READING, values)
    return set(measured)


def _any_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(" ", "microseconds")


def _binder(table: Table, column: str) -> Callable[[Any], Any]:
    kind = table.c[column].type
    if isinstance(kind, UtcDateTime):
        return _any_time
    if isinstance(kind, JSON):
        return _json
    return lambda value: value


def insert_rows(connection: Connection, table: Table,
                rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, column names of ``table``) on SQLite,
    binding times and JSON as the column types would."""
    if not rows:
        return
    columns = tuple(rows[0])
    binders = [_binder(table, c) for c in columns]
    connection.exec_driver_sql(_insert_sql(table, columns), [
        tuple(bind(row[c]) for c, bind in zip(columns, binders, strict=True)) for row in rows])


def mark_checked(connection: Connection, result_ids: Sequence[str]) -> None:
    """Set ``rules_checked`` on these results (SQLite)."""
    _RESULTS.c["rules_checked"]  # a KeyError here if the column is renamed
    for start in range(0, len(result_ids), _CHUNK):
        chunk = tuple(result_ids[start:start + _CHUNK])
        connection.exec_driver_sql(
            f"UPDATE {_RESULTS.name} SET rules_checked = 1 WHERE result_id IN "
            f"({', '.join('?' for _ in chunk)})", chunk)
