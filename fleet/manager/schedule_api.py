"""The schedule verbs of the query API (docs/schedules.md): ``schedules/add``, ``list``,
``show``, ``next``, ``update``, ``pause``, ``resume``, ``remove``.

A schedule is answered as :func:`schedule_json`; times are ISO 8601, in UTC and in the
schedule's zone. A bad request is refused with one line (a FleetError), nothing stored.
On a secured site the API answers supervisors only (fleet.security.acl), so only they
manage schedules.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fleet.comms.bus import Request
from fleet.errors import FleetError, ScheduleError
from fleet.manager.api import _body, _text, mission_document
from fleet.manager.scheduler import EVENTS_SHOWN, recurrence
from fleet.store import ScheduleEventRow, ScheduleRow

if TYPE_CHECKING:
    from fleet.manager.service import Manager


def serve_schedules(manager: Manager, key: Any) -> None:
    """Declare the schedule verbs; ``key(verb)`` is the API key of a verb."""
    scheduler = manager.scheduler

    def add(request: Request) -> Any:
        body = _body(request)
        doc, map_doc = mission_document(body, "a schedule")
        row = scheduler.add(
            document=doc, map_doc=map_doc, mission_name=_str(body, "mission_name") or "mission",
            name=_str(body, "name"), cron=_str(body, "cron"), every=_str(body, "every"),
            tz=_str(body, "tz") or "UTC", overlap=_str(body, "overlap") or "skip",
            catch_up=_str(body, "catch_up") or "none",
            blackouts=tuple(_strings(body.get("blackouts"), "blackouts")),
            start=_str(body, "start"), until=_str(body, "until"), by=_str(body, "by"))
        return schedule_json(row, scheduler.upcoming(_id(row)))

    def listing(_request: Request) -> Any:
        return [schedule_json(r, scheduler.upcoming(_id(r))) for r in manager.store.schedules()]

    def show(request: Request) -> Any:
        row = scheduler.get(schedule_ref(_body(request).get("id")))
        events = manager.store.schedule_events(_id(row), limit=EVENTS_SHOWN)
        return {**schedule_json(row, scheduler.upcoming(_id(row))),
                "events": [event_json(e, row.tz) for e in events]}

    def next_(request: Request) -> Any:
        body = _body(request)
        schedule_id = schedule_ref(body.get("id"))
        count = body.get("count", 5)
        if isinstance(count, bool) or not isinstance(count, int):
            raise ScheduleError("count must be a whole number")
        row = scheduler.get(schedule_id)
        tz = ZoneInfo(row.tz)
        return {"id": schedule_id, "tz": row.tz, "runs": [
            {"due": _iso(due), "due_local": _iso(due, tz), "start": _iso(start),
             "start_local": _iso(start, tz), "moved": start != due}
            for due, start in scheduler.next_runs(schedule_id, count)]}

    def update(request: Request) -> Any:
        body = _body(request)
        doc, map_doc = mission_document(body, "a schedule")
        schedule_id = schedule_ref(body.get("id"))
        row = scheduler.update(schedule_id, document=doc, map_doc=map_doc,
                               mission_name=_str(body, "mission_name") or "mission",
                               by=_str(body, "by"))
        return schedule_json(row, scheduler.upcoming(schedule_id))

    def change(verb: str) -> Any:
        act = {"pause": scheduler.pause, "resume": scheduler.resume,
               "remove": scheduler.remove}[verb]

        def handler(request: Request) -> Any:
            body = _body(request)
            row = act(schedule_ref(body.get("id")), by=_str(body, "by"))
            return schedule_json(row, scheduler.upcoming(_id(row)))
        return handler

    manager.serve(key("schedules/add"), add)
    manager.serve(key("schedules/list"), listing)
    manager.serve(key("schedules/show"), show)
    manager.serve(key("schedules/next"), next_)
    manager.serve(key("schedules/update"), update)
    for verb in ("pause", "resume", "remove"):
        manager.serve(key(f"schedules/{verb}"), change(verb))


def schedule_json(row: ScheduleRow, upcoming: datetime | None) -> dict[str, Any]:
    """A schedule as the API answers it; ``upcoming``: when its next run starts."""
    tz = ZoneInfo(row.tz)
    return {
        "id": row.id, "name": row.name, "mission": row.mission_name,
        "rule": recurrence(row).describe(), "cron": row.cron, "every_s": row.every_s,
        "tz": row.tz, "overlap": row.overlap, "catch_up": row.catch_up,
        "blackouts": list(row.blackouts or []),
        "start": _iso(row.start_at), "until": _iso(row.until_at),
        "status": "removed" if row.removed_at else "paused" if row.paused else "active",
        "next_run": _iso(upcoming), "next_run_local": _iso(upcoming, tz),
        "created_at": _iso(row.created_at), "created_by": row.created_by,
        "last_mission_id": row.last_mission_id, "queued_due": _iso(row.queued_due),
    }


def event_json(e: ScheduleEventRow, tz_name: str) -> dict[str, Any]:
    """A schedule event as the API answers it."""
    tz = ZoneInfo(tz_name)
    return {"at": _iso(e.at), "kind": e.kind, "due": _iso(e.due),
            "due_local": _iso(e.due, tz), "mission_id": e.mission_id, "detail": e.detail}


def schedule_ref(value: object) -> int:
    """A schedule's id from ``3``, ``"3"`` or ``"S3"``; ScheduleError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        text = value.strip().upper().removeprefix("S")
        if text.isascii() and text.isdigit() and int(text) > 0:
            return int(text)
    raise ScheduleError(f"a schedule id is a number like 3 or S3, not {value!r}")


def _iso(moment: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(tz).isoformat() if tz is not None else moment.isoformat()


def _id(row: ScheduleRow) -> int:
    assert row.id is not None
    return row.id


def _str(body: dict[str, Any], key: str) -> str | None:
    return _text(body.get(key), key)


def _strings(value: object, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FleetError(f"{key} must be a list of strings")
    return list(value)
