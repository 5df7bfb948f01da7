"""``fleet samples``: the sample sites, missions, fleets and scenarios shipped with fleet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import typer

from fleet import samples as lib
from fleet.errors import SampleError

app = typer.Typer(help="The sample maps, missions, fleets and simulator scenarios that ship "
                  "with fleet; any command that takes one of their files also takes its name.",
                  invoke_without_command=True)


@app.callback()
def list_(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """List the samples: name, kind, file and what it is."""
    if ctx.invoked_subcommand is not None:
        return
    everything = lib.catalogue()
    if as_json:
        typer.echo(json.dumps([s.to_json() for s in everything], indent=2))
        return
    from fleet.cli.tables import print_table

    print_table(("name", "kind", "file", "description"),
                [(s.name, s.kind.value, s.file, s.description) for s in everything])


@app.command("copy")
def copy(
    name: str = typer.Argument(..., metavar="NAME", help="Sample name (see `fleet samples`)."),
    dest: Path = typer.Argument(..., metavar="DIR", help="Directory to copy into."),
    force: bool = typer.Option(False, "--force",
                               help="Overwrite files in DIR that differ from the sample."),
) -> None:
    """Copy a sample into DIR with what it needs (a map brings its missions, fleets and
    scenarios), in the repository's layout (maps/, missions/, sim/scenarios/) so that the
    paths inside the files hold. Files already in DIR with other content are kept and
    listed, unless --force."""
    try:
        lib.sample(name)
    except SampleError as exc:
        _usage_error(str(exc))
    try:
        done = lib.copy(name, dest, overwrite=force)
    except OSError as exc:
        _usage_error(f"cannot write to {dest}: {exc.strerror or exc}")
    for p in done.written:
        typer.echo(f"wrote {p}")
    for p in done.unchanged:
        typer.echo(f"unchanged {p} (already there)")
    for p in done.kept:
        typer.echo(f"kept {p}: it differs from the sample; --force overwrites it", err=True)


def _usage_error(message: str) -> NoReturn:
    # one line and exit 2, as for any wrong command line
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
