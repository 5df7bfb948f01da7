"""The store's anomaly and alert tables: queries, deliveries, and the anomaly transaction.

:class:`AnomalyMethods` is mixed into :class:`fleet.store.Store`; its methods follow the
store's rules (one short transaction each, detached rows, StoreError on failure).

:class:`AnomalyTransaction` is the one exception to "one method, one transaction": the
anomaly log (:mod:`fleet.anomaly.log`) reads the anomalies a batch touches, changes them,
adds their observations and alert deliveries and marks the batch's results as checked, all
in one transaction, so that either everything a batch did to the log is committed or none
of it is (and the batch is checked again). The lifecycle rules themselves live in
:mod:`fleet.anomaly.lifecycle`; this module only stores what they decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    exists,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlmodel import col
from sqlmodel import select as sm_select

from fleet.errors import StoreError
from fleet.store import ingest
from fleet.store.database import orm_session, transaction
from fleet.store.sensor_readings import insert_sensor_readings
from fleet.store.tables import (
    UNCHECKED,
    AlertDeliveryRow,
    AnomalyObservationRow,
    AnomalyRow,
    InspectionResultRow,
    utc_now,
)

_RESULTS = cast(Table, InspectionResultRow.__table__)  # type: ignore[attr-defined]
_ANOMALIES = cast(Table, AnomalyRow.__table__)  # type: ignore[attr-defined]
_OBSERVATIONS = cast(Table, AnomalyObservationRow.__table__)  # type: ignore[attr-defined]
_DELIVERIES = cast(Table, AlertDeliveryRow.__table__)  # type: ignore[attr-defined]

Key = tuple[str, str]
"""An anomaly's identity: (inspection point id, sensor)."""

DELIVERY_PENDING = "pending"
"""Delivery status: not sent yet, or to be tried again at ``next_attempt_at``."""
DELIVERY_DELIVERED = "delivered"
"""Delivery status: the destination took it (Zenoh: published; webhook: a 2xx answer)."""
DELIVERY_FAILED = "failed"
"""Delivery status: given up (attempts exhausted, or the receiver refused it for good)."""

_CHUNK = 500  # ids per IN list: well inside every backend's bound-parameter limit


class AnomalyTransaction:
    """What the anomaly log may do inside one write transaction (see the module docstring).

    Anomalies travel as dicts of :class:`~fleet.store.AnomalyRow` column values (Core
    statements, no mapped objects: this is the ingest path). Everything is committed when
    the ``with store.anomaly_transaction()`` block ends without an error, and nothing
    otherwise.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def anomalies(self, keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
        """The stored anomalies among ``keys`` (locked until commit on PostgreSQL)."""
        wanted = sorted(set(keys))
        found: dict[Key, dict[str, Any]] = {}
        a = _ANOMALIES.c
        pair = tuple_(a.inspection_point_id, a.sensor)
        for start in range(0, len(wanted), _CHUNK):
            query = (select(_ANOMALIES).where(pair.in_(wanted[start:start + _CHUNK]))
                     .with_for_update())
            for row in self._connection.execute(query).mappings():
                found[(row["inspection_point_id"], row["sensor"])] = dict(row)
        return found

    def anomaly(self, anomaly_id: int) -> dict[str, Any] | None:
        """Anomaly ``anomaly_id`` (locked until commit on PostgreSQL), or None."""
        row = self._connection.execute(select(_ANOMALIES).where(
            _ANOMALIES.c.id == anomaly_id).with_for_update()).mappings().first()
        return dict(row) if row is not None else None

    def insert(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert new anomalies (``id`` None); their ids, in order. ``created_at`` and
        ``updated_at`` default to now."""
        now = utc_now()
        ids: list[int] = []
        for row in rows:  # new anomalies are rare next to updates: one statement each
            values = {k: v for k, v in row.items() if k != "id"}
            for stamp in ("created_at", "updated_at"):
                if values.get(stamp) is None:
                    values[stamp] = now
            done = self._connection.execute(insert(_ANOMALIES).values(**values)
                                            .returning(_ANOMALIES.c.id))
            ids.append(int(done.scalar_one()))
        return ids

    def update(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write changed anomalies back, by ``id`` (one executemany per set of columns);
        ``updated_at`` defaults to now, ``created_at`` is never changed."""
        if not rows:
            return
        now = utc_now()
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            values = {k: v for k, v in row.items() if k not in ("id", "created_at")}
            if values.get("updated_at") is None:
                values["updated_at"] = now
            values["_id"] = row["id"]
            by_columns.setdefault(tuple(sorted(values)), []).append(values)
        for columns, batch in by_columns.items():
            stmt = (update(_ANOMALIES).where(_ANOMALIES.c.id == bindparam("_id"))
                    .values({c: bindparam(c) for c in columns if c != "_id"}))
            self._connection.execute(stmt, batch)

    def observe(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add observations, given as dicts of :class:`AnomalyObservationRow` columns
        without ``id`` (one bulk insert)."""
        if not rows:
            return
        if self._connection.dialect.name == "sqlite":
            ingest.insert_rows(self._connection, _OBSERVATIONS, rows)
        else:
            self._connection.execute(insert(_OBSERVATIONS), list(rows))

    def deliver(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Add alert deliveries (dicts of :class:`AlertDeliveryRow` columns without
        ``id``) to send once the transaction commits."""
        values = [dict(r) for r in rows]
        if values:
            self._connection.execute(insert(_DELIVERIES), values)

    def add_sensor_readings(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Store fixed-sensor readings with the rest of the transaction (rows as
        :mod:`fleet.store.sensor_readings` describes them); their ids, in order."""
        return insert_sensor_readings(self._connection, rows)

    def mark_checked(self, result_ids: Sequence[str]) -> None:
        """Mark these results as checked by the anomaly rules."""
        ids = list(result_ids)
        if self._connection.dialect.name == "sqlite":
            ingest.mark_checked(self._connection, ids)
            return
        for start in range(0, len(ids), _CHUNK):
            self._connection.execute(update(_RESULTS)
                                     .where(_RESULTS.c.result_id.in_(ids[start:start + _CHUNK]))
                                     .values(rules_checked=True))


class AnomalyMethods:
    """The :class:`~fleet.store.Store` methods for anomalies and alert deliveries."""

    _engine: Engine

    @contextmanager
    def anomaly_transaction(self) -> Iterator[AnomalyTransaction]:
        """One write transaction for the anomaly log (see :class:`AnomalyTransaction`).

        Committed when the block ends without an error; StoreError when the database
        refuses (then nothing of the block is kept).
        """
        with transaction(self._engine, write=True) as connection:
            yield AnomalyTransaction(connection)

    def anomaly(self, anomaly_id: int) -> AnomalyRow | None:
        """The anomaly ``anomaly_id``, or None."""
        with orm_session(self._engine, write=False) as session:
            return session.get(AnomalyRow, anomaly_id)

    def anomalies(self, *, status: str | Iterable[str] | None = None,
                  severity: str | Iterable[str] | None = None, since: datetime | None = None,
                  mission_id: str | None = None, point: str | None = None,
                  limit: int | None = None, newest_first: bool = True) -> list[AnomalyRow]:
        """Anomalies by latest sighting, newest first (oldest first on request).

        Filters: ``status`` and ``severity`` (one value or several), ``since`` (last seen
        at or after), ``mission_id`` (seen during that mission: an observation of it),
        ``point`` (inspection point id); ``limit`` keeps the first ``limit``.
        """
        query = sm_select(AnomalyRow)
        if status is not None:
            query = query.where(col(AnomalyRow.status).in_(_values(status)))
        if severity is not None:
            query = query.where(col(AnomalyRow.severity).in_(_values(severity)))
        if since is not None:
            query = query.where(col(AnomalyRow.last_seen) >= since)
        if point is not None:
            query = query.where(AnomalyRow.inspection_point_id == point)
        if mission_id is not None:
            obs = _OBSERVATIONS.c
            query = query.where(exists().where(obs.anomaly_id == AnomalyRow.id,
                                               obs.mission_id == mission_id))
        seen, aid = col(AnomalyRow.last_seen), col(AnomalyRow.id)
        query = query.order_by(*((seen.desc(), aid.desc()) if newest_first else (seen, aid)))
        if limit is not None:
            query = query.limit(limit)
        with orm_session(self._engine, write=False) as session:
            return list(session.exec(query).all())

    def observations(self, anomaly_id: int | None = None, *, mission_id: str | None = None,
                     limit: int | None = None) -> list[AnomalyObservationRow]:
        """Observations in measuring order, of one anomaly and/or one mission."""
        query = sm_select(AnomalyObservationRow)
        if anomaly_id is not None:
            query = query.where(AnomalyObservationRow.anomaly_id == anomaly_id)
        if mission_id is not None:
            query = query.where(AnomalyObservationRow.mission_id == mission_id)
        query = query.order_by(col(AnomalyObservationRow.measured_at),
                               col(AnomalyObservationRow.id))
        if limit is not None:
            query = query.limit(limit)
        with orm_session(self._engine, write=False) as session:
            return list(session.exec(query).all())

    # -- alert deliveries ------------------------------------------------------------------

    def deliveries(self, anomaly_id: int | None = None, *, status: str | None = None,
                   limit: int | None = None) -> list[AlertDeliveryRow]:
        """Alert deliveries in the order they were raised, optionally filtered."""
        query = sm_select(AlertDeliveryRow)
        if anomaly_id is not None:
            query = query.where(AlertDeliveryRow.anomaly_id == anomaly_id)
        if status is not None:
            query = query.where(AlertDeliveryRow.status == status)
        query = query.order_by(col(AlertDeliveryRow.id))
        if limit is not None:
            query = query.limit(limit)
        with orm_session(self._engine, write=False) as session:
            return list(session.exec(query).all())

    def due_deliveries(self, now: datetime | None = None, *,
                       limit: int = 100) -> list[AlertDeliveryRow]:
        """Pending deliveries whose next attempt is due at ``now`` (default: now), the
        longest waiting first."""
        query = (sm_select(AlertDeliveryRow)
                 .where(AlertDeliveryRow.status == DELIVERY_PENDING,
                        col(AlertDeliveryRow.next_attempt_at) <= (now or utc_now()))
                 .order_by(col(AlertDeliveryRow.next_attempt_at), col(AlertDeliveryRow.id))
                 .limit(limit))
        with orm_session(self._engine, write=False) as session:
            return list(session.exec(query).all())

    def next_delivery_at(self) -> datetime | None:
        """When the earliest pending delivery is due; None when none is pending."""
        d = _DELIVERIES.c
        query = (select(d.next_attempt_at).where(d.status == DELIVERY_PENDING)
                 .order_by(d.next_attempt_at).limit(1))
        with transaction(self._engine, write=False) as connection:
            value: datetime | None = connection.execute(query).scalar()
            return value

    def record_delivery(self, delivery_id: int, *, status: str, at: datetime | None = None,
                        next_attempt_at: datetime | None = None, http_status: int | None = None,
                        error: str | None = None) -> AlertDeliveryRow:
        """Record one attempt of delivery ``delivery_id``: its outcome ``status``
        (``pending`` again with ``next_attempt_at``, ``delivered`` or ``failed``); the
        updated row. StoreError when there is no such delivery or the status is unknown."""
        if status not in (DELIVERY_PENDING, DELIVERY_DELIVERED, DELIVERY_FAILED):
            raise StoreError(f"unknown delivery status {status!r}")
        now = at or utc_now()
        with orm_session(self._engine, write=True) as session:
            row = session.get(AlertDeliveryRow, delivery_id)
            if row is None:
                raise StoreError(f"no alert delivery with id {delivery_id}")
            row.attempts += 1
            row.status, row.last_attempt_at = status, now
            row.http_status, row.last_error = http_status, error
            if status == DELIVERY_DELIVERED:
                row.delivered_at = now
            if next_attempt_at is not None:
                row.next_attempt_at = next_attempt_at
            session.add(row)
            return row

    def count_unchecked(self) -> int:
        """How many stored results the anomaly rules have not checked yet."""
        query = select(func.count()).select_from(_RESULTS).where(
            UNCHECKED)
        with transaction(self._engine, write=False) as connection:
            return int(connection.execute(query).scalar_one())

    # -- helpers ---------------------------------------------------------------------------




def _values(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]
