"""``fleet sim``: simulated robots on the real agent SDK (the :mod:`sim` package).

This is the one place where ``fleet`` reaches into ``sim``, inside the command, so that the
product never depends on the simulator.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sim.runner import Progress

app = typer.Typer(help="Simulated robots: run a scenario end to end.", no_args_is_help=True)

SHOWN_HIGH = 12
"""High readings listed in the live display (the latest)."""


@app.command()
def run(
    scenario: Path = typer.Argument(..., help="Scenario file, or a sample scenario's name "
                                  "(`fleet samples`)."),
    robots: int | None = typer.Option(
        None, "--robots", min=1, help="Simulated robots (default: the scenario's fleet; "
        "more repeat it)."),
    speed: float = typer.Option(1.0, "--speed", min=0.001,
                                help="World seconds per real second."),
    connect: str | None = typer.Option(
        None, "--connect", help="Router of a running manager (it must run at the same "
        "speed); default: start a manager of its own."),
    processes: bool = typer.Option(False, "--processes",
                                   help="One process per robot instead of one for all."),
    fleet_process: bool | None = typer.Option(
        None, "--fleet-process/--fleet-here", help="Run the robots in one process of their "
        "own beside the manager, or in this one (default: own process beyond 100 robots)."),
    tickers: int = typer.Option(1, "--tickers", min=1,
                                help="State threads (and link queues) of the robots."),
    dwell: float | None = typer.Option(None, "--dwell", min=0.0,
                                       help="Override every task's dwell (seconds)."),
    mission: bool = typer.Option(True, "--mission/--no-mission",
                                 help="Launch the scenario's mission."),
    duration: float | None = typer.Option(
        None, "--duration", min=0.0, help="Stop once the world clock (started with the "
        "run) reads this many seconds (needed without a mission)."),
    timeout: float | None = typer.Option(None, "--timeout", min=0.0,
                                         help="Stop after this many real seconds."),
    plan_time_limit: float = typer.Option(2.0, "--plan-time-limit", min=0.1,
                                          help="Solver seconds per (re)planning (own "
                                          "manager)."),
    interface: str = typer.Option("uagv", "--interface", envvar="FLEET_INTERFACE",
                                  help="VDA 5050 interface name of the site."),
    seed: int | None = typer.Option(None, "--seed", min=0,
                                    help="Random seed of the world and the links "
                                    "(default: the scenario's)."),
    ghosts: bool = typer.Option(False, "--ghosts",
                                help="Let robots pass through each other (the baseline "
                                "without physical space)."),
    sensor_period: float = typer.Option(
        10.0, "--sensor-period", min=0.0, help="World seconds between two readings of each "
        "fixed sensor the map lists (site.meta.sensors); 0: publish none."),
    mqtt: str | None = typer.Option(
        None, "--mqtt", help="An MQTT broker (mqtt://HOST:PORT): the first --mqtt-robots "
        "robots talk VDA 5050 through it, the others over Zenoh; the run's own manager "
        "serves both (with --connect, serve that manager with the same --mqtt)."),
    mqtt_robots: int = typer.Option(0, "--mqtt-robots", min=0,
                                    help="How many robots are on MQTT (needs --mqtt)."),
    as_json: bool = typer.Option(False, "--json", help="Print the final summary as JSON."),
) -> None:
    """Run SCENARIO's robots (and, by default, its mission) until the mission is over.

    Without --connect a manager of its own runs alongside (embedded router on a free
    loopback port, SQLite in a temporary directory). Robots are physical: they wait for
    each other at full nodes, on single-lane drifts and behind each other (unless
    --ghosts); a run in which every robot with work left is deadlocked ends there. Shows
    robots, inspections and high readings as they come; the summary counts standoffs,
    deadlocks and the time robots waited for each other. Exit 0 when the mission
    completed (or ran for --duration without one), 1 otherwise.
    """
    from dataclasses import replace

    from rich.console import Console
    from rich.live import Live

    from fleet.samples import resolve
    from sim.runner import RunOptions, SimRun
    from sim.scenario import load_scenario
    from sim.space import SpaceParams

    if not math.isfinite(speed):
        raise typer.BadParameter("speed must be a finite number", param_hint="--speed")
    sc = load_scenario(resolve(scenario))
    if seed is not None:
        sc = replace(sc, seed=seed)
    if not mission and duration is None and timeout is None:
        raise typer.BadParameter("without a mission, give --duration or --timeout",
                                 param_hint="--duration")
    if mission and sc.mission is None and duration is None and timeout is None:
        raise typer.BadParameter(f"scenario {sc.name!r} has no mission: give --duration",
                                 param_hint="--duration")
    if mqtt_robots and mqtt is None:
        raise typer.BadParameter("robots on MQTT need --mqtt", param_hint="--mqtt-robots")
    options = RunOptions(speed=speed, robots=robots, connect=(connect,) if connect else (),
                         processes=processes, fleet_process=fleet_process,
                         tickers=tickers, dwell_s=dwell, launch=mission,
                         interface=interface, plan_time_limit=plan_time_limit,
                         space=SpaceParams(ghosts=ghosts),
                         sensor_period_s=sensor_period or None, mqtt=mqtt,
                         mqtt_robots=mqtt_robots)
    console = Console(stderr=as_json)
    if connect and speed != 1.0:
        console.print(f"note: the manager at {connect} must run at speed {speed:g} too "
                      "(its timeouts in world seconds)")
    with SimRun(sc, options) as sim:
        if as_json or not console.is_terminal:
            seen = [0]

            def lines(p: Progress) -> None:
                for h in p.high[seen[0]:]:
                    console.print(_high_line(h.at, h.serial, h.point, h.sensor, h.value,
                                             h.unit))
                seen[0] = len(p.high)

            final = sim.run(duration=duration, timeout=timeout, on_progress=lines)
        else:
            with Live(console=console, refresh_per_second=4) as live:
                final = sim.run(duration=duration, timeout=timeout,
                                on_progress=lambda p: live.update(_display(sc.name, p)))
    if as_json:
        typer.echo(json.dumps(final.to_json(), indent=2))
    else:
        console.print(_summary(final))
    ok = final.mission_status == "completed" if final.mission_id else True
    if not ok:
        raise typer.Exit(1)


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _high_line(at: float, serial: str, point: str, sensor: str, value: float,
               unit: str) -> str:
    return f"{_clock(at)}  HIGH  {sensor} {value:g} {unit} at {point} ({serial})"


def _summary(p: Progress) -> str:
    ins = p.inspections
    mission = (f"mission {p.mission_status}: {ins.get('done', 0)}/{ins.get('total', 0)} "
               f"inspected, {ins.get('failed', 0)} failed, {ins.get('dropped', 0)} dropped"
               if p.mission_id else "no mission")
    if p.makespan_s is not None:
        mission += f" in {_clock(p.makespan_s)}"
    if p.stalled:
        mission += " (stopped: every robot with work left is deadlocked)"
    space = ("robots pass through each other (ghosts)" if p.space is None else
             f"{p.standoffs} standoffs, {p.deadlocks} deadlocks, robots waited "
             f"{p.robot_wait_s:.0f} s for each other")
    return (f"{mission}; {p.results} results, {len(p.high)} high readings; {space}; "
            f"world {_clock(p.world_s)} in {p.wall_s:.1f} s real "
            f"(speed {p.speed:g}x, seed {p.seed})")


def _display(name: str, p: Progress) -> RenderableType:
    from rich.console import Group
    from rich.table import Table

    ins = p.inspections
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    eff = "" if p.effective_speed is None else f" (bodies at {p.effective_speed:.1f}x)"
    head.add_row("scenario", name)
    head.add_row("time", f"world {_clock(p.world_s)}, real {p.wall_s:.0f} s, "
                 f"speed {p.speed:g}x{eff}")
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(p.robot_status.items())) or "-"
    head.add_row("robots", f"{p.alive}/{p.robots} running; manager: {statuses}")
    if p.mission_id:
        head.add_row("mission", f"{p.mission_status}: {ins.get('done', 0)}/"
                     f"{ins.get('total', 0)} inspected, {ins.get('failed', 0)} failed, "
                     f"{ins.get('dropped', 0)} dropped, {ins.get('waiting', 0)} waiting")
    rate = "" if p.states_per_s is None else f"; manager handles {p.states_per_s:,.0f} states/s"
    head.add_row("results", f"{p.results} received, {len(p.high)} high readings{rate}")
    if p.space is not None:
        head.add_row("space", f"{len(p.space.waiting)} waiting now; {p.standoffs} standoffs, "
                     f"{p.deadlocks} deadlocks, {p.robot_wait_s:.0f} s waited")
    high = Table("world time", "robot", "point", "reading", title="high readings",
                 title_justify="left")
    for h in p.high[-SHOWN_HIGH:]:
        high.add_row(_clock(h.at), h.serial, h.point, f"{h.sensor} {h.value:g} {h.unit}")
    return Group(head, high) if p.high else head
