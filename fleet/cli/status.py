"""``fleet status``: who manages a site (the leader, its standbys, epochs, lease ages);
``fleet sites``: every site reachable through the router, with its leader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from fleet.cli.remote import ConnectOption, CredentialsOption, InterfaceOption, gather
from fleet.cli.tables import print_table
from fleet.errors import NotReachable


def status(
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """The site's manager processes: which one leads (and in which epoch), which stand
    by, since when, how many robots each hears, and the lease as the database has it."""
    from fleet.manager.leadership import members_key

    members = sorted(gather(connect, members_key(interface), credentials=credentials),
                     key=lambda m: (m.get("role") != "leader", str(m.get("name"))))
    if not members:
        raise NotReachable(f"no manager of interface {interface} answered; is `fleet "
                           "serve` running?")
    if as_json:
        typer.echo(json.dumps(members, indent=2))
        return
    print_table(("manager", "role", "epoch", "since", "robots heard", "host", "database"),
                [(str(m["name"]), str(m["role"]), _text(m.get("epoch")),
                  str(m.get("since", ""))[:19], _text(m.get("robots_heard")),
                  f"{m.get('host', '')}:{m.get('pid', '')}", str(m.get("database", "")))
                 for m in members], right=("epoch", "robots heard"))
    lease = next((m["lease"] for m in members if m.get("lease")), None)
    if lease is not None:
        state = (f"runs out in {lease['expires_in_s']:.1f} s" if lease["live"]
                 else f"ran out {-lease['expires_in_s']:.1f} s ago")
        typer.echo(f"lease of {lease['site']}: held by {lease['holder']} (epoch "
                   f"{lease['epoch']}), renewed {lease['renewed_ago_s']:.1f} s ago, {state}")
    elif all(m.get("role") == "single" for m in members):
        typer.echo("one manager (SQLite site: no standby)")


def sites(
    connect: str | None = ConnectOption,
    credentials: Path | None = CredentialsOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Every site whose managers answer through this router (meshed routers included),
    with its leader and standbys."""
    members = gather(connect, "**/manager/members", credentials=credentials)
    by_site: dict[str, list[dict[str, Any]]] = {}
    for m in members:
        by_site.setdefault(str(m.get("interface")), []).append(m)
    rows: list[dict[str, Any]] = [{"site": site,
             "leader": next((str(m["name"]) for m in ms
                             if m.get("role") in ("leader", "single")), None),
             "epoch": next((m.get("epoch") for m in ms if m.get("role") == "leader"), None),
             "standbys": sorted(str(m["name"]) for m in ms if m.get("role") == "standby")}
            for site, ms in sorted(by_site.items())]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        raise NotReachable("no site's manager answered; is `fleet serve` running?")
    print_table(("site", "leader", "epoch", "standbys"),
                [(r["site"], r["leader"] or "(none)", _text(r["epoch"]),
                  ", ".join(r["standbys"])) for r in rows], right=("epoch",))


def _text(value: Any) -> str:
    return "" if value is None else str(value)
