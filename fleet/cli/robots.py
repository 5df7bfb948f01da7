"""``fleet robots``: the robots a running manager knows; ``fleet robots show M/S``: one of
them, every field the manager reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from fleet.cli.remote import (
    ByOption,
    ConnectOption,
    CredentialsOption,
    InterfaceOption,
    ask,
    leader_line,
)
from fleet.cli.tables import print_table

app = typer.Typer(help="The robots a running manager knows.", invoke_without_command=True)


@app.callback()
def robots(
    ctx: typer.Context,
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Every robot the manager has heard of: status, battery, where it is (its last node,
    or its dock before it has moved), mission."""
    if ctx.invoked_subcommand is not None:
        return
    answer = ask(connect, interface, "robots", credentials=credentials)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    if not answer:
        typer.echo("no robot has been heard from yet")
        return
    print_table(("robot", "status", "battery", "at", "mission", "traffic"),
                [(f"{r['manufacturer']}/{r['serial']}", str(r["status"]), _battery(r),
                  where(r), r.get("mission_id") or "", r.get("waiting") or "")
                 for r in answer],
                right=("battery",))
    led = leader_line(connect, interface, credentials)
    if led is not None:
        typer.echo(led)


@app.command()
def show(
    robot: str = typer.Argument(..., metavar="M/S", help="Manufacturer/serial number."),
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Every field the manager reports for one robot, nested ones indented."""
    manufacturer, _, serial = robot.rpartition("/")
    answer = ask(connect, interface, "robots", credentials=credentials)
    found = next((r for r in answer if r.get("serial") == serial
                  and (not manufacturer or r.get("manufacturer") == manufacturer)), None)
    if found is None:
        typer.echo(f"error: the manager knows no robot {robot!r}; `fleet robots` lists them",
                   err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    for line in _fields(found):
        typer.echo(line)


@app.command()
def clear(
    robot: str = typer.Argument(..., metavar="M/S", help="Manufacturer/serial number."),
    note: str = typer.Option(..., "--note", help="How people recovered the robot "
                             "(recorded on the missions it blocked)."),
    by: str | None = ByOption,
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
) -> None:
    """A lost robot was recovered by people: free the place it held in a drift, and plan
    the inspections it blocked again (docs/traffic.md)."""
    answer = _supervise("robots/clear", robot, note, by, "say how the robot was recovered",
                        connect, interface, credentials)
    missions = answer.get("missions") or []
    typer.echo(f"{answer['robot']} cleared; noted on {len(missions)} mission(s)")


@app.command()
def reset(
    robot: str = typer.Argument(..., metavar="M/S", help="Manufacturer/serial number."),
    note: str = typer.Option(..., "--note", help="Who reset the robot at its place, and "
                             "why it is safe (stored on the lockout)."),
    by: str | None = ByOption,
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
) -> None:
    """People reset a robot locked out by methane: record who and when; the robot returns
    to service once its state no longer carries the error (docs/gas-safety.md). On a
    secured site only supervisors' credentials may do this."""
    answer = _supervise("robots/reset", robot, note, by,
                        "say who reset the robot and why it is safe", connect, interface,
                        credentials)
    state = "back in service" if answer.get("status") == "online" else \
        "reset recorded; back in service once it no longer reports the lockout"
    typer.echo(f"{answer['robot']}: {state}")


def _supervise(verb: str, robot: str, note: str, by: str | None, say: str,
               connect: str | None, interface: str, credentials: Path | None
               ) -> dict[str, Any]:
    """A supervisor's action on a robot (``clear``, ``reset``): the note is required (an
    empty one is the error ``say``), recorded with who did it; the manager's answer."""
    from fleet.cli.anomalies import who

    if not note.strip():
        raise typer.BadParameter(say, param_hint="--note")
    manufacturer, _, serial = robot.rpartition("/")
    answer: dict[str, Any] = ask(connect, interface, verb,
                                 {"manufacturer": manufacturer, "serial": serial,
                                  "by": who(by), "note": note}, credentials=credentials)
    return answer


def where(r: dict[str, Any]) -> str:
    """The robot's last node; before it has reached one, its dock; else ``-``."""
    if r.get("last_node"):
        return str(r["last_node"])
    if r.get("dock"):
        return f"{r['dock']} (dock)"
    return "-"


def _battery(r: dict[str, Any]) -> str:
    b = r.get("battery")
    return "-" if b is None else f"{b:.0f}%"


def _fields(record: dict[str, Any], indent: str = "") -> list[str]:
    width = max((len(k) for k in record), default=0)
    out = []
    for key, value in record.items():
        if isinstance(value, dict) and value:
            out.append(f"{indent}{key}:")
            out.extend(_fields(value, indent + "  "))
        else:
            out.append(f"{indent}{key:<{width}}  {_value(value)}")
    return out


def _value(value: object) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "-"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)
