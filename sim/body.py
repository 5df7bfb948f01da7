"""A simulated robot's body: :class:`SimBody`, the :class:`~fleet.agent.RobotBody` every
simulated robot hands to a real :class:`~fleet.agent.RobotAgent`.

The body lives on the facility's graph and on world time (:mod:`fleet.clock`):

- **Driving.** :meth:`SimBody.move_to` drives the edge from where the robot stands to the
  target node at ``Facility.edge_speed`` (its class speed, capped by the edge's
  ``max_speed`` and by speed-limit zones), times :attr:`BodyParams.single_lane_factor` on
  single-lane drifts. The pose is interpolated along the edge from the clock, so
  :meth:`position` is exact at any moment without a simulation step.
- **Battery** (:mod:`sim.battery`), as the planner prices it: driving draws
  ``wh_per_metre`` per metre; standing and dwelling draw ``wh_per_second``; charging (at a
  charger or dock) adds ``charge_w``. A flat battery stops the robot
  (:class:`~fleet.agent.MoveFailed`).
- **Inspecting.** :meth:`SimBody.inspect` dwells ``duration_s`` world seconds and returns
  the :class:`~sim.world.World`'s readings at the node, with a finding for every reading
  past its :data:`ALARMS` level and for every sensor that gave none.
- **Faults** (:class:`~sim.scenario.Fault`): ``stuck`` (no progress; reported as a failed
  move after :attr:`BodyParams.stuck_report_s`), ``battery_drain`` (draws ``factor`` times
  the class figures). Sensor faults live in the World; ``kill`` in :mod:`sim.robots`.
  Faults added with :meth:`SimBody.inject` while a move runs take effect within
  :attr:`BodyParams.poll_s` world seconds.

Every leg driven and every stop is reported to an optional listener (the robot's radio
uses it to know when the robot enters and leaves comms-dead zones).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from fleet import sensors as vocab
from fleet.agent import ActionFailed, Battery, InspectionFailed, MoveFailed, MoveTarget, Pose
from fleet.clock import Clock
from fleet.facility.model import Edge, Facility
from fleet.planning.robots import Robot
from fleet.protocol.inspection import Finding, Reading
from fleet.sensors import Severity
from sim.battery import FLAT_WH, BatteryModel, Mode
from sim.scenario import Fault, FaultKind
from sim.space import SpaceLike
from sim.world import World

ALARMS: Mapping[str, tuple[str, float]] = {
    vocab.CH4: (">=", 1.0),    # %vol: coal mine alarm and power cut-off at the face
    vocab.CO: (">=", 24.0),    # ppm: 8-hour exposure limit
    vocab.H2S: (">=", 10.0),   # ppm: first alarm of a personal H2S monitor
    vocab.FLAMMABLE: (">=", 10.0),   # %LEL: first flammable-gas alarm
    vocab.CO2: (">=", 1.5),    # %vol: mine return-air limit
    vocab.O2: ("<", 19.5),     # %vol: oxygen-deficient atmosphere
    vocab.THERMAL: (">=", 80.0),  # °C: a surface hotter than any healthy machine on site
}
"""Alarm levels a simulated robot's own analysis applies: ``(comparison, level)`` in the
sensor's unit. A reading past its level becomes a WARNING finding (CRITICAL past twice the
distance from a typical background, see :func:`alarm_findings`)."""


def alarm(sensor: str, value: float) -> bool:
    """Whether ``value`` of ``sensor`` is past its :data:`ALARMS` level (False when none)."""
    rule = ALARMS.get(sensor)
    if rule is None:
        return False
    op, level = rule
    return value >= level if op == ">=" else value < level


def alarm_findings(readings: Iterable[Reading]) -> list[Finding]:
    """One finding per reading past its alarm level; CRITICAL at twice the level (half the
    level for oxygen's lower limit measured from 20.9 %)."""
    found = []
    for r in readings:
        if not alarm(r.sensor, r.value):
            continue
        op, level = ALARMS[r.sensor]
        if op == ">=":
            critical = r.value >= 2 * level
            what = f"{r.sensor} {r.value:g} {r.unit} at or above the alarm level {level:g}"
        else:
            critical = r.value < level - (vocab.FRESH_AIR_O2_VOL - level)
            what = f"{r.sensor} {r.value:g} {r.unit} below the alarm level {level:g}"
        found.append(Finding(f"{r.sensor}_alarm", Severity.CRITICAL if critical
                             else Severity.WARNING, what, 0.95))
    return found


@dataclass(frozen=True)
class BodyParams:
    """How simulated bodies behave beyond their class figures.

    - ``single_lane_factor``: fraction of the edge speed driven on single-lane drifts
      (passing places, tight bends); the planner prices only ``max_speed`` and speed-limit
      zones, so keep it above 1 / the manager's dead-zone margin (1.5).
    - ``stuck_report_s``: world seconds a stuck robot spins before its move fails.
    - ``poll_s``: longest world wait inside a move (faults injected meanwhile are noticed).
    - ``charge_pct``: battery charge at start, percent.
    - ``space_poll_s``: world seconds between two looks at the :class:`~sim.space.Space`
      while held up by other robots, or following one (a cancel is noticed at once).
    """

    single_lane_factor: float = 0.8
    stuck_report_s: float = 60.0
    poll_s: float = 5.0
    charge_pct: float = 100.0
    space_poll_s: float = 1.0

    def __post_init__(self) -> None:
        checks = {"single_lane_factor": 0 < self.single_lane_factor <= 1,
                  "stuck_report_s": self.stuck_report_s > 0, "poll_s": self.poll_s > 0,
                  "space_poll_s": self.space_poll_s > 0,
                  "charge_pct": 0 <= self.charge_pct <= 100}
        for name, ok in checks.items():
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and ok):
                raise ValueError(f"{name} is out of range: {value!r}")


@dataclass(frozen=True, slots=True)
class Leg:
    """A stretch of edge ``edge`` (from, to) driven at constant speed: fraction ``f0`` of
    the edge at world time ``t0`` to fraction ``f1`` at ``t1``. ``(x0, y0)`` and
    ``(x1, y1)`` are the edge's ends; the pose lies on the straight line between them."""

    edge: tuple[str, str]
    x0: float
    y0: float
    x1: float
    y1: float
    level0: str
    level1: str
    f0: float
    f1: float
    t0: float
    t1: float

    def fraction(self, t: float) -> float:
        """Fraction of the edge reached at world time ``t`` (clamped to the leg)."""
        if self.t1 <= self.t0:
            return self.f1
        k = min(1.0, max(0.0, (t - self.t0) / (self.t1 - self.t0)))
        return self.f0 + (self.f1 - self.f0) * k

    def pose(self, t: float) -> Pose:
        """The pose at world time ``t`` (the second half of a level link is on its lower
        level)."""
        f = self.fraction(t)
        return Pose(self.x0 + (self.x1 - self.x0) * f, self.y0 + (self.y1 - self.y0) * f,
                    math.atan2(self.y1 - self.y0, self.x1 - self.x0),
                    self.level0 if f < 0.5 else self.level1)


MotionListener = Callable[["Leg | None", Pose, "str | None"], None]
"""Told ``(leg, pose, node)`` when a leg starts (``leg`` set) or the robot stops (``leg``
None; ``node`` is where it stands, None between nodes)."""


class Pace:
    """How well bodies keep to world time: every timed wait's world seconds asked for and
    real seconds taken, summed over all bodies sharing it (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.world_s = 0.0
        self.wall_s = 0.0
        self.waits = 0
        self.worst_late_s = 0.0
        """The largest wake-up delay seen, in world seconds."""

    def add(self, world_s: float, wall_s: float, late_s: float) -> None:
        """Record one wait."""
        with self._lock:
            self.world_s += world_s
            self.wall_s += wall_s
            self.waits += 1
            self.worst_late_s = max(self.worst_late_s, late_s)

    def speed(self) -> float | None:
        """World seconds per real second over the recorded waits (None before any)."""
        with self._lock:
            return self.world_s / self.wall_s if self.wall_s > 0 else None


class SimBody:
    """A simulated robot of ``robot``'s class standing at ``node`` (default: its dock).

    ``clock`` is the world clock shared with its agent; ``faults`` the body faults of this
    robot (other kinds and other robots' faults are ignored); ``pace`` collects timing
    figures; ``listener`` hears every leg and stop (see :data:`MotionListener`); ``space``
    (where the robot must already be placed) makes it physical: without one it passes
    through other robots.
    """

    def __init__(self, robot: Robot, facility: Facility, world: World, clock: Clock, *,
                 node: str | None = None, params: BodyParams | None = None,
                 faults: Iterable[Fault] = (), pace: Pace | None = None,
                 listener: MotionListener | None = None,
                 space: SpaceLike | None = None) -> None:
        self.robot = robot
        self.facility = facility
        self.world = world
        self.clock = clock
        self.params = params if params is not None else BodyParams()
        self.pace = pace
        self.listener = listener
        self.space = space
        start = robot.dock if node is None else node
        n = facility.node(start)  # KeyError naming an unknown node
        self._lock = threading.Lock()
        self._node: str | None = start
        self._edge: tuple[str, str] | None = None
        self._frac = 0.0
        self._leg: Leg | None = None
        self._pose = Pose(n.x, n.y, 0.0, n.level)
        self._battery = BatteryModel(robot.robot_class, charge_pct=self.params.charge_pct,
                                     t0=clock.monotonic())
        self._faults: list[Fault] = []
        self._visits: dict[str, int] = {}
        self.distance_m = 0.0
        """Metres driven so far."""
        for f in faults:
            self.inject(f)

    # ------------------------------------------------------------------ RobotBody
    def position(self) -> Pose:
        """The pose now (interpolated along the edge being driven)."""
        with self._lock:
            leg = self._leg
            pose = self._pose
        return leg.pose(self.clock.monotonic()) if leg is not None else pose

    def battery(self) -> Battery:
        """Charge in percent now, and whether charging."""
        now = self.clock.monotonic()
        with self._lock:
            percent = self._battery.percent(now)
            charging = self._battery.mode is Mode.CHARGE
        return Battery(round(percent, 3), charging)

    def move_to(self, target: MoveTarget, cancel: threading.Event) -> bool:
        """Drive one edge to ``target.node_id``; False when ``cancel`` stopped it first.

        The robot may stand at a node (the edge from it to the target is driven) or between
        two nodes after a pause (it drives on, or back, to the target). MoveFailed when no
        drivable edge leads there, the battery is flat, or the robot stays stuck.

        With a :class:`~sim.space.Space` the robot waits, standing where it is, while the
        space holds it up (the edge taken by oncoming traffic, the robot ahead too close,
        the next node full); ``cancel`` still stops it within
        :attr:`BodyParams.space_poll_s`. Waiting for others never fails the move.
        """
        dest = target.node_id
        if dest not in self.facility.nodes:
            raise MoveFailed(f"unknown node {dest!r}")
        with self._lock:
            if self._node == dest:
                return True
            a, b, frac = self._route_to(dest)
            from_node = self._node is not None
            on_edge = not from_node and self._edge == (a, b)
        edge = self.facility.edge_between(a, b)
        assert edge is not None  # _route_to checked it
        speed = self.drive_speed(edge, target.max_speed)
        length = edge.length
        space = self.space
        serial = self.robot.serial
        poll = self.params.space_poll_s
        stuck_since: float | None = None
        while True:
            now = self.clock.monotonic()
            stuck_end = self._stuck_until(now)
            if stuck_end is not None:
                if stuck_since is None:
                    stuck_since = now
                    self._stop(a, b, frac, now, home=from_node)
                    on_edge = on_edge and not (from_node and frac <= 0.0)
                give_up = stuck_since + self.params.stuck_report_s
                if now >= give_up:
                    raise MoveFailed(f"stuck between {a} and {b}: no progress for "
                                     f"{self.params.stuck_report_s:g} s")
                if self._wait(cancel, min(stuck_end, give_up) - now):
                    return False
                continue
            stuck_since = None
            if self._energy(now) <= FLAT_WH:
                self._stop(a, b, frac, now, home=from_node)
                raise MoveFailed(f"battery flat between {a} and {b}")
            if space is not None and not on_edge:
                if space.request_edge(serial, a, b, now) is not None:
                    # standing where it is (its node, or its edge to turn back on)
                    if self._wait(cancel, poll):
                        return False
                    continue
                on_edge = True
            if frac >= 1.0 - 1e-9:
                if space is not None and space.arrive(serial, b, now) is not None:
                    self._stand(a, b, 1.0, now)  # at the end of the edge, still on it
                    if self._wait(cancel, poll):
                        return False
                    continue
                self._stop(a, b, 1.0, now, node=b, told=True)
                return True
            room = 1.0 if space is None else space.room(serial, now)
            if room <= frac + 1e-9:  # the robot ahead is within the gap
                self._stand(a, b, frac, now)
                if self._wait(cancel, poll):
                    return False
                continue
            t_arrive = now + (room - frac) * length / speed
            leg = self._start_leg(edge, a, b, frac, room, now, t_arrive, speed)
            # behind another robot: look again soon, it may have moved on
            t_look = now + poll if room < 1.0 else math.inf
            halted = False
            while True:
                wake = self.clock.monotonic()
                t_stop = min(t_arrive, t_look, self._next_stuck(wake, t_arrive),
                             self._empty_time(wake))
                if t_stop <= wake or self._stuck_until(wake) is not None:
                    break
                halted = self._wait(cancel, t_stop - wake)
                if halted or self.clock.monotonic() >= t_stop:
                    break
                # woken to look at faults injected meanwhile: drive on unchanged
            end = min(self.clock.monotonic(), t_arrive)
            frac = min(room, leg.fraction(end))
            with self._lock:
                self._battery.set_mode(Mode.STAND, end)
                self.distance_m += (frac - leg.f0) * length
            if halted:
                self._stop(a, b, frac, end, home=from_node)
                return False
            # on at once: to the next node, or further behind the robot ahead

    def inspect(self, point_id: str, sensors: Sequence[str], duration_s: float,
                cancel: threading.Event) -> tuple[list[Reading], list[Finding]]:
        """Dwell ``duration_s`` world seconds and read ``sensors`` from the World at the node
        where the robot stands. InspectionFailed when it stands between nodes, a sensor is
        not carried or unknown to the world, or every sensor asked for gave no reading."""
        with self._lock:
            node = self._node
        if node is None:
            raise InspectionFailed(f"cannot inspect {point_id}: the robot is between nodes")
        carried = self.robot.robot_class.sensors
        for s in sensors:
            if carried and s not in carried:
                raise InspectionFailed(f"sensor {s} not carried by {self.robot.serial}")
            if not self.world.knows(s):
                raise InspectionFailed(f"sensor {s} unknown to the simulated world")
        t_end = self.clock.monotonic() + max(0.0, duration_s)
        while (t := self.clock.monotonic()) < t_end:
            if self._wait(cancel, t_end - t):
                return [], []
        with self._lock:
            visit = self._visits.get(point_id, 0)
            self._visits[point_id] = visit + 1
        readings: list[Reading] = []
        missing: list[str] = []
        for s in sensors:
            value, unit = self.world.measure(s, node, t, robot=self.robot.serial, visit=visit)
            if math.isnan(value):
                missing.append(s)
            else:
                readings.append(Reading(s, round(value, 5), unit))
        if not readings:
            raise InspectionFailed(f"no reading at {point_id}: sensor "
                                   f"{', '.join(missing)} failed")
        findings = alarm_findings(readings)
        findings += [Finding("sensor_fault", Severity.WARNING, f"{s} gave no reading", 1.0)
                     for s in missing]
        return readings, findings

    def start_charging(self) -> None:
        """Start charging; ActionFailed unless the robot stands at a charger or dock."""
        with self._lock:
            if self._node is None or self._node not in self.facility.chargers:
                where = self._node or "between nodes"
                raise ActionFailed(f"not at a charger ({where})")
            self._battery.set_mode(Mode.CHARGE, self.clock.monotonic())

    def stop_charging(self) -> None:
        """Stop charging (nothing happens when not charging)."""
        with self._lock:
            if self._battery.mode is Mode.CHARGE:
                self._battery.set_mode(Mode.STAND, self.clock.monotonic())

    # ------------------------------------------------------------------ faults and facts
    def inject(self, fault: Fault) -> None:
        """Add a ``stuck`` or ``battery_drain`` fault of this robot (others are ignored)."""
        if fault.robot != self.robot.serial or fault.kind not in (FaultKind.STUCK,
                                                                   FaultKind.BATTERY_DRAIN):
            return
        with self._lock:
            self._battery.add_drain(fault, self.clock.monotonic())
            self._faults.append(fault)

    @property
    def node(self) -> str | None:
        """The node the robot stands at (None while between nodes)."""
        with self._lock:
            return self._node

    @property
    def charge_wh(self) -> float:
        """Energy in the battery now, Wh."""
        now = self.clock.monotonic()
        with self._lock:
            return self._battery.energy_at(now)

    def drive_speed(self, edge: Edge, cap: float | None = None) -> float:
        """The speed (m/s) this robot drives ``edge`` at, ``cap`` being the order's limit."""
        v = self.facility.edge_speed(edge, self.robot.robot_class.speed)
        if edge.single_lane:
            v *= self.params.single_lane_factor
        if cap is not None and cap > 0:
            v = min(v, cap)
        return v

    # ------------------------------------------------------------------ motion
    def _route_to(self, dest: str) -> tuple[str, str, float]:
        """(from, to, fraction done) of the edge to drive to reach ``dest``."""
        if self._node is not None:
            a, b, frac = self._node, dest, 0.0
        else:
            assert self._edge is not None
            a, b = self._edge
            frac = self._frac
            if dest == a:
                a, b, frac = b, a, 1.0 - frac
            elif dest != b:
                raise MoveFailed(f"between {a} and {b}: cannot drive to {dest} directly")
        edge = self.facility.edge_between(a, b)
        if edge is None:
            raise MoveFailed(f"no edge from {a} to {b}")
        if edge.closed:
            raise MoveFailed(f"the edge from {a} to {b} is closed")
        return a, b, frac

    def _start_leg(self, edge: Edge, a: str, b: str, frac: float, to: float, t0: float,
                   t1: float, speed: float) -> Leg:
        na, nb = self.facility.nodes[a], self.facility.nodes[b]
        leg = Leg((a, b), na.x, na.y, nb.x, nb.y, na.level, nb.level, frac, to, t0, t1)
        with self._lock:
            self._battery.set_mode(Mode.DRIVE, t0, speed)
            self._leg = leg
            self._node = None
            self._edge = (a, b)
            self._frac = frac
        if self.space is not None:
            self.space.drive(self.robot.serial, frac, t0, to, t1)
        if self.listener is not None:
            self.listener(leg, leg.pose(t0), None)
        return leg

    def _stand(self, a: str, b: str, frac: float, t: float) -> None:
        """Stop on the edge for others (once: a standing robot is not stopped again)."""
        with self._lock:
            driving = self._leg is not None
        if driving:
            self._stop(a, b, frac, t)

    def _stop(self, a: str, b: str, frac: float, t: float, *, node: str | None = None,
              home: bool = False, told: bool = False) -> None:
        """Stand still at fraction ``frac`` of the edge from ``a`` to ``b`` at ``t``: at
        ``node`` when given, at ``a`` when the move started there (``home``) and the robot
        never left it. ``told``: the space already knows (it let the robot into ``node``)."""
        na, nb = self.facility.nodes[a], self.facility.nodes[b]
        if node is None and home and frac <= 0.0:
            node = a  # never left it
        if node is not None:
            n = self.facility.nodes[node]
            pose = Pose(n.x, n.y, math.atan2(nb.y - na.y, nb.x - na.x), n.level)
        else:
            pose = Leg((a, b), na.x, na.y, nb.x, nb.y, na.level, nb.level, frac, frac,
                       t, t).pose(t)
        with self._lock:
            self._leg = None
            self._pose = pose
            self._node = node
            self._edge = None if node is not None else (a, b)
            self._frac = frac
        if self.space is not None and not told:
            self.space.halt(self.robot.serial, frac, t, node=node)
        if self.listener is not None:
            self.listener(None, pose, node)

    def _wait(self, cancel: threading.Event, world_s: float) -> bool:
        """Wait up to ``world_s`` (at most ``poll_s``) for ``cancel``; records the pace."""
        world_s = min(max(0.0, world_s), self.params.poll_s)
        t0, w0 = self.clock.monotonic(), time.monotonic()
        halted = self.clock.wait(cancel, world_s)
        if not halted and self.pace is not None and world_s > 0:
            late = self.clock.monotonic() - (t0 + world_s)
            self.pace.add(world_s, time.monotonic() - w0, max(0.0, late))
        return halted

    # ------------------------------------------------------------------ faults
    def _stuck_until(self, t: float) -> float | None:
        """When the stuck state holding at ``t`` ends (inf: never), or None when free."""
        with self._lock:
            ends = [f.at_s + f.duration_s if f.duration_s is not None else math.inf
                    for f in self._faults if f.kind is FaultKind.STUCK and f.active(t)]
        return max(ends) if ends else None

    def _next_stuck(self, after: float, until: float) -> float:
        with self._lock:
            starts = [f.at_s for f in self._faults
                      if f.kind is FaultKind.STUCK and after < f.at_s < until]
        return min(starts, default=math.inf)

    def _energy(self, t: float) -> float:
        with self._lock:
            return self._battery.energy_at(t)

    def _empty_time(self, after: float) -> float:
        with self._lock:
            return self._battery.empty_time(after)
