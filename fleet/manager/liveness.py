"""Liveness: which robots are there, which are lost, and what happens to a lost robot's work.

A robot is heard when any valid message of its arrives or its presence appears. Presence (a
Zenoh liveliness token; on MQTT the retained ``connection`` and its last will) is the fast
signal: a robot whose presence goes is lost at once (unless a dead zone explains it, below).
A robot whose presence stays up is judged by its *heartbeat*: the state interval its
factsheet declares (``protocolLimits.timing.defaultStateInterval``), or the standard's
:data:`STANDARD_STATE_INTERVAL_S` when it declares none (:func:`heartbeat`). It turns SILENT
when nothing was heard for a heartbeat (at least
:attr:`~fleet.manager.core.ManagerSettings.robot_timeout`, or its presence went), and is
declared lost (CONNECTION_BROKEN) when the silence outlasts :data:`HEARTBEAT_MARGIN`
heartbeats (at least the timeout) plus its *allowance*: the expected time to cross the
comms-dead zones ahead of it on its route, times the margin, so that a robot driving through
a 5G dead zone is not given up. When nothing at all was heard from any robot for a timeout,
the silence says more about the manager (a stall, a backlog of states) or its network than
about the robots: with :data:`FLEET_SILENCE_MIN` or more robots listened to, losses then
wait :data:`FLEET_SILENCE_FACTOR` times longer. When such a silence ends (the manager hears
again after a timeout of hearing nobody: it *resumed*), the silence was the manager's: each
robot's silence is counted from then, and for :data:`FLEET_SILENCE_FACTOR` timeouts after it
losses still wait that many times longer, while the manager works through the states that
queued up meanwhile (a thousand robots' states a second do not clear at once). So do
:data:`FLEET_SILENCE_MIN` or more robots found past their limits at one look while others
talk: a manager behind on its states (or a network fault) silences many robots together,
a robot failing silences one. A robot that
says OFFLINE is lost at once, and stays OFFLINE when its presence then goes (that is how a
clean shutdown ends, not a broken connection). A lost robot's remaining inspections go back
to its mission's pool for the planner to hand to others; when it comes back, its stale order
is cancelled. Status changes follow the table in :mod:`fleet.manager.lifecycle`. While the
manager's own side of a robot's link is down
(:meth:`~fleet.manager.links.RobotLink.reachable`: its MQTT broker gone), the robot's
silence is the manager's and is not judged; once the link is back it is counted from then.
"""

from __future__ import annotations

import logging
import math

from fleet.facility.model import Facility
from fleet.manager.core import Core
from fleet.manager.lifecycle import RobotStatus
from fleet.manager.links import RobotId
from fleet.manager.obstacles import Obstacles
from fleet.manager.registry import RobotEntry
from fleet.protocol.order import ActionType
from fleet.protocol.state import Connection, ConnectionState

log = logging.getLogger(__name__)

AT_NODE_M = 0.5
"""A robot whose last reported position lies further than this from its last node was
driving on from it."""


def _between_nodes(robot: RobotEntry, fac: Facility) -> bool:
    """Whether ``robot``'s last state puts it on an edge rather than at its last node
    (no position reported: assume it may have left)."""
    state = robot.state
    if state is None or state.last_node_id not in fac.nodes:
        return False
    pos = state.position
    if pos is None:
        return True
    node = fac.nodes[state.last_node_id]
    return math.dist((pos.x, pos.y), (node.x, node.y)) > AT_NODE_M

STANDARD_STATE_INTERVAL_S = 30.0
"""The state interval of a robot whose factsheet declares none: VDA 5050 2.0 and 2.1
(section "Topic state") have a robot publish its state on every relevant change and, with
nothing changing, at the latest every 30 s; the factsheet's ``defaultStateInterval`` ("if
not defined, the default value from the main document is used") may say otherwise."""
HEARTBEAT_MARGIN = 2.5
"""Heartbeats a robot with its presence up may stay silent before it is lost: one state
may be lost on the way (VDA 5050 sends states at QoS 0, "at most once"), and the next may
come up to half an interval late (a busy robot, a loaded network)."""


def heartbeat(robot: RobotEntry) -> float:
    """Seconds (clock) between two states of ``robot`` when nothing changes: its declared
    ``defaultStateInterval``, else :data:`STANDARD_STATE_INTERVAL_S` (also before its
    factsheet arrives: nothing is known yet)."""
    declared = robot.factsheet.timing.default_state_interval \
        if robot.factsheet is not None else None
    return declared if declared is not None and declared > 0 else STANDARD_STATE_INTERVAL_S


FLEET_SILENCE_FACTOR = 3.0
"""When no robot at all was heard for a timeout, a silent robot is lost only after this
many times its usual limit (see :meth:`Liveness.check`)."""
FLEET_SILENCE_MIN = 3
"""Robots online (or silent) for the rule above: one or two robots falling silent
together may well be the robots."""

TICK_S = 0.2
"""Clock seconds between two looks at the robots' silence (plus :data:`TICK_REAL_S`): the
manager's liveness thread calls :meth:`Liveness.check` this often."""
TICK_REAL_S = 0.05
"""Real seconds added to each tick, so that a fast world does not spin the thread."""


class Liveness:
    """The liveness part of a manager (see the module docstring)."""

    def __init__(self, core: Core, obstacles: Obstacles) -> None:
        self.core = core
        self.obstacles = obstacles
        self.declared = 0
        """Times a robot was declared lost (each loss counts, a robot back counts again)."""
        self.last_any = -math.inf
        """Manager time anything valid was last heard from any robot."""
        self.resumed = -math.inf
        """Manager time the manager last heard again after a timeout of hearing nobody
        (see the module docstring)."""
        self._listened = 0
        self._held: dict[tuple[str, str], float] = {}
        """Robots whose link was down at the last look (their broker gone, say), and when:
        their silence is counted again from when it is back."""

    def heard(self, robot: RobotEntry) -> None:
        """``robot`` said something valid now (caller holds the lock)."""
        now = self.core.now()
        if now - self.last_any > self.core.settings.robot_timeout \
                and self._listened >= FLEET_SILENCE_MIN:
            self.resumed = now  # nobody heard for a timeout: the manager's silence
        robot.last_heard = self.last_any = now
        if robot.status is RobotStatus.LOCKED_OUT:
            return  # only a recorded reset brings it back (fleet.manager.lockouts)
        if robot.status is not RobotStatus.ONLINE:
            if robot.status.lost:
                log.info("robot %s/%s is back", robot.manufacturer, robot.serial)
                self._readopt(robot)
            robot.move(RobotStatus.ONLINE)

    def on_connection(self, robot: RobotEntry, message: Connection) -> None:
        """A connection message (caller holds the lock)."""
        if message.state is ConnectionState.ONLINE:
            self.heard(robot)
        else:
            self.lose(robot, RobotStatus.OFFLINE if message.state is ConnectionState.OFFLINE
                      else RobotStatus.CONNECTION_BROKEN, "said " + message.state.value)

    def on_presence(self, robot: RobotEntry, present: bool) -> None:
        """The robot's presence appeared or went (caller holds the lock)."""
        robot.alive = present
        if robot.status is RobotStatus.LOCKED_OUT:
            if present:
                self.heard(robot)
            return  # locked out whatever its link does; its work is with others already
        if present:
            self.heard(robot)
        elif self.allowance(robot) <= 0:
            self.lose(robot, RobotStatus.CONNECTION_BROKEN,
                      "presence lost (liveliness token gone, or MQTT last will)")
        elif not robot.status.lost:
            robot.move(RobotStatus.SILENT)

    def check(self) -> bool:
        """Look at every robot's silence now; True when a robot was declared lost."""
        core = self.core
        lost = False
        with core.lock, core.persisting_once():
            now = core.now()
            timeout = core.settings.robot_timeout
            # Nobody at all heard for a timeout: the manager itself stalled (or its
            # network), more likely than every robot failing at once; a robot is then lost
            # only after FLEET_SILENCE_FACTOR times its limit (a backlog of states, handled
            # when the manager catches up, would show it was there all along).
            robots = core.registry.all()
            listened = self._listened = sum(
                1 for r in robots if r.status in (RobotStatus.ONLINE, RobotStatus.SILENT))
            # ... and for FLEET_SILENCE_FACTOR timeouts after it ended, while the states
            # that queued up are handled (each robot's silence counted from its end)
            stalled = now - self.last_any > timeout \
                or now - self.resumed < FLEET_SILENCE_FACTOR * timeout
            factor = FLEET_SILENCE_FACTOR if stalled and listened >= FLEET_SILENCE_MIN \
                else 1.0
            judged: list[tuple[RobotEntry, float, float, float]] = []
            for robot in robots:
                if robot.status not in (RobotStatus.ONLINE, RobotStatus.SILENT) \
                        or robot.last_heard == -math.inf:
                    continue  # lost already, or known only from refused messages
                if not core.link.reachable(RobotId(robot.manufacturer, robot.serial)):
                    # the manager's own side is down: the silence is the manager's, not
                    # the robot's; judged again (from scratch) once it is back
                    self._held[robot.key] = now
                    if now - robot.last_heard > timeout:
                        robot.move(RobotStatus.SILENT)
                    continue
                silent = now - max(robot.last_heard, self._held.pop(robot.key, -math.inf),
                                   self.resumed)
                beat = heartbeat(robot)
                # its own interval with its presence up; without, the timeout (a robot in
                # a dead zone has the allowance for that)
                base = max(timeout, beat * HEARTBEAT_MARGIN) if robot.alive else timeout
                judged.append((robot, silent, beat, base + self.allowance(robot)))
            # Several robots past their limits at one look while others talk: a backlog of
            # states in the manager (it is behind, not stopped) or a network fault, more
            # likely than robots failing together; they too wait FLEET_SILENCE_FACTOR times
            if sum(1 for _, silent, _, limit in judged if silent > limit) >= FLEET_SILENCE_MIN:
                factor = FLEET_SILENCE_FACTOR
            for robot, silent, beat, limit in judged:
                if silent > limit * factor:
                    self.lose(robot, RobotStatus.CONNECTION_BROKEN,
                              f"silent for {silent:.1f} s (state interval {beat:g} s)")
                    lost = True
                elif silent > max(timeout, beat) or not robot.alive:
                    robot.move(RobotStatus.SILENT)
        return lost

    def allowance(self, robot: RobotEntry) -> float:
        """Seconds a robot may stay silent beyond the timeout: the expected time to cross
        the comms dead zones ahead of it on its route (times the margin)."""
        core = self.core
        run = core.missions.get(robot.mission_id or "")
        if run is None:
            return 0.0
        a = run.assignments.get(robot.serial)
        cls = robot.robot_class()
        if a is None or not a.active or cls is None:
            return 0.0  # no round under way: no route ahead, no dead zone to cross
        fac = run.spec.facility
        total = 0.0
        inside = False
        for i in range(max(0, a.reached), len(a.stops) - 1):
            here, nxt = a.stops[i].node_id, a.stops[i + 1].node_id
            edge = fac.edge_between(here, nxt)
            in_zone = here in a.dead or nxt in a.dead  # (precomputed: no geometry here)
            if not in_zone:
                if inside or i > a.reached + 1:
                    break
                continue
            inside = True
            if edge is not None:
                total += edge.length / fac.edge_speed(edge, cls.speed)
            for action in a.stops[i + 1].actions:
                total += float(action.parameters.get("durationSeconds", 0.0))
        return total * core.settings.dead_zone_margin

    def lose(self, robot: RobotEntry, status: RobotStatus, why: str) -> None:
        """Declare ``robot`` lost (OFFLINE or CONNECTION_BROKEN); its remaining work goes
        back to its mission's pool (caller holds the lock)."""
        core = self.core
        if robot.status is RobotStatus.LOCKED_OUT:
            return  # locked out whatever its link does; its work is with others already
        if robot.status is RobotStatus.OFFLINE and status is RobotStatus.CONNECTION_BROKEN:
            return  # said OFFLINE, then its presence went: a clean shutdown's last step
        was_lost = robot.status.lost
        robot.move(status)
        if was_lost:
            return
        self.declared += 1
        (log.info if status is RobotStatus.OFFLINE else log.warning)(
            "robot %s/%s lost: %s", robot.manufacturer, robot.serial, why)
        run = core.missions.get(robot.mission_id or "")
        driving = run is not None and _between_nodes(robot, run.spec.facility)
        for t in core.traffic.values():
            t.lose(robot.serial, driving=driving)  # in everyone's way until cleared
        if run is None:
            self.obstacles.around()
            return
        a = run.assignments.get(robot.serial)
        if a is not None and a.active:
            core.event(run, "robot_lost", robot.serial, {"why": why, "remaining": a.remaining})
            core.release(run, a, robot, to_pool=True)
        self.obstacles.around()

    def _readopt(self, robot: RobotEntry) -> None:
        """A robot that was declared lost is back: stop its stale order if its work was
        handed to others."""
        core = self.core
        for run in core.missions.values():
            a = run.assignments.get(robot.serial)
            if a is not None and not a.active and not run.status.terminal:
                core.instant(robot.manufacturer, robot.serial, ActionType.CANCEL_ORDER)
                core.event(run, "robot_back", robot.serial, {"order_cancelled": a.order_id})
