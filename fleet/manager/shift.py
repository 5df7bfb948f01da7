"""The shift report's record: everything the store (and the running manager) knows of a
window of time, gathered into a :class:`~fleet.anomaly.shift.ShiftRecord`.

:func:`shift_record` answers the ``report/shift`` API verb (``fleet report --since T1
--until T2``, through :meth:`fleet.manager.queries.Queries.shift`). It reads the store
with short transactions; the manager's lock is taken once, briefly, by
:func:`live_view`, for the live missions' progress and the robots known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fleet.anomaly.availability import EVENT_KINDS, Fact, Lockout, availability
from fleet.anomaly.record import AnomalyRecord, ClosureRecord, InspectionCounts, LockoutRecord
from fleet.anomaly.shift import (
    AnomalyStep,
    OverduePoint,
    ScheduleRun,
    ShiftMission,
    ShiftRecord,
    revisit_gaps,
)
from fleet.errors import FleetError
from fleet.manager.core import Core
from fleet.manager.lifecycle import MissionStatus
from fleet.manager.missions import mission_spec
from fleet.manager.patrol import continuous, targets
from fleet.planning.mission import MissionSpec
from fleet.store import AnomalyRow, MissionEventRow, MissionRow, Store

MAX_WINDOW = timedelta(days=31)
"""The longest window a shift report covers (a month of a busy site stays a page)."""

FINISHED = frozenset(s.value for s in MissionStatus if s.terminal)
_STEPS = ("opened", "reopened", "escalated", "acknowledged", "resolved")


@dataclass(frozen=True, slots=True)
class LiveMission:
    """A mission the manager runs, as the report shows it: status and reason now, its
    points by state, its spec (for the revisit targets)."""

    status: str
    reason: str | None
    counts: InspectionCounts
    spec: MissionSpec


def live_view(core: Core) -> tuple[dict[str, LiveMission], dict[str, str | None]]:
    """The manager's missions (:class:`LiveMission` by id) and the robots it knows
    (serial → manufacturer), copied under the lock."""
    with core.lock:
        live = {mid: LiveMission(
            status=run.status.value, reason=run.reason, spec=run.spec,
            counts=InspectionCounts(done=len(run.done), total=len(run.tasks),
                                    failed=len(run.failed), dropped=len(run.dropped),
                                    waiting=len(run.pool)))
            for mid, run in core.missions.items()}
        robots: dict[str, str | None] = {r.serial: r.manufacturer
                                         for r in core.registry.all()}
    return live, robots


def shift_record(store: Store, since: datetime, until: datetime, *, now: datetime,
                 live: Mapping[str, LiveMission] | None = None,
                 robots: Mapping[str, str | None] | None = None) -> ShiftRecord:
    """What happened in ``[since, until)`` (aware datetimes): the missions of the window
    with their outcome, the anomalies' lifecycle steps and what is unresolved, lockouts
    and closures, robots' availability, schedule runs, and the points of missions with
    revisit targets that waited longer than their target. ``now`` is the manager's clock
    (figures stop there when the window has not ended), ``live`` the missions it runs and
    ``robots`` those it knows (:func:`live_view`). FleetError when the window is empty,
    reversed or longer than :data:`MAX_WINDOW`."""
    if until <= since:
        raise FleetError("the window's end must come after its start")
    if until - since > MAX_WINDOW:
        raise FleetError(f"a shift report covers at most {MAX_WINDOW.days} days")
    live = live or {}
    end = min(until, max(since, now))
    notes: list[str] = []
    rows = store.missions_during(since, until, finished=FINISHED)
    events = store.mission_events_of([r.id for r in rows], kinds={*EVENT_KINDS, "status"})
    ended = _ends(rows, events)
    rows = [r for r in rows if (stop := ended.get(r.id)) is None or stop >= since]
    specs = _specs(rows, live, notes)

    runs = _schedule_runs(store, since, until)
    launched = {r.mission_id: r for r in runs if r.kind == "launched" and r.mission_id}

    counts = store.result_counts(since, until)
    robots_of: dict[str, list[str]] = {}
    for e in events:
        if e.kind == "dispatched" and e.robot_serial:
            robots_of.setdefault(e.mission_id, [])
            if e.robot_serial not in robots_of[e.mission_id]:
                robots_of[e.mission_id].append(e.robot_serial)
    missions = tuple(_mission(r, live.get(r.id), specs.get(r.id), ended.get(r.id),
                              counts.get(r.id, 0), robots_of.get(r.id, ()),
                              launched.get(r.id)) for r in rows)

    anomalies, steps = _anomalies(store.anomalies_during(since, until), since, until)
    lockouts = tuple(LockoutRecord.from_values(r.model_dump()) for r in store.lockouts()
                     if r.locked_at < until and (r.reset_at is None or r.reset_at >= since))
    closures = tuple(ClosureRecord.from_values(r.model_dump()) for r in store.closures()
                     if r.opened_at < until and (r.reopened_at is None
                                                 or r.reopened_at >= since))
    available = availability(
        (Fact(e.at, e.kind, e.mission_id, e.robot_serial) for e in events
         if e.kind != "status" and e.at < end),
        start=since, end=end, mission_ends={m: at for m, at in ended.items() if at is not None},
        lockouts=[Lockout(r.serial, r.locked_at, r.reset_at, r.manufacturer)
                  for r in lockouts],
        robots=robots)

    targets = {m: t for m, spec in specs.items() if spec is not None and (t := _targets(spec))}
    overdue = _overdue(store, targets, {r.id: r for r in rows}, ended, since, end)
    return ShiftRecord(
        since=since, until=until, generated_at=now, missions=missions, anomalies=anomalies,
        steps=steps, lockouts=lockouts, closures=closures, robots=tuple(available),
        schedule_events=runs, overdue=overdue, patrols=len(targets), notes=tuple(notes))


def _schedule_runs(store: Store, since: datetime, until: datetime) -> tuple[ScheduleRun, ...]:
    """The schedule events recorded in the window, oldest first, with their schedule's
    name and zone (removed schedules too)."""
    schedules = {s.id: s for s in store.schedules(removed=True)}
    out = []
    for e in reversed(store.schedule_events(since=since, until=until)):
        schedule = schedules.get(e.schedule_id)
        out.append(ScheduleRun(
            id=e.id or 0, schedule_id=e.schedule_id, kind=e.kind, at=e.at, due=e.due,
            mission_id=e.mission_id, detail=e.detail,
            schedule_name=schedule.name if schedule is not None else None,
            tz=schedule.tz if schedule is not None else None))
    return tuple(out)


def _ends(rows: Sequence[MissionRow], events: Sequence[MissionEventRow]
          ) -> dict[str, datetime | None]:
    """When each finished mission reached its final status (None: not finished)."""
    ends: dict[str, datetime | None] = {}
    for e in events:
        if e.kind == "status" and isinstance(e.detail, Mapping):
            ends[e.mission_id] = e.at if e.detail.get("to") in FINISHED else None
    return {r.id: (ends.get(r.id) or r.updated_at) if r.status in FINISHED else None
            for r in rows}


def _specs(rows: Sequence[MissionRow], live: Mapping[str, LiveMission],
           notes: list[str]) -> dict[str, MissionSpec | None]:
    """Each mission's spec: the live one, else read again from the stored document and
    the map in its snapshot (once per distinct document and map)."""
    parsed: dict[tuple[str, str], MissionSpec | None] = {}
    out: dict[str, MissionSpec | None] = {}
    for r in rows:
        if r.id in live:
            out[r.id] = live[r.id].spec
            continue
        map_doc = r.plan.get("map") if isinstance(r.plan, Mapping) else None
        if not isinstance(map_doc, Mapping):
            out[r.id] = None
            continue
        key = (r.document, str(map_doc.get("text", "")))
        if key not in parsed:
            try:
                parsed[key] = mission_spec(r.document, map_doc, name=r.name)
            except FleetError as exc:
                parsed[key] = None
                notes.append(f"mission {r.name} ({r.id[:8]}): its stored document no longer "
                             f"loads ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
                             "its inspection total and revisit targets are unknown")
        out[r.id] = parsed[key]
    return out


def _mission(row: MissionRow, live: LiveMission | None, spec: MissionSpec | None,
             ended: datetime | None, results: int, robots: Sequence[str],
             run: ScheduleRun | None) -> ShiftMission:
    if live is not None:
        status, reason = live.status, live.reason or row.failure_reason
        counts: InspectionCounts | None = live.counts
    else:
        status, reason, counts = row.status, row.failure_reason, _stored_counts(row, spec)
    return ShiftMission(
        mission_id=row.id, name=row.name, status=status, reason=reason,
        created_at=row.created_at, ended_at=ended, inspections=counts, results=results,
        robots=tuple(robots), schedule_id=run.schedule_id if run is not None else None,
        schedule_name=run.schedule_name if run is not None else None,
        continuous=spec is not None and continuous(spec))


def _stored_counts(row: MissionRow, spec: MissionSpec | None) -> InspectionCounts | None:
    """A stored mission's points by state, from the snapshot it was last saved with."""
    snap = row.plan
    if not isinstance(snap, Mapping) or "done" not in snap:
        return None
    try:
        done, failed = set(snap.get("done") or ()), set(snap.get("failed") or ())
        dropped, pool = set(snap.get("dropped") or ()), set(snap.get("pool") or ())
        blocked = set(snap.get("blocked") or ())
    except TypeError:
        return None
    total = (len(spec.tasks) if spec is not None
             else len(done | failed | dropped | pool | blocked))
    return InspectionCounts(done=len(done), total=total, failed=len(failed - done),
                            dropped=len(dropped), waiting=len(pool))


def _anomalies(rows: Sequence[AnomalyRow], since: datetime, until: datetime
               ) -> tuple[tuple[AnomalyRecord, ...], tuple[AnomalyStep, ...]]:
    """The anomalies with a lifecycle step in the window or unresolved now, and those
    steps in time order."""
    records: list[AnomalyRecord] = []
    steps: list[AnomalyStep] = []
    for row in rows:
        assert row.id is not None
        mine = [s for s in _history(row) if since <= s.at < until]
        if mine or row.status != "resolved":
            records.append(AnomalyRecord.from_values(row.model_dump()))
            steps.extend(mine)
    steps.sort(key=lambda s: (s.at, s.anomaly_id))
    return tuple(records), tuple(steps)


def _history(row: AnomalyRow) -> list[AnomalyStep]:
    """The anomaly's lifecycle steps: its ``history``, else (an old row) its columns."""
    assert row.id is not None
    out: list[AnomalyStep] = []
    if isinstance(row.history, list) and row.history:
        for h in row.history:
            if not isinstance(h, Mapping) or h.get("event") not in _STEPS:
                continue
            try:
                at = _instant(h["at"])
            except (KeyError, TypeError, ValueError):
                continue
            out.append(AnomalyStep(anomaly_id=row.id, event=str(h["event"]), at=at,
                                   by=_opt(h.get("by")), severity=_opt(h.get("severity")),
                                   note=_opt(h.get("note"))))
        return out
    out.append(AnomalyStep(anomaly_id=row.id, event="reopened" if row.reopened else "opened",
                           at=row.opened_at, severity=row.severity))
    if row.acknowledged_at is not None:
        out.append(AnomalyStep(anomaly_id=row.id, event="acknowledged",
                               at=row.acknowledged_at, by=row.acknowledged_by,
                               note=row.ack_note))
    if row.resolved_at is not None:
        out.append(AnomalyStep(anomaly_id=row.id, event="resolved", at=row.resolved_at,
                               by=row.resolved_by, note=row.resolve_note))
    return out


def _targets(spec: MissionSpec) -> dict[str, float]:
    """Point → revisit target in seconds of a continuous patrol (none for a mission done
    once)."""
    return targets(spec) if continuous(spec) else {}


def _overdue(store: Store, targets: Mapping[str, Mapping[str, float]],
             rows: Mapping[str, MissionRow], ended: Mapping[str, datetime | None],
             since: datetime, end: datetime) -> tuple[OverduePoint, ...]:
    """The points that went longer than their target without an inspection, worst
    first (relative to the target)."""
    if not targets or end <= since:
        return ()
    ids = sorted(targets)
    times: dict[tuple[str, str], list[datetime]] = {}
    for mid, point, at in store.result_times(ids, since, end):
        times.setdefault((mid, point), []).append(at)
    before = store.last_results_before(ids, since)
    out = []
    for mid in ids:
        row = rows[mid]
        stop = min(end, ended.get(mid) or end)
        for point, target in sorted(targets[mid].items()):
            prev = before.get((mid, point))
            reference = prev if prev is not None else row.created_at
            seen = times.get((mid, point), [])
            gaps = revisit_gaps(seen, target_s=target, reference=reference, end=stop)
            if gaps is None or gaps[0] <= target:
                continue
            worst, start, stop_at, is_open, over = gaps
            out.append(OverduePoint(
                mission_id=mid, mission_name=row.name, point=point, target_s=target,
                worst_gap_s=worst, worst_from=start, worst_to=stop_at, open=is_open,
                since_start=prev is None and start == row.created_at, gaps_over=over,
                inspections=len(seen)))
    out.sort(key=lambda p: (-p.worst_gap_s / p.target_s, p.mission_id, p.point))
    return tuple(out)


def _instant(value: object) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
