"""The store's reads over a window of time: what the shift report (``fleet report --since
T1 --until T2``, :mod:`fleet.manager.shift`) gathers.

:class:`WindowMethods` is mixed into :class:`fleet.store.Store`; its methods follow the
store's rules (one short transaction each, detached rows, StoreError on failure). Every
window is half-open, ``[since, until)``, in aware datetimes (a naive one is UTC).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Engine, Table, func, or_, select
from sqlmodel import col
from sqlmodel import select as sm_select

from fleet.store.database import orm_session, transaction
from fleet.store.tables import (
    INSPECTION,
    AnomalyRow,
    InspectionResultRow,
    MissionEventRow,
    MissionRow,
)

_RESULTS = cast(Table, InspectionResultRow.__table__)  # type: ignore[attr-defined]
_CHUNK = 500  # ids per IN list: well inside every backend's bound-parameter limit


class WindowMethods:
    """The :class:`~fleet.store.Store` methods that read a window of time."""

    _engine: Engine

    def missions_during(self, since: datetime, until: datetime, *,
                        finished: Collection[str]) -> list[MissionRow]:
        """Missions that may have existed during ``[since, until)``, in creation order:
        created before ``until`` and either not in a ``finished`` status (the manager's
        terminal ones) or last changed at or after ``since``. A superset: the caller
        tells from the status events when a finished one ended."""
        query = (sm_select(MissionRow)
                 .where(col(MissionRow.created_at) < until,
                        or_(col(MissionRow.status).not_in(list(finished)),
                            col(MissionRow.updated_at) >= since))
                 .order_by(col(MissionRow.created_at), col(MissionRow.id)))
        with orm_session(self._engine, write=False) as session:
            return list(session.exec(query).all())

    def mission_events_of(self, mission_ids: Iterable[str], *,
                          kinds: Collection[str] | None = None,
                          until: datetime | None = None) -> list[MissionEventRow]:
        """The events of several missions in recorded order (``(at, id)``), only of
        ``kinds`` when given, only those before ``until`` when given."""
        ids = sorted(set(mission_ids))
        out: list[MissionEventRow] = []
        with orm_session(self._engine, write=False) as session:
            for start in range(0, len(ids), _CHUNK):
                query = sm_select(MissionEventRow).where(
                    col(MissionEventRow.mission_id).in_(ids[start:start + _CHUNK]))
                if kinds is not None:
                    query = query.where(col(MissionEventRow.kind).in_(list(kinds)))
                if until is not None:
                    query = query.where(col(MissionEventRow.at) < until)
                out.extend(session.exec(query).all())
        out.sort(key=lambda e: (e.at, e.id or 0))
        return out

    def result_counts(self, since: datetime, until: datetime) -> dict[str, int]:
        """Per mission, how many inspection results were measured in ``[since, until)``
        (results of no known mission, and repeats, are left out)."""
        t = _RESULTS.c
        query = (select(t.mission_id, func.count())
                 .where(t.measured_at >= since, t.measured_at < until,
                        t.mission_id.is_not(None), INSPECTION)
                 .group_by(t.mission_id))
        with transaction(self._engine, write=False) as connection:
            return {str(m): int(n) for m, n in connection.execute(query).all()}

    def result_times(self, mission_ids: Sequence[str], since: datetime,
                     until: datetime) -> list[tuple[str, str, datetime]]:
        """``(mission_id, inspection point, measured_at)`` of the results of these
        missions measured in ``[since, until)``, in measuring order (no readings; repeats
        left out)."""
        t = _RESULTS.c
        ids = sorted(set(mission_ids))
        out: list[tuple[str, str, datetime]] = []
        with transaction(self._engine, write=False) as connection:
            for start in range(0, len(ids), _CHUNK):
                query = (select(t.mission_id, t.inspection_point_id, t.measured_at)
                         .where(t.mission_id.in_(ids[start:start + _CHUNK]),
                                t.measured_at >= since, t.measured_at < until, INSPECTION))
                out.extend((str(m), str(p), at) for m, p, at in connection.execute(query))
        out.sort(key=lambda r: r[2])
        return out

    def last_results_before(self, mission_ids: Sequence[str],
                            before: datetime) -> dict[tuple[str, str], datetime]:
        """``(mission_id, point)`` → the latest measuring time of a result of that mission
        at that point strictly before ``before``."""
        t = _RESULTS.c
        ids = sorted(set(mission_ids))
        out: dict[tuple[str, str], datetime] = {}
        with transaction(self._engine, write=False) as connection:
            for start in range(0, len(ids), _CHUNK):
                query = (select(t.mission_id, t.inspection_point_id, func.max(t.measured_at))
                         .where(t.mission_id.in_(ids[start:start + _CHUNK]),
                                t.measured_at < before, INSPECTION)
                         .group_by(t.mission_id, t.inspection_point_id))
                for m, p, at in connection.execute(query):
                    if at is not None:
                        out[(str(m), str(p))] = _utc(at)
        return out

    def anomalies_during(self, since: datetime, until: datetime) -> list[AnomalyRow]:
        """Anomalies first seen before ``until`` that either are not resolved or changed
        at or after ``since`` (seen, acknowledged or resolved), by id. A superset of those
        with a lifecycle step in the window: the caller reads the steps' times from
        ``history``."""
        resolved = col(AnomalyRow.resolved_at)
        acknowledged = col(AnomalyRow.acknowledged_at)
        query = (sm_select(AnomalyRow)
                 .where(col(AnomalyRow.first_seen) < until,
                        or_(col(AnomalyRow.status) != "resolved",
                            col(AnomalyRow.last_seen) >= since,
                            acknowledged >= since, resolved >= since))
                 .order_by(col(AnomalyRow.id)))
        with orm_session(self._engine, write=False) as session:
            return list(session.exec(query).all())


def _utc(moment: datetime | str) -> datetime:
    # an aggregate's value skips the column type's reader on SQLite: it comes back as
    # text or a naive datetime
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
