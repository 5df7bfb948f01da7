"""``fleet map``: inspect, check, convert, route on and draw facility maps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from fleet.errors import MapError, Problem
from fleet.facility import formats
from fleet.facility.model import Access, Facility
from fleet.facility.protection import Epl, parse_ratings

app = typer.Typer(help="Facility maps: info, validate, convert, route, render, blocks.",
                  no_args_is_help=True)


def _load(path: Path) -> Facility:
    return formats.load(path)


def facility_info(fac: Facility) -> dict[str, Any]:
    """The facts ``fleet map info --json`` prints (a stable, documented shape)."""
    layout = fac.layout
    longest = layout.longest_block()
    levels = []
    for lv in fac.levels.values():
        levels.append({"id": lv.id, "name": lv.name, "z": lv.z,
                       "nodes": len(fac.level_nodes(lv.id))})
    return {
        "name": fac.name,
        "kind": fac.kind.value if fac.kind is not None else None,
        "group": fac.group.value if fac.group is not None else None,
        "nodes": len(fac.nodes),
        "edges": len(fac.edges),
        "length_m": round(sum(e.length for e in fac.edges), 1),
        "levels": levels,
        "inspection_points": fac.inspection_points,
        "chargers": fac.chargers,
        "docks": [n.id for n in fac.nodes_of_kind(_kind("dock"))],
        "refuges": [n.id for n in fac.nodes_of_kind(_kind("refuge"))],
        "single_lane_edges": sum(1 for e in fac.edges if e.single_lane),
        "closed_edges": sum(1 for e in fac.edges if e.closed),
        "blocks": len(layout.blocks),
        "longest_block_m": round(longest.length_m, 1) if longest is not None else None,
        "passing_bays": layout.passing_bays(),
        "zones": [{"id": z.id, "kind": z.kind.value, "level": z.level,
                   **({"atex_zone": z.atex_zone} if z.atex_zone is not None else {}),
                   **({"reason": z.reason.value} if z.reason is not None else {})}
                  for z in fac.zones],
    }


def _kind(value: str) -> Any:
    from fleet.facility.model import NodeKind

    return NodeKind(value)


@app.command()
def info(
    file: Path = typer.Argument(..., help="Map file (.yaml, .geojson, .graph, .csv)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Counts and lists: nodes, edges, single-lane blocks, passing bays, levels, inspection
    points, chargers, zones."""
    data = facility_info(_load(file))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{data['name']}[/bold]  ({file})")
    table = Table(show_header=False, box=None)
    table.add_row("site", f"{data['kind']} (explosion group {data['group']})"
                  if data["kind"] else "kind not declared (zones 0/1/2 with Ga/Gb/Gc)")
    table.add_row("nodes", str(data["nodes"]))
    table.add_row("edges", f"{data['edges']} ({data['length_m']} m, "
                  f"{data['single_lane_edges']} single-lane, {data['closed_edges']} closed)")
    longest = data["longest_block_m"]
    table.add_row("single-lane blocks", f"{data['blocks']}"
                  + (f" (longest {longest} m)" if longest is not None else ""))
    table.add_row("passing bays", f"{len(data['passing_bays'])}"
                  + (f": {_clip(data['passing_bays'])}" if data["passing_bays"] else ""))
    table.add_row("levels", ", ".join(f"{lv['id']} ({lv['nodes']} nodes)"
                                      for lv in data["levels"]))
    table.add_row("inspection points", f"{len(data['inspection_points'])}: "
                  + _clip(data["inspection_points"]))
    table.add_row("chargers", _clip(data["chargers"]))
    table.add_row("refuges", _clip(data["refuges"]) or "-")
    table.add_row("zones", _clip([f"{z['id']} ({z['kind']})" for z in data["zones"]]) or "-")
    console.print(table)


def _clip(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit})" if len(items) > limit else "")


@app.command()
def validate(
    files: list[Path] = typer.Argument(..., help="Map files to check."),
    fleet_file: Path | None = typer.Option(
        None, "--fleet", help="Also check this fleet file's robot classes against each "
        "map's explosion group (ratings, docs/gas-safety.md)."),
) -> None:
    """Check maps; print every problem (file:line: element: reason) and exit 1 if any."""
    from fleet.anomaly.limits import site_problems
    from fleet.planning.robots import load_fleet, rating_problems

    fleet = load_fleet(fleet_file) if fleet_file is not None else None
    problems: list[Problem] = []
    for f in files:
        try:
            fac = _load(f)
        except MapError as exc:
            problems.extend(exc.problems)
            continue
        found = site_problems(fac, file=str(f))  # fixed sensors, limits, interlock levels
        found += rating_problems(fleet, fac) if fleet is not None else []
        if found:
            problems.extend(found)
            continue
        typer.echo(f"{f}: ok ({len(fac.nodes)} nodes, {len(fac.edges)} edges, "
                   f"{len(fac.inspection_points)} inspection points)")
    if problems:
        raise MapError(problems)


@app.command()
def convert(
    src: Path = typer.Argument(..., help="Input map (.yaml, .geojson, .graph, .csv)."),
    dst: Path = typer.Argument(..., help="Output map (.yaml or .geojson)."),
) -> None:
    """Convert a map between formats, chosen by file extension."""
    fac = _load(src)
    formats.save(fac, dst)
    typer.echo(f"wrote {dst} ({len(fac.nodes)} nodes, {len(fac.edges)} edges)")


def parse_access(spec: str | None) -> Access | None:
    """A robot's access from ``--robot-class``: ``epl=Mb+Gb,cap=ladder+winch,speed=1.2``
    (every part optional; ``epl=none`` for an unrated robot, ``+`` between ratings)."""
    if spec is None:
        return None
    ratings: frozenset[Epl] = frozenset()
    caps: set[str] = set()
    speed = 1.0
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        value = value.strip()
        if not sep:
            raise typer.BadParameter(
                f"expected key=value, got {part!r}", param_hint="--robot-class")
        if key == "epl":
            try:
                ratings = parse_ratings([v for v in value.split("+") if v.strip()]
                                        if value.lower() != "none" else None)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--robot-class") from None
        elif key in ("cap", "caps", "capabilities"):
            caps |= {c for c in value.split("+") if c}
        elif key == "speed":
            try:
                speed = float(value)
                Access(speed=speed)
            except ValueError:
                raise typer.BadParameter(
                    f"speed must be a positive number, got {value!r}",
                    param_hint="--robot-class") from None
        else:
            raise typer.BadParameter(
                f"unknown key {key!r} (epl, cap, speed)", param_hint="--robot-class")
    return Access(ratings=ratings, capabilities=frozenset(caps), speed=speed)


@app.command()
def route(
    file: Path = typer.Argument(..., help="Map file."),
    source: str = typer.Argument(..., metavar="FROM", help="Start node id."),
    target: str = typer.Argument(..., metavar="TO", help="End node id."),
    robot_class: str | None = typer.Option(
        None, "--robot-class",
        help="The robot's access, e.g. 'epl=Mb,cap=ladder,speed=1.2' ('epl=Mb+Gb' for "
        "two ratings). Without it, only "
        "closed edges and no-go zones are avoided."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Shortest path between two nodes honouring closures, one-way edges and zones."""
    from fleet.facility.routing import shortest_route

    access = parse_access(robot_class)
    fac = _load(file)
    for nid in (source, target):
        if nid not in fac.nodes:
            raise MapError(Problem(f"unknown node {nid!r}", str(file)))
    found = shortest_route(fac, source, target, access=access)
    if found is None:
        raise MapError(Problem(
            f"no route from {source} to {target} for this robot", str(file)))
    if as_json:
        typer.echo(json.dumps({"from": source, "to": target, "length_m": found.length_m,
                               "time_s": found.time_s, "nodes": list(found.nodes)}, indent=2))
    else:
        typer.echo(f"{found.length_m:.1f} m, {found.time_s:.0f} s, "
                   f"{len(found.nodes)} nodes: " + " -> ".join(found.nodes))


@app.command()
def render(
    file: Path = typer.Argument(..., help="Map file."),
    out: Path = typer.Option(..., "-o", "--out", help="Picture to write (.svg or .png)."),
    level: str | None = typer.Option(None, "--level", help="Draw only this level."),
) -> None:
    """Draw the map: levels, corridors, zones, chargers, docks, refuges, inspection points,
    passing bays."""
    from fleet.facility.render import render_facility

    fac = _load(file)
    if level is not None and level not in fac.levels:
        raise MapError(Problem(
            f"unknown level {level!r} (levels: {', '.join(fac.levels)})", str(file)))
    render_facility(fac, out, level=level)
    typer.echo(f"wrote {out}")


def block_rows(fac: Facility) -> list[dict[str, Any]]:
    """The rows ``fleet map blocks --json`` prints (a stable, documented shape): one per
    single-lane block (:mod:`fleet.facility.blocks`), in the layout's order."""
    return [{"id": b.id, "ends": list(b.ends), "length_m": round(b.length_m, 1),
             "edges": len(b.edges), "inside": len(b.inside)} for b in fac.layout.blocks]


@app.command()
def blocks(
    file: Path = typer.Argument(..., help="Map file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """The single-lane blocks: the stretches traffic control gives to one direction at a
    time, each between the places where robots can wait or pass. One line per block: id,
    ends, length in metres, edges and nodes inside; the longest first in the table."""
    from fleet.cli.tables import print_table

    rows = block_rows(_load(file))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no single-lane blocks")
        return
    rows.sort(key=lambda r: -float(r["length_m"]))
    print_table(["block", "ends", "length m", "edges", "inside"],
                [[r["id"], ", ".join(r["ends"]) or "-", f"{r['length_m']:.1f}",
                  str(r["edges"]), str(r["inside"])] for r in rows],
                right=("length m", "edges", "inside"))
