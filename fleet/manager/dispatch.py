"""From a robot's planned round to VDA 5050 orders, released a few nodes at a time.

An :class:`Assignment` is one robot's share of a mission: the whole node route of its
round (every node of every path), the ``inspect`` actions placed on the nodes where it
inspects, and how far the base has been released. The manager sends the first order with
the base ending ``release_ahead`` nodes in, and extends it with order updates as the robot
reports progress (``lastNodeSequenceId``), so that about ``release_ahead`` nodes lie
released ahead of the robot; traffic control (:mod:`fleet.manager.traffic`) may release
less (the robot waits at a place) or more (a single-lane block to its far end).

Charging stops of the plan become :class:`ChargeStop` s when the robot's factsheet offers
``startCharging`` (node) and ``stopCharging`` (instant): the node gets a HARD
``startCharging`` action and the base ends there until the robot reports a charge at or
above the stop's target (:attr:`ChargeStop.target_pct`); then the manager sends
``stopCharging`` and, once the robot reports it done, releases the rest as usual. The
target is a level, not a duration, because a robot may arrive with more or less charge
than planned. The phases are :class:`ChargePhase`; :meth:`Assignment.on_charging` moves
them.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fleet.facility.model import Facility, ZoneKind
from fleet.manager.stateview import StateView
from fleet.planning.mission import MissionSpec
from fleet.planning.plan import RobotPlan, StopKind
from fleet.protocol.factsheet import Factsheet
from fleet.protocol.header import Header
from fleet.protocol.inspection import InspectParams, inspect_action
from fleet.protocol.order import (
    Action,
    ActionType,
    BlockingType,
    NodePosition,
    Order,
    RouteLeg,
    RouteStop,
    route_order,
)
from fleet.protocol.state import ActionStatus

Limit = Callable[[int], int]
"""Traffic control's say on a base: given the route index the base would end at, the index
it may end at (the end of whatever was granted: less, or more when a granted stretch runs
on to its far end)."""

FULL_PCT = 99.5
"""A charge at or above this counts as full, whatever the target: a full battery may never
show exactly 100 % (robots round, and many stop charging a little short of it)."""

CHARGE_IDLE_S = 10.0
"""World seconds a robot may report not charging at a charging stop, after its
``startCharging`` finished, before the manager stops waiting (it never started charging, or
stopped by itself before the target: waiting longer would hold the robot for ever)."""

STOP_RESEND_S = 5.0
"""World seconds after which ``stopCharging`` is sent again (same actionId, so a robot
that got it runs it once) while the robot's state does not show it."""


class ChargePhase(StrEnum):
    """Where a charging stop stands; the base never ends past a stop that is not DONE."""

    AHEAD = "ahead"
    """The robot has not reached the charger yet."""
    CHARGING = "charging"
    """At the charger: ``startCharging`` runs or the battery fills up to the target."""
    STOPPING = "stopping"
    """Charged (or charging is over for another reason): ``stopCharging`` has been sent and
    the manager waits for the robot to report it finished (or failed)."""
    DONE = "done"
    """Over: the base may be extended past the charger."""


@dataclass
class ChargeStop:
    """A charging stop of an assignment: route node ``index`` (``node_id``), the charge to
    reach in percent, the ids of its ``startCharging`` node action and of the
    ``stopCharging`` instant action that ends it, and its phase."""

    index: int
    node_id: str
    target_pct: float
    start_id: str
    stop_id: str
    phase: ChargePhase = ChargePhase.AHEAD
    seen_charging: bool = False
    """The robot reported ``charging`` true at this stop."""
    idle_since: float | None = None
    """Manager time since when the robot reports not charging here (after startCharging)."""
    stop_sent: float | None = None
    """Manager time ``stopCharging`` was last sent (None: not yet, or not since a restart)."""

    def to_json(self) -> dict[str, Any]:
        """What :meth:`MissionRun.snapshot` persists (the times are not: a restarted manager
        starts them again)."""
        return {"index": self.index, "node": self.node_id, "target_pct": self.target_pct,
                "start_id": self.start_id, "stop_id": self.stop_id,
                "phase": self.phase.value, "seen_charging": self.seen_charging}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ChargeStop:
        """From :meth:`to_json` data; KeyError/ValueError/TypeError when damaged."""
        return cls(int(d["index"]), str(d["node"]), float(d["target_pct"]), str(d["start_id"]),
                   str(d["stop_id"]), ChargePhase(d["phase"]), bool(d["seen_charging"]))


@dataclass
class ChargingNews:
    """What :meth:`Assignment.on_charging` tells the manager: whether a charging stop
    changed phase (the base may move on: look for an order update, persist), mission events
    to record (kind, detail) and instant actions (``stopCharging``) to publish."""

    changed: bool = False
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    instants: list[Action] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.changed or bool(self.events or self.instants)


def supports_charging(factsheet: Factsheet | None) -> bool:
    """Whether a robot's factsheet offers what a charging stop needs
    (:attr:`Factsheet.charges_on_order`); False without one."""
    return factsheet is not None and factsheet.charges_on_order


@dataclass
class Assignment:
    """One robot's part of a mission and its progress.

    ``inspections`` maps an inspect action id to its point; ``reported`` holds the points
    whose action the robot reports FINISHED, ``done`` those whose result is committed,
    ``failed`` those whose action FAILED.
    """

    mission_id: str
    manufacturer: str
    serial: str
    order_id: str
    stops: list[RouteStop]
    legs: list[RouteLeg]
    inspections: dict[str, str]
    release_ahead: int
    horizon: int | None = None
    """Route nodes sent as horizon beyond the base (None: the whole rest of the round)."""
    base_end: int = 0
    update_id: int = 0
    reached: int = 0
    done: set[str] = field(default_factory=set)
    reported: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    active: bool = True
    dead: frozenset[str] = frozenset()
    """Route nodes inside comms-dead zones: a base never ends at one, since a robot waiting
    there for an order update would never hear it."""
    charges: list[ChargeStop] = field(default_factory=list)
    """The charging stops, in route order; the base ends at the first one not DONE."""
    left: set[str] = field(default_factory=set)
    """Points handed back because the robot left them behind (see :meth:`left_behind`)."""
    over_at: float | None = None
    """Manager time the robot was first seen at the end of this order with nothing left
    running (not persisted: a restarted manager learns it from the next state)."""
    _stop_of: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    """Inspect action id → route index of its stop, built on first use and dropped when
    the route changes (:meth:`left_behind` asks on every state: a scan of a long route per
    action per state cost a large manager a tenth of its time)."""

    def driven(self) -> list[str]:
        """The route's nodes up to the last one the robot reported reaching."""
        return [s.node_id for s in self.stops[:self.reached + 1]]

    @property
    def points(self) -> list[str]:
        """Points this robot is to inspect, in order."""
        return list(self.inspections.values())

    @property
    def remaining(self) -> list[str]:
        """Points not yet inspected (nor failed, nor handed back)."""
        return [p for p in self.points
                if p not in self.done and p not in self.failed and p not in self.left]

    @property
    def finished(self) -> bool:
        """Whether the robot reached the last node with every action over."""
        return self.reached >= len(self.stops) - 1 and not self.remaining

    @property
    def hold(self) -> int:
        """The last route node the base may reach now: the first charging stop not yet
        DONE, else the last node."""
        return next((c.index for c in self.charges if c.phase is not ChargePhase.DONE),
                    len(self.stops) - 1)

    def first_order(self, header: Header, limit: Limit | None = None) -> Order:
        """The first order: base up to ``release_ahead`` nodes in (or to the first charging
        stop when nearer), as far as ``limit`` (traffic control) allows."""
        end = self._past_dead(min(len(self.stops) - 1, self.release_ahead, self.hold))
        self.base_end = end if limit is None else limit(end)
        self.update_id = 0
        return route_order(header, self.order_id, self.stops, self.legs,
                           base_end=self.base_end, end=self.horizon_end)

    @property
    def horizon_end(self) -> int:
        """The last route node an order sent now carries: :attr:`horizon` nodes past the
        base, or the last node."""
        last = len(self.stops) - 1
        return last if self.horizon is None else min(last, self.base_end + self.horizon)

    def on_state(self, state: StateView) -> bool:
        """Fold a state of this order into the progress; True when anything changed."""
        if state.order_id != self.order_id:
            return False
        changed = False
        reached = self._reached(state)
        if reached is not None and reached > self.reached:
            self.reached, changed = reached, True
        for a in state.action_states:
            point = self.inspections.get(a.action_id)
            if point is None or point in self.left:
                continue  # a point handed back is another assignment's business now
            if a.status is ActionStatus.FINISHED and point not in self.reported:
                # done only once its result is committed (Dispatcher.committed): a result lost
                # with its robot means the point is inspected again by another
                self.reported.add(point)
                changed = True
            elif a.status is ActionStatus.FAILED and point not in self.failed:
                self.failed.add(point)
                changed = True
        return changed

    def _reached(self, state: StateView) -> int | None:
        """The route index of the node ``state`` says was reached last (0 before any), or
        None when that cannot be a node of this route the robot reached: not the route's
        node at that sequence, or a node at or before it still pending in ``nodeStates``.

        A robot that has just taken a new order reports the new ``orderId`` with the last
        node of its previous order until it registers the new order's first node (the
        documented robot and the SDK agent do so, with every node of the new order still
        pending): that old ``lastNodeSequenceId`` means nothing on this route, and read as
        one it would mark the robot far along, hand back points it is about to inspect,
        release the base too far or end the round at once. The node id alone does not
        tell: a round repeated from the dock ends at the dock with the same sequence.
        """
        if not state.last_node_id:
            return 0
        seq = state.last_node_sequence_id
        index = seq // 2
        if seq % 2 or not 0 <= index < len(self.stops) \
                or self.stops[index].node_id != state.last_node_id:
            return None
        if index > self.reached:  # only a step forward needs the pending nodes read
            pending = state.first_pending_sequence
            if pending is not None and pending <= seq:
                return None
        return index

    def left_behind(self, state: StateView, now: float, *, result_grace: float
                    ) -> list[tuple[str, str]]:
        """Points of this order the robot will not inspect as things stand, with why; they
        are marked :attr:`left` (call after :meth:`on_state`, with manager time ``now``).

        - the robot reported a node past the point's (or, for a point at the last node, the
          end of the order ``result_grace`` seconds ago), and the point's ``inspect`` action
          never started (WAITING, or missing from its action states);
        - the order is over and the action is still under way, or FINISHED without its
          result committed, ``result_grace`` seconds after the order was over (a result
          refused as malformed, never sent, or an action that never ends).

        A robot that does what VDA 5050 says never triggers any of these.
        """
        if state.order_id != self.order_id:
            return []
        over = self.reached >= len(self.stops) - 1 and state.pending_nodes == 0
        if over and self.over_at is None:
            self.over_at = now
        late = self.over_at is not None and now - self.over_at >= result_grace
        statuses = {a.action_id: a.status for a in state.action_states}
        out: list[tuple[str, str]] = []
        for aid, point in self.inspections.items():
            if point in self.done or point in self.failed or point in self.left:
                continue
            status = statuses.get(aid)
            if point in self.reported or status is ActionStatus.FINISHED:
                if late:
                    out.append((point, "its inspect action finished but no result was "
                                       "stored by the end of the order"))
            elif status is None or status is ActionStatus.WAITING:
                # at the last node a WAITING action may be about to start: only past its
                # node, or late, is it left behind
                if self.reached > self._index(aid) or (over and late):
                    out.append((point, "the robot drove past it without running its inspect "
                                       f"action ({status.value if status else 'not reported'})"))
            elif status is not ActionStatus.FAILED and late:
                out.append((point, f"its inspect action was still {status.value} at the end "
                                   "of the order"))
        self.left.update(p for p, _ in out)
        return out

    def _index(self, action_id: str) -> int:
        """The route index of the (first) stop carrying ``action_id``; ``len(stops)`` when
        none does."""
        if not self._stop_of:
            for i in reversed(range(len(self.stops))):
                self._stop_of.update((a.action_id, i) for a in self.stops[i].actions)
        return self._stop_of.get(action_id, len(self.stops))

    def next_update(self, header: Header, limit: Limit | None = None) -> Order | None:
        """An order update extending the base when the robot is within half the release
        window of its end, as far as ``limit`` (traffic control) allows; None when no
        update is due, when the base already ends at a charging stop that is not over, or
        when ``limit`` grants nothing more."""
        last = len(self.stops) - 1
        if self.base_end >= last or self.base_end - self.reached > self.release_ahead // 2:
            return None
        end = self._past_dead(min(last, self.reached + self.release_ahead, self.hold))
        if limit is not None and end > self.base_end:
            end = limit(end)
        if end <= self.base_end:
            return None
        start, self.base_end = self.base_end, end
        self.update_id += 1
        return route_order(header, self.order_id, self.stops, self.legs,
                           base_end=self.base_end, start=start, end=self.horizon_end,
                           order_update_id=self.update_id)

    def on_charging(self, state: StateView, now: float) -> ChargingNews:
        """Fold a state of this order (after :meth:`on_state`) into the charging stops at
        manager time ``now`` (world seconds); what the manager is to record and send.

        At a charging stop, once its ``startCharging`` FINISHED, the robot is charged when
        it reports at least the target (or :data:`FULL_PCT`), or when it
        stopped charging by itself (it was seen charging: full, or the charger gave up), or
        when it reports not charging for :data:`CHARGE_IDLE_S`; then ``stopCharging`` is
        due (and due again every :data:`STOP_RESEND_S` until the state shows it). The stop
        is DONE when the robot reports ``stopCharging`` finished or failed, or at once when
        ``startCharging`` FAILED (the robot goes on with what it has: an event says so). A
        stop the robot is already past is DONE.
        """
        news = ChargingNews()
        if state.order_id != self.order_id or not self.charges:
            return news
        statuses: dict[str, ActionStatus] | None = None
        for c in self.charges:
            if c.phase is ChargePhase.DONE:
                continue
            if self.reached > c.index:
                c.phase = ChargePhase.DONE  # e.g. a restarted manager learns it only now
                news.changed = True
                continue
            if self.reached < c.index:
                break  # the base ends here: nothing beyond can have started
            if statuses is None:
                statuses = {a.action_id: a.status for a in state.action_states}
            detail: dict[str, Any] = {"node": c.node_id, "target_pct": c.target_pct,
                                      "battery_pct": state.battery}
            if c.phase is ChargePhase.AHEAD:
                c.phase, news.changed = ChargePhase.CHARGING, True
                news.events.append(("charging", detail))
            if c.phase is ChargePhase.CHARGING:
                start = statuses.get(c.start_id)
                if start is ActionStatus.FAILED:
                    c.phase, news.changed = ChargePhase.DONE, True
                    news.events.append(("charging_failed", detail))
                    continue
                if start is not ActionStatus.FINISHED:
                    break
                idle = 0.0
                if state.charging:
                    c.seen_charging, c.idle_since = True, None
                elif c.idle_since is None:
                    c.idle_since = now
                else:
                    idle = now - c.idle_since
                reached = state.battery >= min(c.target_pct, FULL_PCT)
                gave_up = not state.charging and (c.seen_charging or idle >= CHARGE_IDLE_S)
                if not (reached or gave_up):
                    break
                c.phase, news.changed = ChargePhase.STOPPING, True
                news.events.append(("charged" if reached else "charging_ended", detail))
            if c.phase is ChargePhase.STOPPING:
                stop = statuses.get(c.stop_id)
                if stop in (ActionStatus.FINISHED, ActionStatus.FAILED):
                    c.phase, news.changed = ChargePhase.DONE, True
                    if stop is ActionStatus.FAILED:
                        news.events.append(("stop_charging_failed", detail))
                    continue
                if stop is None and (c.stop_sent is None or now - c.stop_sent >= STOP_RESEND_S):
                    c.stop_sent = now
                    news.instants.append(Action(c.stop_id, ActionType.STOP_CHARGING.value,
                                                BlockingType.HARD))
            break
        return news

    def _past_dead(self, end: int) -> int:
        """``end``, moved on past any comms-dead nodes (to the first covered one)."""
        last = len(self.stops) - 1
        while end < last and self.stops[end].node_id in self.dead:
            end += 1
        return end

    def replace_tail(self, keep: list[RouteStop], tail: list[RouteStop], fac: Facility) -> None:
        """The route becomes ``keep`` (the stops up to the base end, as sent) then ``tail``
        (a new way for the rest); charging stops follow their actions (one no longer on
        the route is over)."""
        self.stops = [*keep, *tail]
        self._stop_of = {}
        self.legs = [RouteLeg(f"{a.node_id}-{b.node_id}", _length(fac, a.node_id, b.node_id))
                     for a, b in itertools.pairwise(self.stops)]
        self.dead = _dead_nodes(fac, self.stops)
        where = {x.action_id: i for i, s in enumerate(self.stops) for x in s.actions}
        for c in self.charges:
            if c.start_id in where:
                c.index = where[c.start_id]
            elif c.phase is not ChargePhase.DONE:
                c.phase = ChargePhase.DONE

    def drop_point(self, point: str) -> None:
        """``point`` is no longer this robot's to inspect (its stop left the route)."""
        self.inspections = {k: v for k, v in self.inspections.items() if v != point}

    def to_json(self) -> dict[str, Any]:
        """Progress as ``fleet mission status`` shows it per robot."""
        return {
            "manufacturer": self.manufacturer, "serial": self.serial,
            "order_id": self.order_id, "active": self.active,
            "nodes": len(self.stops), "reached": self.reached, "released": self.base_end,
            "inspections": {"done": len(self.done), "total": len(self.inspections),
                            "failed": len(self.failed), "left": len(self.left)},
            "remaining": self.remaining,
            "charging": [{"node": c.node_id, "target_pct": c.target_pct,
                          "phase": c.phase.value} for c in self.charges],
        }


def assignment_for(mission_id: str, rp: RobotPlan, mission: MissionSpec, *,
                   release_ahead: int, horizon: int | None = None,
                   start_node: str | None = None,
                   battery_wh: float | None = None,
                   power_off: Callable[[str], float | None] | None = None) -> Assignment:
    """The assignment of one planned round: its node route with inspect actions.

    With ``battery_wh`` (the robot's usable battery, Wh: give it only for a robot that
    :func:`supports_charging`), each charging stop of the plan gets a HARD ``startCharging``
    action and becomes a :class:`ChargeStop` whose target is the plan's departure charge in
    percent of ``battery_wh``. Without it, or at a charger inside a comms-dead zone (where
    the robot could not be told to go on), charging stops stay plain route nodes.
    ``power_off`` gives a point's methane power-off level, put in the ``inspect`` actions
    that read ``ch4`` there (the robot's interlock: docs/gas-safety.md, "Lockout").
    """
    fac = mission.facility
    tasks = {t.point: t for t in mission.tasks}
    stops: list[RouteStop] = []
    inspections: dict[str, str] = {}
    charges: list[ChargeStop] = []

    def add(node_id: str) -> None:
        stops.append(RouteStop(node_id, position(fac, node_id)))

    def place(action: Action) -> None:
        last = stops[-1]
        stops[-1] = RouteStop(last.node_id, last.position, (*last.actions, action))

    for stop in rp.stops:
        path = list(stop.path) or [stop.node]
        for i, node_id in enumerate(path):
            if stops and i == 0 and stops[-1].node_id == node_id:
                continue  # a path starts where the previous one ended
            add(node_id)
        if stop.kind is StopKind.INSPECT:
            task = tasks[stop.node]
            action_id = f"inspect-{stop.node}-{uuid.uuid4().hex[:8]}"
            inspections[action_id] = stop.node
            level = power_off(stop.node) if power_off is not None and \
                "ch4" in task.sensors else None
            place(inspect_action(action_id, InspectParams(
                stop.node, tuple(sorted(task.sensors)), float(task.dwell_s)),
                power_off_level=level))
        elif (stop.kind is StopKind.CHARGE and battery_wh is not None and battery_wh > 0
              and not _is_dead(fac, stop.node)):
            tag = uuid.uuid4().hex[:8]
            charge = ChargeStop(
                index=len(stops) - 1, node_id=stop.node,
                target_pct=round(min(100.0, 100.0 * stop.battery_departure_wh / battery_wh), 3),
                start_id=f"startCharging-{stop.node}-{tag}",
                stop_id=f"stopCharging-{stop.node}-{tag}")
            charges.append(charge)
            place(Action(charge.start_id, ActionType.START_CHARGING.value, BlockingType.HARD))
    if start_node is not None and stops and stops[0].node_id != start_node:
        stops.insert(0, RouteStop(start_node, position(fac, start_node)))
        for c in charges:
            c.index += 1
    legs = [RouteLeg(f"{a.node_id}-{b.node_id}", _length(fac, a.node_id, b.node_id))
            for a, b in itertools.pairwise(stops)]
    return Assignment(
        mission_id=mission_id, manufacturer=rp.manufacturer, serial=rp.serial,
        order_id=f"{mission_id[:8]}-{rp.serial}-{uuid.uuid4().hex[:6]}",
        stops=stops, legs=legs, inspections=inspections, release_ahead=release_ahead,
        horizon=horizon, dead=_dead_nodes(fac, stops), charges=charges)


def rebuild_assignment(mission_id: str, data: dict[str, Any], fac: Facility) -> Assignment:
    """An assignment from :meth:`MissionRun.snapshot` data (a restarted manager)."""
    stops = [RouteStop(s["node"], position(fac, s["node"]),
                       tuple(Action.from_json(x) for x in s["actions"])) for s in data["stops"]]
    legs = [RouteLeg(f"{a.node_id}-{b.node_id}", _length(fac, a.node_id, b.node_id))
            for a, b in itertools.pairwise(stops)]
    return Assignment(
        mission_id=mission_id, manufacturer=data["manufacturer"], serial=data["serial"],
        order_id=data["order_id"], stops=stops, legs=legs,
        inspections=dict(data["inspections"]), release_ahead=int(data["release_ahead"]),
        # snapshots written before the horizon was bounded sent the whole round
        horizon=None if data.get("horizon") is None else int(data["horizon"]),
        base_end=int(data["base_end"]), update_id=int(data["update_id"]),
        reached=int(data["reached"]), done=set(data["done"]), failed=set(data["failed"]),
        active=bool(data["active"]), dead=_dead_nodes(fac, stops),
        left=set(data.get("left", ())),
        # snapshots written before charging stops existed have none
        charges=[ChargeStop.from_json(c) for c in data.get("charges", ())])


def _is_dead(fac: Facility, node_id: str) -> bool:
    return any(z.kind is ZoneKind.COMMS_DEAD for z in fac.zones_at(node_id))


def _dead_nodes(fac: Facility, stops: list[RouteStop]) -> frozenset[str]:
    return frozenset(s.node_id for s in stops if _is_dead(fac, s.node_id))


def position(fac: Facility, node_id: str) -> NodePosition:
    """The order position of a node of ``fac``."""
    n = fac.node(node_id)
    return NodePosition(n.x, n.y, n.level)


def _length(fac: Facility, a: str, b: str) -> float | None:
    edge = fac.edge_between(a, b)
    return None if edge is None else edge.length
