"""The store's recurring missions: ``schedules`` and ``schedule_events`` (docs/schedules.md).

:class:`ScheduleMethods` is mixed into :class:`fleet.store.Store`; its methods follow the
store's rules (one short transaction each, detached rows, StoreError on failure). A
schedule and the event that records the change are written in one transaction, so the
history never misses a change nor records one that did not happen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from fleet.store.database import orm_session
from fleet.store.tables import ScheduleEventRow, ScheduleRow

SCHEDULE_FIELDS = frozenset(ScheduleRow.model_fields) - {"id"}
"""The columns :meth:`ScheduleMethods.update_schedule` may change."""


class ScheduleMethods:
    """The :class:`~fleet.store.Store` methods for schedules and their events."""

    _engine: Engine

    def add_schedule(self, row: ScheduleRow, *, at: datetime,
                     detail: Any = None) -> ScheduleRow:
        """Store a new schedule and its ``added`` event; the row with its id."""
        with orm_session(self._engine, write=True) as session:
            session.add(row)
            session.flush()
            session.refresh(row)
            assert row.id is not None
            session.add(ScheduleEventRow(schedule_id=row.id, at=at, kind="added",
                                         detail=detail))
        return row

    def schedule(self, schedule_id: int) -> ScheduleRow | None:
        """Schedule ``schedule_id`` (removed ones too), or None."""
        with orm_session(self._engine, write=False) as session:
            return session.get(ScheduleRow, schedule_id)

    def schedules(self, *, removed: bool = False) -> list[ScheduleRow]:
        """Schedules, oldest first (removed ones only with ``removed``)."""
        query = select(ScheduleRow).order_by(col(ScheduleRow.id))
        if not removed:
            query = query.where(col(ScheduleRow.removed_at).is_(None))
        with orm_session(self._engine, write=False) as session:
            return list(session.exec(query).all())

    def update_schedule(self, schedule_id: int, changes: dict[str, Any], *,
                        event: ScheduleEventRow | None = None) -> ScheduleRow | None:
        """Apply ``changes`` (column → value) to a schedule and record ``event`` with them
        (its ``schedule_id`` is filled in); the row, or None when there is no such schedule
        (then nothing is written)."""
        unknown = set(changes) - SCHEDULE_FIELDS
        if unknown:
            raise ValueError(f"not schedule columns: {', '.join(sorted(unknown))}")
        with orm_session(self._engine, write=True) as session:
            row = session.get(ScheduleRow, schedule_id)
            if row is None:
                return None
            for key, value in changes.items():
                setattr(row, key, value)
            session.add(row)
            if event is not None:
                event.schedule_id = schedule_id
                session.add(event)
        return row

    def add_schedule_events(self, events: list[ScheduleEventRow],
                            changes: dict[int, dict[str, Any]] | None = None) -> None:
        """Record ``events`` and apply ``changes`` (schedule id → column → value) in one
        transaction: what the scheduler decided and what it now knows, together."""
        with orm_session(self._engine, write=True) as session:
            for schedule_id, values in (changes or {}).items():
                row = session.get(ScheduleRow, schedule_id)
                if row is None:
                    continue
                for key, value in values.items():
                    setattr(row, key, value)
                session.add(row)
            session.add_all(events)

    def schedule_events(self, schedule_id: int | None = None, *,
                        since: datetime | None = None, until: datetime | None = None,
                        limit: int | None = None) -> list[ScheduleEventRow]:
        """Events, newest first: of one schedule or all, recorded in ``[since, until)``,
        at most ``limit``."""
        query = select(ScheduleEventRow).order_by(col(ScheduleEventRow.at).desc(),
                                                  col(ScheduleEventRow.id).desc())
        if schedule_id is not None:
            query = query.where(ScheduleEventRow.schedule_id == schedule_id)
        if since is not None:
            query = query.where(col(ScheduleEventRow.at) >= since)
        if until is not None:
            query = query.where(col(ScheduleEventRow.at) < until)
        if limit is not None:
            query = query.limit(limit)
        with orm_session(self._engine, write=False) as session:
            return list(session.exec(query).all())
