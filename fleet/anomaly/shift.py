"""The shift record: what the shift report (``fleet report --since T1 --until T2``, or
``--shift "2026-12-03 08:00/8h" --tz ZONE``) is made of, as typed values.

The manager builds a :class:`ShiftRecord` for a window ``[since, until)``
(:func:`fleet.manager.shift.shift_record`) and answers the ``report/shift`` API verb with
:meth:`ShiftRecord.to_json`; the CLI reads the answer back with
:meth:`ShiftRecord.from_json` and renders it (:func:`fleet.anomaly.shift_report.render_shift`)::

    {"since": time, "until": time, "generated_at": time,
     "missions": [{"mission_id", "name", "status", "reason", "created_at", "ended_at",
                   "inspections": {"done", "total", "failed", "dropped", "waiting"} | null,
                   "results": n, "robots": [serial, ...], "schedule_id", "schedule_name",
                   "continuous"}, ...],
     "anomalies": [anomaly, ...],        # with a lifecycle step in the window, or unresolved
     "steps": [{"anomaly_id", "event", "at", "by", "severity", "note"}, ...],
     "lockouts": [lockout, ...], "closures": [closure, ...],   # overlapping the window
     "robots": [{"serial", "manufacturer", "busy_s", "charging_s", "lost_s",
                 "locked_out_s", "idle_s",
                 "spans": [{"state", "start", "end", "open_ended"}, ...]}, ...],
     "schedule_events": [{"id", "schedule_id", "kind", "at", "due", "mission_id",
                          "schedule_name", "tz", "detail"}, ...],
     "overdue": [{"mission_id", "mission_name", "point", "target_s", "worst_gap_s",
                  "worst_from", "worst_to", "open", "since_start", "gaps_over",
                  "inspections"}, ...],
     "patrols": n, "notes": [text, ...]}

``anomaly``, ``lockout`` and ``closure`` are the mission report's
(:mod:`fleet.anomaly.record`). Times are ISO 8601 UTC; reading is as lenient as the
mission record's (unknown keys ignored, defaults may be missing) and a malformed answer
is a one-line :class:`~fleet.errors.ProtocolError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from fleet.anomaly.record import (
    AnomalyRecord,
    ClosureRecord,
    InspectionCounts,
    LockoutRecord,
    _encode,
    _first_error,
    _shown,
    _utc,
)
from fleet.errors import ProtocolError

BUSY = "busy"
"""On a mission's round (driving, inspecting, waiting in traffic, going home): from
``dispatched`` to ``robot_finished`` (or the robot's loss, lockout, refused order, or its
mission's end)."""
CHARGING = "charging"
"""At a charging stop of a round: from ``charging`` to ``charged``/``charging_ended``."""
LOST = "lost"
"""Declared lost during a round: from ``robot_lost`` to ``robot_back``, ``robot_cleared``
or its next round."""
LOCKED_OUT = "locked_out"
"""Locked out by methane: from the lockout to its reset (table ``lockouts``)."""
STATES = (LOCKED_OUT, LOST, CHARGING, BUSY)
"""The recorded states, the one that counts first when several hold at once."""


@dataclass(frozen=True, slots=True)
class ShiftMission:
    """A mission of the window (created in it, or running during it): ``status`` now,
    ``reason`` why it failed or stopped, ``ended_at`` when it reached a final status (None
    while it runs), ``inspections`` its points by state (None when unknown), ``results``
    the inspection results measured in the window, ``robots`` those sent on it, the
    schedule that launched it when a run of the window did."""

    mission_id: str
    name: str
    status: str
    reason: str | None = None
    created_at: datetime | None = None
    ended_at: datetime | None = None
    inspections: InspectionCounts | None = None
    results: int = 0
    robots: tuple[str, ...] = ()
    schedule_id: int | None = None
    schedule_name: str | None = None
    continuous: bool = False


@dataclass(frozen=True, slots=True)
class AnomalyStep:
    """One lifecycle step of anomaly ``anomaly_id`` in the window: ``event`` opened,
    reopened, escalated, acknowledged or resolved, ``by`` whom (people's steps),
    ``severity`` (the sightings')."""

    anomaly_id: int
    event: str
    at: datetime
    by: str | None = None
    severity: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of one recorded state (:data:`STATES`); ``open_ended`` when nothing
    recorded its end and it was counted to the end of the window (or of the report)."""

    state: str
    start: datetime
    end: datetime
    open_ended: bool = False


@dataclass(frozen=True, slots=True)
class RobotAvailability:
    """A robot's time over the window, in seconds, each second counted once (the first of
    :data:`STATES` that holds, else idle); ``spans`` the recorded states in time order."""

    serial: str
    manufacturer: str | None = None
    busy_s: float = 0.0
    charging_s: float = 0.0
    lost_s: float = 0.0
    locked_out_s: float = 0.0
    idle_s: float = 0.0
    spans: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    """A schedule event of the window (table ``schedule_events``): ``kind`` launched,
    skipped, queued, missed, moved, failed (runs) or added, updated, paused, resumed,
    removed (changes); ``due`` the run's nominal instant; ``detail`` as stored (the
    reason, who, where a blackout moved the run)."""

    id: int
    schedule_id: int
    kind: str
    at: datetime
    due: datetime | None = None
    mission_id: str | None = None
    schedule_name: str | None = None
    tz: str | None = None
    detail: Any = None

    @property
    def reason(self) -> str | None:
        """The reason in ``detail``, when it gives one."""
        if isinstance(self.detail, dict):
            for key in ("reason", "error", "why"):
                if self.detail.get(key):
                    return str(self.detail[key])
        return None


@dataclass(frozen=True, slots=True)
class OverduePoint:
    """A point of a mission with a revisit target that went longer than ``target_s``
    without an inspection: ``worst_gap_s`` from ``worst_from`` (an inspection, or the
    mission's start when ``since_start``) to ``worst_to`` (the next inspection, or the end
    of the window or mission when ``open``: not inspected since); ``gaps_over`` counts
    the gaps longer than the target, ``inspections`` the results in the window."""

    mission_id: str
    point: str
    target_s: float
    worst_gap_s: float
    worst_from: datetime
    worst_to: datetime
    open: bool = False
    since_start: bool = False
    gaps_over: int = 0
    inspections: int = 0
    mission_name: str = ""


@dataclass(frozen=True, slots=True)
class ShiftRecord:
    """Everything a shift report shows (see the module docstring for the JSON)."""

    since: datetime
    until: datetime
    generated_at: datetime
    missions: tuple[ShiftMission, ...] = ()
    anomalies: tuple[AnomalyRecord, ...] = ()
    steps: tuple[AnomalyStep, ...] = ()
    lockouts: tuple[LockoutRecord, ...] = ()
    closures: tuple[ClosureRecord, ...] = ()
    robots: tuple[RobotAvailability, ...] = ()
    schedule_events: tuple[ScheduleRun, ...] = ()
    overdue: tuple[OverduePoint, ...] = ()
    patrols: int = 0
    """Missions of the window with revisit targets (whose points ``overdue`` checks)."""
    notes: tuple[str, ...] = ()
    """What the manager could not read, one line each."""

    @property
    def covered_until(self) -> datetime:
        """The end of what the record can tell: ``until``, or the report's time when the
        window has not ended yet."""
        return min(self.until, max(self.since, self.generated_at))

    def to_json(self) -> dict[str, Any]:
        """The ``report/shift`` API answer."""
        out: dict[str, Any] = _encode(self)
        return out

    @classmethod
    def from_json(cls, data: object) -> ShiftRecord:
        """A record from a ``report/shift`` answer; ProtocolError (one line, naming the
        bad place) when the answer is not one."""
        if not isinstance(data, dict):
            raise _malformed(f"the answer must be an object, not {_shown(data)}")
        try:
            record = _adapter().validate_python(data)
        except ValidationError as exc:
            raise _malformed(_first_error(exc, [])) from None
        return replace(record, since=_utc(record.since), until=_utc(record.until),
                       generated_at=_utc(record.generated_at))


def revisit_gaps(times: Sequence[datetime], *, target_s: float, reference: datetime,
                 end: datetime) -> tuple[float, datetime, datetime, bool, int] | None:
    """The gaps of one point between consecutive inspections ``times`` (sorted), starting
    from ``reference`` (the inspection before the window, or the mission's start) and,
    when ``end`` comes after the last one, the open gap up to ``end``: ``(worst seconds,
    worst from, worst to, worst is open, gaps over target)``; None when there is no gap."""
    stamps = [t for t in times if reference <= t <= end]
    gaps: list[tuple[float, datetime, datetime, bool]] = []
    previous = reference
    for t in stamps:
        gaps.append(((t - previous).total_seconds(), previous, t, False))
        previous = t
    if end > previous:
        gaps.append(((end - previous).total_seconds(), previous, end, True))
    if not gaps:
        return None
    worst = max(gaps, key=lambda g: g[0])
    return worst[0], worst[1], worst[2], worst[3], sum(1 for g in gaps if g[0] > target_s)


def _malformed(what: str) -> ProtocolError:
    return ProtocolError(f"the manager's shift report answer is malformed: {what}")


@lru_cache(maxsize=1)
def _adapter() -> TypeAdapter[ShiftRecord]:
    return TypeAdapter(ShiftRecord)
