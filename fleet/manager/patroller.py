"""Continuous patrol as laps of a cyclic plan (docs/schedules.md, "How the manager patrols").

A continuous mission's robots are given :func:`~fleet.planning.patrol.plan_patrol`'s cycles
and drive them one *lap* at a time: each lap is an ordinary round (a
:class:`~fleet.planning.plan.RobotPlan` sent with
:meth:`~fleet.manager.dispatcher.Dispatcher.dispatch`) from the robot's join node all the
way round the cycle and back to it, inspecting at the cycle's stops. When a lap ends (the
robot is freed by :meth:`~fleet.manager.core.Core.settle`) the robot gets the next one, at
its slot: lap ``n`` starts at ``join_at_s + n * period`` after the plan's epoch, so the
robots of a cycle stay evenly spaced in time. A robot that is early is held (the planner
loop wakes for the earliest held lap); one that is late starts at once.

What a caller may rely on (:class:`Patroller`):

- :meth:`Patroller.step` plans (outside the lock, bounded by the planner's time limit) when
  the mission has no plan yet or its set of robots changed (one lost, locked out, busy
  elsewhere, or a new one online and free), passing the plan in force as ``previous`` so
  cycles through the same points are kept; robots still on a lap are planned from the node
  their lap ends at, and the new plan's epoch is when their laps should be over. It also
  re-plans when lost robots or gas closures on the site change: points they cut off are
  left out of the plan and marked blocked (events ``blocked`` / ``unblocked``) until then.
  Each plan is recorded as a ``patrol_planned`` event; it lives in memory only
  (``MissionRun.laps``): a restarted manager plans again from where the robots stand.
- Before a lap, a robot whose battery (its last state) cannot do the lap plus the way from
  its join node to the nearest charger while keeping the mission's reserve gets a charging
  lap instead: to the nearest reachable charger or dock, charge full, back to its join
  node (event ``patrol_charging``); it then takes its next slot not yet past. A robot whose
  factsheet offers no charging, or with no charger in reach, drives its lap
  (``patrol_no_charger``, once per plan).
- The points a lost or locked-out robot's lap hands back are not planned as rounds: the
  cycles cover them (the planner loop empties such a mission's pool).
- When no cyclic plan can be made (:class:`~fleet.errors.PlanningError`), the mission
  falls back to rounds for good (``MissionRun.rounds_because``, a ``patrol_fallback``
  event with the reason); laps and rounds never run together for one mission.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from fleet.errors import PlanningError
from fleet.facility.model import Facility
from fleet.facility.protection import rating_problem
from fleet.facility.routing import path_edges, shortest_route
from fleet.manager.core import Core
from fleet.manager.dispatch import supports_charging
from fleet.manager.dispatcher import Dispatcher
from fleet.manager.lifecycle import MissionStatus, RobotStatus
from fleet.manager.missions import MissionRun
from fleet.manager.obstacles import Obstacles
from fleet.manager.patrol import Laps
from fleet.manager.planning_process import PlanningProcess
from fleet.manager.refusals import barred
from fleet.manager.registry import RobotEntry
from fleet.planning.patrol import PatrolPlan, PatrolRobot, plan_patrol, points_from_mission
from fleet.planning.plan import RobotPlan, Stop, StopKind
from fleet.planning.robots import RobotClass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Member:
    """A robot of a patrol as planned: where it starts (for a robot on a lap, the node the
    lap ends at) and when it is free there (``None``: free now)."""

    robot: RobotEntry
    cls: RobotClass
    start: str
    busy_until: float | None


# ------------------------------------------------------------------------ building laps

def _travel(fac: Facility, path: tuple[str, ...], speed: float) -> tuple[float, float]:
    """Metres and seconds along ``path`` at top speed ``speed``."""
    if len(path) < 2:
        return 0.0, 0.0
    edges = path_edges(fac, path)
    return (sum(e.length for e in edges),
            sum(e.length / fac.edge_speed(e, speed) for e in edges))


def _stops(fac: Facility, cls: RobotClass, battery_wh: float,
           legs: list[tuple[StopKind, str, tuple[str, ...], float]]) -> tuple[Stop, ...]:
    """Stops from ``(kind, node, path, service_s)`` legs, with times (seconds after the lap
    starts) and battery levels: driving costs ``wh_per_metre``, dwelling
    ``wh_per_second``; a CHARGE stop fills the battery (its service the charging time)."""
    out: list[Stop] = []
    clock, level = 0.0, battery_wh
    for kind, node, path, service in legs:
        metres, secs = _travel(fac, path, cls.speed)
        clock += secs
        arrive = level - metres * cls.wh_per_metre
        if kind is StopKind.CHARGE:
            service = cls.charge_seconds(cls.battery_wh - arrive)
            level = cls.battery_wh
        else:
            level = arrive - service * cls.wh_per_second
        out.append(Stop(kind, node, path, metres, clock, clock + service, arrive, level,
                        service))
        clock += service
    return tuple(out)


def lap_plan(plan: PatrolPlan, robot: RobotEntry, cls: RobotClass, fac: Facility, *,
             start: str, dwell: Mapping[str, float], battery_wh: float,
             approach: bool) -> RobotPlan:
    """``robot``'s lap of ``plan``: START at ``start``; with ``approach`` (its first lap of
    this plan) the plan's approach to its join node (the quickest way from ``start`` when
    ``start`` is not where the plan's approach begins); then the cycle from the join node
    all the way round back to it, an INSPECT stop at each of the cycle's stops (``dwell``:
    seconds per point), RETURN at the join node. Every stop's path starts at the previous
    stop's node. ``KeyError`` when the robot has no part in ``plan``; ``PlanningError``
    when ``start`` cannot reach the join node."""
    part = next((p for p in plan.robots if p.robot == robot.serial), None)
    if part is None:
        raise KeyError(f"robot {robot.serial!r} has no part in the patrol plan")
    cycle = plan.cycles[part.cycle]
    nodes, join = cycle.nodes, part.join
    ring = nodes[join:] + nodes[:join] + ((nodes[join],) if len(nodes) > 1 else ())
    lead = _lead(fac, part.approach, start, nodes[join], cls, approach=approach)
    walk = lead + ring[1:]
    at = sorted((len(lead) - 1 + (s - join) % len(nodes), nodes[s]) for s in cycle.stops)
    legs: list[tuple[StopKind, str, tuple[str, ...], float]] = [
        (StopKind.START, start, (), 0.0)]
    prev = 0
    for i, point in at:
        legs.append((StopKind.INSPECT, point, walk[prev:i + 1], float(dwell.get(point, 0.0))))
        prev = i
    legs.append((StopKind.RETURN, walk[-1], walk[prev:], 0.0))
    return RobotPlan(robot.serial, robot.manufacturer, cls.name,
                     _stops(fac, cls, battery_wh, legs))


def charging_lap(robot: RobotEntry, cls: RobotClass, fac: Facility, *, start: str,
                 charger: tuple[str, ...], join: str, battery_wh: float) -> RobotPlan:
    """A lap that only charges: START at ``start``, along ``charger`` (a path from
    ``start`` to a charger or dock) to a CHARGE stop leaving with a full battery, then the
    quickest way back to ``join``, RETURN there. ``PlanningError`` when there is none."""
    back = _way(fac, charger[-1], join, cls)
    return RobotPlan(robot.serial, robot.manufacturer, cls.name, _stops(fac, cls, battery_wh, [
        (StopKind.START, start, (), 0.0), (StopKind.CHARGE, charger[-1], charger, 0.0),
        (StopKind.RETURN, join, back, 0.0)]))


def _lead(fac: Facility, planned: tuple[str, ...], start: str, join: str, cls: RobotClass,
          *, approach: bool) -> tuple[str, ...]:
    """The way from ``start`` to the join node: the plan's approach on a first lap that
    starts where it begins, else the quickest way (one node when ``start`` is the join)."""
    if approach and planned and planned[0] == start and planned[-1] == join:
        return planned
    return _way(fac, start, join, cls)


def _way(fac: Facility, a: str, b: str, cls: RobotClass) -> tuple[str, ...]:
    route = shortest_route(fac, a, b, access=cls.access, weight="time")
    if route is None:
        raise PlanningError(f"no way from {a} to {b}")
    return tuple(route.nodes)


def nearest_charger(fac: Facility, node: str, cls: RobotClass) -> tuple[str, ...] | None:
    """The shortest path from ``node`` to a charger or dock ``cls`` may use (``node``
    alone when it is one), or None when none is reachable."""
    best: tuple[str, ...] | None = None
    best_m = math.inf
    for c in fac.chargers:
        route = shortest_route(fac, node, c, access=cls.access)
        if route is not None and route.length_m < best_m:
            best, best_m = tuple(route.nodes), route.length_m
    return best


def needs_charge(rp: RobotPlan, cls: RobotClass, fac: Facility, *, battery_wh: float,
                 reserve_pct: float) -> bool:
    """Whether a robot with ``battery_wh`` would end lap ``rp`` and drive on to the nearest
    charger with less than ``reserve_pct`` % of its battery left (True as well when no
    charger is reachable from the lap's end and the lap alone breaks the reserve)."""
    after = battery_wh - rp.energy_wh()
    way = nearest_charger(fac, rp.stops[-1].node, cls)
    metres = _travel(fac, way, cls.speed)[0] if way is not None else 0.0
    return after - metres * cls.wh_per_metre < cls.battery_wh * reserve_pct / 100.0


# ------------------------------------------------------------------------ the driver

class Patroller:
    """Drives continuous missions as laps (see the module docstring)."""

    def __init__(self, core: Core, dispatcher: Dispatcher, obstacles: Obstacles,
                 no_robots: Callable[[MissionRun], None],
                 planning: PlanningProcess | None = None) -> None:
        self.core = core
        self.dispatcher = dispatcher
        self.obstacles = obstacles
        self.no_robots = no_robots
        self.planning = planning or PlanningProcess(in_process=True)
        """Where the patrol plans are solved (the planner loop's)."""

    def step(self, run: MissionRun) -> float | None:
        """Plan ``run``'s patrol if needed and dispatch the laps due now; the manager-clock
        timestamp of the earliest lap held back (None when none is). Never raises a
        planning failure: it becomes the fallback to rounds."""
        core = self.core
        with core.lock:
            if run.rounds_because is not None or _stopped(run):
                return None
            members = self._members(run)
            if not members:
                self.no_robots(run)
                return None
            laps = run.laps
            key = self._key(run)
            replan = laps is None or laps.robots != frozenset(members) or laps.site != key
            if replan:
                site, why = self._site(run)
            now = core.clock.now().timestamp()
        if replan:
            laps = self._plan(run, members, site, key, why, now)
            if laps is None:
                return None
        assert laps is not None and laps.facility is not None
        site = laps.facility
        held: float | None = None
        for serial in sorted(members):
            with core.lock:  # one robot at a time: the manager keeps hearing its robots
                if run.laps is not laps or _stopped(run):
                    return None
                at = self._lap(run, laps, serial, site)
            if at is not None:
                held = at if held is None else min(held, at)
        return held

    # -- who patrols ----------------------------------------------------------------------
    def _members(self, run: MissionRun) -> dict[str, Member]:
        """The robots of the patrol now: online, capable for every task and the site, and
        either free at a known node or on a lap of this mission (caller holds the lock)."""
        fac = run.spec.facility
        wanted = run.spec.robots
        sensors = frozenset().union(*(t.sensors for t in run.spec.tasks))
        out: dict[str, Member] = {}
        # a robot that refused the patrol's orders sits out its back-off (or for good)
        refused = barred(run.refusals, self.core.clock.now().timestamp())
        for r in self.core.registry.all():
            cls = r.robot_class()
            a = run.assignments.get(r.serial)
            lapping = r.mission_id == run.id and a is not None and a.active
            if r.serial in refused and not lapping:
                continue
            # a robot on a lap stays in while merely silent (it may be heard again): a
            # re-plan for every late state would shuffle the spacing for nothing
            ok = (RobotStatus.ONLINE, RobotStatus.SILENT) if lapping else (RobotStatus.ONLINE,)
            if r.status not in ok or cls is None or not sensors <= cls.sensors \
                    or rating_problem(cls.name, cls.ratings, fac) is not None:
                continue
            if (wanted.classes or wanted.serials) and cls.name not in wanted.classes \
                    and r.serial not in wanted.serials:
                continue
            if not all(fac.node_allowed(t.point, cls.access) for t in run.spec.tasks):
                continue
            if lapping and a is not None:
                until = run.laps.busy_until.get(r.serial) if run.laps is not None else None
                out[r.serial] = Member(r, cls, a.stops[-1].node_id,
                                       until if until is not None else self.core.clock
                                       .now().timestamp())
                continue
            node = r.node_in(fac)
            if r.mission_id is None and not r.busy and node is not None:
                out[r.serial] = Member(r, cls, node, None)
        return out

    def _key(self, run: MissionRun) -> frozenset[str]:
        """The lost robots and gas closures of ``run``'s site now (caller holds the
        lock)."""
        fac = run.spec.facility
        t = self.core.traffic.get(fac.name)
        lost = [f"{kind} {what} {serial}" for what, (kind, serial, gone) in
                (t.obstacles().items() if t is not None else ()) if gone]
        return frozenset([*lost, *(f"closed {n}"
                                   for n in self.obstacles.closures.closed_nodes(fac))])

    def _site(self, run: MissionRun) -> tuple[Facility, str]:
        """``run``'s site with gas closures as zones and what lost robots fill shut, and
        why (caller holds the lock). Unlike :meth:`Obstacles.site`, places that robots
        merely pass through are not counted: a plan is for many laps."""
        fac = run.spec.facility
        base = self.obstacles.closures.site(fac)
        t = self.core.traffic.get(fac.name)
        shut: dict[tuple[str, str], str] = {}
        layout = fac.layout
        for what, (kind, serial, gone) in (t.obstacles().items() if t is not None else ()):
            if not gone:
                continue
            if kind == "block":
                shut.update({k: f"lost robot {serial} stands in block {what}"
                             for k in layout.block(what).edges})
            elif layout.capacity.get(what, 1) <= 1:
                g = fac.graph
                for _, _, e in [*g.in_edges(what, data="edge"), *g.out_edges(what, data="edge")]:
                    shut[e.key] = f"lost robot {serial} fills {what}"
        closed = self.obstacles.closures.closed_nodes(fac)
        why = "; ".join(sorted({*shut.values(), *(f"gas closure {r.id}"
                                                   for r in closed.values())}))
        if not shut:
            return base, why
        return replace(base, edges=tuple(replace(e, closed=True) if e.key in shut else e
                                         for e in base.edges)), why

    def _plan(self, run: MissionRun, members: dict[str, Member], site: Facility,
              key: frozenset[str], why: str, now: float) -> Laps | None:
        """A new cyclic plan for ``members`` (outside the lock), installed on ``run``; None
        (and the fallback to rounds recorded) when none can be made. Points no open way
        reaches (a lost robot or a gas closure in the way) are left out, blocked, until
        the site changes again."""
        core = self.core
        previous = run.laps.plan if run.laps is not None else None
        classes = {m.cls.name: m.cls for m in members.values()}
        # one class: its access decides the routes; mixed classes: the site's own rules
        access = next(iter(classes.values())).access if len(classes) == 1 else None
        robots = [PatrolRobot(s, m.start, m.cls.speed) for s, m in sorted(members.items())]
        points = points_from_mission(run.spec)
        home = robots[0].start
        # a point counts when the first robot can get there and back: the cycle must be
        # one closed walk, and a robot cut off from it is named by plan_patrol
        cut = {p.id for p in points if key and (
            shortest_route(site, home, p.id, access=access) is None
            or shortest_route(site, p.id, home, access=access) is None)}
        try:
            if len(cut) == len(points):
                raise PlanningError("no open way to any point")
            plan = self.planning.call(plan_patrol, site,
                                      [p for p in points if p.id not in cut], robots,
                                      access=access, time_limit=core.settings.plan_time_limit,
                                      previous=previous)
        except PlanningError as exc:
            with core.lock:
                run.laps = None
                run.rounds_because = str(exc)
                core.event(run, "patrol_fallback", None, {
                    "reason": str(exc), "robots": sorted(members)})
                core.wake.set()  # the rounds start at the next look
            return None
        # robots still on a lap join the new plan from where that lap ends, once it does
        epoch = max([now, *(m.busy_until for m in members.values()
                            if m.busy_until is not None)])
        laps = Laps(plan, epoch, frozenset(members), key, site)
        with core.lock:
            run.laps = laps
            run.pool.clear()  # the cycles cover every point not blocked
            self._block(run, cut, why)
            core.event(run, "patrol_planned", None, {
                "robots": sorted(members), "strategy": plan.strategy.value,
                "cycles": [{"points": list(c.points), "robots": list(c.robots),
                            "period_s": round(c.period_s, 1)} for c in plan.cycles],
                "worst_idleness_s": round(plan.worst_s, 1),
                "formation_s": round(plan.formation_s, 1), "replan": previous is not None})
        return laps

    def _block(self, run: MissionRun, cut: set[str], why: str) -> None:
        """Mark the points left out of the plan blocked (``why``), and those back in
        unblocked (caller holds the lock)."""
        core = self.core
        for point in sorted(cut - set(run.blocked)):
            run.blocked[point] = f"no open way: {why}"
            core.event(run, "blocked", None, {"point": point, "reason": run.blocked[point]})
        back = sorted(p for p in run.blocked if p not in cut)
        for point in back:
            del run.blocked[point]
        if back:
            core.event(run, "unblocked", None, {"points": back, "why": "way open again"})
        run.reason = f"{len(run.blocked)} point(s) blocked: {why}" if run.blocked else None
        core.persist(run)

    # -- one robot's next lap -------------------------------------------------------------
    def _lap(self, run: MissionRun, laps: Laps, serial: str, site: Facility) -> float | None:
        """Dispatch ``serial``'s next lap if it is free and due; the time it is held until
        when early (caller holds the lock)."""
        core = self.core
        robot = core.registry.find(serial)
        if robot is None or robot.mission_id is not None or robot.busy \
                or robot.status is not RobotStatus.ONLINE:
            return None
        cls = robot.robot_class()
        node = robot.node_in(run.spec.facility)
        if cls is None or node is None:
            return None
        now = core.clock.now().timestamp()
        part = laps.plan.robots[laps.index(serial)]
        period = laps.plan.cycles[part.cycle].period_s
        dwell = {t.point: t.dwell_s for t in run.spec.tasks}
        full = cls.battery_wh
        battery = full if robot.battery is None else full * robot.battery / 100.0
        first = serial not in laps.next_lap
        n = laps.next_lap.get(serial, 0)
        if serial in laps.after_charge and period > 0:
            # back from charging: its next slot not yet past (the others kept theirs)
            n = max(n, math.ceil((now - laps.slot(serial, 0)) / period))
        join = laps.plan.cycles[part.cycle].nodes[part.join]
        try:
            rp = lap_plan(laps.plan, robot, cls, site, start=node, dwell=dwell,
                          battery_wh=battery, approach=first)
            # a first lap is dispatched early by its approach: at its join node on time
            lead = _lead(site, part.approach, node, join, cls, approach=first)
        except PlanningError as exc:
            self._tell(run, laps, "patrol_unreachable", serial,
                       {"from": node, "error": str(exc)})
            return None
        due = laps.slot(serial, n) - _travel(site, lead, cls.speed)[1]
        if due > now + 1e-6:
            return due
        spec = replace(run.spec, facility=site)
        if needs_charge(rp, cls, site, battery_wh=battery,
                        reserve_pct=run.spec.battery_reserve_pct):
            way = nearest_charger(site, node, cls)
            if way is not None and supports_charging(robot.factsheet):
                rp = charging_lap(robot, cls, site, start=node, charger=way, join=join,
                                  battery_wh=battery)
                laps.after_charge.add(serial)
                laps.next_lap[serial] = n
                laps.busy_until[serial] = now + rp.finish
                self.dispatcher.dispatch(run, rp, spec, robot)
                core.event(run, "patrol_charging", serial, {
                    "charger": way[-1], "battery_pct": robot.battery})
                self._dispatched(run)
                return None
            self._tell(run, laps, "patrol_no_charger", serial, {"battery_pct": robot.battery})
        laps.after_charge.discard(serial)
        laps.next_lap[serial] = n + 1
        laps.busy_until[serial] = max(now, laps.slot(serial, n)) + rp.finish
        self.dispatcher.dispatch(run, rp, spec, robot)
        self._dispatched(run)
        return None

    def _tell(self, run: MissionRun, laps: Laps, kind: str, serial: str,
              detail: dict[str, object]) -> None:
        """Record a robot's problem once per plan (the planner looks every second)."""
        if (kind, serial) not in laps.told:
            laps.told.add((kind, serial))
            self.core.event(run, kind, serial, detail)

    def _dispatched(self, run: MissionRun) -> None:
        if run.status is MissionStatus.QUEUED:
            self.core.set_status(run, MissionStatus.DISPATCHED)



def _stopped(run: MissionRun) -> bool:
    """Whether ``run`` takes no new laps now (over, paused, or a pause is awaited)."""
    return run.status.terminal or run.status is MissionStatus.PAUSED or run.pausing
