"""``fleet report``: the HTML report of a mission, for a shift supervisor."""

from __future__ import annotations

from pathlib import Path

import typer

from fleet.cli.remote import ConnectOption, CredentialsOption, InterfaceOption, ask


def report(
    mission_id: str = typer.Argument(..., metavar="MISSION_ID", help="Mission id (or a "
                                     "unique prefix of 4+ characters)."),
    out: Path = typer.Option(Path("report.html"), "-o", "--output", help="HTML file to write."),
    map_file: Path | None = typer.Option(
        None, "--map", help="The site map, when the manager no longer has the one the "
        "mission was launched with."),
    connect: str | None = ConnectOption,
    interface: str = InterfaceOption,
    credentials: Path | None = CredentialsOption,
) -> None:
    """Write a mission's report: what needs action, the map with the routes driven and
    the anomalies found, every anomaly, and the readings per inspection point."""
    from fleet.anomaly.record import MissionRecord
    from fleet.anomaly.report import mission_facility, render_report

    record = MissionRecord.from_json(ask(connect, interface, "report",
                                         {"mission_id": mission_id}, timeout=20.0,
                                         credentials=credentials))
    render_report(record, out, mission_facility(record, map_file=map_file))
    n = len(record.anomalies)
    typer.echo(f"report of {record.mission.name} ({n} anomal{'y' if n == 1 else 'ies'}) "
               f"written to {out}", err=True)
