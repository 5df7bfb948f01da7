"""``fleet anomalies``: the anomaly log of a running manager, and the limits in force."""

from __future__ import annotations

import getpass
import json
import os
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from fleet.cli.remote import (
    ByOption,
    ConnectOption,
    CredentialsOption,
    InterfaceOption,
    ask,
)

app = typer.Typer(help="Anomalies found in inspection results: list, show, ack, resolve, "
                  "export; the limits in force.", no_args_is_help=True)

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

OpenOption = typer.Option(False, "--open", help="Only anomalies not resolved yet.")
SinceOption = typer.Option(
    None, "--since", help="Last seen at or after: an ISO 8601 time (UTC unless it says) or "
    "an age such as 30m, 12h, 7d.")
SeverityOption = typer.Option(
    None, "--severity", help="At least this severity: info, warning, alarm or critical.")
MissionOption = typer.Option(None, "--mission", help="Seen during this mission (id or prefix).")


def since_iso(text: str | None, *, now: datetime | None = None) -> str | None:
    """``--since`` as an ISO 8601 UTC time; BadParameter when it is neither an age nor
    a time."""
    if text is None:
        return None
    match = _RELATIVE.match(text)
    moment: datetime
    if match:
        moment = (now or datetime.now(UTC)) - timedelta(
            **{_UNITS[match.group(2)]: float(match.group(1))})
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise typer.BadParameter(f"{text!r} is neither an ISO 8601 time nor an age "
                                     "like 30m, 12h or 7d", param_hint="--since") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _filters(open_: bool, since: str | None, severity: str | None, mission: str | None,
             limit: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"open": open_, "since": since_iso(since), "severity": severity,
                            "mission_id": mission, "limit": limit}
    return {k: v for k, v in body.items() if v not in (None, False)}


def _line(a: dict[str, Any]) -> str:
    peak = a.get("peak")
    value = f"{peak:.4g} {a.get('unit') or ''}".strip() if isinstance(peak, int | float) else ""
    threshold = a.get("threshold")
    limit = f"{a.get('rule')} {threshold:.4g}" if isinstance(threshold, int | float) \
        else str(a.get("rule"))
    who = f" ack {a['acknowledged_by']}" if a.get("acknowledged_by") and \
        a.get("status") == "acknowledged" else ""
    return (f"#{a['id']:<5} {a['severity'].upper():<8} {a['status']:<12} "
            f"{a['inspection_point_id']:<12} {a['sensor']:<14} {value:<14} {limit:<14} "
            f"x{a['count']:<4} {str(a.get('last_seen'))[:19]}{who}")


@app.command("list")
def list_(
    open_: bool = OpenOption,
    since: str | None = SinceOption,
    severity: str | None = SeverityOption,
    mission: str | None = MissionOption,
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many."),
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Anomalies, most recently seen first."""
    answer = ask(connect, interface, "anomalies/list",
                 _filters(open_, since, severity, mission, limit), credentials=credentials)
    if as_json:
        typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    if not answer:
        typer.echo("no anomalies")
    for a in answer:
        typer.echo(_line(a))


@app.command()
def show(
    anomaly_id: str = typer.Argument(..., metavar="ID", help="Anomaly id (e.g. 12)."),
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """One anomaly: its state, history, the readings that made it, and its alerts."""
    answer = ask(connect, interface, "anomalies/show", {"id": anomaly_id},
                 credentials=credentials)
    if as_json:
        typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    a = answer["anomaly"]
    typer.echo(_line(a))
    place = (f"x={a['x']:.1f} y={a['y']:.1f} level {a.get('level')}"
             if isinstance(a.get("x"), int | float) and isinstance(a.get("y"), int | float)
             else "unknown")
    typer.echo(f"  first seen {a['first_seen']}, opened {a['opened_at']}, last seen "
               f"{a['last_seen']}; reopened {a['reopened']} times; at {place}")
    typer.echo(f"  last robot {a.get('serial_number')}, mission {a.get('mission_id')}")
    for step in a.get("history") or []:
        extra = "".join(f" {k}={v}" for k, v in step.items() if k not in ("event", "at"))
        typer.echo(f"  {step['at']}  {step['event']}{extra}")
    typer.echo(f"  observations ({len(answer['observations'])}):")
    for o in answer["observations"][-20:]:
        value = f"{o['value']:.4g}" if isinstance(o.get("value"), int | float) else "-"
        source = (f"result {o['result_id']}" if o.get("result_id") is not None
                  else f"fixed-sensor reading {o.get('sensor_reading_id')}")
        typer.echo(f"    {o['measured_at']}  {o['severity']:<8} {o['rule']:<8} {value} "
                   f"{o.get('unit') or ''}  {source}")
    for d in answer["deliveries"]:
        typer.echo(f"  alert {d['id']} {d['event']} via {d['channel']} to {d['target']}: "
                   f"{d['status']} after {d['attempts']} attempt(s)"
                   + (f" ({d['last_error']})" if d.get("last_error") else ""))


def who(by: str | None) -> str:
    """The supervisor acting: ``--by``, else ``FLEET_USER``, else the login name."""
    if by:
        return by
    name = os.environ.get("FLEET_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment (a container)
        raise typer.BadParameter("cannot tell who you are: pass --by NAME",
                                 param_hint="--by") from None


def _change(verb: str) -> Any:
    def command(
        anomaly_id: str = typer.Argument(..., metavar="ID", help="Anomaly id."),
        note: str | None = typer.Option(None, "--note", help="What you saw or did."),
        by: str | None = ByOption,
        connect: str | None = ConnectOption,
        interface: str = InterfaceOption,
        credentials: Path | None = CredentialsOption,
        as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
    ) -> None:
        answer = ask(connect, interface, f"anomalies/{verb}",
                     {"id": anomaly_id, "by": who(by), "note": note}, credentials=credentials)
        if as_json:
            typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        else:
            typer.echo(_line(answer))

    command.__doc__ = {"ack": "Acknowledge an anomaly: you have taken it in hand.",
                       "resolve": "Resolve an anomaly: it has been dealt with (it reopens "
                                  "if it comes back)."}[verb]
    return command


app.command("ack")(_change("ack"))
app.command("resolve")(_change("resolve"))


class ExportFormat(StrEnum):
    CSV = "csv"
    GEOJSON = "geojson"


@app.command()
def export(
    fmt: ExportFormat = typer.Option(..., "--format", help="csv or geojson."),
    out: Path | None = typer.Option(None, "-o", "--output",
                                    help="File to write (default: standard output)."),
    open_: bool = OpenOption,
    since: str | None = SinceOption,
    severity: str | None = SeverityOption,
    mission: str | None = MissionOption,
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
) -> None:
    """Export anomalies for spreadsheets (CSV) or GIS tools (GeoJSON points at the
    inspection points' map coordinates)."""
    from fleet.anomaly.export import to_csv, to_geojson
    from fleet.errors import FleetError

    answer = ask(connect, interface, "anomalies/list",
                 _filters(open_, since, severity, mission), credentials=credentials)
    text = (to_csv(answer) if fmt is ExportFormat.CSV
            else json.dumps(to_geojson(answer), indent=1, ensure_ascii=False) + "\n")
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise FleetError(f"cannot write {out}: {exc.strerror or exc}") from None
    typer.echo(f"{len(answer)} anomalies written to {out}", err=True)


@app.command()
def limits(
    map_file: Path | None = typer.Option(None, "--map", help="Site map (for its overrides)."),
    mission_file: Path | None = typer.Option(
        None, "--mission", help="Mission file (its overrides, and its map)."),
    point: str | None = typer.Option(None, "--point", help="Inspection point to look at."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """The limits in force (defaults, or at a point of a map/mission), with their sources.
    Works offline, on the files."""
    from fleet.anomaly.limits import DEFAULT_LIMITS, LimitBook, map_overrides, read_overrides
    from fleet.errors import FleetError, MapError
    from fleet.facility import formats

    book = LimitBook()
    if mission_file is not None:
        from fleet.anomaly.log import mission_book
        from fleet.planning.mission import load_mission

        spec = load_mission(mission_file) if map_file is None else load_mission(
            mission_file, facility=formats.load(map_file))
        book = mission_book(spec)
    elif map_file is not None:
        facility = formats.load(map_file)
        overrides, problems = map_overrides(facility, file=str(map_file))
        if problems:
            raise MapError(problems)
        book = LimitBook(facility, overrides, read_overrides(None)[0])
    if point is not None and (book.facility is None or point not in book.facility.nodes):
        raise FleetError(f"no point {point!r} on the map (give --map or --mission)")
    found = book.at(point) if point is not None else DEFAULT_LIMITS
    data = [found[s].to_json() for s in sorted(found)]
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for d in data:
        sides = [f"{k} {v:g}" for k, v in d["above"].items()] + \
            [f"{k} below {v:g}" for k, v in d["below"].items()]
        rate = d["rate"]
        if rate:
            sides.append(f"{rate['severity']} on a change of {rate['rise']:+g} within "
                         f"{rate['within_s']:g} s")
        typer.echo(f"{d['sensor']} ({d['unit']}): " + "; ".join(sides))
        for source in d["sources"]:
            typer.echo(f"    source: {source}")
    if point is not None:  # docs/gas-safety.md: the interlock levels of the point's place
        place = book.place(point)
        for name, lv in sorted(place.interlocks.items()):
            where = place.location.value if place.location else "general rule"
            typer.echo(f"{name} interlock ({where}): alarm {lv.alarm:g}, power off "
                       f"{lv.power_off:g}, restore below {lv.restore:g} {lv.unit}")
            for source in lv.sources:
                typer.echo(f"    source: {source}")
