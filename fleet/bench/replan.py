"""``fleet bench replan``: how fast and how well the plan follows events.

On a generated mine (or a sample site) a mission over every inspection point is planned
for the fleet; then ``events`` events, each on its own copy of that plan, at a random
moment between a tenth and half of the plan's makespan, in turn:

``lost``
    a robot with work left is lost: its points (the one it was driving to included) are
    orphans;
``closure``
    a gas closure shuts every edge within :data:`CLOSURE_RADIUS_M` of a node on some
    robot's way ahead: the robots whose way ahead crosses it are re-planned on the closed
    site (points inside it come out unassigned, as the manager blocks them);
``joined``
    a robot joins at a dock with a full battery and takes a share.

Each robot then starts where it was heading at that moment (its committed stop), when it
would have left it. Per event the benchmark times, from the event to the last order
published, :func:`fleet.planning.replan.replan` (the incremental re-plan, verified) plus
turning each changed robot's round into its VDA 5050 order (as the manager's dispatcher
does) and publishing it on a real Zenoh session on loopback; then it runs
:func:`fleet.planning.replan.full_replan` with ``full_limit`` as the yardstick. It reports
latency p50/p99 per kind and overall, the fleet makespan after the incremental re-plan over
the full re-plan's, robots re-planned and changed, and orders sent to robots whose round
did not change (always counted, expected 0).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx

from fleet.bench.dispatch import percentile
from fleet.bench.plan import BENCH_CLASSES, GAS
from fleet.comms.bus import Bus
from fleet.comms.config import free_port, router_config, tcp_endpoint
from fleet.errors import FleetError
from fleet.facility.generate import generate_mine
from fleet.facility.model import Facility
from fleet.manager.dispatch import assignment_for
from fleet.planning.mission import InspectionTask, MissionSpec, Objective
from fleet.planning.plan import Plan, RobotPlan, Stop, StopKind
from fleet.planning.planner import plan_mission
from fleet.planning.replan import (
    REPLAN_LIMIT_S,
    Replan,
    Underway,
    clearly_worse,
    full_replan,
    replan,
    underway_at,
)
from fleet.planning.robots import Fleet, Robot
from fleet.protocol.header import Header
from fleet.protocol.keys import DEFAULT_INTERFACE, topic_key

KINDS = ("lost", "closure", "joined")
CLOSURE_RADIUS_M = 30.0
"""Metres of drift around the closed node whose edges the closure shuts (as the manager's
closure radius around a reading)."""
RELEASE_AHEAD = 4


@dataclass(frozen=True)
class _Event:
    kind: str
    fleet: tuple[Underway, ...]
    orphans: tuple[str, ...] = ()
    touched: tuple[str, ...] = ()
    site: Facility | None = None


def benchmark_replan(*, robots: int, points: int, nodes: int, events: int, seed: int = 0,
                     plan_limit: float = 30.0, replan_limit: float = REPLAN_LIMIT_S,
                     full_limit: float = 30.0) -> dict[str, Any]:
    """Run the benchmark (see the module docstring); a JSON-ready summary."""
    rng = random.Random(seed)
    fac = generate_mine(nodes=nodes, inspection_points=points, seed=seed,
                        chargers=max(4, nodes // 500))
    docks = [n.id for n in fac.nodes.values() if n.kind.value == "dock"]
    fleet = Fleet(tuple(Robot("bench", f"R{i + 1:03d}", BENCH_CLASSES[i % len(BENCH_CLASSES)],
                              docks[i % len(docks)]) for i in range(robots)),
                  {c.name: c for c in BENCH_CLASSES})
    mission = MissionSpec(name=f"generated mine {nodes} nodes", facility=fac, map_path=None,
                          tasks=tuple(InspectionTask(p, GAS, 30.0, 1, None, "bench")
                                      for p in fac.inspection_points),
                          objective=Objective.MAKESPAN)
    t0 = time.perf_counter()
    plan = plan_mission(mission, fleet, time_limit=plan_limit, seed=seed)
    plan_s = time.perf_counter() - t0
    rows: list[dict[str, Any]] = []
    with Bus.open(router_config([tcp_endpoint("127.0.0.1", free_port())])) as bus:
        for k in range(events):
            kind = KINDS[k % len(KINDS)]
            at = rng.uniform(0.1, 0.5) * plan.makespan_s
            event = _event(kind, plan, fleet, fac, at, rng, k)
            if event is None:
                continue
            rows.append(_run(event, mission, bus, replan_limit, full_limit, seed))
    return _summary(rows, plan, plan_s, robots=robots, points=len(fac.inspection_points),
                    nodes=len(fac.nodes), events=events)


def _run(event: _Event, mission: MissionSpec, bus: Bus, replan_limit: float,
         full_limit: float, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        inc = replan(mission, event.fleet, orphans=event.orphans, touched=event.touched,
                     site=event.site, time_limit=replan_limit, seed=seed)
    except FleetError as exc:
        return {"kind": event.kind, "error": str(exc)}
    sent = _publish(bus, inc, mission, event.fleet)
    latency = time.perf_counter() - started
    full = full_replan(mission, event.fleet, orphans=event.orphans, site=event.site,
                       time_limit=full_limit, seed=seed)
    before = {u.robot.serial: u.points for u in event.fleet}
    after = {r.serial: tuple(r.inspections) for r in inc.plan.robots}
    return {
        "kind": event.kind,
        "latency_s": latency,
        "replan_s": inc.seconds,
        "stop": inc.plan.solver_stop,
        "candidates": len(inc.candidates),
        "changed": len(inc.changed),
        "orders": sent,
        "orders_unchanged": sum(1 for s in sent if after.get(s, ()) == before.get(s)
                                and s not in event.touched),
        "untouched_changed": sum(1 for s in before if s not in inc.candidates
                                 and s in after and after[s] != before[s]),
        "makespan_ratio": inc.makespan_s / full.makespan_s if full.makespan_s else 1.0,
        "unassigned": len(inc.unassigned),
        "full_unassigned": len(full.unassigned),
        "full_s": full.seconds,
        "full_switch": clearly_worse(inc, full),
    }


def _publish(bus: Bus, result: Replan, mission: MissionSpec, fleet: Sequence[Underway]
             ) -> list[str]:
    """Each changed robot's new round as its first order, published (as the dispatcher
    does); a robot whose points all went to others is sent home from where it is."""
    rounds = {rp.serial: rp for rp in result.plan.robots}
    robots = {u.robot.serial: u.robot for u in fleet}
    sent = []
    for serial in sorted(result.changed):
        rp = rounds.get(serial) or _home(robots[serial], mission.facility)
        a = assignment_for("bench-replan", rp, mission, release_ahead=RELEASE_AHEAD)
        bus.publish(topic_key(DEFAULT_INTERFACE, rp.manufacturer, serial, "order"),
                    a.first_order(Header(rp.manufacturer, serial)))
        sent.append(serial)
    return sent


def _home(robot: Robot, fac: Facility) -> RobotPlan:
    """A round of no points: from where ``robot`` starts back to its dock."""
    path = tuple(nx.shortest_path(fac.graph, robot.start_node, robot.dock, weight="length"))
    wh = robot.start_wh
    return RobotPlan(robot.serial, robot.manufacturer, robot.robot_class.name, (
        Stop(StopKind.START, path[0], (), 0.0, 0.0, 0.0, wh, wh),
        Stop(StopKind.RETURN, path[-1], path, 0.0, 0.0, 0.0, wh, wh)))


def _event(kind: str, plan: Plan, fleet: Fleet, fac: Facility, at: float,
           rng: random.Random, k: int) -> _Event | None:
    states = {}
    heading: dict[str, str | None] = {}
    for robot in fleet.robots:
        try:
            rp = plan.robot(robot.serial)
        except KeyError:
            states[robot.serial] = Underway(robot)
            continue
        states[robot.serial], heading[robot.serial] = underway_at(rp, robot, at)
    busy = [s for s, u in states.items() if len(u.points) >= 2]
    if not busy:
        return None
    if kind == "lost":
        gone = rng.choice(busy)
        orphans = tuple(p for p in (heading.get(gone), *states[gone].points) if p)
        rest = tuple(u for s, u in states.items() if s != gone)
        return _Event(kind, rest, orphans=orphans)
    if kind == "joined":
        cls = BENCH_CLASSES[k % len(BENCH_CLASSES)]
        docks = sorted(n.id for n in fac.nodes.values() if n.kind.value == "dock")
        new = Robot("bench", f"J{k:03d}", cls, rng.choice(docks))
        return _Event(kind, (*states.values(), Underway(new)), touched=(new.serial,))
    return _closure(plan, states, fac, rng, busy)


def _closure(plan: Plan, states: dict[str, Underway], fac: Facility, rng: random.Random,
             busy: Sequence[str]) -> _Event | None:
    serial = rng.choice(busy)
    u = states[serial]
    ahead = [n for s in plan.robot(serial).stops for n in s.path
             if s.node in u.points][1:-1]
    starts = {v.robot.start_node for v in states.values()} | {
        v.robot.dock for v in states.values()}
    g = fac.graph.to_undirected(as_view=True)
    for node in rng.sample(ahead, min(len(ahead), 20)):
        near = nx.single_source_dijkstra_path_length(g, node, cutoff=CLOSURE_RADIUS_M,
                                                     weight="length")
        if starts & set(near):
            continue  # no robot is caught inside: the way out is the manager's business
        shut = {e.key for e in fac.edges if e.source in near or e.target in near}
        site = replace(fac, edges=tuple(replace(e, closed=True) if e.key in shut else e
                                        for e in fac.edges))
        touched = tuple(s for s, v in states.items() if v.points and _crosses(
            plan.robot(s), v, fac, shut))
        return _Event("closure", tuple(states.values()), touched=touched, site=site)
    return None


def _crosses(rp: RobotPlan, u: Underway, fac: Facility, shut: set[tuple[str, str]]
             ) -> bool:
    """Whether ``u``'s way ahead (its remaining stops' paths) uses a shut edge."""
    for stop in rp.stops:
        if stop.node not in u.points and stop.kind is StopKind.INSPECT:
            continue
        for a, b in zip(stop.path, stop.path[1:], strict=False):
            edge = fac.edge_between(a, b)
            if edge is not None and edge.key in shut:
                return True
    return False


def _summary(rows: list[dict[str, Any]], plan: Plan, plan_s: float, **sizes: Any
             ) -> dict[str, Any]:
    ok = [r for r in rows if "error" not in r]
    lat = [r["latency_s"] for r in ok]

    def figures(sel: list[dict[str, Any]]) -> dict[str, Any]:
        ls = [r["latency_s"] for r in sel]
        ratios = [r["makespan_ratio"] for r in sel]
        return {"events": len(sel),
                "latency_p50_s": round(percentile(ls, 50), 3) if ls else None,
                "latency_p99_s": round(percentile(ls, 99), 3) if ls else None,
                "makespan_ratio_median": round(statistics.median(ratios), 4) if ratios
                else None,
                "makespan_ratio_max": round(max(ratios), 4) if ratios else None}

    return {
        **sizes,
        "plan_s": round(plan_s, 2),
        "plan_makespan_s": round(plan.makespan_s, 1),
        "plan_stop": plan.solver_stop,
        **figures(ok),
        "latency_max_s": round(max(lat), 3) if lat else None,
        "by_kind": {k: figures([r for r in ok if r["kind"] == k]) for k in KINDS},
        "candidates_median": statistics.median(r["candidates"] for r in ok) if ok else None,
        "changed_median": statistics.median(r["changed"] for r in ok) if ok else None,
        "orders_to_unchanged_robots": sum(r["orders_unchanged"] for r in ok),
        "untouched_robots_changed": sum(r["untouched_changed"] for r in ok),
        "full_switches": sum(1 for r in ok if r["full_switch"]),
        "full_s_median": round(statistics.median(r["full_s"] for r in ok), 2) if ok
        else None,
        "errors": [r["error"] for r in rows if "error" in r],
        "rows": rows,
    }
