"""Methane lockouts: robots that locked themselves out, kept out of service until a
supervisor records the reset (docs/gas-safety.md, "Lockout").

A robot not rated to stay energised that measures methane at or above its location's
power-off level stops, powers its drive off and reports a FATAL
:data:`~fleet.protocol.state.METHANE_LOCKOUT` error (docs/protocol.md). On the first state
carrying it, :meth:`Lockouts.on_state`

- moves the robot to :attr:`~fleet.manager.lifecycle.RobotStatus.LOCKED_OUT` (not lost:
  whatever its link does, it stays locked out), stores the lockout (it survives a
  restart: :meth:`Lockouts.restore`), and records a ``robot_locked_out`` mission event;
- hands its remaining points back to its mission's pool at once (the planner gives them
  to others), and makes it an obstacle where it stands (traffic control keeps the others
  out of its place; :class:`~fleet.manager.obstacles.Obstacles` routes them round);
- raises an ALARM anomaly and alert naming robot, place and reading, after the lock is
  released (:meth:`Lockouts.announce`).

The registry never plans a robot that is not ONLINE, so it is never planned again until
:meth:`Lockouts.reset` (``fleet robots reset M/S --note``): who and when are stored on
the lockout, the robot gets a ``resetLockout`` instant action (the simulator's stand-in
for the person at the robot; a real robot may insist on its own switch), its place is
freed as ``fleet robots clear`` frees it, and it returns to service (ONLINE) on the first
state that no longer carries the error. Back in service away from any dock or charger
(where it stopped), it is sent to the nearest dock (else charger) it may use, as a round
without points of
the mission it was locked out of (else of another running on its site): the planner only
gives work to robots standing at a dock or charger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fleet.anomaly.log import AnomalyLog
from fleet.anomaly.rules import LOCKOUT, Verdict
from fleet.errors import FleetError
from fleet.facility.model import NodeKind
from fleet.manager.core import Core
from fleet.manager.dispatcher import Dispatcher
from fleet.manager.lifecycle import RobotStatus
from fleet.manager.obstacles import Obstacles
from fleet.manager.registry import RobotEntry
from fleet.manager.stateview import ErrorView, StateView
from fleet.protocol.order import ActionType
from fleet.protocol.state import METHANE_LOCKOUT
from fleet.sensors import Severity
from fleet.store import LockoutRow

log = logging.getLogger(__name__)

Key = tuple[str, str]


@dataclass(frozen=True)
class _Alarm:
    """A lockout to announce once the manager's lock is released."""

    row: LockoutRow
    mission_id: str | None
    x: float | None
    y: float | None
    level: str | None


def lockout_error(state: StateView) -> ErrorView | None:
    """The state's FATAL ``methaneLockout`` error, if it carries one."""
    return next((e for e in state.errors if e.error_type == METHANE_LOCKOUT
                 and e.level == "FATAL"), None)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


class Lockouts:
    """The lockout part of a manager (see the module docstring)."""

    def __init__(self, core: Core, obstacles: Obstacles, anomalies: AnomalyLog,
                 dispatcher: Dispatcher | None = None) -> None:
        self.core = core
        self.obstacles = obstacles
        self.anomalies = anomalies
        self.dispatcher = dispatcher
        """Sends a robot back in service home (None: it stays where it stands)."""
        self._missions: dict[Key, str] = {}
        """The mission each robot was locked out of."""
        self._last: dict[Key, LockoutRow] = {}
        """Each robot's latest lockout (open, or reset)."""
        self._pending: list[_Alarm] = []
        self._stranded: set[Key] = set()
        """Robots back in service that found no open way home: tried again on their next
        states (a robot lost in a drift, or a closure, may shut the way for a while)."""

    def restore(self) -> None:
        """A (re)starting manager: every robot with an open lockout is LOCKED_OUT before
        anything is heard from it (call before the links start)."""
        core = self.core
        rows = core.store.lockouts()
        with core.lock:
            for row in rows:
                self._last[(row.manufacturer, row.serial)] = row
            for key, row in self._last.items():
                if row.reset_at is None:
                    core.registry.entry(*key).status = RobotStatus.LOCKED_OUT

    def open(self) -> list[LockoutRow]:
        """The robots' open lockouts (not reset), oldest first."""
        with self.core.lock:
            return sorted((r for r in self._last.values() if r.reset_at is None),
                          key=lambda r: r.id or 0)

    def on_state(self, robot: RobotEntry, state: StateView) -> bool:
        """Look at a state before the dispatcher does (caller holds the lock); True when
        the robot's status changed (locked out, or back in service)."""
        error = lockout_error(state)
        key = robot.key
        if robot.status is RobotStatus.LOCKED_OUT:
            last = self._last.get(key)
            if error is None and (last is None or last.reset_at is not None):
                robot.state = state
                robot.move(RobotStatus.ONLINE)
                log.warning("robot %s/%s back in service after its lockout was reset", *key)
                self._home(robot)
                return True
            return False
        if error is None:
            if key in self._stranded and robot.mission_id is None:
                self._home(robot)
            return False
        last = self._last.get(key)
        if last is not None and last.reset_at is not None and \
                (last.node_id, f"{last.value:g}") == (error.references.get("nodeId"),
                                                     error.references.get("value")):
            # reset recorded, but the robot has not cleared the error yet (or a restarted
            # manager hears it again): locked out until a state without it
            robot.move(RobotStatus.LOCKED_OUT)
            return True
        self._lock_out(robot, state, error)
        return True

    def _home(self, robot: RobotEntry) -> None:
        """Send a robot back in service to the nearest dock or charger (caller holds the
        lock); see the module docstring."""
        core = self.core
        if self.dispatcher is None or robot.mission_id is not None:
            return
        first = core.missions.get(self._missions.get(robot.key, ""))
        run = next((r for r in [first, *core.missions.values()] if r is not None
                    and not r.status.terminal and robot.node_in(r.spec.facility) is not None),
                   None)
        if run is None:
            self._strand(robot, "no running mission on its site to send it home with")
            return
        fac = run.spec.facility
        node = robot.node_in(fac)
        if node is None or fac.nodes[node].kind in (NodeKind.DOCK, NodeKind.CHARGER):
            self._home_done(robot)
            return
        cls = robot.robot_class()
        path = self.obstacles.way_home(fac, node, cls.access if cls is not None else None,
                                       robot.serial)
        if path is None or len(path) < 2:
            self._strand(robot, f"no way from {node} to a dock or charger")
            return
        self._home_done(robot)
        self.dispatcher.send_home(run, robot, path)

    def _strand(self, robot: RobotEntry, why: str) -> None:
        if robot.key not in self._stranded:
            log.warning("robot %s/%s stays where it stands for now: %s", *robot.key, why)
        self._stranded.add(robot.key)

    def _home_done(self, robot: RobotEntry) -> None:
        self._stranded.discard(robot.key)
        self._missions.pop(robot.key, None)

    def _lock_out(self, robot: RobotEntry, state: StateView, error: ErrorView) -> None:
        core = self.core
        refs = error.references
        node = refs.get("nodeId") or state.last_node_id or "?"
        value = _number(refs.get("value"))
        row = core.store.add_lockout(
            manufacturer=robot.manufacturer, serial=robot.serial, node_id=node,
            sensor=refs.get("sensor") or "ch4", value=value if value is not None else -1.0,
            unit=refs.get("unit") or "%vol", level=_number(refs.get("powerOffLevel")),
            at=core.clock.now())
        self._last[robot.key] = row
        robot.state = state
        robot.move(RobotStatus.LOCKED_OUT)
        log.error("robot %s/%s locked out at %s: %s", robot.manufacturer, robot.serial, node,
                  error.description or METHANE_LOCKOUT)
        run = core.missions.get(robot.mission_id or "")
        x = y = level = None
        for r in ([run] if run is not None else list(core.missions.values())):
            n = r.spec.facility.nodes.get(node)
            if n is not None:
                x, y, level = n.x, n.y, n.level
                break
        for t in core.traffic.values():
            t.lose(robot.serial, driving=False)  # it stands where it stopped, powered off
        if value is not None:
            # the reading closes the area before the planner hands its points to others
            # (its inspection result, which would close it too, may come later)
            book = self.anomalies.limits_for(run.id if run is not None else None)
            self.obstacles.closures.observe(
                node, f"robot {robot.manufacturer}/{robot.serial}", row.sensor, value,
                row.unit, book.interlock(node, row.sensor), announce=False,
                site=run.spec.facility.name if run is not None else None)
        if run is not None:
            self._missions[robot.key] = run.id
            a = run.assignments.get(robot.serial)
            detail: dict[str, Any] = {"node": node, "reading": _reading(row), "lockout": row.id}
            if a is not None and a.active:
                detail["remaining"] = list(a.remaining)
                core.event(run, "robot_locked_out", robot.serial, detail)
                core.release(run, a, robot, to_pool=True)
            else:
                core.event(run, "robot_locked_out", robot.serial, detail)
        self.obstacles.around()
        self._pending.append(_Alarm(row, run.id if run is not None else None, x, y, level))

    def announce(self) -> None:
        """Raise the ALARM anomaly and alert of each new lockout, and of the closure each
        opened (call without the lock)."""
        self.obstacles.closures.announce()
        with self.core.lock:
            pending, self._pending = self._pending, []
        for alarm in pending:
            row = alarm.row
            text = (f"robot {row.manufacturer}/{row.serial} locked out at {row.node_id}: "
                    f"{_reading(row)}")
            verdict = Verdict(f"{LOCKOUT}:{row.serial}", Severity.ALARM, LOCKOUT, row.level,
                              row.value, row.unit, detail={
                                  "description": text, "robot": f"{row.manufacturer}/"
                                  f"{row.serial}", "node": row.node_id, "sensor": row.sensor,
                                  "lockout": row.id})
            try:
                self.anomalies.raise_event(verdict, row.node_id, measured_at=row.locked_at,
                                           mission_id=alarm.mission_id,
                                           manufacturer=row.manufacturer,
                                           serial_number=row.serial, x=alarm.x, y=alarm.y,
                                           level=alarm.level)
            except FleetError as exc:  # the lockout itself is stored; the alert is not
                log.error("could not raise the anomaly of lockout %s: %s", row.id, exc)

    def reset(self, manufacturer: str, serial: str, *, by: str, note: str) -> dict[str, object]:
        """A supervisor records that people reset a locked-out robot: stored (who, when,
        note), ``resetLockout`` sent, its place freed; it returns to service on its first
        state without the error. FleetError when the manager knows no such robot or it is
        not locked out."""
        core = self.core
        with core.lock:
            robot = core.registry.find(serial)
            if robot is None or (manufacturer and robot.manufacturer != manufacturer):
                raise FleetError(f"no robot {manufacturer}/{serial}".replace(" /", " "))
            if robot.status is not RobotStatus.LOCKED_OUT:
                raise FleetError(f"robot {robot.manufacturer}/{serial} is not locked out "
                                 f"(it is {robot.status.value})")
            rows = core.store.reset_lockouts(robot.manufacturer, serial, by=by, note=note,
                                             at=core.clock.now())
            if rows:
                self._last[robot.key] = rows[-1]
            core.instant(robot.manufacturer, serial, ActionType.RESET_LOCKOUT)
            back = robot.state is not None and lockout_error(robot.state) is None
            if back:
                robot.move(RobotStatus.ONLINE)
        missions = self.obstacles.clear(serial, f"lockout reset by {by}: {note}")
        for row in rows:  # the lockout's alarm is over: people reset the robot
            try:
                self.anomalies.resolve_raised(row.node_id, f"{LOCKOUT}:{row.serial}", by=by,
                                              note=f"lockout reset: {note}")
            except FleetError as exc:  # the reset itself is stored; the anomaly is not
                log.error("could not resolve the anomaly of lockout %s: %s", row.id, exc)
        log.warning("lockout of %s/%s reset by %s: %s", robot.manufacturer, serial, by, note)
        core.wake.set()
        return {"robot": f"{robot.manufacturer}/{serial}", "lockouts": [r.id for r in rows],
                "missions": missions, "status": robot.status.value}


def _reading(row: LockoutRow) -> str:
    level = f" (power-off level {row.level:g})" if row.level is not None else ""
    return f"{row.sensor} {row.value:g} {row.unit}{level}"
