"""``fleet closures``: the gas closures of a running manager (docs/gas-safety.md, "Gas
closures"): ``list`` them, and ``reopen ID --note`` one once people have made it safe."""

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
)
from fleet.cli.tables import print_table

app = typer.Typer(help="Areas closed to unrated robots by a gas reading at or above the "
                  "power-off level: list, reopen.", no_args_is_help=True)


@app.command(name="list")
def listing(
    every: bool = typer.Option(False, "--all", help="Every closure, reopened ones too."),
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """The open gas closures, oldest first: the area, the reading that closed it, where,
    from which robot or fixed sensor, and when; with --all the reopened ones too, with who
    reopened them and why."""
    answer: list[dict[str, Any]] = ask(connect, interface, "closures/list",
                                       {"all": every}, credentials=credentials)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    if not answer:
        typer.echo("no closure" if every else "no open closure")
        return
    print_table(("closure", "site", "area", "nodes", "reading", "at", "source", "opened",
                 "status"),
                [(f"C-{c['id']}", str(c["site"]), str(c["area"]), str(len(c["nodes"] or ())),
                  _reading(c), str(c["node"]), str(c["source"]), _when(c["opened_at"]),
                  _status(c)) for c in answer],
                right=("nodes",))


@app.command()
def reopen(
    closure: str = typer.Argument(..., metavar="ID", help="The closure: C-3 or 3."),
    note: str = typer.Option(..., "--note", help="Why the area is safe again (stored on "
                             "the closure and on its resolved anomaly)."),
    by: str | None = ByOption,
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
) -> None:
    """People have made a closed area safe: reopen it to every robot, record who and why,
    and resolve its anomaly; the points it blocked are planned again. On a secured site
    only supervisors' credentials may do this."""
    from fleet.cli.anomalies import who
    from fleet.errors import FleetError
    from fleet.manager.api import closure_ref

    try:
        closure_id = closure_ref(closure)
    except FleetError as exc:
        raise typer.BadParameter(str(exc), param_hint="ID") from None
    if not note.strip():
        raise typer.BadParameter("say why the area is safe again", param_hint="--note")
    answer = ask(connect, interface, "closures/reopen",
                 {"id": closure_id, "by": who(by), "note": note}, credentials=credentials)
    typer.echo(f"C-{answer['id']} of {answer['site']} ({answer['area']}) reopened by "
               f"{answer['reopened_by']}")


def _reading(c: dict[str, Any]) -> str:
    return f"{c['sensor']} {c['value']:g} {c['unit']}"


def _when(iso: str | None) -> str:
    """``2025-03-01T08:00:00.123Z`` as ``2025-03-01 08:00:00``."""
    return "-" if not iso else iso.replace("T", " ").removesuffix("Z")[:19]


def _status(c: dict[str, Any]) -> str:
    if c.get("open", c.get("reopened_at") is None):
        return "open"
    return f"reopened {_when(c['reopened_at'])} by {c['reopened_by']}: {c.get('note') or ''}" \
        .rstrip(": ")
