"""``fleet bench``: the project's performance benchmarks (figures are medians)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from fleet.errors import FleetError

app = typer.Typer(help="Benchmarks: closure, vrplib, plan, dispatch, sim, ros2, ingest, "
                  "traffic, patrol, failover.", no_args_is_help=True)


@app.command()
def closure(
    points: int = typer.Option(1000, "--points", min=2, help="Points in the closure."),
    nodes: int = typer.Option(100_000, "--nodes", min=100, help="Nodes of the generated mine."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Timed runs (the median is shown)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the generated mine and points."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Time the metric closure among POINTS points of a generated mine-like graph."""
    from fleet.bench.closure import benchmark_closure

    try:
        result = benchmark_closure(points=points, nodes=nodes, repeats=repeats, seed=seed)
    except ValueError as exc:  # a mine too small for the points asked for
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(
            f"metric closure, {result['points']} points on {result['nodes']} nodes: "
            f"median {result['median_s']:.3f} s over {result['repeats']} runs "
            f"(min {result['min_s']:.3f} s, max {result['max_s']:.3f} s); "
            f"mine built in {result['generate_s']:.2f} s, arcs in {result['build_s']:.2f} s, "
            f"searched graph {result['graph_nodes']} nodes / {result['graph_arcs']} arcs")


class _Objective(StrEnum):
    DISTANCE = "distance"
    MAKESPAN = "makespan"


@app.command()
def schedules(
    count: int = typer.Option(10_000, "--count", min=1, help="Schedules."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Timed runs (median shown)."),
    idle: float = typer.Option(5.0, "--idle", min=0.5, help="Seconds the idle scheduler "
                               "thread is watched."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Time every next run of COUNT schedules, their loading by a scheduler, and the CPU
    its thread uses while nothing is due."""
    from fleet.bench.schedules import benchmark_schedules

    r = benchmark_schedules(count=count, repeats=repeats, idle_s=idle)
    if as_json:
        typer.echo(json.dumps(r, indent=2))
        return
    typer.echo(f"{r['count']} schedules: every next run in {r['next_median_s']:.3f} s CPU "
               f"(median of {r['repeats']}; min {r['next_min_s']:.3f}, max "
               f"{r['next_max_s']:.3f}); loaded by a scheduler in {r['restore_s']:.2f} s; "
               f"idle scheduler thread used {r['idle_cpu_s'] * 1000:.1f} ms CPU in "
               f"{r['idle_s']:g} s")


@app.command()
def vrplib(
    files: list[Path] = typer.Argument(..., help="VRPLIB .vrp/.tsp files (TSP or CVRP)."),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.01,
                                     help="Seconds per instance."),
    robots: int | None = typer.Option(
        None, "--robots", min=1,
        help="Vehicles available, all at the depot (default: 1 for TSP, as many as needed "
             "for CVRP)."),
    objective: _Objective = typer.Option(_Objective.DISTANCE, "--objective",
                                         help="distance (total) or makespan (longest route)."),
    seed: int = typer.Option(0, "--seed", help="Solver seed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Solve VRPLIB instances with the planner's solver; compare to the .sol beside each.

    Prints per instance the value, the best known (last `Cost N` line of the `.sol` file),
    the gap in percent, the seconds and the routes as the file's node ids, depot excluded.
    """
    from fleet.bench.vrplib import bench_instance, read_instance, summary

    instances = [read_instance(f) for f in files]  # every file checked before solving
    results = []
    if as_json:
        for inst in instances:
            results.append(bench_instance(inst, objective=objective.value,
                                          time_limit=time_limit, robots=robots, seed=seed))
        typer.echo(json.dumps(results, indent=2))
        return

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from fleet.planning.solver import SolveProgress

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        for inst in instances:
            task = bar.add_task(inst.name, total=time_limit)

            def show(p: SolveProgress, task: Any = task, name: str = inst.name) -> None:
                best = "" if p.best is None else f"  best {p.best:g}"
                bar.update(task, completed=min(p.elapsed, p.time_limit),
                           description=f"{name} [{p.phase}]{best}")

            results.append(bench_instance(inst, objective=objective.value,
                                          time_limit=time_limit, robots=robots, seed=seed,
                                          progress=show))
            bar.update(task, completed=time_limit)

    table = Table("instance", "objective", "value", "best_known", "gap_pct", "seconds",
                  "routes", "feasible")
    for r in results:
        table.add_row(r["instance"], r["objective"], f"{r['value']:g}",
                      "-" if r["best_known"] is None else f"{r['best_known']:g}",
                      "-" if r["gap_pct"] is None else f"{r['gap_pct']:.2f}",
                      f"{r['seconds']:.1f}", str(len(r["routes"])),
                      "yes" if r["feasible"] else "NO")
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 120))  # keep whole headers in files
    console.print(table)
    stats = summary(results)
    if stats["mean_gap_pct"] is not None:
        console.print(f"mean gap {stats['mean_gap_pct']:.2f} %, "
                      f"worst {stats['max_gap_pct']:.2f} %")
    for r in results:
        typer.echo(f"{r['instance']}:")
        for i, route in enumerate(r["routes"], 1):
            typer.echo(f"  Route #{i}: {' '.join(map(str, route))}")


@app.command()
def plan(
    nodes: int = typer.Option(10_000, "--nodes", min=500, help="Nodes of the generated mine."),
    points: int = typer.Option(500, "--points", min=1, help="Inspection points."),
    robots: int = typer.Option(20, "--robots", min=1, help="Robots in the fleet."),
    time_limit: float = typer.Option(60.0, "--time-limit", min=0.5,
                                     help="Planner time limit (s)."),
    repeats: int = typer.Option(1, "--repeats", min=1, help="Timed runs (median shown)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the generated mine."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Time the whole planner (closures, routing, charging, verification) on a generated
    mine with every inspection point in the mission."""
    from fleet.bench.plan import benchmark_plan

    try:
        result = benchmark_plan(nodes=nodes, points=points, robots=robots,
                                time_limit=time_limit, repeats=repeats, seed=seed)
    except ValueError as exc:  # the generator cannot fit that many points
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(
            f"verified plan for {result['points']} points on {result['nodes']} nodes with "
            f"{result['robots']} robots: median {result['median_s']:.1f} s "
            f"(limit {result['time_limit_s']:.0f} s), {result['served']} served, "
            f"{result['unassigned']} unassigned, makespan {result['makespan_s']:.0f} s")


@app.command()
def replan(
    robots: int = typer.Option(50, "--robots", min=2, help="Robots in the fleet."),
    points: int = typer.Option(500, "--points", min=2, help="Inspection points."),
    nodes: int = typer.Option(5_000, "--nodes", min=500, help="Nodes of the generated mine."),
    events: int = typer.Option(30, "--events", min=1,
                               help="Events (robot lost, closure, robot joined, in turn)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the mine and of the events."),
    replan_limit: float = typer.Option(0.6, "--replan-limit", min=0.1,
                                       help="Time limit of an incremental re-plan (s)."),
    full_limit: float = typer.Option(30.0, "--full-limit", min=0.5,
                                     help="Time limit of the full re-plan compared (s)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Events on a planned mission: time from the event to the new orders published, and
    the makespan after the incremental re-plan against a full re-plan."""
    from fleet.bench.replan import benchmark_replan

    try:
        result = benchmark_replan(robots=robots, points=points, nodes=nodes, events=events,
                                  seed=seed, replan_limit=replan_limit,
                                  full_limit=full_limit)
    except ValueError as exc:  # the generator cannot fit that many points
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"{result['robots']} robots, {result['points']} points, {result['nodes']} "
               f"nodes; first plan {result['plan_s']:.1f} s ({result['plan_stop']})")
    for kind, f in result["by_kind"].items():
        if f["events"]:
            typer.echo(f"  {kind:8} {f['events']:3} events: event to orders p50 "
                       f"{f['latency_p50_s']:.3f} s, p99 {f['latency_p99_s']:.3f} s; makespan "
                       f"vs full re-plan median {f['makespan_ratio_median']:.3f}, max "
                       f"{f['makespan_ratio_max']:.3f}")
    typer.echo(f"  all      p50 {result['latency_p50_s']:.3f} s, p99 "
               f"{result['latency_p99_s']:.3f} s; robots re-planned (median) "
               f"{result['candidates_median']}, changed {result['changed_median']}; orders "
               f"to robots whose round stood: {result['orders_to_unchanged_robots']}; "
               f"full re-plan clearly better: {result['full_switches']}")
    for error in result["errors"]:
        typer.echo(f"  event failed: {error}")


@app.command()
def dispatch(
    agents: int = typer.Option(100, "--agents", min=1, help="Connected robot agents."),
    rounds: int = typer.Option(5, "--rounds", min=1, help="Orders sent to every agent."),
    states: int = typer.Option(20_000, "--states", min=100,
                               help="State messages blasted for the ingestion figure."),
    rate: float = typer.Option(5000.0, "--rate", min=1.0,
                               help="States per second offered for the sustained figure."),
    seconds: float = typer.Option(10.0, "--seconds", min=1.0,
                                  help="How long the sustained offer lasts."),
    live: bool = typer.Option(False, "--live/--no-live",
                              help="Run the live feed with `fleet dashboard` attached and its "
                              "page's stream read (every robot's record changing)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Order-to-state latency (p50/p99) with AGENTS agents, and the manager's state
    ingestion rate, on loopback."""
    from fleet.bench.dispatch import bench_dispatch

    result = bench_dispatch(agents=agents, rounds=rounds, states=states, rate=rate,
                            seconds=seconds, live=live)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(
            f"{result['agents']} agents: order to first state p50 "
            f"{result['order_to_state_p50_ms']} ms, p99 {result['order_to_state_p99_ms']} ms "
            f"({result['samples']} orders); manager ingested "
            f"{result['manager_states_per_s']:,} states/s "
            f"({result['states_handled']}/{result['states_sent']}) flat out, and "
            f"{result['sustained_handled_per_s']:,} states/s of "
            f"{result['sustained_offered_per_s']:,} offered for {result['sustained_seconds']:g} s")
        if live:
            typer.echo(f"dashboard attached: its page got {result.get('live_deltas_per_s')} "
                       f"updates/s, {result.get('live_kb_per_s')} kB/s, "
                       f"{result.get('live_robot_records')} robot records; a live message "
                       f"took {result['live_tick_ms_mean']} ms to build")


@app.command("sim")
def sim_(
    robots: int = typer.Option(1000, "--robots", min=1, help="Simulated robots."),
    minutes: float = typer.Option(10.0, "--minutes", min=0.1,
                                  help="World minutes to run after the missions' launch."),
    speed: float = typer.Option(1.0, "--speed", min=0.01,
                                help="World seconds per real second."),
    group: int = typer.Option(20, "--group", min=1,
                              help="Robots per mission (each group patrols the mine)."),
    shards: int = typer.Option(2, "--shards", min=1,
                               help="Processes sharing the simulated robots."),
    scenario: str | None = typer.Option(
        None, "--scenario", help="Scenario with a mission, or `generated` for a generated "
        "mine with room for --robots (default: the coal-mine baseline)."),
    ghosts: bool | None = typer.Option(
        None, "--ghosts/--physical", help="Robots pass through each other, or are physical "
        "(an error when the site cannot hold them); default: physical when they fit."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Many simulated robots beside the manager: wall time, CPU, states handled per
    second, dispatch latency (p50/p99), whether the world kept to the speed, and the
    standoffs and deadlocks of the physical robots."""
    from fleet.samples import resolve
    from sim.bench import bench_sim

    generated = scenario == "generated"
    r = bench_sim(robots=robots, minutes=minutes, speed=speed, group=group, shards=shards,
                  scenario=None if scenario is None or generated else resolve(Path(scenario)),
                  ghosts=ghosts, generated=generated)
    if as_json:
        typer.echo(json.dumps(r, indent=2))
        return
    eff = "-" if r["effective_speed"] is None else f"{r['effective_speed']:g}x"
    typer.echo(
        f"{r['robots']} robots, {r['world_s'] / 60:.1f} world minutes at {r['speed']:g}x in "
        f"{r['wall_s']:.0f} s (+{r['startup_s']:.0f} s start-up); bodies kept {eff}\n"
        f"CPU: manager {r['manager_cpu_pct']} % of a core, fleet ({r['fleet_processes']} "
        f"processes) {r['fleet_cpu_pct']} %\n"
        f"states handled: {r['manager_states_per_s']:,}/s "
        f"(after planning {r['steady_states_per_s']}/s; nominal "
        f"{r['nominal_states_per_s']:,}/s)\n"
        f"dispatch (probes, {r['dispatch_samples']}): p50 {r['dispatch_p50_ms']} ms, "
        f"p99 {r['dispatch_p99_ms']} ms; missions' first orders "
        f"({r['mission_dispatch_samples']}, planner busy): p50 {r['mission_dispatch_p50_ms']} "
        f"ms, p99 {r['mission_dispatch_p99_ms']} ms\n"
        f"{r['missions']} missions, {r['robots_dispatched']} robots dispatched "
        f"({r['robots_lost']} declared lost), "
        f"{r['inspections_done']}/{r['inspections_total']} inspections, "
        f"{r['results_stored']} results stored\n"
        f"traffic control: {r['decision_samples']} decisions, p50 "
        f"{r['decision_p50_us']} us, p99 {r['decision_p99_us']} us (CPU "
        f"{r['decision_cpu_p99_us']} us)\n"
        + ("robots pass through each other (ghosts)" if r["ghosts"] else
           f"space: {r['standoffs']} standoffs, {r['deadlocks']} deadlocks, robots waited "
           f"{r['robot_wait_s']:g} s for each other"))


class _Profile(StrEnum):
    RMW_ZENOH = "rmw_zenoh"
    ROS2DDS = "ros2dds"


@app.command("ros2")
def ros2_(
    robots: int = typer.Option(100, "--robots", min=1, help="Simulated Nav2 robots."),
    seconds: float = typer.Option(60.0, "--seconds", min=1.0,
                                  help="Real seconds measured once every robot joined."),
    profile: _Profile = typer.Option(_Profile.RMW_ZENOH, "--profile",
                                     help="How the robots appear on Zenoh."),
    probes: int = typer.Option(100, "--probes", min=0,
                               help="Most order-to-goal probes (one at a time)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Simulated Nav2 robots (pose 10 Hz, battery 1 Hz, a sensor 2 Hz, in a process of
    their own) driven through the manager's ROS 2 link: whether the manager keeps up
    (samples and states received = sent), order-to-goal latency (p50/p99) and CPU per
    robot."""
    from sim.bench_ros2 import bench_ros2

    r = bench_ros2(robots=robots, seconds=seconds, profile=profile.value, probes=probes)
    if as_json:
        typer.echo(json.dumps(r, indent=2))
        return

    def same(ok: bool) -> str:
        return "kept up" if ok else "FELL BEHIND"

    typer.echo(
        f"{r['robots']} Nav2 robots ({profile.value}), {r['wall_s']:.0f} s measured "
        f"(+{r['startup_s']:.0f} s to join)\n"
        f"samples: {r['samples_received']:,} received of {r['samples_sent']:,} sent "
        f"({r['samples_per_s']:,}/s): {same(r['samples_keep_up'])}\n"
        f"VDA 5050 states: {r['states_handled']:,} handled of {r['states_sent']:,} sent "
        f"({r['states_per_s']:g}/s): {same(r['states_keep_up'])}; "
        f"{r['robots_lost']} robots lost\n"
        f"order to goal ({r['order_to_goal_samples']} probes, "
        f"{r['probes_without_goal']} without a goal): p50 {r['order_to_goal_p50_ms']} ms, "
        f"p99 {r['order_to_goal_p99_ms']} ms, max {r['order_to_goal_max_ms']} ms\n"
        f"CPU: manager {r['manager_cpu_pct']:g} % of a core "
        f"({r['manager_cpu_pct_per_robot']:g} % per robot), robots' process "
        f"{r['robots_cpu_pct']:g} % ({r['robots_cpu_pct_per_robot']:g} % per robot)")


@app.command()
def ingest(
    results: int = typer.Option(20_000, "--results", min=1, help="Results stored per run."),
    batch: int = typer.Option(500, "--batch", min=1, help="Results per transaction."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Runs (the median is reported)."),
    rules: bool = typer.Option(False, "--rules", help="Run the anomaly rules on every batch "
                               "too, as the manager's ingest thread does."),
    db: str | None = typer.Option(None, "--db", help="Database URL (default: a fresh SQLite "
                                  "file per run in a temporary directory)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Inspection results stored per second (each stored once, 3 readings each), in
    batches as the manager commits them before acknowledging."""
    from fleet.bench.ingest import bench_ingest

    r = bench_ingest(results, batch, url=db, repeats=repeats, rules=rules)
    if as_json:
        typer.echo(json.dumps(r, indent=2))
        return
    extra = f", anomaly rules {r['rules_ms_median']:.1f} ms" if r["rules"] else ""
    typer.echo(f"{r['backend']}: {r['results_per_s']:,.0f} results/s (median of "
               f"{r['repeats']}; {r['cpu_results_per_s']:,.0f} per CPU-second); batch of "
               f"{r['batch']} in {r['batch_ms_median']:.1f} ms median, "
               f"{r['batch_ms_max']:.1f} ms max{extra}")


@app.command()
def traffic(
    map_: str | None = typer.Option(
        None, "--map", help="`generated` for a generated mine sized for --robots; else a "
        "scenario file or sample name (default: the coal-mine-traffic scenario)."),
    robots: int | None = typer.Option(
        None, "--robots", min=1, help="Robots (default: the scenario's fleet; required "
        "with --map generated)."),
    seeds: int = typer.Option(5, "--seeds", min=1, help="Seeds run (1, 2, ... N)."),
    first_seed: int = typer.Option(1, "--first-seed", help="The first seed."),
    speed: float | None = typer.Option(
        None, "--speed", min=1.0, help="World seconds per real second (default: 200, or 4 "
        "on a generated mine)."),
    control_off: bool = typer.Option(
        False, "--control-off", help="Also run physical robots without traffic control."),
    ghosts: bool = typer.Option(True, "--ghosts/--no-ghosts",
                                help="Also run ghosts without traffic control (the "
                                "makespan ratio's baseline)."),
    timeout: float | None = typer.Option(
        None, "--timeout", min=1.0, help="Real seconds per run (default: 900, or 3600 on a "
        "generated mine)."),
    plan_time_limit: float = typer.Option(2.0, "--plan-time-limit", min=0.1,
                                          help="Solver seconds per (re)planning."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Traffic control end to end, per seed and as medians: makespan with control over
    makespan with ghosts, standoffs, deadlocks, robot wait, inspections done and the
    manager's reservation decision time (p50/p99)."""
    from fleet.samples import resolve
    from sim.bench_traffic import bench_traffic

    generated = map_ == "generated"
    if generated and robots is None:
        raise typer.BadParameter("--map generated needs --robots")
    scenario = None if generated or map_ is None else resolve(Path(map_))

    def show(r: dict[str, Any]) -> None:  # each run as it ends, on stderr (also with --json)
        typer.echo(
            f"seed {r['seed']} {r['mode']:<11} {r['robots']} robots: "
            f"{r['mission_status']}, makespan {r['makespan_s']} s, "
            f"{r['inspections_done']}/{r['inspections_total']} inspections, "
            f"{r['standoffs']} standoffs, {r['deadlocks']} deadlocks, robots waited "
            f"{r['robot_wait_s']} s; decisions {r['decisions']} p50 "
            f"{r['decision_p50_us']} us p99 {r['decision_p99_us']} us (CPU p99 "
            f"{r['decision_cpu_p99_us']} us) ({r['wall_s']:.0f} s real)"
            + (f"; robots declared lost: {', '.join(r['robots_lost'])} (the machine did not "
               "keep the pace: this seed is left out)" if r["robots_lost"] else ""), err=True)
        for u in r["unfinished"]:  # a run that did not complete: who is left, and why
            typer.echo(f"  {u['serial']} ({u['status']}) at {u['last_node']}: "
                       f"{len(u['remaining'])} points left; waiting: {u['waiting']}", err=True)


    result = bench_traffic(scenario=scenario, generated=generated, robots=robots,
                           seeds=seeds, first_seed=first_seed, speed=speed,
                           control_off=control_off, ghosts=ghosts, timeout=timeout,
                           plan_time_limit=plan_time_limit, progress=show)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    m = result["median"]
    typer.echo(f"{result['scenario']}, {result['seeds']} seeds at {result['speed']:g}x"
               + (f" (left out, robots declared lost: seeds "
                  f"{', '.join(map(str, result['starved_seeds']))})"
                  if result["starved_seeds"] else "") + ":")
    for row in result["per_seed"]:
        off = "" if "off_standoffs" not in row else (
            f"; control off: {row['off_standoffs']} standoffs, {row['off_deadlocks']} "
            f"deadlocks, {row['off_inspections_done']} done")
        typer.echo(f"  seed {row['seed']}: ratio {row['makespan_ratio']}, "
                   f"{row['standoffs']} standoffs, {row['deadlocks']} deadlocks, wait "
                   f"{row['robot_wait_s']} s, {row['inspections_done']}/"
                   f"{row['inspections_total']}, decisions p50 {row['decision_p50_us']} us "
                   f"p99 {row['decision_p99_us']} us (CPU {row['decision_cpu_p99_us']} us)"
                   f"{off}")
    typer.echo(f"median: makespan ratio {m['makespan_ratio']} (controlled "
               f"{m['makespan_s']} s, ghosts {m['ghost_makespan_s']} s), "
               f"{m['standoffs']} standoffs, {m['deadlocks']} deadlocks, robots waited "
               f"{m['robot_wait_s']} s, {m['inspections_done']}/{m['inspections_total']} "
               f"inspections, decision p50 {m['decision_p50_us']} us, p99 "
               f"{m['decision_p99_us']} us (CPU {m['decision_cpu_p99_us']} us)")
    if "off_seeds_with_standoff_or_deadlock" in result:
        typer.echo(f"control off: {result['off_seeds_with_standoff_or_deadlock']} of "
                   f"{result['seeds']} seeds with a standoff or deadlock")
    if result["controlled_failures"]:
        typer.echo(f"WITH control, seeds with standoffs, deadlocks or inspections not done: "
                   f"{result['controlled_failures']}")


@app.command()
def patrol(
    map_: str = typer.Argument(..., metavar="MAP", help="A map file, a sample map name "
                               "(coal-mine), or a patrolling_sim map by path or name "
                               "(grid: ../shared/bench/patrol/grid/grid.graph)."),
    robots: int = typer.Option(..., "--robots", min=1, help="Robots patrolling."),
    speed: float = typer.Option(1.0, "--speed", min=0.01, help="Their top speed, m/s."),
    hours: float | None = typer.Option(
        None, "--hours", min=0.01, help="Simulated hours, no real time passing (default: 2, "
        "or longer when needed for the robots to form up and drive four laps)."),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.1,
                                     help="Solver seconds for the closed walk, at most."),
    seed: int = typer.Option(0, "--seed", help="Solver seed."),
    points: bool = typer.Option(False, "--points", help="Also list every point's "
                                "worst and average idleness."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Plan a continuous patrol of every point of MAP (one closed walk, the robots evenly
    spaced on it), simulate it for --hours with dwell 0, and report the worst and average
    idleness (time between two visits of a point, in steady state) against the cyclic
    reference L/(k v).

    L is our closed walk's length; on patrolling_sim maps the reference walk L_ref of
    their SOURCE.md is shown too, and the ratio is worst idleness over L_ref/(k v).
    Method and definitions: docs/patrol.md.
    """
    from fleet.bench.patrol import bench_patrol

    try:
        r = bench_patrol(map_, robots=robots, speed=speed, hours=hours,
                         time_limit=time_limit, seed=seed)
    except ValueError as exc:
        if isinstance(exc, FleetError):
            raise  # the CLI's edge turns a map or planning problem into one line
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(r, indent=2))
        return
    ref = ("" if r["reference_s"] is None else
           f"; reference L_ref {r['reference_m']:g} m: L_ref/(k v) {r['reference_s']:g} s, "
           f"worst/reference {r['ratio']:.3f}")
    typer.echo(
        f"{r['map']}: {r['points']} points, {r['robots']} robots at {r['speed']:g} m/s, "
        f"{r['hours']:g} h simulated (steady from {r['warmup_s']:.0f} s, {r['visits']} "
        f"visits)\n"
        f"closed walk L {r['length_m']:g} m (planned in {r['plan_s']:.1f} s), "
        f"L/(k v) {r['own_reference_s']:g} s\n"
        f"idleness: worst {r['worst_idleness_s']:g} s (planned {r['planned_worst_s']:g} s), "
        f"average {r['average_idleness_s']:g} s; worst/(L/(k v)) {r['ratio_own']:.3f}{ref}")
    if points:
        from fleet.cli.tables import print_table

        print_table(["point", "worst_s", "average_s", "gaps"],
                    [[p, f"{d['worst_s']:g}", f"{d['average_s']:g}", str(d["samples"])]
                     for p, d in r["per_point"].items()],
                    right={"worst_s", "average_s", "gaps"})


@app.command()
def failover(
    db: str = typer.Option(..., "--db", envvar="FLEET_DB", help="PostgreSQL database URL "
                           "(each trial works in a schema of its own, dropped after)."),
    robots: int = typer.Option(100, "--robots", min=1, help="Simulated robots."),
    trials: int = typer.Option(10, "--trials", min=1, help="Leaders killed, one per trial."),
    speed: float = typer.Option(25.0, "--speed", min=1.0, max=200.0,
                                help="World seconds per real second."),
    scenario: str = typer.Option("generated", "--scenario", help="Scenario (file or sample "
                                 "name) whose mission runs; default a generated mine with "
                                 "room for every robot."),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where the managers' logs "
                                        "go (default: a temporary directory)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
) -> None:
    """Kill the leading manager mid-mission TRIALS times: the time until a standby leads
    and until robots get orders again (median and worst), and the results lost and
    duplicated (both must be 0)."""
    import tempfile

    from sim.failover import benchmark_failover

    with tempfile.TemporaryDirectory(prefix="fleet-failover-") as tmp:
        result = benchmark_failover(
            db, workdir or Path(tmp), robots=robots, trials=trials, speed=speed,
            scenario=scenario, on_trial=lambda r: typer.echo(json.dumps(r), err=True))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    first = "-" if result["first_order_median_s"] is None else (
        f"{result['first_order_median_s']:.2f} s (worst {result['first_order_worst_s']:.2f} s)")
    typer.echo(
        f"failover, {result['robots']} robots, {result['trials']} trials at "
        f"{result['speed']:g}x: takeover median {result['takeover_median_s']:.2f} s "
        f"(worst {result['takeover_worst_s']:.2f} s), first order after the kill {first}; "
        f"{result['completed']}/{result['trials']} missions completed, results lost "
        f"{result['lost']}, duplicated {result['duplicated']}, robots declared lost "
        f"{result['robots_lost']}")
