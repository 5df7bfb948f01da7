"""``fleet report``: the HTML report of a mission, or of a shift, for a shift supervisor."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from fleet.cli.remote import ConnectOption, CredentialsOption, InterfaceOption, ask
from fleet.errors import FleetError, ScheduleError


def report(
    mission_id: str | None = typer.Argument(
        None, metavar="MISSION_ID", help="Mission id (or a unique prefix of 4+ "
        "characters): that mission's report. Without it, give a window for a shift report."),
    since: str | None = typer.Option(
        None, "--since", help="Shift report from this ISO 8601 time with an offset "
        "(2026-12-03T08:00+01:00 or ...Z)."),
    until: str | None = typer.Option(
        None, "--until", help="Shift report up to this ISO 8601 time with an offset "
        "(default: now)."),
    shift: str | None = typer.Option(
        None, "--shift", help="Shift report of 'LOCAL START/DURATION': local wall time in "
        "--tz, e.g. '2026-12-03 08:00/8h' (durations like 8h, 12h, 7h30m)."),
    tz: str | None = typer.Option(
        None, "--tz", help="IANA time zone of --shift and of the times in a shift report "
        "(e.g. Europe/Berlin; default UTC)."),
    out: Path | None = typer.Option(
        None, "-o", "--output", help="HTML file to write (default report.html, or "
        "shift.html for a shift report)."),
    map_file: Path | None = typer.Option(
        None, "--map", help="The site map, when the manager no longer has the one the "
        "mission was launched with."),
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
) -> None:
    """Write a mission's report, or a shift's.

    With MISSION_ID: what needs action, the map with the routes driven and the anomalies
    found, every anomaly, and the readings per inspection point.

    With --since T1 [--until T2], or --shift "2026-12-03 08:00/8h" --tz Europe/Berlin: the
    page a shift supervisor hands over. It holds what needs action (robots locked out, gas
    closures open, unresolved anomalies), every mission created or running in the window
    with its outcome, the anomalies opened, acknowledged and resolved, each robot's time
    busy, charging, lost, locked out and idle, the schedule runs launched, skipped or
    missed, and the points inspected less often than their revisit targets ask; times in
    --tz and UTC.

    A shift's DURATION is elapsed time: a shift across a daylight-saving change still lasts
    8h (starting at 22:00 local on the night the clocks go back, it ends at 05:00 local,
    not 06:00). A START that does not exist that day (the clocks jump over it) starts at
    the end of the jump; one that occurs twice starts at its first occurrence.
    """
    window = since is not None or until is not None or shift is not None
    if mission_id is not None and window:
        raise FleetError("give a MISSION_ID or a window (--since/--until or --shift), "
                         "not both")
    if mission_id is not None:
        if tz is not None:
            raise FleetError("--tz is for a shift report (--since/--until or --shift)")
        _mission_report(mission_id, out or Path("report.html"), map_file, connect, interface,
                        credentials)
        return
    if not window:
        raise FleetError("give a MISSION_ID, or a window: --since T1 --until T2, or "
                         "--shift 'YYYY-MM-DD HH:MM/8h' --tz ZONE")
    if map_file is not None:
        raise FleetError("--map is for a mission's report, not a shift's")
    from fleet.recurrence import parse_instant, zone

    place = zone(tz or "UTC")
    if shift is not None:
        if since is not None or until is not None:
            raise FleetError("give --shift or --since/--until, not both")
        start, stop = parse_shift(shift, place)
        end: datetime | None = stop
        title: str | None = f"{shift.strip()} ({place.key})"
    else:
        assert since is not None or until is not None
        if since is None:
            raise FleetError("--until needs --since (the start of the window)")
        start = parse_instant(since, "--since")
        end = None if until is None else parse_instant(until, "--until")
        if end is not None and end <= start:
            raise ScheduleError("--since must come before --until")
        title = None
    _shift_report(start, end, place, title, out or Path("shift.html"), connect, interface,
                  credentials)


def parse_shift(text: str, place: ZoneInfo) -> tuple[datetime, datetime]:
    """``"2026-12-03 08:00/8h"`` in ``place`` → (start, end) instants in UTC: the start is
    local wall time (by the daylight-saving rule of :func:`fleet.recurrence.instant_of`),
    the duration elapsed time. ScheduleError (one line) otherwise."""
    from fleet.recurrence import instant_of, parse_duration

    wall_text, slash, length = text.strip().rpartition("/")
    if not slash or not wall_text.strip() or not length.strip():
        raise ScheduleError(f"--shift {text!r} is not 'LOCAL START/DURATION' (like "
                            "'2026-12-03 08:00/8h')")
    try:
        wall = datetime.fromisoformat(wall_text.strip())
    except ValueError:
        raise ScheduleError(f"--shift start {wall_text.strip()!r} is not a local date and "
                            "time (like 2026-12-03 08:00)") from None
    if wall.tzinfo is not None:
        raise ScheduleError(f"--shift start {wall_text.strip()!r} is local wall time: write "
                            "it without an offset and give the zone with --tz")
    seconds = parse_duration(length, "--shift duration")
    if seconds > 31 * 86400:
        raise ScheduleError(f"--shift duration {length.strip()!r} is longer than 31 days")
    start = instant_of(wall, place)
    return start, start + timedelta(seconds=seconds)


def _mission_report(mission_id: str, out: Path, map_file: Path | None, connect: str | None,
                    interface: str, credentials: Path | None) -> None:
    from fleet.anomaly.record import MissionRecord
    from fleet.anomaly.report import mission_facility, render_report

    record = MissionRecord.from_json(ask(connect, interface, "report",
                                         {"mission_id": mission_id}, timeout=20.0,
                                         credentials=credentials))
    render_report(record, out, mission_facility(record, map_file=map_file))
    n = len(record.anomalies)
    typer.echo(f"report of {record.mission.name} ({n} anomal{'y' if n == 1 else 'ies'}) "
               f"written to {out}", err=True)


def _shift_report(start: datetime, end: datetime | None, place: ZoneInfo, title: str | None,
                  out: Path, connect: str | None, interface: str,
                  credentials: Path | None) -> None:
    from fleet.anomaly.record import _iso
    from fleet.anomaly.shift import ShiftRecord
    from fleet.anomaly.shift_report import render_shift

    body = {"since": _iso(start)} | ({} if end is None else {"until": _iso(end)})
    record = ShiftRecord.from_json(ask(connect, interface, "report/shift", body,
                                       timeout=30.0, credentials=credentials))
    render_shift(record, out, tz=place, title=title)
    typer.echo(f"shift report ({len(record.missions)} missions, {len(record.steps)} anomaly "
               f"steps, {len(record.robots)} robots) written to {out}", err=True)
