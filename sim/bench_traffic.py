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
``Traffic.decisions``) at p50 and p99, and their CPU time at p99
(``Traffic.decisions_cpu``: on a loaded machine the wall time includes waits for a core).

``generated=True`` runs on a generated mine sized for ``robots``
(:func:`sim.generated.generated_scenario`, in a temporary directory).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from fleet import samples
from sim.generated import generated_scenario
from sim.robots import robots_of
from sim.runner import RunOptions, SimRun, state_interval_for
from sim.scenario import Scenario, load_scenario
from sim.space import SpaceParams

DEFAULT_SCENARIO = "coal-mine-traffic"
"""The sample scenario benchmarked when none is given."""

SPEED = 200.0
"""The default world speed for a sample scenario (a dozen robots)."""

GENERATED_SPEED = 4.0
"""The default world speed on a generated mine: 200 robots at 4x are about what this
2-core machine simulates beside the manager without a robot's states coming late enough
to be declared lost (at 10x they do, and a benchmark of the manager must not measure an
overloaded simulator)."""

FLEET_STATE_RATE = 400.0
"""Periodic states per real second the whole fleet may publish: a large fleet at a high
speed states less often (world time), so that the manager, one Python process, keeps up
with the states that matter to traffic control (a node reached, an action ended), which
robots send as they happen."""

MODES = ("controlled", "ghosts", "control_off")
"""The ways one seed runs: physical with traffic control, ghosts without, physical without."""


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run_once(scenario: Scenario, mode: str, *, speed: float, robots: int | None,
             timeout: float, plan_time_limit: float) -> dict[str, Any]:
    """One run of ``scenario`` in ``mode`` (one of :data:`MODES`); its figures."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    fleet = len(robots_of(scenario, robots))
    options = RunOptions(
        speed=speed, robots=robots, plan_time_limit=plan_time_limit,
        state_interval=max(state_interval_for(speed), fleet * speed / FLEET_STATE_RATE),
        space=SpaceParams(ghosts=mode == "ghosts"),
        manager={"traffic_control": mode == "controlled"})
    with SimRun(scenario, options) as run:
        final = run.run(timeout=timeout)
        manager = run.manager
        decisions = [] if manager is None else [
            d for t in manager.core.traffic.values() for d in t.decisions]
        cpu = [] if manager is None else [
            d for t in manager.core.traffic.values() for d in t.decisions_cpu]
        stuck = [] if final.space is None else list(final.space.stuck)
        unfinished = [] if final.mission_status == "completed" else _unfinished(run)
        lost = [] if run.embedded is None or run.mission_id is None else sorted({
            e.robot_serial or "" for e in run.embedded.store.events(run.mission_id)
            if e.kind == "robot_lost"})
    summary = final.to_json()
    p50, p99 = _percentile(decisions, 50), _percentile(decisions, 99)
    cpu99 = _percentile(cpu, 99)
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
        "decision_cpu_p99_us": None if cpu99 is None else round(cpu99 * 1e6, 1),
        "wall_s": summary["wall_s"], "unfinished": unfinished, "robots_lost": lost,
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
                  speed: float | None = None, control_off: bool = False, ghosts: bool = True,
                  timeout: float | None = None, plan_time_limit: float = 2.0,
                  progress: Callable[[dict[str, Any]], None] | None = None
                  ) -> dict[str, Any]:
    """Run the benchmark (module docstring); its figures: ``runs`` (one object per seed
    and mode, see :func:`run_once`), ``per_seed`` (the controlled run's figures with the
    makespan ratio) and ``median``. ``progress`` gets every run's figures as it ends.
    ``speed``: default :data:`SPEED`, or :data:`GENERATED_SPEED` on a generated mine;
    ``timeout``: real seconds per run (default 900, or 3600 on a generated mine).
    ``generated`` needs ``robots``."""
    if speed is None:
        speed = GENERATED_SPEED if generated else SPEED
    if timeout is None:
        timeout = 3600.0 if generated else 900.0
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
    """Per-seed rows and medians from :func:`run_once` results. A seed where any run had a
    robot declared lost is left out of them (``starved_seeds``): on this simulator, with a
    perfect link, only an overloaded machine silences a robot."""
    by_seed: dict[int, dict[str, dict[str, Any]]] = {}
    for r in runs:
        by_seed.setdefault(r["seed"], {})[r["mode"]] = r
    per_seed = []
    starved: list[int] = []
    for seed, modes in sorted(by_seed.items()):
        if any(m["robots_lost"] for m in modes.values()):
            # the machine could not keep the world's pace (robots went silent long enough
            # to be declared lost): that seed measures the machine, not traffic control
            starved.append(seed)
            continue
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
               "decision_cpu_p99_us": c["decision_cpu_p99_us"],
               "decisions": c["decisions"], "stuck": c["stuck"]}
        if off is not None:
            row["off_standoffs"] = off["standoffs"]
            row["off_deadlocks"] = off["deadlocks"]
            row["off_stalled"] = off["stalled"]
            row["off_inspections_done"] = off["inspections_done"]
        per_seed.append(row)
    keys = ["makespan_ratio", "makespan_s", "ghost_makespan_s", "standoffs", "deadlocks",
            "robot_wait_s", "inspections_done", "inspections_total", "decision_p50_us",
            "decision_p99_us", "decision_cpu_p99_us"]
    median = {k: _median([row[k] for row in per_seed]) for k in keys}
    result: dict[str, Any] = {
        "scenario": scenario, "speed": speed, "seeds": len(per_seed),
        "median": median, "per_seed": per_seed, "runs": runs, "starved_seeds": starved,
        "controlled_failures": [row["seed"] for row in per_seed
                                if row["standoffs"] or row["deadlocks"]
                                or row["inspections_done"] != row["inspections_total"]],
    }
    if any("off_standoffs" in row for row in per_seed):
        result["off_seeds_with_standoff_or_deadlock"] = sum(
            1 for row in per_seed if row["off_standoffs"] or row["off_deadlocks"])
    return result
