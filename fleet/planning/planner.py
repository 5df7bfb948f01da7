"""The patrol planner: facility + mission + fleet → a verified :class:`Plan`.

How a plan is made:

1. **Eligibility.** For each task and robot: the robot carries the task's sensors, may
   stand at the point (its ratings against the site's explosion group, the ATEX zone or
   Ma-only area: :meth:`fleet.facility.model.Facility.node_allowed`; its capabilities), can
   drive there from its dock and back, can do the visit on one charge (from and to the
   nearest charger, keeping the reserve), and can arrive before the window closes. A task
   no robot can do is unassigned with the most specific reason.
2. **Metric closure** per robot class (:mod:`fleet.facility.closure`): distances and times
   among the points, docks and chargers, along paths that robot class may drive.
3. **Routing** (:mod:`fleet.planning.solver`, PyVRP): one vehicle per robot from and to its
   dock, its class's matrices, dwell times, windows, the tasks a robot may not do forbidden,
   and every task optional with a prize that grows by priority so that, when not everything
   fits, lower-priority tasks are dropped first. The solver minimises total distance, or the
   makespan by searching the route duration limit.
4. **Charging.** Each round is then driven on paper along the real paths: before a leg that
   would leave too little energy to reach a charger afterwards, the robot detours to the
   best charger and charges just enough to finish its round (or full). A task that would
   then miss its window is dropped with that reason.
5. **Verification** (:mod:`fleet.planning.verify`) of the result; a plan that fails it is
   never returned.
"""

from __future__ import annotations

import logging
import math
import time as clock
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from fleet.errors import MissionError, PlanningError, Problem
from fleet.facility.closure import Closure, metric_closure
from fleet.facility.model import NodeKind, ZoneKind
from fleet.facility.protection import atex_needs, site_label
from fleet.planning.mission import InspectionTask, MissionSpec, Objective
from fleet.planning.plan import DropReason, Plan, RobotPlan, Stop, StopKind, Unassigned
from fleet.planning.robots import Fleet, Robot, RobotClass, rating_problems
from fleet.planning.routing_problem import solve_rounds
from fleet.planning.verify import verify_plan

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
"""Called with a message and a fraction done (0..1) while planning."""


@dataclass(frozen=True)
class _ClassView:
    """A robot class's closure over the points, docks and chargers of a mission."""

    cls: RobotClass
    closure: Closure
    chargers: tuple[str, ...]

    def d(self, a: str, b: str) -> float:
        c = self.closure
        return float(c.distance[c.index(a), c.index(b)])

    def t(self, a: str, b: str) -> float:
        c = self.closure
        return float(c.time[c.index(a), c.index(b)])

    def energy(self, a: str, b: str) -> float:
        return self.d(a, b) * self.cls.wh_per_metre

    @cached_property
    def _charger_rows(self) -> np.ndarray:
        return np.array([self.closure.index(c) for c in self.chargers], dtype=np.intp)

    def nearest_charger_energy(self, a: str) -> float:
        """Wh to drive from ``a`` to its nearest usable charger (inf: none)."""
        rows = self._charger_rows
        if not len(rows):
            return math.inf
        c = self.closure
        return float(c.distance[c.index(a), rows].min()) * self.cls.wh_per_metre

    def from_charger_energy(self, a: str) -> float:
        """Wh to drive to ``a`` from the charger nearest to it (inf: none). A site with
        hundreds of docks has as many chargers: one vector minimum, not a Python loop
        per robot and point."""
        rows = self._charger_rows
        if not len(rows):
            return math.inf
        c = self.closure
        return float(c.distance[rows, c.index(a)].min()) * self.cls.wh_per_metre


def plan_mission(
    mission: MissionSpec,
    fleet: Fleet,
    *,
    time_limit: float = 10.0,
    objective: Objective | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    initial: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """Plan a mission for a fleet and verify the plan.

    ``objective`` overrides the mission's; ``time_limit`` bounds the solver (seconds).
    ``initial`` (robot serial → points in visit order) is where the search starts: a
    re-plan warm-starts from the plan it changes (:mod:`fleet.planning.replan`); points
    or robots it names that are not in this planning are ignored.
    Raises :class:`MissionError` when the fleet does not fit the site (a dock that is not
    a dock of the map, a robot class not rated for the site's explosion group:
    :func:`fleet.planning.robots.rating_problems`) and :class:`PlanningError` when no
    valid plan can be made.
    """
    started = clock.perf_counter()
    report = progress or (lambda _msg, _frac: None)
    objective = objective or mission.objective
    fac = mission.facility
    robots = fleet.restricted(classes=mission.robots.classes, serials=mission.robots.serials)
    _check_docks(robots, mission)
    if not robots.robots:
        raise PlanningError("no robot may take part: the mission's robot filter matches none")

    report("metric closure", 0.0)
    chargers = tuple(fac.chargers)
    points = [t.point for t in mission.tasks]
    nodes = list(dict.fromkeys([*points, *(r.start_node for r in robots.robots),
                                *(r.dock for r in robots.robots), *chargers]))
    views: dict[str, _ClassView] = {}
    classes = {r.robot_class.name: r.robot_class for r in robots.robots}
    for name, cls in classes.items():
        closure = metric_closure(fac, nodes, access=cls.access)
        usable = tuple(c for c in chargers if fac.node_allowed(c, cls.access))
        views[name] = _ClassView(cls, closure, usable)

    report("eligibility", 0.1)
    reserve_pct = mission.battery_reserve_pct
    eligible: dict[str, list[Robot]] = {}
    unassigned: list[Unassigned] = []
    for task in mission.tasks:
        ok, reason = _eligible_robots(task, robots.robots, views, mission, reserve_pct)
        if ok:
            eligible[task.point] = ok
        else:
            unassigned.append(reason)

    report("routing", 0.2)
    deadline = started + time_limit
    # The solver does not see charging stops; they are inserted afterwards (_drive) and
    # checked by the verifier like everything else. When a round needed charging, a second
    # search prices energy in time (each Wh costs the seconds to recharge it), which steers
    # work towards robots with energy to spare; the better of the two plans is kept.
    candidates: list[Plan] = []
    stops: list[str] = []
    for price_energy, share in ((False, 0.5), (True, 1.0)):
        rounds, dropped, stopped = solve_rounds(
            mission=mission,
            robots=robots.robots,
            views={n: (v.closure, v.cls) for n, v in views.items()},
            eligible=eligible,
            objective=objective,
            time_limit=max(0.05, share * (deadline - clock.perf_counter())),
            seed=seed,
            price_energy=price_energy,
            initial=initial,
            progress=_scaled(report, "routing", 0.55 if price_energy else 0.2, 0.35),
        )
        stops.append(stopped)
        candidates.append(_assemble(mission, objective, robots, views, rounds, dropped,
                                    unassigned))
        if objective is Objective.DISTANCE or not any(
            r.charging_stops for r in candidates[-1].robots
        ):
            break
    report("charging", 0.9)
    priority = {t.point: t.priority for t in mission.tasks}
    plan = min(candidates, key=lambda p: _rank(p, priority))
    plan = replace(plan, solver_seconds=clock.perf_counter() - started,
                   solver_stop="limit" if "limit" in stops else "converged")
    verify_plan(plan, mission, robots)
    report("verified", 1.0)
    return plan


def _assemble(
    mission: MissionSpec,
    objective: Objective,
    robots: Fleet,
    views: dict[str, _ClassView],
    rounds: dict[str, list[str]],
    dropped: list[str],
    ineligible: list[Unassigned],
) -> Plan:
    """A plan from the solver's visit orders: drive each round with charging stops."""
    unassigned = [*ineligible, *(
        Unassigned(p, DropReason.CAPACITY,
                   "not served in the best plan found; higher-priority tasks first")
        for p in dropped)]
    plans: list[RobotPlan] = []
    for robot in robots.robots:
        seq = rounds.get(robot.serial, [])
        if seq:
            rp, late = _drive(robot, seq, views[robot.robot_class.name], mission)
            unassigned += late
            plans.append(rp)
    return Plan(mission=mission.name, objective=objective.value, robots=tuple(plans),
                unassigned=tuple(unassigned))


def _scaled(report: Progress, message: str, base: float, span: float
            ) -> Callable[[float], None]:
    """A progress callback for one step of the planning, mapped into ``[base, base+span]``."""
    return lambda frac: report(message, base + span * frac)


def _rank(plan: Plan, priority: dict[str, int]) -> tuple[int, float]:
    """Better plans sort first: one more task of a priority outweighs any number of
    lower-priority ones; then the objective value."""
    return (sum(1000 ** priority[u.point] for u in plan.unassigned), plan.objective_value)


def _check_docks(robots: Fleet, mission: MissionSpec) -> None:
    fac = mission.facility
    problems = rating_problems(robots, fac)
    for r in robots.robots:
        if r.start is not None and r.start not in fac.nodes:
            problems.append(Problem(f"start {r.start!r} is not a node of {fac.name}",
                                    element=f"robot {r.serial}"))
        node = fac.nodes.get(r.dock)
        if node is None:
            problems.append(Problem(f"dock {r.dock!r} is not a node of {fac.name}",
                                    element=f"robot {r.serial}"))
        elif node.kind not in (NodeKind.DOCK, NodeKind.CHARGER):
            problems.append(Problem(f"dock {r.dock!r} is a {node.kind} node, not a dock",
                                    element=f"robot {r.serial}"))
    if problems:
        raise MissionError(problems)


def _eligible_robots(
    task: InspectionTask,
    robots: Sequence[Robot],
    views: dict[str, _ClassView],
    mission: MissionSpec,
    reserve_pct: float,
) -> tuple[list[Robot], Unassigned]:
    """The robots that can do a task, or the most specific reason why none can."""
    fac = mission.facility
    p = task.point
    with_sensors = [r for r in robots if task.sensors <= r.robot_class.sensors]
    if not with_sensors:
        carried = set().union(*(r.robot_class.sensors for r in robots))
        missing = sorted(task.sensors - carried) or sorted(task.sensors)
        return [], Unassigned(p, DropReason.NO_SENSORS,
                              f"no robot carries {', '.join(missing)}")
    allowed = [r for r in with_sensors if fac.node_allowed(p, r.robot_class.access)]
    if not allowed:
        nobody_carries = f", and no such robot carries {', '.join(sorted(task.sensors))}"
        admitted = [r for r in with_sensors if fac.admits(r.robot_class.access)]
        if not admitted:
            detail = f"{site_label(fac.kind, fac.firedamp)} admits only robots rated Ma or Mb"
            if any(fac.admits(r.robot_class.access) for r in robots):
                detail += nobody_carries
            return [], Unassigned(p, DropReason.PROTECTION, detail)
        zones = [z for z in fac.zones_at(p)
                 if not any(r.robot_class.access.may_enter(z) for r in admitted)]
        rated = [z for z in zones if z.kind in (ZoneKind.GAS_HAZARD, ZoneKind.MA_ONLY)]
        if rated:
            z = rated[0]
            if z.kind is ZoneKind.MA_ONLY:
                detail = f"zone {z.id} is Ma-only: needs Ma"
            else:
                detail = (f"zone {z.id} is ATEX zone {z.atex_zone}: "
                          f"needs {atex_needs(z.atex_zone or 0)}")
            if any(fac.admits(r.robot_class.access) and r.robot_class.access.may_enter(z)
                   for r in robots):
                detail += nobody_carries
            return [], Unassigned(p, DropReason.PROTECTION, detail)
        caps = sorted({z.capability or "" for z in zones if z.kind is ZoneKind.RESTRICTED})
        return [], Unassigned(p, DropReason.CAPABILITY,
                              f"zone needs capability {', '.join(caps)}")
    reachable = []
    for r in allowed:
        v = views[r.robot_class.name]
        if math.isfinite(v.d(r.start_node, p)) and math.isfinite(v.d(p, r.dock)):
            reachable.append(r)
    if not reachable:
        return [], Unassigned(p, DropReason.UNREACHABLE,
                              "no open path from a capable robot's dock and back")
    in_range = []
    for r in reachable:
        v, cls = views[r.robot_class.name], r.robot_class
        reserve = cls.battery_wh * reserve_pct / 100.0
        dwell = task.dwell_s * cls.wh_per_second
        if r.charges:  # a round trip between chargers on one full charge
            need = v.from_charger_energy(p) + dwell + v.nearest_charger_energy(p)
            fits = need <= cls.battery_wh - reserve
        else:  # there and home on what it has now
            fits = (v.energy(r.start_node, p) + dwell + v.energy(p, r.dock)
                    <= r.start_wh - reserve)
        if fits:
            in_range.append(r)
    if not in_range:
        return [], Unassigned(p, DropReason.BATTERY,
                              "a round trip from the nearest charger exceeds one charge"
                              if any(r.charges for r in reachable) else
                              "the capable robots have too little charge left to get there "
                              "and home")
    if task.window is None:
        return in_range, Unassigned(p, DropReason.WINDOW)
    timely = [r for r in in_range
              if r.ready_s + views[r.robot_class.name].t(r.start_node, p) <= task.window[1]]
    if not timely:
        return [], Unassigned(p, DropReason.WINDOW,
                              f"no capable robot can arrive before {task.window[1]:.0f} s")
    return timely, Unassigned(p, DropReason.WINDOW)


def _drive(
    robot: Robot, seq: Sequence[str], view: _ClassView, mission: MissionSpec
) -> tuple[RobotPlan, list[Unassigned]]:
    """Drive a round on paper along real paths, inserting charging stops where needed.

    Before each leg the robot checks that after the leg (and the dwell) it could still
    reach a charger with the reserve left; if not, it charges where it stands (when at a
    charger) just enough for the rest of its round, or hops to the charger that brings it
    closest to its target. A task it still cannot reach, or whose window has closed, is
    dropped with that reason.
    """
    cls = robot.robot_class
    eps = 1e-9
    reserve = cls.battery_wh * mission.battery_reserve_pct / 100.0
    tasks = {t.point: t for t in mission.tasks}
    stops = [Stop(StopKind.START, robot.start_node, (), 0.0, robot.ready_s, robot.ready_s,
                  robot.start_wh, robot.start_wh)]
    dropped: list[Unassigned] = []
    now, battery, here = robot.ready_s, robot.start_wh, robot.start_node
    targets = [*seq, robot.dock]
    for i, target in enumerate(targets):
        home = i == len(targets) - 1
        task = None if home else tasks[target]
        dwell_e = 0.0 if task is None else task.dwell_s * cls.wh_per_second
        # after the task: to a charger, or home for a robot that cannot be sent to charge
        after = 0.0 if home else view.nearest_charger_energy(target) if robot.charges \
            else view.energy(target, robot.dock)

        def need(at: str, target: str = target, dwell_e: float = dwell_e,
                 after: float = after) -> float:
            return view.energy(at, target) + dwell_e + after

        if not robot.charges:
            # no charging stop: a task only if it can still get home with the reserve kept
            # (so home always can)
            reachable = battery - need(here) >= reserve - eps
        elif battery - need(here) < reserve - eps:
            hops = _charging_hops(view, here, battery, target, dwell_e + after, reserve)
            if hops is None:
                reachable = False
            else:
                reachable = True
                for k, hop in enumerate(hops):
                    if hop != here:
                        stop = _leg(StopKind.CHARGE, here, hop, now, battery, view)
                        stops.append(stop)
                        now, battery, here = stop.departure, stop.battery_departure_wh, hop
                    # full at every hop but the last, where just enough for the rest
                    goal = cls.battery_wh
                    if k == len(hops) - 1:
                        rest = _remaining_energy(view, here, targets[i:], tasks, cls)
                        goal = min(cls.battery_wh, reserve + max(rest, need(here)))
                    if goal > battery + eps:
                        secs = cls.charge_seconds(goal - battery)
                        if stops[-1].kind is not StopKind.CHARGE:  # charging at the dock
                            stops.append(Stop(StopKind.CHARGE, here, (here,), 0.0, now, now,
                                              battery, battery))
                        last = stops[-1]
                        stops[-1] = replace(last, departure=last.departure + secs,
                                            service_s=last.service_s + secs,
                                            battery_departure_wh=goal)
                        now, battery = now + secs, goal
        else:
            reachable = True
        if not reachable:
            if home:
                raise PlanningError(
                    f"robot {robot.serial}: cannot get back to its dock {robot.dock} "
                    f"from {here} on the charge it can get")
            dropped.append(Unassigned(target, DropReason.BATTERY,
                                      f"out of reach of {robot.serial} between chargers"
                                      if robot.charges else f"out of reach of {robot.serial} "
                                      "on the charge it has (it cannot be sent to charge)"))
            continue
        stop = _leg(StopKind.RETURN if home else StopKind.INSPECT, here, target, now,
                    battery, view)
        if task is not None:
            start = stop.arrival
            if task.window is not None:
                start = max(start, task.window[0])
                if start > task.window[1] + eps:
                    dropped.append(Unassigned(target, DropReason.WINDOW,
                                              f"{robot.serial} would arrive at "
                                              f"{stop.arrival:.0f} s, after its window "
                                              f"closes at {task.window[1]:.0f} s"))
                    continue
            stop = replace(stop, departure=start + task.dwell_s, service_s=task.dwell_s,
                           battery_departure_wh=stop.battery_arrival_wh - dwell_e)
        stops.append(stop)
        now, battery, here = stop.departure, stop.battery_departure_wh, target
    return RobotPlan(robot.serial, robot.manufacturer, cls.name, tuple(stops)), dropped


def _leg(kind: StopKind, a: str, b: str, now: float, battery: float,
         view: _ClassView) -> Stop:
    """Drive from ``a`` to ``b`` along the closure's path; no service yet."""
    path = tuple(view.closure.path(a, b)) if a != b else (a,)
    dist, secs = view.d(a, b), view.t(a, b)
    arrive_wh = battery - dist * view.cls.wh_per_metre
    return Stop(kind, b, path, dist, now + secs, now + secs, arrive_wh, arrive_wh, 0.0)


def _charging_hops(view: _ClassView, here: str, battery: float, target: str, tail: float,
                   reserve: float) -> list[str] | None:
    """The quickest chain of chargers that gets the robot from ``here`` to ``target``
    (leaving ``tail`` Wh for what follows the target) without going below the reserve,
    charging full at each; ``None`` when no chain exists. Dijkstra over the chargers: a
    hop is possible when its energy fits the battery the robot has at its start."""
    import heapq

    cap = view.cls.battery_wh
    here_charger = here in view.chargers
    start_battery = cap if here_charger else battery
    best: dict[str, float] = {here: 0.0}
    back: dict[str, str] = {}
    heap: list[tuple[float, str]] = [(0.0, here)]
    done: set[str] = set()
    while heap:
        t, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        if u == target:
            chain = []
            while u != here:
                u = back[u]
                chain.append(u)
            chain.reverse()  # starts with ``here``: a charging stop only if it is a charger
            return chain if here_charger else chain[1:]
        have = start_battery if u == here else cap
        options = [c for c in view.chargers if c not in done]
        for v in [*options, target]:
            cost = view.energy(u, v) + (tail if v == target else 0.0)
            if have - cost < reserve - 1e-9 or not math.isfinite(cost):
                continue
            nt = t + view.t(u, v)
            if nt < best.get(v, math.inf):
                best[v] = nt
                back[v] = u
                heapq.heappush(heap, (nt, v))
    return None


def _remaining_energy(view: _ClassView, here: str, targets: Sequence[str],
                      tasks: dict[str, InspectionTask], cls: RobotClass) -> float:
    total, at = 0.0, here
    for t in targets:
        total += view.energy(at, t)
        if t in tasks:
            total += tasks[t].dwell_s * cls.wh_per_second
        at = t
    return total


__all__ = ["Progress", "plan_mission"]
