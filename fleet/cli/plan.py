"""``fleet plan``: a verified patrol plan for a mission, offline, from a fleet file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from fleet.errors import MissionError, Problem
from fleet.planning.mission import Objective, load_mission
from fleet.planning.plan import Plan
from fleet.planning.robots import load_fleet


def plan(
    mission_file: Path = typer.Argument(..., metavar="MISSION",
                                       help="Mission file (.yaml), or a sample mission's name "
                                       "(`fleet samples`: coal-mine-gas-patrol)."),
    fleet_file: Path | None = typer.Option(
        None, "--fleet", help="Fleet file or sample fleet name; default: the mission's "
        "`fleet`."),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.5,
                                     help="Solver time limit in seconds."),
    objective: Objective | None = typer.Option(
        None, "--objective", help="Override the mission's objective."),
    seed: int = typer.Option(0, "--seed", help="Solver seed (same seed, same plan)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole plan as JSON."),
    render: Path | None = typer.Option(
        None, "--render", help="Draw the routes on the map (.svg or .png)."),
) -> None:
    """Plan MISSION: assign and order inspections, insert charging, verify, show."""
    from fleet.planning.planner import plan_mission
    from fleet.samples import resolve

    mission_file = resolve(mission_file)
    if fleet_file is not None:
        fleet_file = resolve(fleet_file)
    mission = load_mission(mission_file)
    fleet_path = fleet_file or mission.fleet_path
    if fleet_path is None:
        raise MissionError(Problem(
            "offline planning needs a fleet file: pass --fleet FILE or set `fleet:` in the "
            "mission", str(mission_file)))
    fleet = load_fleet(fleet_path)
    if as_json:
        result = plan_mission(mission, fleet, time_limit=time_limit, objective=objective,
                              seed=seed)
    else:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("planning: {task.description}"), BarColumn(),
                      TimeElapsedColumn(), transient=True) as bar:
            job = bar.add_task("metric closure", total=1.0)

            def step(message: str, fraction: float) -> None:
                bar.update(job, description=message, completed=fraction)

            result = plan_mission(mission, fleet, time_limit=time_limit,
                                  objective=objective, seed=seed, progress=step)
    if render is not None:
        from fleet.facility.render import render_facility

        routes = {f"{r.serial} ({r.robot_class})": r.route for r in result.robots}
        render_facility(mission.facility, render, routes=routes,
                        title=f"{mission.name}: {result.objective} plan")
    if as_json:
        data = result.to_json()
        data["verified"] = True
        if render is not None:
            data["render"] = str(render)
        typer.echo(json.dumps(data, indent=2))
        return
    _print_summary(result, render)


def _print_summary(result: Plan, render: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{result.mission} — {result.objective} plan (verified)")
    for col in ("robot", "class", "points", "metres", "h:mm:ss", "Wh", "charges"):
        table.add_column(col, justify="left" if col in ("robot", "class") else "right")
    for r in result.robots:
        table.add_row(r.serial, r.robot_class, str(len(r.inspections)),
                      f"{r.distance_m:,.0f}", _hms(r.finish), f"{r.energy_wh():,.0f}",
                      str(r.charging_stops))
    console.print(table)
    served = sum(len(r.inspections) for r in result.robots)
    console.print(f"makespan {_hms(result.makespan_s)}, total distance "
                  f"{result.distance_m:,.0f} m, {served} inspections planned, "
                  f"{len(result.unassigned)} unassigned, planned in "
                  f"{result.solver_seconds:.2f} s ("
                  + ("converged" if result.solver_stop == "converged" else
                     "stopped at the time limit") + ")")
    for u in result.unassigned:
        console.print(f"  unassigned {u.point}: {u.reason.value}"
                      + (f" ({u.detail})" if u.detail else ""))
    if render is not None:
        console.print(f"routes drawn in {render}")


def _hms(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
