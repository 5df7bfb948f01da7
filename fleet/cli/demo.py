"""``fleet demo``: the whole system in one command (the logic is :mod:`sim.demo`)."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import RenderableType

    from sim.demo import Event, Snapshot, Summary

SHOWN_EVENTS = 10
"""Events listed in the live display (the latest)."""

_EVENT_STYLE = {"lost": "bold red", "fault": "red", "takeover": "bold yellow",
                "anomaly": "bold magenta", "mission": "bold green", "silent": "dim",
                "back": "dim", "lockout": "bold red", "closure": "bold yellow",
                "reopen": "green", "reset": "green"}


def demo(
    site: str = typer.Option("coal-mine", "--site",
                             help="coal-mine (methane leak at the longwall face) or "
                             "chemical-plant (H2S leak at a pump, a hot compressor)."),
    robots: int | None = typer.Option(None, "--robots", min=1,
                                      help="Simulated robots (default: 6 on the coal mine, "
                                      "4 on the chemical plant; more repeat the fleet)."),
    speed: float = typer.Option(180.0, "--speed", min=1.0,
                                help="World seconds per real second."),
    fail_at: float = typer.Option(600.0, "--fail-at", min=0.0,
                                  help="World seconds into the mission when a robot dies, "
                                  "when the scenario schedules no failure of its own."),
    timeout: float = typer.Option(240.0, "--timeout", min=1.0,
                                  help="Real seconds after which the demo stops following."),
    out: Path = typer.Option(Path("fleet-demo"), "-o", "--out",
                             help="Directory for the report, the picture and summary.json."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ros2: bool = typer.Option(False, "--ros2", help="Two of the robots are simulated ROS 2 "
                              "Nav2 robots, driven over Zenoh with nothing of ours on them "
                              "(docs/ros2.md)."),
    ros2_profile: str = typer.Option("rmw_zenoh", "--ros2-profile",
                                     help="rmw_zenoh, or ros2dds (zenoh-bridge-ros2dds)."),
    dashboard: bool = typer.Option(False, "--dashboard", help="Serve the live dashboard of "
                                   "the demo's manager while it runs (docs/dashboard.md)."),
    http: str = typer.Option("127.0.0.1:8080", "--http", metavar="HOST:PORT",
                             help="Where --dashboard serves (loopback)."),
) -> None:
    """Run the manager, a simulated mixed fleet and a patrol with a seeded leak and a
    robot that dies mid-mission; show it live; summarise and write the report.

    Exit 0 when the mission completed, the lost robot's work was finished by others and
    every seeded source was found where it is; 1 otherwise (the summary says why).
    """
    from rich.console import Console
    from rich.live import Live

    from sim.demo import SITES, Demo, DemoOptions

    if site not in SITES:
        raise typer.BadParameter(f"{site!r} is not a demo site; choose one of "
                                 f"{', '.join(SITES)}", param_hint="--site")
    if not math.isfinite(speed):
        raise typer.BadParameter("speed must be a finite number", param_hint="--speed")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "demo.log").touch()
    except OSError as exc:
        raise typer.BadParameter(f"cannot write to {out}: {exc.strerror or exc}",
                                 param_hint="--out") from None
    if ros2_profile not in ("rmw_zenoh", "ros2dds"):
        raise typer.BadParameter(f"{ros2_profile!r} is not a profile; choose rmw_zenoh or "
                                 "ros2dds", param_hint="--ros2-profile")
    runner = Demo(DemoOptions(site=site, robots=robots, speed=speed, fail_at_s=fail_at,
                              timeout_s=timeout, out=out,
                              ros2=ros2_profile if ros2 else None))
    page = _Page(http) if dashboard else None
    log_path = _log_to_file(out / "demo.log")
    console = Console(stderr=as_json)
    console.print(f"[bold]fleet demo[/]: {runner.scenario.name} - {runner.scenario.description}")
    console.print(f"starting the manager (embedded Zenoh router, SQLite) and the simulated "
                  f"fleet at {speed:g}x real time ...")
    on_manager = None
    if page is not None:
        console.print(f"the live dashboard: {page.url}")
        on_manager = page.start
    try:
        if console.is_terminal and not as_json:
            with Live(console=console, refresh_per_second=4) as live:
                summary = runner.run(on_update=lambda s: live.update(_display(s)),
                                     on_manager=on_manager)
        else:
            seen = [0]

            def lines(s: Snapshot) -> None:
                for e in s.events[seen[0]:]:
                    console.print(_event_line(e), highlight=False)
                seen[0] = len(s.events)

            summary = runner.run(on_update=lines, on_manager=on_manager)
            for e in runner.events[seen[0]:]:  # those after the last look (the end)
                console.print(_event_line(e), highlight=False)
    finally:
        if page is not None:
            page.stop()
    if as_json:
        typer.echo(json.dumps(summary.to_json(), indent=2))
    else:
        console.print(_summary(summary))
        console.print(f"  manager log: {log_path}")
    if summary.problems:
        raise typer.Exit(1)


class _Page:
    """``--dashboard``: the address is taken before the demo starts (a port in use is one
    line, exit 2), the page served once the demo's manager runs."""

    def __init__(self, http: str) -> None:
        from fleet.dashboard.access import check_binding
        from fleet.dashboard.server import Options, bind, parse_http

        host, port = parse_http(http)
        self.options = Options(host=host, port=port, local_name="demo supervisor")
        # the demo's page has no TLS nor authentication: loopback only
        check_binding(host, tls=False, access=self.options.access())
        self.sock = bind(host, port)
        self.url = f"http://{host}:{port}/"
        self._stop: Callable[[], None] | None = None

    def start(self, endpoint: str) -> None:
        from fleet.comms.bus import Bus
        from fleet.comms.config import client_config
        from fleet.dashboard.server import serve_in_background

        self._stop = serve_in_background(
            self.options, lambda: Bus.open(client_config([endpoint], timeout_ms=2000)),
            "uagv", where=endpoint, sock=self.sock)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
        else:
            self.sock.close()


def _log_to_file(path: Path) -> Path:
    """Send every log record (the manager's at INFO: robots lost, replanning, anomalies) to
    ``path`` instead of stderr, where it would tear the live display."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(min(root.level, logging.INFO))
    return path


def _clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _event_line(e: Event) -> str:
    from rich.markup import escape

    style = _EVENT_STYLE.get(e.kind, "default")
    return f"{_clock(e.world_s)}  [{style}]{e.kind:<8}[/] {escape(e.text)}"


def _display(s: Snapshot) -> RenderableType:
    from rich.console import Group
    from rich.table import Table

    mission = s.mission or {}
    ins = mission.get("inspections") or {}
    work = {a["serial"]: a for a in mission.get("robots") or []}
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("time", f"world {_clock(s.world_s)}, real {s.wall_s:.0f} s, {s.speed:g}x")
    head.add_row("mission", f"{mission.get('status', '-')}: {ins.get('done', 0)}/"
                 f"{ins.get('total', 0)} inspected, {ins.get('waiting', 0)} waiting")
    head.add_row("anomalies", str(len(s.anomalies)))
    robots = Table("robot", "status", "battery", "at", "inspections", title="robots",
                   title_justify="left")
    for r in sorted(s.robots, key=lambda r: str(r["serial"])):
        a = work.get(r["serial"])
        done = "-" if a is None else (f"{a['inspections']['done']}/"
                                      f"{a['inspections']['total']}")
        status = str(r["status"]).replace("_", " ")
        style = "red" if status in ("connection broken", "offline", "silent") else ""
        battery = r.get("battery")
        robots.add_row(str(r["serial"]), f"[{style}]{status}[/]" if style else status,
                       "-" if battery is None else f"{battery:.0f} %",
                       str(r.get("last_node") or "-"), done)
    events = Table.grid(padding=(0, 1))
    for e in s.events[-SHOWN_EVENTS:]:
        events.add_row(_event_line(e))
    return Group(head, robots, events)


def _summary(s: Summary) -> str:
    from sim.demo import anomaly_text

    lines = ["", "[bold]summary[/]",
             f"  mission {s.status}: {s.done}/{s.total} inspections completed, "
             f"{s.results} results stored once each; world {_clock(s.world_s)} in "
             f"{s.wall_s:.0f} s real"]
    for r in s.lost:
        by: dict[str, list[str]] = {}
        for point, serial in r.finished_by.items():
            by.setdefault(serial, []).append(point)
        taken = "; ".join(f"{serial} finished {', '.join(points)}"
                          for serial, points in sorted(by.items())) or "nobody finished them"
        lines.append(f"  robot lost: {r.serial} at {_clock(r.at_s)} with "
                     f"{len(r.unfinished)} inspection(s) left - {taken}")
        if r.reassigned_s is not None:
            lines.append(f"    its points were given to others {r.reassigned_s:.2f} s "
                         "(real) after it was declared lost")
    for point, why in s.dropped.items():
        lines.append(f"  dropped: {point} - {why}")
    lines.append(f"  anomalies: {len(s.anomalies)}")
    for a in sorted(s.anomalies, key=lambda a: -float(a.get("peak") or 0.0))[:12]:
        lines.append(f"    #{a['id']} {str(a['severity']).upper():<8} {anomaly_text(a)} at "
                     f"{a['inspection_point_id']}")
    lines += _interlock(s)
    for c in s.sources:
        mark = "[green]found[/]" if c.ok else "[red]NOT FOUND[/]"
        lines.append(f"  seeded {c.kind} ({c.sensor}) at {c.node}: {mark} - {c.why}; "
                     f"anomalies at {', '.join(c.found) or 'none'} (expected past the "
                     f"threshold: {', '.join(c.expected) or 'none'})")
    for name, path in s.files.items():
        lines.append(f"  {name}: {path}")
    for p in s.problems:
        lines.append(f"  [red]problem[/]: {p}")
    return "\n".join(lines)


def _interlock(s: Summary) -> list[str]:
    """The methane interlock's lines of the summary (none when nothing happened)."""
    i = s.interlock
    if not (i.lockouts or i.closures):
        return []
    lines = []
    for lo in i.lockouts:
        lines.append(f"  lockout: {lo['serial']} at {lo['node']} ({lo['reading']}), "
                     + ("reset by people" if lo["reset"] else "[red]not reset[/]"))
    for c in i.closures:
        lines.append(f"  gas closure C-{c['id']}: {c['area']} round {c['node']} "
                     f"({', '.join(c['nodes'] or ())}); "
                     + (f"reopened by {c['reopened_by']}" if c.get("reopened_at")
                        else "[red]still open[/]"))
    by: dict[str, list[str]] = {}
    for point, serial in i.face.items():
        by.setdefault(serial, []).append(point)
    if by:
        lines.append("  the face finished by: " + "; ".join(
            f"{serial} ({', '.join(points)})" for serial, points in sorted(by.items())))
    mark = "[green]held[/]" if not i.intrusions else \
        f"[red]FAILED[/] ({len(i.intrusions)} states inside)"
    lines.append(f"  check: no robot not rated Ma ({', '.join(i.unrated)}) inside a gas "
                 f"closure while it was open, from the states they published: {mark}")
    return lines
