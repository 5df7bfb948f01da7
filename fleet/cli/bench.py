"""``fleet bench``: the project's performance benchmarks (figures are medians)."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="Benchmarks: closure, vrplib.", no_args_is_help=True)


@app.command()
def closure(
    points: int = typer.Option(1000, "--points", min=2, help="Points in the closure."),
    nodes: int = typer.Option(100_000, "--nodes", min=10, help="Nodes of the generated mine."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Timed runs (the median is shown)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the generated mine and points."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Time the metric closure among POINTS points of a generated mine-like graph."""
    from fleet.facility.closure import benchmark_closure

    result = benchmark_closure(points=points, nodes=nodes, repeats=repeats, seed=seed)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(
            f"metric closure, {result['points']} points on {result['nodes']} nodes: "
            f"median {result['median_s']:.3f} s over {result['repeats']} runs "
            f"(min {result['min_s']:.3f} s, max {result['max_s']:.3f} s)")
