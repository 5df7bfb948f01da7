"""``fleet bench traffic``: what the manager's traffic control costs and what it saves.

For each seed the scenario's mission (default: the sample ``coal-mine-traffic``, twelve
robots on every point of the coal mine) runs end to end (:class:`~sim.runner.SimRun`, a
manager of its own) two ways:

- **controlled**: physical robots (:mod:`sim.space`) and the manager's traffic control on,
  as a site runs;
- **ghosts**: robots that pass through each other and no traffic control, the lower bound
  a site without any traffic could reach;

and, with ``control_off``, a third way: physical robots without traffic control, which is
what the control prevents (standoffs and deadlocks; such a run ends as soon as every robot
with work left is stuck, :attr:`~sim.progress.Progress.stalled`).

Figures per seed and as medians over the seeds: the makespan ratio (controlled over
ghosts), standoffs, deadlocks, the world seconds robots waited for each other, inspections
done out of the total, and the manager's reservation decision times (every
:meth:`~fleet.manager.traffic.Traffic` extend call of the controlled run, from
``Traffic.decisions``) at p50 and p99.

``generated=True`` runs on a generated mine (:func:`fleet.facility.generate.generate_mine`)
sized for ``robots``: ``robots // 2 + 1`` docks (two robots each), the robots spread over
them, two inspection points per robot, written as a scenario (map, mission over every
point, fleet) into a temporary directory (:func:`generated_scenario`).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleet import samples
from fleet.facility import formats
from fleet.facility.generate import generate_mine
from fleet.facility.model import NodeKind
from sim.runner import RunOptions, SimRun
from sim.scenario import Scenario, load_scenario
from sim.space import SpaceParams

DEFAULT_SCENARIO = "coal-mine-traffic"
"""The sample scenario benchmarked when none is given."""

MODES = ("controlled", "ghosts", "control_off")
"""The ways one seed runs: physical with traffic control, ghosts without, physical without."""


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def generated_scenario(directory: Path, robots: int, *, seed: int = 0,
                       nodes: int | None = None, points: int | None = None) -> Path:
    """Write a scenario for ``robots`` robots on a generated mine into ``directory`` (in
    the repository's layout: ``maps/``, ``missions/``, ``sim/scenarios/``); its path.

    The mine has ``robots // 2 + 1`` docks (each holds two), ``points`` inspection points
    (default two per robot, at least 20) and ``nodes`` nodes (default 25 per robot, at
    least 600); the mission visits every point with a methane reading; the fleet is
    ``robots`` explosion-protected crawlers (Ga: allowed everywhere) two to a dock."""
    if robots < 1:
        raise ValueError(f"robots must be at least 1, got {robots}")
    docks = robots // 2 + 1
    points = points if points is not None else max(20, 2 * robots)
    nodes = nodes if nodes is not None else max(600, 25 * robots)
    fac = generate_mine(nodes=nodes, inspection_points=points, seed=seed, docks=docks,
                        name=f"generated mine for {robots} robots")
    dock_ids = sorted((n.id for n in fac.nodes.values() if n.kind is NodeKind.DOCK),
                      key=lambda i: int(i.removeprefix("dock")))
    for sub in ("maps", "missions", "sim/scenarios"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    formats.save(fac, directory / "maps" / "generated_mine.yaml")
    (directory / "missions" / "generated_round.yaml").write_text(
        "# Every inspection point of the generated mine (fleet bench traffic).\n"
        "name: Generated mine round\nmap: ../maps/generated_mine.yaml\n"
        "objective: makespan\ntasks:\n"
        "  - points: \"*\"\n    sensors: [ch4]\n    dwell_s: 30\n", encoding="utf-8")
    lines = ["# The generated mine's fleet: crawlers two to a dock (fleet bench traffic).",
             "classes:",
             "  - {name: crawler, speed: 1.0, battery_wh: 20000, wh_per_metre: 0.2,",
             "     wh_per_second: 0.01, charge_w: 1000, sensors: [ch4, co, o2], epl: Ga}",
             "robots:"]
    lines += [f"  - {{manufacturer: genbot, serial: G-{i + 1:04d}, class: crawler, "
              f"dock: {dock_ids[i // 2]}}}" for i in range(robots)]
    (directory / "missions" / "generated_fleet.yaml").write_text(
        "\n".join(lines) + "\n", encoding="utf-8")
    scenario = directory / "sim" / "scenarios" / "generated_traffic.yaml"
    scenario.write_text(
        "# A generated mine, its round and its fleet (fleet bench traffic).\n"
        f"name: Generated mine traffic ({robots} robots)\n"
        "map: ../../maps/generated_mine.yaml\n"
        "mission: ../../missions/generated_round.yaml\n"
        "fleet: ../../missions/generated_fleet.yaml\n"
        f"seed: {seed}\n"
        "link: {latency_ms: 0, jitter_ms: 0, loss: 0}\n", encoding="utf-8")
    return scenario


def run_once(scenario: Scenario, mode: str, *, speed: float, robots: int | None,
             timeout: float, plan_time_limit: float) -> dict[str, Any]:
    """One run of ``scenario`` in ``mode`` (one of :data:`MODES`); its figures."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    options = RunOptions(
        speed=speed, robots=robots, plan_time_limit=plan_time_limit,
        space=SpaceParams(ghosts=mode == "ghosts"),
        manager={"traffic_control": mode == "controlled"})
    with SimRun(scenario, options) as run:
        final = run.run(timeout=timeout)
        manager = run.manager
        decisions = [] if manager is None else [
            d for t in manager.core.traffic.values() for d in t.decisions]
        stuck = [] if final.space is None else list(final.space.stuck)
        unfinished = [] if final.mission_status == "completed" else _unfinished(run)
    summary = final.to_json()
    p50, p99 = _percentile(decisions, 50), _percentile(decisions, 99)
    return {
        "mode": mode, "seed": scenario.seed, "robots": final.robots,
        "mission_status": final.mission_status, "makespan_s": summary["makespan_s"],
        "inspections_done": summary["inspections_done"],
        "inspections_total": summary["inspections_total"],
        "inspections": final.inspections,
        "standoffs": final.standoffs, "deadlocks": final.deadlocks,
        "robot_wait_s": summary["robot_wait_s"], "stalled": final.stalled, "stuck": stuck,
        "decisions": len(decisions),
        "decision_p50_us": None if p50 is None else round(p50 * 1e6, 1),
        "decision_p99_us": None if p99 is None else round(p99 * 1e6, 1),
        "decision_max_us": None if not decisions else round(max(decisions) * 1e6, 1),
        "wall_s": summary["wall_s"], "unfinished": unfinished,
    }


def _unfinished(run: SimRun) -> list[dict[str, Any]]:
    """For a run that did not complete: each robot with points left, where it last was,
    its status and what traffic control makes it wait for (the manager's own words)."""
    status = run.mission_status() or {}
    left = {r["serial"]: r["remaining"] for r in status.get("robots", []) if r["remaining"]}
    out = []
    for r in run.ask("robots"):
        if r["serial"] in left:
            out.append({"serial": r["serial"], "status": r.get("status"),
                        "last_node": r.get("last_node"), "waiting": r.get("waiting"),
                        "remaining": left[r["serial"]]})
    return out


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return None if not present else round(statistics.median(present), 3)


def bench_traffic(*, scenario: Path | None = None, generated: bool = False,
                  robots: int | None = None, seeds: int = 5, first_seed: int = 1,
                  speed: float = 200.0, control_off: bool = False, ghosts: bool = True,
                  timeout: float = 900.0, plan_time_limit: float = 2.0,
                  progress: Callable[[dict[str, Any]], None] | None = None
                  ) -> dict[str, Any]:
    """Run the benchmark (module docstring); its figures: ``runs`` (one object per seed
    and mode, see :func:`run_once`), ``per_seed`` (the controlled run's figures with the
    makespan ratio) and ``median``. ``progress`` gets every run's figures as it ends.
    ``timeout``: real seconds per run. ``generated`` needs ``robots``."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    modes = ["controlled"] + (["ghosts"] if ghosts else []) + \
        (["control_off"] if control_off else [])
    with tempfile.TemporaryDirectory(prefix="fleet-bench-traffic-") as tmp:
        if generated:
            if robots is None:
                raise ValueError("a generated mine needs a number of robots")
            path = generated_scenario(Path(tmp), robots, seed=first_seed)
            robots_asked = None
        else:
            path = scenario if scenario is not None else samples.path(DEFAULT_SCENARIO)
            robots_asked = robots
        base = load_scenario(path)
        runs: list[dict[str, Any]] = []
        for seed in range(first_seed, first_seed + seeds):
            sc = replace(base, seed=seed)
            for mode in modes:
                r = run_once(sc, mode, speed=speed, robots=robots_asked, timeout=timeout,
                             plan_time_limit=plan_time_limit)
                runs.append(r)
                if progress is not None:
                    progress(r)
    return summarise(runs, scenario=str(path if not generated else "generated"),
                     speed=speed)


def summarise(runs: list[dict[str, Any]], *, scenario: str, speed: float) -> dict[str, Any]:
    """Per-seed rows and medians from :func:`run_once` results."""
    by_seed: dict[int, dict[str, dict[str, Any]]] = {}
    for r in runs:
        by_seed.setdefault(r["seed"], {})[r["mode"]] = r
    per_seed = []
    for seed, modes in sorted(by_seed.items()):
        c = modes["controlled"]
        g = modes.get("ghosts")
        off = modes.get("control_off")
        ratio = None
        if g is not None and c["makespan_s"] and g["makespan_s"]:
            ratio = round(c["makespan_s"] / g["makespan_s"], 3)
        row = {"seed": seed, "robots": c["robots"], "makespan_ratio": ratio,
               "makespan_s": c["makespan_s"],
               "ghost_makespan_s": None if g is None else g["makespan_s"],
               "standoffs": c["standoffs"], "deadlocks": c["deadlocks"],
               "robot_wait_s": c["robot_wait_s"],
               "inspections_done": c["inspections_done"],
               "inspections_total": c["inspections_total"],
               "decision_p50_us": c["decision_p50_us"], "decision_p99_us": c["decision_p99_us"],
               "decisions": c["decisions"], "stuck": c["stuck"]}
        if off is not None:
            row["off_standoffs"] = off["standoffs"]
            row["off_deadlocks"] = off["deadlocks"]
            row["off_stalled"] = off["stalled"]
            row["off_inspections_done"] = off["inspections_done"]
        per_seed.append(row)
    keys = ["makespan_ratio", "makespan_s", "ghost_makespan_s", "standoffs", "deadlocks",
            "robot_wait_s", "inspections_done", "inspections_total", "decision_p50_us",
            "decision_p99_us"]
    median = {k: _median([row[k] for row in per_seed]) for k in keys}
    result: dict[str, Any] = {
        "scenario": scenario, "speed": speed, "seeds": len(per_seed),
        "median": median, "per_seed": per_seed, "runs": runs,
        "controlled_failures": [row["seed"] for row in per_seed
                                if row["standoffs"] or row["deadlocks"]
                                or row["inspections_done"] != row["inspections_total"]],
    }
    if any("off_standoffs" in row for row in per_seed):
        result["off_seeds_with_standoff_or_deadlock"] = sum(
            1 for row in per_seed if row["off_standoffs"] or row["off_deadlocks"])
    return result
