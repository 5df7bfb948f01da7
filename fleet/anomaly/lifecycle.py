"""An anomaly's life: the states, and the one place where transitions are decided.

::

            sighting (new point+sensor)
                    │
                    ▼          acknowledge           resolve
                 ┌──────┐ ───────────────▶ ┌──────────────┐ ─────────▶ ┌──────────┐
                 │ open │                  │ acknowledged │            │ resolved │
                 └──────┘ ◀─────────────── └──────────────┘            └──────────┘
                  ▲  ▲      escalation                                    │
                  │  └──────────────────── resolve ───────────────────────┤
                  └──────────────────── comeback (reopen) ◀───────────────┘

A sighting is one verdict of the rules (:class:`~fleet.anomaly.rules.Verdict`) at one
inspection point. The functions here change an :class:`Anomaly` in place and say which
alert, if any, the change raises (:class:`AlertEvent`); they never touch the database
(:mod:`fleet.anomaly.log` does). ``severity``, ``peak`` and ``count`` describe the current
episode (since the anomaly was opened or last reopened); ``first_seen`` the first sighting
ever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from fleet.anomaly.rules import Verdict, worse
from fleet.errors import FleetError
from fleet.sensors import Severity


class AnomalyStatus(StrEnum):
    """Where an anomaly is in its life."""

    OPEN = "open"
    """Seen and not yet taken in hand by anyone (also: escalated, or back after being
    resolved)."""
    ACKNOWLEDGED = "acknowledged"
    """A person has taken it in hand (who, when and a note are kept); repeats keep
    counting, and an escalation opens it again."""
    RESOLVED = "resolved"
    """Dealt with. A new sighting measured after the resolution reopens it."""


class AlertEvent(StrEnum):
    """What an alert announces."""

    OPENED = "opened"
    """A new anomaly."""
    ESCALATED = "escalated"
    """An anomaly's severity went up."""
    REOPENED = "reopened"
    """A resolved anomaly came back."""


@dataclass(slots=True)
class Anomaly:
    """An anomaly as the lifecycle sees it: the columns of :class:`fleet.store.Anomaly`
    (documented there) as plain attributes. A plain object rather than the mapped row
    because the rules change thousands of them per second at full ingest, and a mapped
    row's attribute writes cost several times more."""

    inspection_point_id: str
    sensor: str
    status: str
    severity: str
    rule: str
    first_seen: datetime
    last_seen: datetime
    opened_at: datetime
    id: int | None = None
    threshold: float | None = None
    unit: str | None = None
    peak: float | None = None
    peak_at: datetime | None = None
    peak_result_id: str | None = None
    last_value: float | None = None
    count: int = 0
    reopened: int = 0
    mission_id: str | None = None
    manufacturer: str | None = None
    serial_number: str | None = None
    x: float | None = None
    y: float | None = None
    level: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    ack_note: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolve_note: str | None = None
    detail: Any = None
    history: Any = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Anomaly:
        """An anomaly from a row's column values (extra keys are ignored)."""
        return cls(**{f: values[f] for f in _FIELDS if f in values})

    def values(self) -> dict[str, Any]:
        """The column values, for the store."""
        return {f: getattr(self, f) for f in _FIELDS}


_FIELDS = tuple(f.name for f in fields(Anomaly))


@dataclass(frozen=True, slots=True)
class Sighting:
    """One verdict at one place and time: from reading ``seq`` of result ``result_id``
    (``seq`` None for a robot finding), or from fixed-sensor reading ``sensor_reading_id``
    (``point`` the fixed sensor's id; no result, mission or robot). ``x``, ``y``,
    ``level`` place the point on the site map."""

    verdict: Verdict
    point: str
    result_id: str | None
    seq: int | None
    measured_at: datetime
    mission_id: str | None
    manufacturer: str | None
    serial_number: str | None
    x: float | None
    y: float | None
    level: str | None
    sensor_reading_id: int | None = None


def open_anomaly(s: Sighting) -> Anomaly:
    """A new open anomaly from its first sighting (raises :attr:`AlertEvent.OPENED`)."""
    v = s.verdict
    return Anomaly(
        inspection_point_id=s.point, sensor=v.sensor, status=AnomalyStatus.OPEN.value,
        severity=v.severity.value, rule=v.rule, threshold=v.threshold, unit=v.unit,
        peak=v.value, peak_at=s.measured_at, peak_result_id=s.result_id, last_value=v.value,
        count=1, first_seen=s.measured_at, last_seen=s.measured_at, opened_at=s.measured_at,
        reopened=0, mission_id=s.mission_id, manufacturer=s.manufacturer,
        serial_number=s.serial_number, x=s.x, y=s.y, level=s.level,
        detail=_detail(v), history=[_step(AlertEvent.OPENED.value, s.measured_at,
                                          severity=v.severity.value)])


def observe(row: Anomaly, s: Sighting) -> AlertEvent | None:
    """Fold a new sighting of the same point and sensor into ``row``; the alert it raises.

    - resolved, and measured after the resolution: reopened (a new episode: severity,
      peak and count start again from this sighting) → ``REOPENED``;
    - a higher severity than the episode's: escalated (an acknowledged anomaly is open
      again) → ``ESCALATED``;
    - otherwise counted (``count``, ``last_seen``, ``peak``) → None. A sighting measured
      before a resolution is counted on the resolved row without reopening it (a late
      resend from a robot that was out of reach).
    """
    # Attribute writes on a mapped row are costly (thousands per second at full ingest):
    # write only what changes.
    v = s.verdict
    current = AnomalyStatus(row.status)
    if s.measured_at > row.last_seen:
        row.last_seen, row.last_value = s.measured_at, v.value
        if row.mission_id != s.mission_id:
            row.mission_id = s.mission_id
        if (row.manufacturer, row.serial_number) != (s.manufacturer, s.serial_number):
            row.manufacturer, row.serial_number = s.manufacturer, s.serial_number
    elif s.measured_at < row.first_seen:
        row.first_seen = s.measured_at
    if s.x is not None and row.x is None:
        row.x, row.y, row.level = s.x, s.y, s.level
    if current is AnomalyStatus.RESOLVED and (row.resolved_at is None
                                              or s.measured_at > row.resolved_at):
        row.status = AnomalyStatus.OPEN.value
        row.reopened += 1
        row.count = 1
        row.opened_at = s.measured_at
        row.acknowledged_by = row.acknowledged_at = row.ack_note = None
        row.resolved_by = row.resolved_at = row.resolve_note = None
        _set_rule(row, s)
        row.history = [*(row.history or []), _step(AlertEvent.REOPENED.value, s.measured_at,
                                                   severity=v.severity.value)]
        return AlertEvent.REOPENED
    row.count += 1
    if current is not AnomalyStatus.RESOLVED and v.severity.rank > Severity(row.severity).rank:
        previous = row.severity
        _set_rule(row, s)
        if current is AnomalyStatus.ACKNOWLEDGED:
            row.status = AnomalyStatus.OPEN.value
        row.history = [*(row.history or []), _step(
            AlertEvent.ESCALATED.value, s.measured_at, severity=v.severity.value,
            previous=previous)]
        return AlertEvent.ESCALATED
    if _beats_peak(row, v):
        row.peak, row.peak_at, row.peak_result_id = v.value, s.measured_at, s.result_id
    return None


def _set_rule(row: Anomaly, s: Sighting) -> None:
    v = s.verdict
    row.severity, row.rule, row.threshold, row.unit = (v.severity.value, v.rule, v.threshold,
                                                       v.unit)
    row.peak, row.peak_at, row.peak_result_id = v.value, s.measured_at, s.result_id
    row.detail = _detail(v)


def _beats_peak(row: Anomaly, v: Verdict) -> bool:
    if row.peak is None or v.value is None:
        return row.peak is None and v.value is not None
    peak = Verdict(row.sensor, Severity(row.severity), row.rule, row.threshold, row.peak,
                   row.unit, _excess(row.rule, row.peak, row.threshold))
    return worse(v, peak)


def _excess(rule: str, value: float, threshold: float | None) -> float:
    if threshold is None:
        return value
    return threshold - value if rule == "below" else value - threshold


def acknowledge(row: Anomaly, *, by: str, note: str | None, at: datetime) -> None:
    """``by`` takes the open anomaly in hand. FleetError when it is not open."""
    current = AnomalyStatus(row.status)
    if current is AnomalyStatus.ACKNOWLEDGED:
        raise FleetError(f"anomaly {row.id} is already acknowledged by {row.acknowledged_by}")
    if current is AnomalyStatus.RESOLVED:
        raise FleetError(f"anomaly {row.id} is resolved")
    row.status = AnomalyStatus.ACKNOWLEDGED.value
    row.acknowledged_by, row.acknowledged_at, row.ack_note = _who(by), at, note
    row.history = [*(row.history or []), _step("acknowledged", at, by=row.acknowledged_by,
                                               note=note)]


def resolve(row: Anomaly, *, by: str, note: str | None, at: datetime) -> None:
    """``by`` declares the anomaly dealt with. FleetError when it is already resolved."""
    if AnomalyStatus(row.status) is AnomalyStatus.RESOLVED:
        raise FleetError(f"anomaly {row.id} is already resolved by {row.resolved_by}")
    row.status = AnomalyStatus.RESOLVED.value
    row.resolved_by, row.resolved_at, row.resolve_note = _who(by), at, note
    row.history = [*(row.history or []), _step("resolved", at, by=row.resolved_by,
                                               note=note)]


def _who(by: str) -> str:
    if not isinstance(by, str) or not by.strip():
        raise FleetError("say who you are (a non-empty name)")
    return by.strip()


def _detail(v: Verdict) -> dict[str, Any] | None:
    return dict(v.detail) if v.detail else None


def _step(event: str, at: datetime, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"event": event, "at": at.isoformat().replace("+00:00", "Z")}
    out.update({k: v for k, v in fields.items() if v is not None})
    return out
