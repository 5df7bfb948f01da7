"""The tables of the manager's database, as SQLModel classes.

Every name below (tables, indexes, constraints) is fixed by the migrations in
:mod:`fleet.store.migrations`, so a change here needs a new migration too (the test
``tests/store/test_migrations.py`` compares the two):

``missions`` (:class:`MissionRow`)
    Every mission ever launched: the mission document as launched, the plan, the status.
``mission_events`` (:class:`MissionEventRow`)
    The history of each mission: creation, status changes, plans, and whatever else the
    manager records.
``inspection_results`` (:class:`InspectionResultRow`)
    One row per ``resultId`` (the primary key, hence the idempotency). At most one
    inspection per (``order_id``, ``action_id``) (``uq_inspection_results_order_action``);
    further results of the same action are repeats (``repeat_of`` set), kept but not counted
    as inspections (docs/protocol.md, "Repeats").
``readings`` (:class:`ReadingRow`)
    The readings of each result (``repeat`` for a repeat's), one row per reading, with
    copies of the result's inspection point and measuring time so that "the last readings
    of sensor S at point P" is one index range scan (``ix_readings_point_sensor_time``), as
    anomaly rules ask.
``sensor_readings`` (:class:`SensorReadingRow`)
    The readings of the site's fixed sensors (its gas monitoring network), one row each,
    searched by sensor id and time (``ix_sensor_readings_sensor_time``).
``anomalies`` (:class:`AnomalyRow`)
    One row per (inspection point or fixed sensor, sensor) that ever broke a rule: its
    lifecycle (open, acknowledged, resolved; a comeback reopens the same row), severity,
    peak and counts.
``anomaly_observations`` (:class:`AnomalyObservationRow`)
    Every reading (or robot finding, or fixed-sensor reading) that counted towards an
    anomaly, with the rule it broke.
``schedules`` (:class:`ScheduleRow`) and ``schedule_events`` (:class:`ScheduleEventRow`)
    Recurring missions (docs/schedules.md): the rule, the mission document as added, and
    what the scheduler decided at each due time (launched, skipped, queued, missed, moved).
``manager_leases`` (:class:`LeaseRow`)
    Which manager leads each site sharing a PostgreSQL database (:mod:`fleet.store.leases`).
``alert_deliveries`` (:class:`AlertDeliveryRow`)
    Every alert to send (Zenoh or a webhook), an outbox: written in the same transaction as
    the anomaly change that raised it, then sent and retried by the alert dispatcher.

Times are aware UTC datetimes (:class:`UtcDateTime`) on every backend. JSON columns hold
plain JSON values (JSONB on PostgreSQL). Statuses and event kinds are strings: the manager
owns their enums, and a ``StrEnum`` member may be passed wherever a status is expected.

Results refer to missions by id without a foreign key on purpose: a robot may deliver a
result for a mission that this database does not know (a database restored from a backup,
a result from a manual order), and such a result must still be stored and acknowledged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine
from sqlmodel import Field, SQLModel


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class _SqliteUtcText(sqlite.DATETIME):
    """SQLite's DATETIME column for :class:`UtcDateTime`, bound as ready-made text.

    SQLAlchemy's own SQLite DATETIME formats every bound value with a ``%``-dict; at tens of
    thousands of timestamps per second (the ingestion path) that shows, so
    :meth:`UtcDateTime.process_bind_param` writes the same text directly and this type
    passes it through. Reading back is SQLAlchemy's DATETIME parser, unchanged.
    """

    def bind_processor(self, dialect: Dialect) -> None:
        return None


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    A naive datetime given to the database is taken to be UTC. On SQLite the value is stored
    as UTC text without an offset, ``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLAlchemy's format;
    fixed width, so text order is time order); on PostgreSQL as ``timestamp with time
    zone``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return _SqliteUtcText()  # type: ignore[no-untyped-call]  # (SQLAlchemy untyped)
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            return value.isoformat(" ", "microseconds")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSON_TYPE = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""The JSON column type: JSON text on SQLite, JSONB on PostgreSQL; None is SQL NULL."""


UNCHECKED = text("NOT rules_checked")
"""The condition "not checked by the anomaly rules yet" on ``inspection_results``, spelt as
the partial index ``ix_inspection_results_unchecked`` spells it (SQLite uses a partial
index only for a query that repeats its condition)."""

INSPECTION = text("repeat_of IS NULL")
"""The condition "an inspection, not a repeat" on ``inspection_results``, spelt as the
partial unique index ``uq_inspection_results_order_action`` spells it."""


class MissionRow(SQLModel, table=True):
    """A mission: ``id`` is a UUID 4 in hex (32 characters, no dashes).

    ``document`` is the mission file's text exactly as launched and ``map_path`` the map it
    resolved to, so the mission can be re-planned after a restart; ``plan`` is the plan's
    JSON (None until planned); ``failure_reason`` says why it failed, was aborted or paused
    when the manager gave a reason.
    """

    __tablename__ = "missions"
    __table_args__ = (
        Index("ix_missions_status_created", "status", "created_at"),
        Index("ix_missions_created", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    name: str
    status: str
    document: str = Field(sa_type=Text)
    map_path: str | None = None
    plan: Any = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    objective: str | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    failure_reason: str | None = None


class MissionEventRow(SQLModel, table=True):
    """Something that happened to a mission at ``at``: ``kind`` names it, ``detail`` is JSON.

    ``robot_serial`` names the robot concerned, when one is. Ids grow with insertion, so
    ``(at, id)`` orders a mission's events as they were recorded.
    """

    __tablename__ = "mission_events"
    __table_args__ = (
        ForeignKeyConstraint(["mission_id"], ["missions.id"], name="fk_mission_events_mission",
                             ondelete="CASCADE"),
        Index("ix_mission_events_mission_time", "mission_id", "at"),
        Index("ix_mission_events_time", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mission_id: str = Field(max_length=32)
    at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    kind: str
    detail: Any = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    robot_serial: str | None = None


class InspectionResultRow(SQLModel, table=True):
    """One inspection result, stored once per ``result_id`` (the robot's UUID).

    ``measured_at`` is the result message's header timestamp (when the robot took the
    readings), ``received_at`` when the manager stored it. ``position`` is the
    ``agvPosition`` object and ``findings`` the ``findings`` list (None when absent), both
    as they arrived. ``mission_id`` is None when the manager could not tell the mission.
    ``rules_checked`` turns true in the same transaction that records what the anomaly rules
    made of the result, so a result stored but not yet checked (the manager was killed in
    between) is found again (``ix_inspection_results_unchecked``, a partial index holding
    only those) and checked once.

    ``repeat_of`` is None for an inspection (the first result stored for its order and
    action: one per (``order_id``, ``action_id``), enforced by the partial unique index
    ``uq_inspection_results_order_action``); for a further result of the same action, a
    repeat, it is the inspection's ``result_id``. A repeat is stored with ``rules_checked``
    true (the rules never judge it) and its readings with ``repeat`` true.
    """

    __tablename__ = "inspection_results"
    __table_args__ = (
        Index("uq_inspection_results_order_action", "order_id", "action_id", unique=True,
              sqlite_where=INSPECTION, postgresql_where=INSPECTION),
        Index("ix_inspection_results_repeat_of", "repeat_of"),
        Index("ix_inspection_results_unchecked", "measured_at",
              sqlite_where=UNCHECKED, postgresql_where=UNCHECKED),
        Index("ix_inspection_results_mission", "mission_id"),
        Index("ix_inspection_results_point_time", "inspection_point_id", "measured_at"),
        Index("ix_inspection_results_time", "measured_at"),
    )

    result_id: str = Field(primary_key=True, max_length=36)
    mission_id: str | None = Field(default=None, max_length=32)
    order_id: str
    action_id: str
    manufacturer: str
    serial_number: str
    inspection_point_id: str
    node_id: str
    measured_at: datetime = Field(sa_type=UtcDateTime)
    received_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    position: dict[str, Any] = Field(sa_type=JSON_TYPE)
    findings: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON_TYPE)
    rules_checked: bool = Field(default=False, sa_type=Boolean,
                                sa_column_kwargs={"server_default": false()})
    repeat_of: str | None = Field(default=None, max_length=36)


class ReadingRow(SQLModel, table=True):
    """Reading number ``seq`` (0-based, in message order) of result ``result_id``.

    ``inspection_point_id`` and ``measured_at`` repeat the result's, so readings can be
    searched by point, sensor and time without a join; ``repeat`` copies whether the
    result is a repeat (whose readings the anomaly history leaves out).
    """

    __tablename__ = "readings"
    __table_args__ = (
        ForeignKeyConstraint(["result_id"], ["inspection_results.result_id"],
                             name="fk_readings_result", ondelete="CASCADE"),
        Index("ix_readings_point_sensor_time", "inspection_point_id", "sensor", "measured_at"),
    )

    result_id: str = Field(primary_key=True, max_length=36)
    seq: int = Field(primary_key=True)
    sensor: str
    value: float
    unit: str
    inspection_point_id: str
    measured_at: datetime = Field(sa_type=UtcDateTime)
    repeat: bool = Field(default=False, sa_type=Boolean,
                         sa_column_kwargs={"server_default": false()})


class SensorReadingRow(SQLModel, table=True):
    """One reading of fixed sensor ``sensor_id`` (an id of the map's ``site.meta.sensors``):
    ``value`` in ``unit`` of ``sensor``, taken at ``measured_at`` (the message's timestamp)
    and stored at ``received_at``. ``node_id`` is the node the map places the sensor at;
    ``reported`` what the message said about its place (``nodeId``, ``position``), as it
    came, or None. ``id`` grows with insertion."""

    __tablename__ = "sensor_readings"
    __table_args__ = (
        Index("ix_sensor_readings_sensor_time", "sensor_id", "sensor", "measured_at"),
        Index("ix_sensor_readings_time", "measured_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sensor_id: str
    sensor: str
    value: float
    unit: str
    node_id: str | None = None
    reported: Any = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    measured_at: datetime = Field(sa_type=UtcDateTime)
    received_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class AnomalyRow(SQLModel, table=True):
    """An anomaly: inspection point ``inspection_point_id`` and ``sensor`` broke a rule.

    ``sensor`` is the sensor's name in lower case, or ``finding:<type>`` for a finding the
    robot reported itself; for a fixed sensor, ``inspection_point_id`` is the fixed sensor's
    id (never a node's: the map keeps them apart). (point, sensor) is unique, so a repeat
    updates the row and a comeback after ``resolved`` reopens it. ``status`` and ``severity``
    are the strings of :class:`fleet.anomaly.lifecycle.AnomalyStatus` and
    :class:`fleet.anomaly.limits.Severity`.
    ``severity`` is the highest seen since the row was (re)opened, ``rule``/``threshold``/
    ``unit`` the rule that gave it; ``peak`` the worst value (``peak_at``, ``peak_result_id``),
    ``last_value`` the latest abnormal one. ``first_seen``/``last_seen`` are measuring times
    of the first and latest abnormal readings, ``opened_at`` of the first one since the last
    (re)opening; ``count`` counts abnormal readings over the row's whole life. ``x``, ``y``,
    ``level`` place the inspection point on the site map (the robot's reported position when
    the map was unknown). ``history`` lists the lifecycle steps, oldest first.
    """

    __tablename__ = "anomalies"
    __table_args__ = (
        UniqueConstraint("inspection_point_id", "sensor", name="uq_anomalies_point_sensor"),
        Index("ix_anomalies_status_last_seen", "status", "last_seen"),
        Index("ix_anomalies_last_seen", "last_seen"),
    )

    id: int | None = Field(default=None, primary_key=True)
    inspection_point_id: str
    sensor: str
    status: str
    severity: str
    rule: str
    threshold: float | None = None
    unit: str | None = None
    peak: float | None = None
    peak_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    peak_result_id: str | None = Field(default=None, max_length=36)
    last_value: float | None = None
    count: int = 0
    first_seen: datetime = Field(sa_type=UtcDateTime)
    last_seen: datetime = Field(sa_type=UtcDateTime)
    opened_at: datetime = Field(sa_type=UtcDateTime)
    reopened: int = 0
    mission_id: str | None = Field(default=None, max_length=32)
    manufacturer: str | None = None
    serial_number: str | None = None
    x: float | None = None
    y: float | None = None
    level: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ack_note: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    resolve_note: str | None = None
    detail: Any = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    history: Any = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class AnomalyObservationRow(SQLModel, table=True):
    """One abnormal reading (``seq`` of result ``result_id``), robot finding (``seq``
    None) or fixed-sensor reading (``sensor_reading_id``; ``result_id`` and ``seq`` None)
    that counted towards anomaly ``anomaly_id``, with the verdict the rules gave it.
    At most one of ``result_id`` and ``sensor_reading_id`` is set; neither for an event the
    manager raised itself (a robot's lockout, a gas closure)."""

    __tablename__ = "anomaly_observations"
    __table_args__ = (
        ForeignKeyConstraint(["anomaly_id"], ["anomalies.id"],
                             name="fk_anomaly_observations_anomaly", ondelete="CASCADE"),
        ForeignKeyConstraint(["result_id"], ["inspection_results.result_id"],
                             name="fk_anomaly_observations_result", ondelete="CASCADE"),
        ForeignKeyConstraint(["sensor_reading_id"], ["sensor_readings.id"],
                             name="fk_anomaly_observations_sensor_reading", ondelete="CASCADE"),
        Index("ix_anomaly_observations_anomaly_time", "anomaly_id", "measured_at"),
        Index("ix_anomaly_observations_mission", "mission_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    anomaly_id: int
    result_id: str | None = Field(default=None, max_length=36)
    seq: int | None = None
    severity: str
    rule: str
    threshold: float | None = None
    value: float | None = None
    unit: str | None = None
    mission_id: str | None = Field(default=None, max_length=32)
    measured_at: datetime = Field(sa_type=UtcDateTime)
    sensor_reading_id: int | None = None


class AlertDeliveryRow(SQLModel, table=True):
    """One alert to one destination: ``channel`` ``zenoh`` (``target`` the key) or
    ``webhook`` (``target`` the URL). ``event`` is ``opened``, ``escalated`` or
    ``reopened``; ``payload`` the alert's JSON as it was when raised. ``status`` is
    ``pending`` (``next_attempt_at`` says when), ``delivered`` or ``failed`` (gave up);
    ``attempts``, ``http_status`` and ``last_error`` tell how the attempts went."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(["anomaly_id"], ["anomalies.id"],
                             name="fk_alert_deliveries_anomaly", ondelete="CASCADE"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_anomaly", "anomaly_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    anomaly_id: int
    event: str
    channel: str
    target: str
    payload: Any = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    status: str = "pending"
    attempts: int = 0
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    next_attempt_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    http_status: int | None = None
    last_error: str | None = None


class LockoutRow(SQLModel, table=True):
    """A robot's methane lockout (docs/gas-safety.md, "Lockout"): robot
    ``manufacturer``/``serial`` measured ``value`` ``unit`` of ``sensor`` at ``node_id``, at
    or above the power-off level ``level``, at ``locked_at``. Open while ``reset_at`` is
    None; a supervisor's reset stores ``reset_at``, ``reset_by`` and ``note``."""

    __tablename__ = "lockouts"
    __table_args__ = (Index("ix_lockouts_robot", "manufacturer", "serial"),)

    id: int | None = Field(default=None, primary_key=True)
    manufacturer: str
    serial: str
    node_id: str
    sensor: str
    value: float
    unit: str
    level: float | None = None
    locked_at: datetime = Field(sa_type=UtcDateTime)
    reset_at: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    reset_by: str | None = None
    note: str | None = None


class ClosureRow(SQLModel, table=True):
    """A gas closure (docs/gas-safety.md, "Gas closures"): ``nodes`` (JSON list) of site
    ``site`` closed to robots not rated to stay energised, because ``source`` (a robot's
    ``M/S`` or a fixed sensor's id) read ``value`` ``unit`` of ``sensor`` at ``node_id``, at
    or above its power-off level; ``area`` says how the nodes were chosen (``zone Z``,
    ``block B``, ``within 30 m``). ``restore`` is the level a reading inside must fall
    strictly below to reopen it. Open while ``reopened_at`` is None."""

    __tablename__ = "closures"
    __table_args__ = (Index("ix_closures_site", "site"),)

    id: int | None = Field(default=None, primary_key=True)
    site: str
    node_id: str
    nodes: Any = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    area: str
    source: str
    sensor: str
    value: float
    unit: str
    restore: float | None = None
    opened_at: datetime = Field(sa_type=UtcDateTime)
    reopened_at: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    reopened_by: str | None = None
    note: str | None = None


class ScheduleRow(SQLModel, table=True):
    """A recurring mission (docs/schedules.md): ``cron`` (5 fields) or ``every_s`` (seconds
    of elapsed time from ``anchor``), in IANA zone ``tz``, with the ``overlap`` and
    ``catch_up`` policies, ``blackouts`` (JSON list of ``"HH:MM-HH:MM"``), and the window
    ``start_at`` .. ``until_at``. ``document`` and ``map_doc`` (JSON: the map file's name,
    suffix and text) are the mission as it was added or last updated: the file on disk may
    change. The scheduler has dealt with every due time up to ``checked_until``;
    ``last_mission_id`` is the latest run's mission, ``queued_due`` a run waiting for it to
    end. A removed schedule keeps its row (``removed_at``) for the history."""

    __tablename__ = "schedules"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    mission_name: str
    document: str = Field(sa_type=Text)
    map_doc: Any = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    cron: str | None = None
    every_s: float | None = None
    anchor: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    tz: str
    overlap: str
    catch_up: str
    blackouts: Any = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    start_at: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    until_at: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    paused: bool = Field(default=False, sa_type=Boolean,
                         sa_column_kwargs={"server_default": false()})
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    created_by: str | None = None
    checked_until: datetime = Field(sa_type=UtcDateTime)
    last_mission_id: str | None = None
    queued_due: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    removed_at: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)


class ScheduleEventRow(SQLModel, table=True):
    """What happened to schedule ``schedule_id`` at ``at``: ``kind`` (added, updated,
    paused, resumed, removed, launched, skipped, queued, missed, moved, failed), the run's
    nominal ``due`` instant when it concerns one, the ``mission_id`` launched, and
    ``detail`` (JSON: the reason, who, where a blackout moved the run)."""

    __tablename__ = "schedule_events"
    __table_args__ = (
        ForeignKeyConstraint(["schedule_id"], ["schedules.id"],
                             name="fk_schedule_events_schedule"),
        Index("ix_schedule_events_schedule_time", "schedule_id", "at"),
        Index("ix_schedule_events_time", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int
    at: datetime = Field(sa_type=UtcDateTime)
    kind: str
    due: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    mission_id: str | None = None
    detail: Any = Field(default=None, sa_type=JSON_TYPE, nullable=True)


class LeaseRow(SQLModel, table=True):
    """The leadership lease of ``site`` (its VDA 5050 interface): ``holder`` (a manager's
    name) leads until ``expires_at`` (the database's clock), in ``epoch`` (raised each time
    the lease changes hands). ``info`` (JSON) says where the holder runs. Written only by
    :class:`fleet.store.leases.Lease`."""

    __tablename__ = "manager_leases"

    site: str = Field(primary_key=True)
    holder: str
    epoch: int
    expires_at: datetime = Field(sa_type=UtcDateTime)
    renewed_at: datetime = Field(sa_type=UtcDateTime)
    info: Any = Field(default=None, sa_type=JSON_TYPE, nullable=True)
