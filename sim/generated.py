"""A scenario sized for a number of robots, on a generated mine: what ``fleet bench
traffic --map generated`` and ``fleet bench sim --scenario generated`` run.

The sample coal mine's rooms hold 18 robots; a benchmark of hundreds of physical robots
needs a site with room for them, so it is generated
(:func:`fleet.facility.generate.generate_mine`) and written out in the repository's layout
(map, mission over every point, fleet, scenario) for the runners to load like any other.
"""

from __future__ import annotations

from pathlib import Path

from fleet.facility import formats
from fleet.facility.blocks import cut_passing_bays
from fleet.facility.generate import generate_mine
from fleet.facility.model import NodeKind
from fleet.facility.protection import SiteKind

BAY_SPACING_M = 150.0
"""Metres between the passing bays cut into the generated mine's long single-lane drifts
(the sample coal mine's are 100 to 220 m apart)."""


def generated_scenario(directory: Path, robots: int, *, seed: int = 0,
                       nodes: int | None = None, points: int | None = None) -> Path:
    """Write a scenario for ``robots`` robots on a generated mine into ``directory`` (in
    the repository's layout: ``maps/``, ``missions/``, ``sim/scenarios/``); its path.

    The mine has ``robots // 2 + 1`` docks (each holds two), ``points`` inspection points
    (default two per robot, at least 20) and ``nodes`` nodes (default 12 per robot, at
    least 600); the mission visits every point with a methane reading. The mine is a coal
    mine (explosion group I, with Ma-only goaf edges) whose long single-lane drifts get
    passing bays every :data:`BAY_SPACING_M`; the fleet is ``robots`` crawlers two to a
    dock, alternately rated Ma (allowed everywhere) and Mb (everywhere but the goaf
    edges), so that any two robots in a row can serve every point."""
    if robots < 1:
        raise ValueError(f"robots must be at least 1, got {robots}")
    docks = robots // 2 + 1
    points = points if points is not None else max(20, 2 * robots)
    nodes = nodes if nodes is not None else max(600, 12 * robots)
    fac = cut_passing_bays(
        generate_mine(nodes=nodes, inspection_points=points, seed=seed, docks=docks,
                      name=f"generated mine for {robots} robots", kind=SiteKind.COAL_MINE),
        BAY_SPACING_M)
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
    lines = ["# The generated mine's fleet: crawlers two to a dock (fleet bench traffic),",
             "# alternately rated Ma (goaf edges too) and Mb.",
             "classes:"]
    for rating in ("Ma", "Mb"):
        lines += [f"  - {{name: crawler-{rating.lower()}, speed: 1.0, battery_wh: 20000, "
                  "wh_per_metre: 0.2,",
                  "     wh_per_second: 0.01, charge_w: 1000, sensors: [ch4, co, o2], "
                  f"epl: {rating}}}"]
    lines += ["robots:"]
    lines += [f"  - {{manufacturer: genbot, serial: G-{i + 1:04d}, "
              f"class: crawler-{'mb' if i % 2 else 'ma'}, dock: {dock_ids[i // 2]}}}"
              for i in range(robots)]
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
