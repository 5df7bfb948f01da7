"""The store's fixed-sensor readings (``sensor_readings``): written, and read back.

:class:`SensorReadingMethods` is mixed into :class:`fleet.store.Store`; its methods follow
the store's rules (one short transaction each, detached rows, StoreError on failure).
The anomaly log writes fixed-sensor readings inside its own transaction
(:meth:`fleet.store.anomalies.AnomalyTransaction.add_sensor_readings`), so that a reading
and what the rules made of it are committed together; :meth:`record_sensor_readings` is
for storing readings alone.

A row to write is a mapping of :class:`~fleet.store.tables.SensorReadingRow` columns
without ``id``: ``sensor_id``, ``sensor``, ``value``, ``unit``, ``node_id``, ``reported``
(JSON or None), ``measured_at`` and ``received_at`` (datetimes; naive ones are UTC).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, func, insert, select
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from fleet.store.database import transaction
from fleet.store.tables import SensorReadingRow

_SENSOR_READINGS = cast(Table, SensorReadingRow.__table__)  # type: ignore[attr-defined]


def insert_sensor_readings(connection: Connection,
                           rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert fixed-sensor readings on ``connection``; their ids, in the order given."""
    if not rows:
        return []
    stmt = insert(_SENSOR_READINGS).returning(_SENSOR_READINGS.c.id,
                                              sort_by_parameter_order=True)
    return [int(i) for i in connection.execute(stmt, [dict(r) for r in rows]).scalars()]


class SensorReadingMethods:
    """The :class:`~fleet.store.Store` methods for fixed-sensor readings."""

    _engine: Engine

    def record_sensor_readings(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Store fixed-sensor readings (see the module docstring) in one transaction; their
        ids, in the order given. StoreError when the database refuses (nothing is kept)."""
        with transaction(self._engine, write=True) as connection:
            return insert_sensor_readings(connection, rows)

    def sensor_readings(self, sensor_id: str | None = None, sensor: str | None = None, *,
                        since: datetime | None = None, before: datetime | None = None,
                        limit: int | None = None,
                        newest_first: bool = False) -> list[SensorReadingRow]:
        """Fixed-sensor readings in measuring order (newest first on request).

        Filters: ``sensor_id`` (one fixed sensor), ``sensor`` (what it measures), ``since``
        (measured at or after), ``before`` (strictly before); ``limit`` keeps the first
        ``limit`` of the order. With ``sensor_id`` and ``sensor``, one index range scan.
        """
        query = sm_select(SensorReadingRow)
        if sensor_id is not None:
            query = query.where(SensorReadingRow.sensor_id == sensor_id)
        if sensor is not None:
            query = query.where(SensorReadingRow.sensor == sensor)
        if since is not None:
            query = query.where(col(SensorReadingRow.measured_at) >= since)
        if before is not None:
            query = query.where(col(SensorReadingRow.measured_at) < before)
        at, rid = col(SensorReadingRow.measured_at), col(SensorReadingRow.id)
        query = query.order_by(*((at.desc(), rid.desc()) if newest_first else (at, rid)))
        if limit is not None:
            query = query.limit(limit)
        with transaction(self._engine, write=False) as connection, \
                Session(bind=connection, expire_on_commit=False) as session:
            return list(session.exec(query).all())

    def count_sensor_readings(self, sensor_id: str | None = None) -> int:
        """How many fixed-sensor readings are stored (of ``sensor_id`` when given)."""
        query = select(func.count()).select_from(_SENSOR_READINGS)
        if sensor_id is not None:
            query = query.where(_SENSOR_READINGS.c.sensor_id == sensor_id)
        with transaction(self._engine, write=False) as connection:
            return int(connection.execute(query).scalar_one())
