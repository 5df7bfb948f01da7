"""``fleet robots``: the robots a running manager knows."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from fleet.cli.remote import ConnectOption, CredentialsOption, InterfaceOption, ask


def robots(
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Every robot the manager has heard of: status, battery, last node, mission."""
    answer = ask(connect, interface, "robots", credentials=credentials)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    if not answer:
        typer.echo("no robot has been heard from yet")
    for r in answer:
        battery = "-" if r["battery"] is None else f"{r['battery']:.0f}%"
        typer.echo(f"{r['manufacturer']}/{r['serial']:<12} {r['status']:<18} {battery:>5}  "
                   f"at {r['last_node'] or '-':<10} {r['mission_id'] or ''}")
