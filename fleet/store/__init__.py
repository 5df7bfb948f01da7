"""The manager's persistence: SQLModel tables and the :class:`Store` that reads and writes them.

- :class:`Store` (:mod:`~fleet.store.store`): ``Store.open(url, path=...)`` opens (and
  creates or upgrades) the database — a SQLite file by default, any SQLAlchemy URL
  otherwise — and offers one method per thing the manager keeps: missions, mission events,
  inspection results (idempotent per ``resultId``) and their readings, fixed-sensor
  readings (:mod:`~fleet.store.sensor_readings`), anomalies and alert deliveries
  (:mod:`~fleet.store.anomalies`), robots' lockouts and gas closures
  (:mod:`~fleet.store.gas`), schedules and their events (:mod:`~fleet.store.schedules`).
- :mod:`~fleet.store.tables`: the tables (:class:`MissionRow`,
  :class:`MissionEventRow`, :class:`InspectionResultRow`, :class:`ReadingRow`,
  :class:`SensorReadingRow`, :class:`AnomalyRow`, :class:`AnomalyObservationRow`,
  :class:`AlertDeliveryRow`, :class:`LockoutRow`, :class:`ClosureRow`,
  :class:`ScheduleRow`, :class:`ScheduleEventRow`, :class:`LeaseRow`).
- :mod:`~fleet.store.leases`: the leadership lease of managers sharing PostgreSQL.
- :mod:`~fleet.store.database`: engine setup (SQLite WAL, synchronous, busy timeout) and
  the translation of database errors into :class:`~fleet.errors.StoreError`.
- :mod:`~fleet.store.schema`: Alembic revisions and the in-place upgrade.

docs/storage.md describes the schema and the durability guarantees.
"""

from fleet.store.results import StoredResult
from fleet.store.store import EVENT_CREATED, EVENT_PLAN, EVENT_STATUS, RecordedBatch, Store
from fleet.store.tables import (
    AlertDeliveryRow,
    AnomalyObservationRow,
    AnomalyRow,
    ClosureRow,
    InspectionResultRow,
    LeaseRow,
    LockoutRow,
    MissionEventRow,
    MissionRow,
    ReadingRow,
    ScheduleEventRow,
    ScheduleRow,
    SensorReadingRow,
)

__all__ = [
    "EVENT_CREATED",
    "EVENT_PLAN",
    "EVENT_STATUS",
    "AlertDeliveryRow",
    "AnomalyObservationRow",
    "AnomalyRow",
    "ClosureRow",
    "InspectionResultRow",
    "LeaseRow",
    "LockoutRow",
    "MissionEventRow",
    "MissionRow",
    "ReadingRow",
    "RecordedBatch",
    "ScheduleEventRow",
    "ScheduleRow",
    "SensorReadingRow",
    "Store",
    "StoredResult",
]
