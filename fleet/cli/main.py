"""Entry point of the ``fleet`` command.

The only place where logging handlers are configured and where :class:`FleetError` becomes
a one-line message per problem and an exit code:

- 1: invalid input (a map, mission or fleet file) or a plan that cannot be made;
- 2: a wrong command line (click's own convention, and :class:`UsageError`), no
  manager/router reachable, or the network failing under the transport seam;
- 130: interrupted.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import typer
from typer.core import TyperGroup

from fleet.errors import FleetError, TransportError, UsageError


def error_lines(exc: FleetError) -> list[str]:
    """The lines the CLI prints for an error: one per problem when it carries several."""
    problems = getattr(exc, "problems", None)
    if problems:
        return [str(p) for p in problems]
    return [str(exc) or type(exc).__name__]


class _Group(TyperGroup):
    """Turns our errors into plain messages and exit codes for every sub-command."""

    # typed Any: typer vendors click, and its Context class is private to typer
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except FleetError as exc:
            for line in error_lines(exc):
                typer.echo(f"error: {line}", err=True)
            raise typer.Exit(2 if isinstance(exc, TransportError | UsageError) else 1) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_Group,
    help="Fleet manager for unmanned inspection robots in mines and chemical plants.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@app.callback()
def _main(
    ctx: typer.Context,
    log_level: str = typer.Option(
        "warning", "--log-level", help="debug, info, warning or error (logs go to stderr)."
    ),
    site: str | None = typer.Option(
        None, "--site", help="Address one site of a mining group: its interface becomes "
        "SITE/uagv (sets FLEET_INTERFACE for the command; an explicit --interface wins)."),
) -> None:
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise typer.BadParameter(f"unknown log level {log_level!r}", param_hint="--log-level")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if site is not None:
        from fleet.errors import ProtocolError
        from fleet.protocol.keys import DEFAULT_INTERFACE, check_interface
        try:
            interface = check_interface(f"{site}/{DEFAULT_INTERFACE}")
        except ProtocolError as exc:
            raise typer.BadParameter(str(exc), param_hint="--site") from None
        # the sub-command's --interface reads FLEET_INTERFACE when it is parsed (after
        # this callback); restored afterwards, for callers running several commands
        before = os.environ.get("FLEET_INTERFACE")
        os.environ["FLEET_INTERFACE"] = interface
        ctx.call_on_close(lambda: _restore("FLEET_INTERFACE", before))


def _register() -> None:
    from fleet.cli import bench, map, mission, plan, robots, serve, sim

    app.add_typer(map.app, name="map")
    app.command(name="plan")(plan.plan)
    app.command(name="serve")(serve.serve)
    app.add_typer(mission.app, name="mission")
    app.add_typer(robots.app, name="robots")
    app.add_typer(bench.app, name="bench")
    from fleet.cli import anomalies, closures, report, schedule
    app.add_typer(anomalies.app, name="anomalies")
    app.add_typer(closures.app, name="closures")
    app.add_typer(schedule.app, name="schedule")
    app.command(name="report")(report.report)
    app.add_typer(sim.app, name="sim")
    from fleet.cli import demo
    app.command(name="demo")(demo.demo)
    from fleet.cli import dashboard
    app.command(name="dashboard")(dashboard.dashboard)
    from fleet.cli import security
    app.add_typer(security.app, name="security")
    from fleet.cli import samples
    app.add_typer(samples.app, name="samples")
    from fleet.cli import status
    app.command(name="status")(status.status)
    app.command(name="sites")(status.sites)
    from fleet.cli.helptext import flow_app
    flow_app(app)


_register()


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
