"""The scheduler: the manager's part that launches recurring missions (docs/schedules.md).

A schedule (:class:`~fleet.store.ScheduleRow`) is a mission document with a
:class:`~fleet.recurrence.Recurrence`. The scheduler keeps each live schedule's next run
and sleeps on the manager's clock until the earliest one (a change of the schedules wakes
it), so it uses no CPU while nothing is due and follows a simulated world's scaled clock.
At a run's instant it decides, and records the decision as a schedule event:

- **launched**: the mission is launched (a blackout window moves the start to the
  window's end: ``moved`` is recorded first, with the window);
- **skipped** (``overlap: skip``): the previous run's mission is still going;
- **queued** (``overlap: queue``): the previous run is still going; this run starts when
  it ends (at most one run waits; another is skipped);
- **missed** (``catch_up: none``): the manager was down at the run's time; with
  ``catch_up: once`` the runs missed while it was down start once, at start-up;
- **failed**: the mission could not be launched (the reason is recorded).

Every decision is stored with the instant the scheduler has dealt with
(``checked_until``) in one transaction, so a manager that stops at any point neither runs
a due time twice nor forgets one.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet.errors import FleetError, MapError, MissionError, ScheduleError
from fleet.manager.core import Core
from fleet.manager.missions import MissionRun, mission_spec
from fleet.planning.mission import MissionSpec
from fleet.recurrence import Blackout, Recurrence
from fleet.store import ScheduleEventRow, ScheduleRow

log = logging.getLogger(__name__)

OVERLAPS = ("skip", "queue")
"""What a run does when the previous run's mission is still going."""
CATCH_UPS = ("none", "once")
"""What a manager that was down at a run's time does at start-up."""
EVENTS_SHOWN = 20
"""Events ``fleet schedule show`` lists (the newest)."""
MISSED_RECORDED = 100
"""Missed runs recorded one by one after a long outage; the rest are counted in one."""

Launch = Callable[[str, MissionSpec, str, dict[str, str]], MissionRun]
"""(name, spec, document, map_doc) → the launched mission (``Manager.launch``)."""


@dataclass
class _Live:
    row: ScheduleRow
    rule: Recurrence
    due: datetime | None = None
    """The next nominal run (None: none left, or paused)."""
    start: datetime | None = None
    """When it starts (``due`` moved past blackouts)."""


class Scheduler:
    """The schedules of one manager (see the module docstring). Management methods are
    thread-safe and raise :class:`~fleet.errors.ScheduleError` (or another FleetError)
    with one line for a bad request; nothing is stored then."""

    def __init__(self, core: Core, launch: Launch) -> None:
        self.core = core
        self.store = core.store
        self._launch = launch
        self._live: dict[int, _Live] = {}
        self._lock = threading.RLock()
        self._changed = threading.Event()
        core.mission_ended = lambda _run: self.wake()

    # -- management -----------------------------------------------------------------------
    def add(self, *, document: str, map_doc: Mapping[str, str], mission_name: str,
            name: str | None = None, cron: str | None = None, every: str | None = None,
            tz: str = "UTC", overlap: str = "skip", catch_up: str = "none",
            blackouts: tuple[str, ...] = (), start: str | None = None,
            until: str | None = None, by: str | None = None) -> ScheduleRow:
        """Check and store a new schedule; it runs from now on."""
        now = self.core.clock.now()
        rule = Recurrence.parse(tz=tz, cron=cron, every=every, blackouts=blackouts,
                                start=start, until=until, created=now)
        _choice(overlap, OVERLAPS, "--overlap")
        _choice(catch_up, CATCH_UPS, "--catch-up")
        spec = _spec(document, map_doc, mission_name)
        row = ScheduleRow(
            name=name or spec.name, mission_name=mission_name, document=document,
            map_doc=dict(map_doc), cron=rule.cron, every_s=rule.every_s, anchor=rule.anchor,
            tz=rule.tz, overlap=overlap, catch_up=catch_up,
            blackouts=[str(b) for b in rule.blackouts], start_at=rule.start,
            until_at=rule.until, created_at=now, updated_at=now, created_by=by,
            checked_until=now)
        with self._lock:
            row = self.store.add_schedule(row, at=now, detail={"by": by, "rule":
                                                               rule.describe()})
            self._track(row, now)
        self._changed.set()
        return row

    def update(self, schedule_id: int, *, document: str, map_doc: Mapping[str, str],
               mission_name: str, by: str | None = None) -> ScheduleRow:
        """Replace a schedule's mission document (its rule stays)."""
        _spec(document, map_doc, mission_name)
        return self._change(schedule_id, "updated", by, {
            "document": document, "map_doc": dict(map_doc), "mission_name": mission_name})

    def pause(self, schedule_id: int, *, by: str | None = None) -> ScheduleRow:
        """No runs until :meth:`resume` (runs in between are not missed: they are paused)."""
        return self._change(schedule_id, "paused", by, {"paused": True})

    def resume(self, schedule_id: int, *, by: str | None = None) -> ScheduleRow:
        """Runs again, from now on."""
        return self._change(schedule_id, "resumed", by, {
            "paused": False, "checked_until": self.core.clock.now(), "queued_due": None})

    def remove(self, schedule_id: int, *, by: str | None = None) -> ScheduleRow:
        """No more runs; the schedule and its events stay in the history."""
        return self._change(schedule_id, "removed", by, {"removed_at": self.core.clock.now(),
                                                          "queued_due": None})

    def get(self, schedule_id: int) -> ScheduleRow:
        """A schedule that was not removed; ScheduleError otherwise."""
        row = self.store.schedule(schedule_id)
        if row is None or row.removed_at is not None:
            raise ScheduleError(f"no schedule S{schedule_id}")
        return row

    def next_runs(self, schedule_id: int, count: int) -> list[tuple[datetime, datetime]]:
        """The next ``count`` runs (nominal, start) from now (or from the schedule's
        start); a paused schedule's too, as they would be once resumed."""
        row = self.get(schedule_id)
        if not 1 <= count <= 1000:
            raise ScheduleError(f"--count must be from 1 to 1000, got {count}")
        return recurrence(row).runs(self.core.clock.now(), count)

    def upcoming(self, schedule_id: int) -> datetime | None:
        """When the schedule's next run starts (None: paused, or no run left)."""
        with self._lock:
            live = self._live.get(schedule_id)
            return None if live is None or live.row.paused else live.start

    def upcoming_runs(self) -> list[tuple[ScheduleRow, datetime]]:
        """Each running (not paused) schedule with when its next run starts, soonest
        first."""
        with self._lock:
            runs = [(x.row, x.start) for x in self._live.values()
                    if not x.row.paused and x.start is not None]
        return sorted(runs, key=lambda r: (r[1], r[0].id or 0))

    def _change(self, schedule_id: int, kind: str, by: str | None,
                changes: dict[str, Any]) -> ScheduleRow:
        now = self.core.clock.now()
        with self._lock:
            self.get(schedule_id)
            row = self.store.update_schedule(
                schedule_id, {**changes, "updated_at": now},
                event=ScheduleEventRow(schedule_id=schedule_id, at=now, kind=kind,
                                       detail={"by": by}))
            if row is None:
                raise ScheduleError(f"no schedule S{schedule_id}")
            self._live.pop(schedule_id, None)
            if row.removed_at is None:
                self._track(row, now)
        self._changed.set()
        return row

    # -- running --------------------------------------------------------------------------
    def restore(self) -> None:
        """Load the stored schedules; deal with the runs that fell while the manager was
        down, by each schedule's catch-up policy."""
        now = self.core.clock.now()
        with self._lock:
            for row in self.store.schedules():
                try:
                    rule = recurrence(row)
                except ScheduleError as exc:  # a zone the system no longer knows
                    log.error("schedule S%s cannot run: %s", row.id, exc)
                    continue
                if not row.paused:
                    self._catch_up(row, rule, now)
                self._track(row, now)

    def run(self) -> None:
        """The scheduler's thread: until the manager stops, sleep until the next run (or a
        change), then deal with what is due."""
        core = self.core
        while not core.stopping.is_set():
            self._changed.clear()
            wake = self.tick()
            seconds = None if wake is None else max(0.0, (wake - core.clock.now())
                                                    .total_seconds())
            core.clock.wait(self._changed, seconds)

    def wake(self) -> None:
        """Make the thread look again now (the manager stopping, a mission ending)."""
        self._changed.set()

    def tick(self) -> datetime | None:
        """Deal with every run due by now (and queued runs whose previous run ended);
        when the next run starts (None: no run ahead)."""
        now = self.core.clock.now()
        with self._lock:
            self._due(now)
            self._queued(now)
            wakes = [x.start for x in self._live.values()
                     if x.start is not None and not x.row.paused]
            # a queued run held back by a blackout starts at the window's end
            wakes += [x.rule.shifted(now) for x in self._live.values()
                      if x.row.queued_due is not None and not x.row.paused]
            return min(wakes, default=None)

    def _track(self, row: ScheduleRow, now: datetime) -> None:
        assert row.id is not None
        live = _Live(row, recurrence(row))
        self._live[row.id] = live
        self._advance(live, max(now, row.checked_until))

    def _advance(self, live: _Live, after: datetime) -> None:
        runs = live.rule.runs(after, 1)
        live.due, live.start = runs[0] if runs else (None, None)

    def _due(self, now: datetime) -> None:
        for live in list(self._live.values()):
            if live.row.paused:
                continue
            while live.start is not None and live.start <= now and live.due is not None:
                due, start = live.due, live.start
                self._decide(live, due, start, now)
                self._advance(live, due)

    def _decide(self, live: _Live, due: datetime, start: datetime, now: datetime) -> None:
        row = live.row
        assert row.id is not None
        events: list[ScheduleEventRow] = []
        changes: dict[str, Any] = {"checked_until": due}
        if start > due:
            events.append(self._event(row, "moved", due, now, {
                "to": start.isoformat(), "blackouts": row.blackouts or []}))
        going = self._going(row)
        if going is not None and row.overlap == "queue" and row.queued_due is None:
            events.append(self._event(row, "queued", due, now, {
                "reason": f"previous run still going (mission {going[:8]})"}))
            changes["queued_due"] = due
        elif going is not None:
            why = "a run is already waiting" if row.overlap == "queue" else \
                "previous run still going"
            events.append(self._event(row, "skipped", due, now, {
                "reason": f"{why} (mission {going[:8]})"}))
        else:
            events.append(self._start(row, due, now, {"late_s": round(
                (now - start).total_seconds(), 3)}))
            changes["last_mission_id"] = events[-1].mission_id or row.last_mission_id
        self._record(row, events, changes)

    def _queued(self, now: datetime) -> None:
        for live in self._live.values():
            row = live.row
            if row.queued_due is None or row.paused or self._going(row) is not None:
                continue
            start = live.rule.shifted(now)
            if start > now:
                continue  # inside a blackout: it starts at the window's end
            due = row.queued_due
            event = self._start(row, due, now, {"queued": True})
            self._record(row, [event], {"queued_due": None,
                                        "last_mission_id": event.mission_id
                                        or row.last_mission_id})

    def _catch_up(self, row: ScheduleRow, rule: Recurrence, now: datetime) -> None:
        missed = list(itertools.islice(_until(rule, row.checked_until, now),
                                       MISSED_RECORDED))
        if not missed:
            return
        # after a long outage, count the rest without listing them
        more = sum(1 for _ in _until(rule, missed[-1], now))
        events: list[ScheduleEventRow]
        going = self._going(row)
        if row.catch_up == "once" and going is not None:  # the overlap policy still holds
            events = [self._event(row, "skipped", missed[-1], now, {
                "catch_up": True, "missed": len(missed) + more,
                "reason": f"previous run still going (mission {going[:8]})"})]
        elif row.catch_up == "once":
            events = [self._start(row, missed[-1], now, {
                "catch_up": True, "missed": len(missed) + more})]
        else:
            events = [self._event(row, "missed", due, now, {
                "reason": "the manager was not running"}) for due in missed]
            if more:
                events.append(self._event(row, "missed", None, now, {
                    "reason": "the manager was not running", "more": more}))
        changes: dict[str, Any] = {"checked_until": now}
        if events[-1].mission_id is not None:
            changes["last_mission_id"] = events[-1].mission_id
        self._record(row, events, changes)

    def _start(self, row: ScheduleRow, due: datetime, now: datetime,
               detail: dict[str, Any]) -> ScheduleEventRow:
        """Launch the schedule's mission; the ``launched`` (or ``failed``) event."""
        try:
            spec = _spec(row.document, row.map_doc or {}, row.mission_name)
            run = self._launch(row.mission_name, spec, row.document, dict(row.map_doc or {}))
        except FleetError as exc:
            log.error("schedule S%s could not launch its mission: %s", row.id, exc)
            return self._event(row, "failed", due, now, {**detail, "reason": str(exc)})
        log.info("schedule S%s launched mission %s (due %s)", row.id, run.id[:8],
                 due.isoformat())
        event = self._event(row, "launched", due, now, detail)
        event.mission_id = run.id
        return event

    def _going(self, row: ScheduleRow) -> str | None:
        """The previous run's mission when it is still going."""
        mid = row.last_mission_id
        if mid is None:
            return None
        with self.core.lock:
            run = self.core.missions.get(mid)
            return mid if run is not None and not run.status.terminal else None

    def _record(self, row: ScheduleRow, events: list[ScheduleEventRow],
                changes: dict[str, Any]) -> None:
        assert row.id is not None
        self.store.add_schedule_events(events, {row.id: changes})
        for key, value in changes.items():
            setattr(row, key, value)

    @staticmethod
    def _event(row: ScheduleRow, kind: str, due: datetime | None, now: datetime,
               detail: dict[str, Any]) -> ScheduleEventRow:
        assert row.id is not None
        return ScheduleEventRow(schedule_id=row.id, at=now, kind=kind, due=due, detail=detail)


def recurrence(row: ScheduleRow) -> Recurrence:
    """The rule of a stored schedule."""
    return Recurrence(tz=row.tz, cron=row.cron, every_s=row.every_s, anchor=row.anchor,
                      start=row.start_at, until=row.until_at,
                      blackouts=tuple(Blackout.parse(b) for b in row.blackouts or []))


def _until(rule: Recurrence, after: datetime, now: datetime) -> Iterator[datetime]:
    """The nominal runs after ``after`` up to ``now``."""
    due = rule.due_after(after)
    while due is not None and due <= now:
        yield due
        due = rule.due_after(due)


def _choice(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ScheduleError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")


def _spec(document: str, map_doc: Mapping[str, str], name: str) -> MissionSpec:
    try:
        return mission_spec(document, map_doc, name=name)
    except (MapError, MissionError) as exc:
        raise ScheduleError("the mission does not load: " + "; ".join(
            str(p) for p in exc.problems)) from None
