"""The :class:`Store`: everything the manager keeps, behind short transactions.

Every method is one transaction of its own, committed before the method returns: when a
method returns, what it wrote survives a killed process (and, with the default
``synchronous=FULL`` on SQLite, a power cut). Rows returned are detached copies; changing
them changes nothing in the database. Every database failure is a
:class:`~fleet.errors.StoreError` with a one-line message.

A store may be shared by threads (each call takes its own pooled connection) and by
processes on the same SQLite file (SQLite's locks and the busy timeout serialise writers;
readers never wait).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from sqlalchemy import Engine, Table, false, func, select
from sqlalchemy.orm import defer
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from fleet.errors import StoreError
from fleet.protocol.inspection import Reading
from fleet.store import schema
from fleet.store.anomalies import AnomalyMethods
from fleet.store.database import (
    Synchronous,
    database_url,
    describe,
    make_engine,
    transaction,
)
from fleet.store.gas import GasMethods
from fleet.store.repeats import Repeat, insert_batch
from fleet.store.results import ResultLike, StoredResult, result_rows
from fleet.store.schedules import ScheduleMethods
from fleet.store.sensor_readings import SensorReadingMethods
from fleet.store.tables import (
    INSPECTION,
    UNCHECKED,
    InspectionResultRow,
    MissionEventRow,
    MissionRow,
    ReadingRow,
    utc_now,
)
from fleet.store.windows import WindowMethods

EVENT_CREATED = "created"
"""Event kind recorded by :meth:`Store.add_mission`; detail ``{"status": ...}``."""
EVENT_STATUS = "status"
"""Event kind recorded by :meth:`Store.set_mission_status`; detail ``{"from", "to", "reason"}``."""
EVENT_PLAN = "plan"
"""Event kind recorded by :meth:`Store.save_plan`; detail None."""

_RESULTS = cast(Table, InspectionResultRow.__table__)  # type: ignore[attr-defined]
_READINGS = cast(Table, ReadingRow.__table__)  # type: ignore[attr-defined]


def _status_text(status: str | Enum) -> str:
    text = status.value if isinstance(status, Enum) else status
    if not isinstance(text, str) or not text:
        raise StoreError(f"a mission status is a non-empty string, not {status!r}")
    return text


@dataclass(frozen=True, slots=True)
class RecordedBatch:
    """What :meth:`Store.record_batch` committed.

    ``committed`` holds every distinct result id of the batch in batch order (the ids to
    acknowledge: inspections and repeats alike); ``new`` the inspections this call stored,
    in batch order, as they are now stored (those already stored before are not in it);
    ``repeats`` the repeats this call stored (:mod:`fleet.store.repeats`), in batch order.
    """

    committed: list[str]
    new: list[StoredResult]
    repeats: list[Repeat] = field(default_factory=list)


class Store(AnomalyMethods, SensorReadingMethods, GasMethods, ScheduleMethods,
            WindowMethods):
    """The manager's database. Open one with :meth:`open`; close it with :meth:`close`.

    The anomaly and alert methods come from :class:`~fleet.store.anomalies.AnomalyMethods`,
    the fixed-sensor readings from :class:`~fleet.store.sensor_readings.SensorReadingMethods`,
    lockouts and gas closures from :class:`~fleet.store.gas.GasMethods`, schedules from
    :class:`~fleet.store.schedules.ScheduleMethods`, reads over a window of time (the shift
    report) from :class:`~fleet.store.windows.WindowMethods`.
    """

    def __init__(self, engine: Engine) -> None:
        """A store on ``engine``, whose schema must already be at head (use :meth:`open`)."""
        self._engine = engine

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None, *, path: str | Path | None = None,
             synchronous: Synchronous = "FULL", upgrade: bool = True) -> Store:
        """Open the database at ``url``, or the SQLite file at ``path`` when ``url`` is None.

        ``path`` is a directory (the file is ``fleet.db`` in it, created with its
        directories when missing) or a file path with a suffix; None is the current
        directory. ``url`` is any SQLAlchemy URL (``sqlite:///file.db``,
        ``postgresql://user:password@host/db`` with psycopg 3). ``synchronous`` applies to
        SQLite (module :mod:`fleet.store.database` explains the choice of FULL).

        The schema is created, or upgraded in place to the newest revision keeping the data,
        unless ``upgrade`` is False. StoreError when the database cannot be reached, opened
        or upgraded, or was written by a newer version.
        """
        engine = make_engine(database_url(url, path), synchronous=synchronous)
        try:
            if upgrade:
                schema.upgrade(engine)
            else:  # still connect once, so an unreachable database fails here
                with transaction(engine, write=False):
                    pass
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests and tools; the manager needs only the methods)."""
        return self._engine

    @property
    def url(self) -> str:
        """The database, as messages name it: the SQLite file, or the URL without password."""
        return describe(self._engine.url)

    def revision(self) -> str | None:
        """The schema revision the database is at (see :mod:`fleet.store.schema`)."""
        with transaction(self._engine, write=False) as connection:
            return schema.current(connection)

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @contextmanager
    def _session(self, *, write: bool) -> Iterator[Session]:
        with transaction(self._engine, write=write) as connection, \
                Session(bind=connection, expire_on_commit=False) as session:
            yield session
            session.flush()

    # -- missions --------------------------------------------------------------------------

    def add_mission(self, name: str, document: str, *, map_path: str | Path | None = None,
                    objective: str | None = None, status: str | Enum = "queued",
                    plan: Any = None, mission_id: str | None = None,
                    at: datetime | None = None) -> MissionRow:
        """Store a new mission and its ``created`` event; the stored row.

        ``document`` is the mission file's text as launched, ``map_path`` the map it
        resolved to. ``mission_id`` defaults to a fresh UUID 4 in hex; ``at`` (default now)
        is its creation time. StoreError when the id is taken.
        """
        now = at or utc_now()
        row = MissionRow(
            id=mission_id or uuid.uuid4().hex, name=name, status=_status_text(status),
            document=document, map_path=str(map_path) if map_path is not None else None,
            plan=plan, objective=objective, created_at=now, updated_at=now)
        with self._session(write=True) as session:
            if session.get(MissionRow, row.id) is not None:
                raise StoreError(f"a mission with id {row.id} already exists")
            session.add(row)
            session.flush()  # the event's foreign key needs the mission first
            session.add(MissionEventRow(mission_id=row.id, at=now, kind=EVENT_CREATED,
                                        detail={"status": row.status}))
        return row

    def mission(self, mission_id: str) -> MissionRow | None:
        """The mission ``mission_id``, or None when there is none."""
        with self._session(write=False) as session:
            return session.get(MissionRow, mission_id)

    def missions(self, status: str | Enum | Iterable[str | Enum] | None = None, *,
                 limit: int | None = None, newest_first: bool = False) -> list[MissionRow]:
        """Missions in creation order (newest first on request), optionally filtered.

        ``status`` is one status or several; ``limit`` keeps the first ``limit`` of the
        order. A restarted manager calls ``missions(status=[...unfinished...])``.
        """
        query = sm_select(MissionRow)
        if status is not None:
            wanted = ([_status_text(status)] if isinstance(status, str | Enum)
                      else [_status_text(s) for s in status])
            query = query.where(col(MissionRow.status).in_(wanted))
        created, mid = col(MissionRow.created_at), col(MissionRow.id)
        query = query.order_by(*((created.desc(), mid.desc()) if newest_first
                                 else (created, mid)))
        if limit is not None:
            query = query.limit(limit)
        with self._session(write=False) as session:
            return list(session.exec(query).all())

    def set_mission_status(self, mission_id: str, status: str | Enum,
                           reason: str | None = None, *, robot_serial: str | None = None,
                           at: datetime | None = None) -> MissionRow:
        """Set the status, record a ``status`` event; the updated row.

        ``failure_reason`` becomes ``reason`` (None clears it), so it always explains the
        current status. StoreError when there is no such mission.
        """
        now = at or utc_now()
        text = _status_text(status)
        with self._session(write=True) as session:
            row = self._get_mission(session, mission_id)
            previous = row.status
            row.status, row.updated_at, row.failure_reason = text, now, reason
            session.add(row)
            session.add(MissionEventRow(
                mission_id=mission_id, at=now, kind=EVENT_STATUS, robot_serial=robot_serial,
                detail={"from": previous, "to": text, "reason": reason}))
        return row

    def save_plan(self, mission_id: str, plan: Any, *, at: datetime | None = None) -> MissionRow:
        """Store the mission's plan (a JSON value, or JSON text) and a ``plan`` event.

        StoreError when there is no such mission or ``plan`` is not valid JSON text.
        """
        if isinstance(plan, str | bytes):
            try:
                plan = json.loads(plan)
            except ValueError as exc:
                raise StoreError(f"mission {mission_id}: the plan is not JSON ({exc})") from None
        now = at or utc_now()
        with self._session(write=True) as session:
            row = self._get_mission(session, mission_id, plan=False)
            row.plan, row.updated_at = plan, now
            session.add(row)
            session.add(MissionEventRow(mission_id=mission_id, at=now, kind=EVENT_PLAN))
        return row

    @staticmethod
    def _get_mission(session: Session, mission_id: str, *, plan: bool = True) -> MissionRow:
        # the plan (a live mission's whole snapshot, large for a large fleet) is read only
        # when asked for: writing a new one or an event does not need the old one
        options = [] if plan else [defer(cast(Any, MissionRow.plan))]
        row = session.get(MissionRow, mission_id, options=options)
        if row is None:
            raise StoreError(f"no mission with id {mission_id}")
        return row

    def add_event(self, mission_id: str, kind: str, detail: Any = None, *,
                  robot_serial: str | None = None, at: datetime | None = None) -> MissionEventRow:
        """Record an event of mission ``mission_id``; the stored row (with its id).

        ``detail`` is any JSON value. StoreError when there is no such mission.
        """
        event = MissionEventRow(mission_id=mission_id, at=at or utc_now(), kind=kind,
                                detail=detail, robot_serial=robot_serial)
        with self._session(write=True) as session:
            if session.exec(sm_select(MissionRow.id).where(MissionRow.id == mission_id)
                            ).first() is None:
                raise StoreError(f"no mission with id {mission_id}")
            session.add(event)
        return event

    def events(self, mission_id: str) -> list[MissionEventRow]:
        """The events of mission ``mission_id`` in recorded order (empty when none)."""
        with self._session(write=False) as session:
            return list(session.exec(
                sm_select(MissionEventRow).where(MissionEventRow.mission_id == mission_id)
                .order_by(col(MissionEventRow.at), col(MissionEventRow.id))).all())

    # -- inspection results ----------------------------------------------------------------

    def record_results(self, results: Iterable[ResultLike], *,
                       order_missions: Mapping[str, str | None] | None = None,
                       received_at: datetime | None = None) -> list[str]:
        """Store a batch of results in one transaction; the result ids now committed.

        Results whose ``resultId`` is already stored, or repeated within the batch, are
        skipped (their stored copy stays as it was). The first result stored for an
        (``orderId``, ``actionId``) is its inspection; a later one with another
        ``resultId`` is stored as a repeat of it (:mod:`fleet.store.repeats`). The returned
        list holds every distinct result id of the batch, in batch order, once the
        transaction has committed: those are the ids the manager may acknowledge.
        ``order_missions`` maps order ids to mission ids (see
        :func:`fleet.store.results.result_rows`); ``received_at`` defaults to now.
        StoreError when an item is malformed (then nothing is written) or the database
        refuses (then nothing is committed and nothing may be acknowledged).
        """
        return self.record_batch(results, order_missions=order_missions,
                                 received_at=received_at).committed

    def record_batch(self, results: Iterable[ResultLike], *,
                     order_missions: Mapping[str, str | None] | None = None,
                     received_at: datetime | None = None) -> RecordedBatch:
        """:meth:`record_results`, also telling which results were new (see
        :class:`RecordedBatch`): the manager acknowledges ``committed`` and hands ``new``
        to the anomaly rules. Same transaction, same errors."""
        rows, readings = result_rows(results, received_at=received_at or utc_now(),
                                     order_missions=order_missions)
        if not rows:
            return RecordedBatch([], [])
        with transaction(self._engine, write=True) as connection:
            fresh, repeated = insert_batch(connection, rows, readings)
        by_result: dict[str, list[Reading]] = {}
        for r in readings:
            if r["result_id"] in fresh:
                by_result.setdefault(r["result_id"], []).append(
                    Reading(r["sensor"], r["value"], r["unit"]))
        received = _aware(rows[0]["received_at"])  # the batch's, the same for every row
        new = [_stored(row, by_result.get(row["result_id"], ()), received)
               for row in rows if row["result_id"] in fresh and row["repeat_of"] is None]
        repeats = [Repeat(r["result_id"], r["repeat_of"], r["mission_id"], r["order_id"],
                          r["action_id"], r["serial_number"], r["inspection_point_id"],
                          r["count"]) for r in repeated]
        return RecordedBatch([row["result_id"] for row in rows], new, repeats)

    def results(self, mission_id: str | None = None, point: str | None = None,
                since: datetime | None = None, *, limit: int | None = None,
                newest_first: bool = False, unchecked: bool = False,
                repeats: bool = False) -> list[StoredResult]:
        """Stored inspections with their readings, in measuring order (newest first on
        request); with ``repeats``, the repeats too (``repeat_of`` set on each).

        Filters: ``mission_id``, ``point`` (inspection point id), ``since`` (measured at or
        after, a naive datetime being UTC), ``unchecked`` (only results the anomaly rules
        have not checked yet); ``limit`` keeps the first ``limit`` of the order.
        """
        t = _RESULTS.c
        query = select(_RESULTS)
        if not repeats:
            query = query.where(INSPECTION)
        if unchecked:
            query = query.where(UNCHECKED)
        if mission_id is not None:
            query = query.where(t.mission_id == mission_id)
        if point is not None:
            query = query.where(t.inspection_point_id == point)
        if since is not None:
            query = query.where(t.measured_at >= since)
        query = query.order_by(*((t.measured_at.desc(), t.result_id.desc()) if newest_first
                                 else (t.measured_at, t.result_id)))
        if limit is not None:
            query = query.limit(limit)
        with transaction(self._engine, write=False) as connection:
            rows = connection.execute(query).all()
            ids = query.with_only_columns(t.result_id)
            by_result: dict[str, list[Reading]] = {}
            for r in connection.execute(
                    select(_READINGS.c.result_id, _READINGS.c.sensor, _READINGS.c.value,
                           _READINGS.c.unit)
                    .where(_READINGS.c.result_id.in_(ids))
                    .order_by(_READINGS.c.result_id, _READINGS.c.seq)):
                by_result.setdefault(r.result_id, []).append(Reading(r.sensor, r.value, r.unit))
        return [StoredResult(
            result_id=r.result_id, mission_id=r.mission_id, order_id=r.order_id,
            action_id=r.action_id, manufacturer=r.manufacturer, serial_number=r.serial_number,
            inspection_point_id=r.inspection_point_id, node_id=r.node_id,
            measured_at=r.measured_at, received_at=r.received_at, position=r.position,
            findings=r.findings, readings=tuple(by_result.get(r.result_id, ())),
            repeat_of=r.repeat_of,
        ) for r in rows]

    def readings(self, point: str, sensor: str, *, since: datetime | None = None,
                 before: datetime | None = None, limit: int | None = None,
                 newest_first: bool = False) -> list[ReadingRow]:
        """The readings of ``sensor`` at inspection point ``point``, in measuring order.

        ``since`` keeps those measured at or after it, ``before`` those measured strictly
        before it; ``limit`` the first ``limit`` of the order (``newest_first=True,
        limit=n``: the latest n). One index range scan. Readings of repeats are left out
        (an action's inspection speaks for it).
        """
        query = sm_select(ReadingRow).where(ReadingRow.inspection_point_id == point,
                                            ReadingRow.sensor == sensor,
                                            col(ReadingRow.repeat) == false())
        if since is not None:
            query = query.where(col(ReadingRow.measured_at) >= since)
        if before is not None:
            query = query.where(col(ReadingRow.measured_at) < before)
        at, rid = col(ReadingRow.measured_at), col(ReadingRow.result_id)
        query = query.order_by(*((at.desc(), rid.desc()) if newest_first else (at, rid)))
        if limit is not None:
            query = query.limit(limit)
        with self._session(write=False) as session:
            return list(session.exec(query).all())

    def count_results(self, mission_id: str | None = None, *, repeats: bool = False) -> int:
        """How many inspections are stored (of mission ``mission_id`` when given); with
        ``repeats``, how many repeats instead."""
        query = select(func.count()).select_from(_RESULTS).where(
            _RESULTS.c.repeat_of.is_not(None) if repeats else INSPECTION)
        if mission_id is not None:
            query = query.where(_RESULTS.c.mission_id == mission_id)
        with transaction(self._engine, write=False) as connection:
            return int(connection.execute(query).scalar_one())

    def stored(self, result_ids: Sequence[str]) -> set[str]:
        """Which of ``result_ids`` are stored (for re-acknowledging after a restart)."""
        found: set[str] = set()
        with transaction(self._engine, write=False) as connection:
            for start in range(0, len(result_ids), 500):
                chunk = list(result_ids[start:start + 500])
                found.update(connection.execute(select(_RESULTS.c.result_id).where(
                    _RESULTS.c.result_id.in_(chunk))).scalars())
        return found


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _stored(row: Mapping[str, Any], readings: Iterable[Reading],
            received_at: datetime) -> StoredResult:
    """A result row dict (as :func:`result_rows` builds it) as the StoredResult it became."""
    return StoredResult(
        result_id=row["result_id"], mission_id=row["mission_id"], order_id=row["order_id"],
        action_id=row["action_id"], manufacturer=row["manufacturer"],
        serial_number=row["serial_number"], inspection_point_id=row["inspection_point_id"],
        node_id=row["node_id"], measured_at=_aware(row["measured_at"]),
        received_at=received_at, position=row["position"],
        findings=row["findings"], readings=tuple(readings), repeat_of=row["repeat_of"])
