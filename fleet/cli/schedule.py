"""``fleet schedule``: recurring missions on a running manager (docs/schedules.md): add,
list, show, next, update, pause, resume, remove.

Everything the CLI can check is checked here before the manager is asked (the rule, the
zone, the blackouts, the mission file and its map), so a bad argument is one line and exit
code 1 even with no manager running; the manager checks again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from fleet.cli.anomalies import who
from fleet.cli.mission import mission_body
from fleet.cli.remote import ByOption, ConnectOption, CredentialsOption, InterfaceOption, ask
from fleet.cli.tables import print_table

app = typer.Typer(help="Recurring missions: add, list, show, next, update, pause, resume, "
                  "remove.", no_args_is_help=True)

IdArgument = typer.Argument(..., metavar="ID", help="The schedule: S3 or 3.")
JsonOption = typer.Option(False, "--json", help="Print JSON for machines.")


def _mission_body(file: Path) -> dict[str, Any]:
    """The mission file and its map as the manager takes them (checked here first)."""
    stem, body = mission_body(file)
    return {**body, "mission_name": stem}


@app.command()
def add(
    file: Path = typer.Argument(..., metavar="MISSION_FILE",
                                help="Mission file (.yaml) or sample mission name; stored "
                                "with the schedule (a later edit of the file changes "
                                "nothing until `fleet schedule update`)."),
    cron: str | None = typer.Option(None, "--cron", metavar="EXPR",
                                    help='A 5-field cron expression, e.g. "0 7,19 * * *", '
                                    "in the schedule's zone."),
    every: str | None = typer.Option(None, "--every", metavar="DURATION",
                                     help="An interval of elapsed time, e.g. 20m, 2h, "
                                     "1h30m."),
    tz: str = typer.Option(..., "--tz", metavar="ZONE",
                           help="IANA time zone, e.g. Europe/Berlin, Asia/Shanghai, UTC."),
    name: str | None = typer.Option(None, "--name", help="A name (default: the mission's)."),
    overlap: str = typer.Option("skip", "--overlap",
                                help="When the previous run is still going: skip this "
                                "run, or queue it (at most one waits)."),
    catch_up: str = typer.Option("none", "--catch-up",
                                 help="Runs missed while the manager was down: none "
                                 "(each recorded as missed) or once (one run at start-up)."),
    blackout: list[str] = typer.Option([], "--blackout", metavar="HH:MM-HH:MM",
                                       help="No run starts in this daily window (local "
                                       "time); a run due inside starts at its end. "
                                       "Repeatable."),
    start: str | None = typer.Option(None, "--start", help="First instant, ISO 8601 with "
                                     "an offset, e.g. 2027-01-04T06:00+01:00."),
    until: str | None = typer.Option(None, "--until", help="Last instant, ISO 8601 with "
                                     "an offset."),
    by: str | None = ByOption,
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = JsonOption,
) -> None:
    """Add a schedule; prints its id. Give --cron or --every."""
    from fleet.errors import ScheduleError
    from fleet.manager.scheduler import CATCH_UPS, OVERLAPS
    from fleet.recurrence import Recurrence

    for value, allowed, what in ((overlap, OVERLAPS, "--overlap"),
                                 (catch_up, CATCH_UPS, "--catch-up")):
        if value not in allowed:
            raise ScheduleError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    Recurrence.parse(tz=tz, cron=cron, every=every, blackouts=blackout, start=start,
                     until=until, created=datetime.now(UTC))
    body = {**_mission_body(file), "name": name, "cron": cron, "every": every, "tz": tz,
            "overlap": overlap, "catch_up": catch_up, "blackouts": blackout,
            "start": start, "until": until, "by": who(by)}
    answer = ask(connect, interface, "schedules/add", body, timeout=10.0,
                 credentials=credentials)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    typer.echo(f"S{answer['id']}")
    typer.echo(f"{answer['rule']}; next run {_local(answer['next_run_local'])}", err=True)


@app.command(name="list")
def listing(
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = JsonOption,
) -> None:
    """The schedules, oldest first, with their next run in their zone."""
    answer: list[dict[str, Any]] = ask(connect, interface, "schedules/list",
                                       credentials=credentials)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    if not answer:
        typer.echo("no schedule")
        return
    print_table(("id", "name", "rule", "status", "next run", "overlap", "catch-up"),
                [(f"S{s['id']}", str(s["name"]), str(s["rule"]), str(s["status"]),
                  _local(s["next_run_local"]), str(s["overlap"]), str(s["catch_up"]))
                 for s in answer])


@app.command()
def show(
    schedule: str = IdArgument,
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = JsonOption,
) -> None:
    """A schedule and its latest events (what the scheduler decided at each run)."""
    s = ask(connect, interface, "schedules/show", {"id": schedule}, credentials=credentials)
    if as_json:
        typer.echo(json.dumps(s, indent=2))
        return
    typer.echo(f"S{s['id']} {s['name']} ({s['status']}): {s['rule']}, mission "
               f"{s['mission']}, overlap {s['overlap']}, catch-up {s['catch_up']}")
    typer.echo(f"next run: {_local(s['next_run_local'])}"
               + (f"; a run queued (due {s['queued_due']})" if s["queued_due"] else ""))
    if not s["events"]:
        return
    print_table(("at (UTC)", "event", "due (local)", "mission", "detail"),
                [(_local(e["at"]), str(e["kind"]), _local(e["due_local"]),
                  (e["mission_id"] or "")[:8], _detail(e["detail"])) for e in s["events"]])


@app.command(name="next")
def next_(
    schedule: str = IdArgument,
    count: int = typer.Option(5, "--count", min=1, max=1000, help="How many runs."),
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = JsonOption,
) -> None:
    """The upcoming runs, in the schedule's zone and in UTC (daylight saving applied as
    docs/schedules.md says; a run a blackout moves shows where it starts)."""
    answer = ask(connect, interface, "schedules/next", {"id": schedule, "count": count},
                 credentials=credentials)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    print_table((f"local ({answer['tz']})", "UTC", "note"),
                [(_local(r["start_local"]), _local(r["start"]),
                  f"moved from {_local(r['due_local'])} (blackout)" if r["moved"] else "")
                 for r in answer["runs"]])


@app.command()
def update(
    schedule: str = IdArgument,
    file: Path = typer.Argument(..., metavar="MISSION_FILE",
                                help="The mission file to store in place of the old one."),
    by: str | None = ByOption,
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = JsonOption,
) -> None:
    """Replace a schedule's mission with the file as it is now (the rule stays)."""
    answer = ask(connect, interface, "schedules/update",
                 {**_mission_body(file), "id": schedule, "by": who(by)}, timeout=10.0,
                 credentials=credentials)
    _done(answer, "updated", as_json)


def _change(verb: str, doc: str) -> Any:
    def command(
        schedule: str = IdArgument,
        by: str | None = ByOption,
        connect: str | None = ConnectOption,
        interface: str = InterfaceOption,
        credentials: Path | None = CredentialsOption,
        as_json: bool = JsonOption,
    ) -> None:
        answer = ask(connect, interface, f"schedules/{verb}", {"id": schedule, "by": who(by)},
                     credentials=credentials)
        _done(answer, f"{verb}d", as_json)
    command.__doc__ = doc
    return command


app.command(name="pause")(_change("pause", "No runs until resumed (runs meanwhile are "
                                            "not missed, they are paused)."))
app.command(name="resume")(_change("resume", "Runs again, from now on."))
app.command(name="remove")(_change("remove", "No more runs; the schedule's history stays."))


def _done(answer: dict[str, Any], what: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    else:
        typer.echo(f"S{answer['id']} {what}; next run {_local(answer['next_run_local'])}")


def _local(iso: str | None) -> str:
    """``2027-03-28 03:00 +02:00`` from an ISO time (``-`` for none)."""
    if not iso:
        return "-"
    moment = datetime.fromisoformat(iso)
    return f"{moment:%Y-%m-%d %H:%M} {_offset(moment)}"


def _offset(moment: datetime) -> str:
    off = moment.utcoffset()
    if off is None:
        return ""
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _detail(detail: Any) -> str:
    if not isinstance(detail, dict):
        return ""
    return ", ".join(f"{k} {v}" for k, v in detail.items() if v not in (None, [], ""))
