"""The independent plan verifier.

:func:`check_plan` recomputes every claim of a plan from the facility, the mission and the
fleet alone (never from solver internals): that each path is drivable by that robot (edges
exist in that direction, are open, avoid no-go zones and every zone the robot may not
enter, on a site whose explosion group admits the robot at all), that each inspection is
done by a robot carrying the task's sensors, for at least its dwell time and inside its
time window, that times follow from the edges' lengths and speeds, that the battery never
falls below the reserve along the way and charges only at chargers (never for a robot that
cannot be sent to charge), that every task is
either served once or listed as unassigned, and the objective value. :func:`verify_plan`
raises :class:`PlanningError` when anything is off.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from fleet.errors import PlanningError
from fleet.facility.model import NodeKind
from fleet.facility.protection import ratings_text, site_label
from fleet.planning.mission import MissionSpec
from fleet.planning.plan import Plan, RobotPlan, StopKind
from fleet.planning.robots import Fleet, Robot

_ABS = 1e-3  # seconds, metres and Wh are planned at millisecond / millimetre resolution
_REL = 1e-6


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_REL, abs_tol=_ABS)


@dataclass(frozen=True)
class Verification:
    """The verifier's own figures for a plan, and every violation found (empty: valid)."""

    violations: tuple[str, ...]
    makespan_s: float
    distance_m: float
    served: frozenset[str]

    @property
    def ok(self) -> bool:
        """Whether the plan satisfies every constraint."""
        return not self.violations


def check_plan(plan: Plan, mission: MissionSpec, fleet: Fleet) -> Verification:
    """Recompute every constraint and the objective of ``plan``; never raises on a bad plan."""
    violations: list[str] = []
    served: dict[str, str] = {}
    makespan = 0.0
    distance = 0.0
    for rp in plan.robots:
        try:
            robot = fleet.robot(rp.serial)
        except KeyError:
            violations.append(f"robot {rp.serial}: not in the fleet")
            continue
        finish, dist = _check_round(rp, robot, mission, violations, served)
        makespan = max(makespan, finish)
        distance += dist

    tasks = {t.point for t in mission.tasks}
    dropped = [u.point for u in plan.unassigned]
    for point in sorted(set(dropped) & set(served)):
        violations.append(f"task {point}: both served and listed as unassigned")
    for point in sorted(tasks - set(served) - set(dropped)):
        violations.append(f"task {point}: neither served nor listed as unassigned")
    for point in sorted(set(dropped) - tasks):
        violations.append(f"unassigned {point}: not a task of the mission")
    if len(dropped) != len(set(dropped)):
        violations.append("a task is listed as unassigned more than once")

    claimed = plan.objective_value
    own = makespan if plan.objective == "makespan" else distance
    if not _close(claimed, own):
        violations.append(
            f"objective {plan.objective}: plan claims {claimed:.3f}, recomputed {own:.3f}")
    return Verification(tuple(violations), makespan, distance, frozenset(served))


def _check_round(
    rp: RobotPlan,
    robot: Robot,
    mission: MissionSpec,
    violations: list[str],
    served: dict[str, str],
) -> tuple[float, float]:
    """Check one robot's round; returns the recomputed finish time and distance."""
    fac = mission.facility
    cls = robot.robot_class
    access = cls.access
    reserve = cls.battery_wh * mission.battery_reserve_pct / 100.0
    who = f"robot {rp.serial}"
    if mission.robots.restricts and not (
        cls.name in mission.robots.classes or robot.serial in mission.robots.serials
    ):
        violations.append(f"{who}: not allowed by the mission's robot filter")
    if rp.stops and not fac.admits(access):
        violations.append(f"{who}: rated {ratings_text(cls.ratings)}, may not be on "
                          f"{site_label(fac.kind, fac.firedamp)} at all")
    if not rp.stops:
        return 0.0, 0.0
    first, last = rp.stops[0], rp.stops[-1]
    if first.kind is not StopKind.START or first.node != robot.start_node:
        where = "its dock" if robot.start is None else "where it is sent to"
        violations.append(f"{who}: round does not start at {where} {robot.start_node}")
    if last.kind is not StopKind.RETURN or last.node != robot.dock:
        violations.append(f"{who}: round does not end at its dock {robot.dock}")
    if not _close(first.battery_departure_wh, robot.start_wh) or \
            first.departure != robot.ready_s:
        violations.append(f"{who}: round must start at {robot.ready_s:g} s with the "
                          f"robot's battery ({robot.start_wh:.1f} Wh)")

    # the verifier's own figures from here on: the robot's battery when it starts
    time, battery, distance = robot.ready_s, robot.start_wh, 0.0
    for i, stop in enumerate(rp.stops[1:], start=1):
        where = f"{who} stop {i} ({stop.kind} {stop.node})"
        if stop.kind is StopKind.START:
            violations.append(f"{where}: a round starts only once")
        path = stop.path
        prev = rp.stops[i - 1].node
        if not path or path[0] != prev or path[-1] != stop.node:
            violations.append(f"{where}: path must run from {prev} to {stop.node}")
        leg_m, leg_s = 0.0, 0.0
        for a, b in itertools.pairwise(path):
            edge = fac.edge_between(a, b)
            if edge is None:
                violations.append(f"{where}: no drivable edge {a} -> {b}")
                continue
            if edge.closed:
                violations.append(f"{where}: edge {a}-{b} is closed")
            elif not fac.traversable(edge, access):
                zones = ", ".join(z.id for z in fac.zones_on_edge(edge)
                                  if not access.may_enter(z))
                violations.append(f"{where}: edge {a}-{b} enters forbidden zone {zones}")
            leg_m += edge.length
            leg_s += edge.length / fac.edge_speed(edge, cls.speed)
            # consumption only falls along an edge, so checking its end suffices
            if battery - (leg_m * cls.wh_per_metre) < reserve - _ABS:
                violations.append(
                    f"{where}: battery below the reserve ({reserve:.1f} Wh) at {b}")
                battery = math.inf  # report the leg once
        for n in path:
            if n in fac.nodes and not fac.node_allowed(n, access):
                violations.append(f"{where}: node {n} is in a zone the robot may not enter")
        battery_arrival = battery - leg_m * cls.wh_per_metre if math.isfinite(battery) else (
            stop.battery_arrival_wh)
        arrival = time + leg_s
        distance += leg_m
        if not _close(stop.distance_m, leg_m):
            violations.append(f"{where}: distance {stop.distance_m:.3f} m, path is {leg_m:.3f} m")
        if not _close(stop.arrival, arrival):
            violations.append(f"{where}: arrival {stop.arrival:.3f} s, recomputed {arrival:.3f} s")
        if not _close(stop.battery_arrival_wh, battery_arrival):
            violations.append(f"{where}: battery on arrival {stop.battery_arrival_wh:.3f} Wh, "
                              f"recomputed {battery_arrival:.3f} Wh")
        start = stop.departure - stop.service_s
        if start < arrival - _ABS or stop.service_s < 0:
            violations.append(f"{where}: service starts before arrival")
        if stop.kind is StopKind.INSPECT:
            battery_departure = battery_arrival - stop.service_s * cls.wh_per_second
            _check_inspection(stop.node, stop.service_s, start, robot, mission, where,
                              violations)
            if stop.node in served:
                violations.append(f"{where}: {stop.node} already inspected by {served[stop.node]}")
            served.setdefault(stop.node, rp.serial)
        elif stop.kind is StopKind.CHARGE:
            if not robot.charges:
                violations.append(f"{where}: {rp.serial} cannot be sent to charge")
            if fac.nodes.get(stop.node) is None or fac.nodes[stop.node].kind not in (
                NodeKind.CHARGER, NodeKind.DOCK
            ):
                violations.append(f"{where}: not a charger")
            battery_departure = min(cls.battery_wh,
                                    battery_arrival + cls.charge_w * stop.service_s / 3600.0)
        else:
            battery_departure = battery_arrival
            if stop.service_s:
                violations.append(f"{where}: a return stop has no service time")
        if battery_departure < reserve - _ABS:
            violations.append(f"{where}: battery below the reserve ({reserve:.1f} Wh)")
        if not _close(stop.battery_departure_wh, battery_departure):
            violations.append(f"{where}: battery on departure {stop.battery_departure_wh:.3f} "
                              f"Wh, recomputed {battery_departure:.3f} Wh")
        if i < len(rp.stops) - 1 and stop.kind is StopKind.RETURN:
            violations.append(f"{where}: the round returns to its dock before its end")
        time, battery = stop.departure, battery_departure
    return time, distance


def _check_inspection(
    point: str, service_s: float, start: float, robot: Robot, mission: MissionSpec,
    where: str, violations: list[str],
) -> None:
    try:
        task = mission.task(point)
    except KeyError:
        violations.append(f"{where}: {point} is not a task of the mission")
        return
    missing = task.sensors - robot.robot_class.sensors
    if missing:
        violations.append(f"{where}: robot lacks sensors {', '.join(sorted(missing))}")
    if service_s < task.dwell_s - _ABS:
        violations.append(f"{where}: dwell {service_s:.1f} s shorter than {task.dwell_s:.1f} s")
    if task.window is not None:
        early, late = task.window
        if start < early - _ABS or start > late + _ABS:
            violations.append(f"{where}: inspection at {start:.1f} s outside its window "
                              f"[{early:.0f}, {late:.0f}] s")


def verify_plan(plan: Plan, mission: MissionSpec, fleet: Fleet) -> Verification:
    """:func:`check_plan`, raising :class:`PlanningError` listing the violations if any."""
    result = check_plan(plan, mission, fleet)
    if not result.ok:
        shown = "; ".join(result.violations[:10])
        more = f" (+{len(result.violations) - 10} more)" if len(result.violations) > 10 else ""
        raise PlanningError(f"plan failed verification: {shown}{more}")
    return result
