"""Order progress on the robot: :class:`OrderProgress`, the VDA 5050 order rules in one place.

It decides which orders and updates are accepted (VDA 5050 2.1, "the process of accepting
an order or order update"), keeps what is still ahead (``nodeStates``/``edgeStates``, base
and horizon), the status of every action, and the errors to report, and tells the agent's
worker the next step: drive to a released node, or run an action of the node just reached.
It does no I/O and takes no locks: :class:`~fleet.agent.agent.RobotAgent` calls it under its
lock. Every transition is a method here and is tested step by step.

Acceptance (``receive_order``), in the order VDA 5050 checks:

1. content: the header names this robot; action ids are unique; every ``inspect`` action
   has valid parameters and asks only for sensors the robot has; no HARD-blocking action of
   a type the robot does not support; otherwise ``validationError`` or ``orderError``;
2. a new ``orderId`` while the previous order is still running or waiting for an update
   (``nodeStates`` not empty or an action not done): ``orderError``;
3. a new order whose first node is not where the robot stands: ``noRouteError``;
4. an update with a lower ``orderUpdateId``: ``orderUpdateError``; an equal one: ignored;
5. an update that does not start at the last base node (while running) or at the last node
   reached (when done): ``orderUpdateError``.

Rejected orders change nothing but the errors; errors stay until an order or update is
accepted.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from fleet.agent.body import Pose
from fleet.errors import ProtocolError
from fleet.protocol.codec import from_bytes
from fleet.protocol.inspection import is_inspect, read_inspect_action
from fleet.protocol.order import Action, BlockingType, Edge, Node, Order
from fleet.protocol.state import (
    MOVE_ERROR,
    ActionState,
    ActionStatus,
    EdgeState,
    Error,
    ErrorLevel,
    NodeState,
)

VALIDATION_ERROR = "validationError"
"""A malformed order: not valid JSON/schema, not for this robot, bad action parameters."""
ORDER_ERROR = "orderError"
"""An order the robot cannot do (unsupported HARD action, missing sensor), or a new order
while the previous one is still running."""
ORDER_UPDATE_ERROR = "orderUpdateError"
"""An update with a lower orderUpdateId, or one that does not continue the current base."""
NO_ROUTE_ERROR = "noRouteError"
"""A new order whose first node is not where the robot stands."""
NO_ORDER_TO_CANCEL = "noOrderToCancel"
"""A cancelOrder without a running order."""

MAX_ERRORS = 20
"""Errors kept at most (the oldest go first), so a flood of bad orders stays bounded."""
MAX_DONE_INSTANT = 32
"""Finished instant-action states kept at most between orders."""


class Verdict(StrEnum):
    """What :meth:`OrderProgress.receive_order` did with an order."""

    ACCEPTED = "ACCEPTED"
    """A new order replaced the previous one."""
    UPDATED = "UPDATED"
    """An update extended the current order."""
    IGNORED = "IGNORED"
    """An update already received (same orderUpdateId); nothing changed."""
    REJECTED = "REJECTED"
    """Not executed; an error was added."""


@dataclass(frozen=True, slots=True)
class Drive:
    """Next step: drive to ``node`` (along ``edge``, None for a new order's first node)."""

    node: Node
    edge: Edge | None


@dataclass(frozen=True, slots=True)
class Perform:
    """Next step: run ``action`` of ``node``, the node just reached."""

    node: Node
    action: Action


Step = Drive | Perform


class OrderProgress:
    """The robot's order state; see the module docstring for the acceptance rules.

    ``supported`` lists the order action types the robot can run; ``sensors`` the sensors
    it has; ``tolerance`` how far (m) it may stand from a new order's first node when that
    node states no ``allowedDeviationXY``.
    """

    def __init__(self, manufacturer: str, serial_number: str, *,
                 supported: Collection[str], sensors: Collection[str],
                 tolerance: float = 0.5) -> None:
        self.manufacturer = manufacturer
        self.serial_number = serial_number
        self.supported = frozenset(supported)
        self.sensors = frozenset(sensors)
        self.tolerance = tolerance
        self.order_id = ""
        self.order_update_id = 0
        self.last_node_id = ""
        self.last_node_sequence_id = 0
        self.errors: list[Error] = []
        self._nodes: list[Node] = []          # ahead, base then horizon
        self._edges: list[Edge] = []
        self._todo: deque[tuple[Node, Action]] = deque()  # actions of the node just reached
        self._actions: dict[str, ActionState] = {}
        self._order_actions: dict[str, int] = {}  # actionId of the order -> sequenceId
        self._instant: deque[str] = deque()       # instant actionIds, oldest first
        self._base_end: tuple[str, int] | None = None
        self._moving: Node | None = None
        self._running: str | None = None
        self._cancel: str | None = None           # cancelOrder actionId under way
        self._blocked = False
        self._lockout: Error | None = None        # methaneLockout until a person resets

    # -- reading ------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while the order runs or waits for an update (nodes ahead, actions not done)."""
        return bool(self._nodes) or any(
            not self._actions[a].status.done for a in self._order_actions if a in self._actions)

    @property
    def driving(self) -> bool:
        """True between :meth:`begin_drive` and :meth:`arrive` / :meth:`halt`."""
        return self._moving is not None

    @property
    def node_states(self) -> tuple[NodeState, ...]:
        """The nodes still ahead, base and horizon."""
        return tuple(NodeState(n.node_id, n.sequence_id, n.released, n.position)
                     for n in self._nodes)

    @property
    def edge_states(self) -> tuple[EdgeState, ...]:
        """The edges still ahead, base and horizon."""
        return tuple(EdgeState(e.edge_id, e.sequence_id, e.released) for e in self._edges)

    @property
    def action_states(self) -> tuple[ActionState, ...]:
        """Every action of the order and every instant action kept, in arrival order."""
        return tuple(self._actions.values())

    @property
    def new_base_request(self) -> bool:
        """True when at most one released node is ahead and a horizon waits to be released."""
        released = sum(1 for n in self._nodes if n.released)
        return released <= 1 and any(not n.released for n in self._nodes)

    def action_status(self, action_id: str) -> ActionStatus | None:
        """The status of action ``action_id``, None when unknown."""
        state = self._actions.get(action_id)
        return state.status if state else None

    # -- orders -------------------------------------------------------------------------

    def receive_order(self, order: Order, pose: Pose | None) -> Verdict:
        """Accept, update, ignore or reject ``order``; ``pose`` is where the robot stands.
        A locked-out robot rejects every order (:meth:`lock_out`)."""
        refs = {"topic": "order", "headerId": str(order.header.header_id),
                "orderId": order.order_id, "orderUpdateId": str(order.order_update_id)}
        if self._lockout is not None:
            return self._reject(ORDER_ERROR, "the robot is locked out (methaneLockout) "
                                "until a person resets it", refs)
        if self.order_id and order.order_id == self.order_id:
            return self._receive_update(order, refs)
        problem = self._content_problem(order, after=None)
        if problem:
            return self._reject(problem[0], problem[1], refs | problem[2])
        if self.busy:
            return self._reject(ORDER_ERROR, (
                f"order {self.order_id!r} is still running; cancel it before sending "
                f"order {order.order_id!r}"), refs)
        where = self._start_problem(order.nodes[0], pose)
        if where:
            return self._reject(NO_ROUTE_ERROR, where, refs | {"nodeId": order.nodes[0].node_id})
        self.errors.clear()
        for action_id in self._order_actions:
            self._actions.pop(action_id, None)
        self._order_actions.clear()
        self._prune_instant(keep=0)
        self.order_id, self.order_update_id = order.order_id, order.order_update_id
        self._nodes, self._edges = list(order.nodes), list(order.edges)
        self._todo.clear()
        self._cancel, self._blocked = None, False
        self._add_actions(order.nodes, order.edges)
        last = order.last_base_node
        self._base_end = (last.node_id, last.sequence_id)
        return Verdict.ACCEPTED

    def _receive_update(self, order: Order, refs: dict[str, str]) -> Verdict:
        if order.order_update_id < self.order_update_id:
            return self._reject(ORDER_UPDATE_ERROR, (
                f"orderUpdateId {order.order_update_id} is lower than the current "
                f"{self.order_update_id}"), refs)
        if order.order_update_id == self.order_update_id:
            return Verdict.IGNORED
        first = order.nodes[0]
        if self.busy and self._base_end is not None:
            expected = self._base_end
            what = "the last base node"
        else:
            expected = (self.last_node_id, self.last_node_sequence_id)
            what = "the last node reached"
        if (first.node_id, first.sequence_id) != expected:
            return self._reject(ORDER_UPDATE_ERROR, (
                f"the update starts at {first.node_id!r} (sequenceId {first.sequence_id}) but "
                f"must start at {what}, {expected[0]!r} (sequenceId {expected[1]})"),
                refs | {"nodeId": first.node_id})
        problem = self._content_problem(order, after=first.sequence_id)
        if problem:
            return self._reject(problem[0], problem[1], refs | problem[2])
        start = first.sequence_id
        # the stitching node keeps what the earlier message said (VDA 5050): only what lies
        # beyond it is taken from the update, and the old horizon is replaced
        dropped = {a for a, seq in self._order_actions.items() if seq > start}
        self._nodes = ([n for n in self._nodes if n.sequence_id <= start]
                       + [n for n in order.nodes if n.sequence_id > start])
        self._edges = ([e for e in self._edges if e.sequence_id < start]
                       + [e for e in order.edges if e.sequence_id > start])
        newer_nodes = [n for n in order.nodes if n.sequence_id > start]
        newer_edges = [e for e in order.edges if e.sequence_id > start]
        newer: list[Node | Edge] = [*newer_nodes, *newer_edges]
        kept = {a.action_id for item in newer for a in item.actions}
        for action_id in dropped - kept:
            state = self._actions.get(action_id)
            if state is not None and state.status is ActionStatus.WAITING:
                del self._actions[action_id]
                del self._order_actions[action_id]
        self._add_actions(newer_nodes, newer_edges)
        self.order_update_id = order.order_update_id
        last = order.last_base_node
        self._base_end = (last.node_id, last.sequence_id)
        self.errors.clear()
        self._blocked = False
        return Verdict.UPDATED

    def reject_malformed(self, reason: str, refs: dict[str, str]) -> None:
        """Record a ``validationError`` for an order that could not even be read."""
        self._add_error(VALIDATION_ERROR, ErrorLevel.WARNING, f"order rejected: {reason}",
                        {"topic": "order"} | refs)

    def _reject(self, error_type: str, reason: str, refs: dict[str, str]) -> Verdict:
        self._add_error(error_type, ErrorLevel.WARNING, f"order rejected: {reason}", refs)
        return Verdict.REJECTED

    def _content_problem(self, order: Order,
                         after: int | None) -> tuple[str, str, dict[str, str]] | None:
        """The first content problem of the nodes/edges beyond sequence ``after``."""
        header = order.header
        if (header.manufacturer, header.serial_number) != (self.manufacturer,
                                                           self.serial_number):
            return (VALIDATION_ERROR, (
                f"the order is for {header.manufacturer}/{header.serial_number}, this robot is "
                f"{self.manufacturer}/{self.serial_number}"), {"serialNumber":
                                                               header.serial_number})
        seen: set[str] = set()
        items: list[Node | Edge] = [*order.nodes, *order.edges]
        for item in items:
            if after is not None and item.sequence_id <= after:
                continue
            on_node = isinstance(item, Node)
            for action in item.actions:
                refs = {"actionId": action.action_id}
                if action.action_id in seen:
                    return (VALIDATION_ERROR,
                            f"actionId {action.action_id!r} appears twice", refs)
                seen.add(action.action_id)
                if is_inspect(action):
                    try:
                        params = read_inspect_action(action)
                    except ProtocolError as exc:
                        return VALIDATION_ERROR, str(exc), refs
                    missing = sorted(set(params.sensors) - self.sensors)
                    if missing:
                        return (ORDER_ERROR, f"inspect action {action.action_id!r} needs "
                                f"sensors this robot lacks: {', '.join(missing)}", refs)
                if not self._can_run(action, on_node) \
                        and action.blocking_type is BlockingType.HARD:
                    where = "node" if on_node else "edge"
                    return (ORDER_ERROR, f"{where} action type {action.action_type!r} is not "
                            f"supported by this robot", refs)
        return None

    def _can_run(self, action: Action, on_node: bool) -> bool:
        return on_node and action.action_type in self.supported

    def _start_problem(self, first: Node, pose: Pose | None) -> str | None:
        """Why the robot cannot start at ``first``, or None when it stands there."""
        p = first.position
        if p is None or pose is None:
            if self.last_node_id and first.node_id != self.last_node_id and p is None:
                return (f"the first node {first.node_id!r} has no position and is not the "
                        f"last node reached, {self.last_node_id!r}")
            return None
        if p.map_id != pose.map_id:
            return (f"the first node {first.node_id!r} is on map {p.map_id!r}, the robot on "
                    f"{pose.map_id!r}")
        allowed = p.allowed_deviation_xy if p.allowed_deviation_xy else self.tolerance
        distance = math.hypot(p.x - pose.x, p.y - pose.y)
        if distance > allowed:
            return (f"the robot stands {distance:.2f} m from the first node {first.node_id!r}, "
                    f"more than the {allowed:g} m allowed")
        return None

    def _add_actions(self, nodes: Iterable[Node], edges: Iterable[Edge]) -> None:
        items: list[Node | Edge] = sorted([*nodes, *edges], key=lambda i: i.sequence_id)
        for item in items:
            for action in item.actions:
                if action.action_id in self._actions:
                    # never run an actionId twice; but an update that re-routes the horizon
                    # may move a waiting action to another node: it belongs there now
                    if action.action_id in self._order_actions:
                        self._order_actions[action.action_id] = item.sequence_id
                    continue
                self._actions[action.action_id] = ActionState(
                    action.action_id, ActionStatus.WAITING, action.action_type,
                    action.description)
                self._order_actions[action.action_id] = item.sequence_id

    # -- the worker's steps ---------------------------------------------------------------

    def next_step(self, *, paused: bool = False) -> Step | None:
        """What the worker does next, or None (paused, blocked, at the end of the base,
        locked out)."""
        if (paused or self._lockout is not None or self._moving is not None
                or self._running is not None):
            return None
        while self._todo:
            node, action = self._todo[0]
            if self.action_status(action.action_id) is ActionStatus.WAITING:
                return Perform(node, action)
            self._todo.popleft()
        if self._blocked or not self._nodes or not self._nodes[0].released:
            return None
        node = self._nodes[0]
        edge = self._edges[0] if self._edges and self._edges[0].end_node_id == node.node_id \
            and self._edges[0].sequence_id == node.sequence_id - 1 else None
        return Drive(node, edge)

    def begin_drive(self, node: Node) -> None:
        """The robot starts driving to ``node`` (the first node ahead)."""
        self._moving = node

    def arrive(self, node: Node) -> None:
        """The robot reached ``node``: it leaves the lists and its actions are queued."""
        self._moving = None
        self._nodes = [n for n in self._nodes if n.sequence_id > node.sequence_id]
        self._edges = [e for e in self._edges if e.sequence_id > node.sequence_id]
        self.last_node_id, self.last_node_sequence_id = node.node_id, node.sequence_id
        edge_actions = [a for a, seq in self._order_actions.items()
                        if seq == node.sequence_id - 1
                        and self.action_status(a) is ActionStatus.WAITING]
        for action_id in edge_actions:
            # the edge is behind the robot; it runs no edge actions (see _can_run)
            self._end(action_id, ActionStatus.FAILED, "edge actions are not supported")
        for action in node.actions:
            if self.action_status(action.action_id) is ActionStatus.WAITING:
                self._todo.append((node, action))
        self._settle_cancel()

    def halt(self) -> None:
        """The drive stopped before its node (pause or shutdown); the node stays ahead."""
        self._moving = None
        self._settle_cancel()

    def move_failed(self, node: Node, reason: str) -> None:
        """The body could not reach ``node``: report it and wait for an update or a cancel."""
        self._moving = None
        self._blocked = True
        self._add_error(MOVE_ERROR, ErrorLevel.WARNING, f"cannot reach {node.node_id!r}: {reason}",
                        {"orderId": self.order_id, "nodeId": node.node_id})
        self._settle_cancel()

    def begin_action(self, action_id: str) -> None:
        """The action is being prepared (INITIALIZING)."""
        self._running = action_id
        self._set(action_id, ActionStatus.INITIALIZING)

    def action_running(self, action_id: str) -> None:
        """The action is under way (RUNNING)."""
        self._running = action_id
        self._set(action_id, ActionStatus.RUNNING)

    def end_action(self, action_id: str, ok: bool, description: str | None = None) -> None:
        """The action is done: FINISHED when ``ok``, else FAILED with ``description``."""
        if self._running == action_id:
            self._running = None
        if self._todo and self._todo[0][1].action_id == action_id:
            self._todo.popleft()
        self._end(action_id, ActionStatus.FINISHED if ok else ActionStatus.FAILED, description)
        self._settle_cancel()

    # -- instant actions ----------------------------------------------------------------

    def knows(self, action_id: str) -> bool:
        """True when an action with this id is already reported (instant actions are
        idempotent: a repeated id is not run again)."""
        return action_id in self._actions

    def record_instant(self, action: Action, status: ActionStatus,
                       result: str | None = None) -> None:
        """Add or update the state of instant action ``action``."""
        if action.action_id not in self._actions:
            self._instant.append(action.action_id)
        self._actions[action.action_id] = ActionState(
            action.action_id, status, action.action_type, action.description, result)
        self._prune_instant(keep=MAX_DONE_INSTANT)

    def cancel(self, action: Action) -> None:
        """``cancelOrder``: stop at the next node (after a running action), drop the rest.

        Actions not started become FAILED at once; the cancel action is RUNNING until the
        robot stands and nothing runs, then FINISHED with ``nodeStates``/``edgeStates``
        empty. Without a running order it FAILS with a ``noOrderToCancel`` warning.
        """
        if not self.busy or self._cancel is not None:
            self.record_instant(action, ActionStatus.FAILED, "no order to cancel")
            self._add_error(NO_ORDER_TO_CANCEL, ErrorLevel.WARNING,
                            "cancelOrder received without a running order",
                            {"actionId": action.action_id})
            return
        self.record_instant(action, ActionStatus.RUNNING)
        self._cancel = action.action_id
        for action_id in self._order_actions:
            if self.action_status(action_id) is ActionStatus.WAITING:
                self._end(action_id, ActionStatus.FAILED, "order cancelled")
        self._todo.clear()
        if self._moving is not None:
            target = self._moving.sequence_id
            self._nodes = [n for n in self._nodes if n.sequence_id == target]
            self._edges = [e for e in self._edges if e.sequence_id == target - 1]
        else:
            self._nodes, self._edges = [], []
        self._settle_cancel()

    def _settle_cancel(self) -> None:
        if self._cancel is None or self._moving is not None or self._running is not None:
            return
        self._nodes, self._edges = [], []
        self._todo.clear()
        self._blocked = False
        state = self._actions.get(self._cancel)
        if state is not None:
            self._actions[self._cancel] = ActionState(
                state.action_id, ActionStatus.FINISHED, state.action_type, state.description)
        self._cancel = None

    # -- methane lockout ----------------------------------------------------------------

    @property
    def locked_out(self) -> Error | None:
        """The ``methaneLockout`` error while the robot is locked out, else None."""
        return self._lockout

    def lock_out(self, error: Error) -> None:
        """Stop for good: every order action not started FAILS, nothing more is driven,
        ``error`` (FATAL) stays in the errors, and orders are rejected, until
        :meth:`reset_lockout`. The order's id stays (the manager sees what was dropped)."""
        self._lockout = error
        for action_id in self._order_actions:
            if self.action_status(action_id) is ActionStatus.WAITING:
                self._end(action_id, ActionStatus.FAILED, "methane lockout")
        self._todo.clear()
        self._nodes, self._edges = [], []
        self._blocked = False
        self.errors = [e for e in self.errors if e.error_type != error.error_type]
        self.errors.append(error)

    def reset_lockout(self) -> bool:
        """A person reset the robot: its error goes and it takes orders again; False when
        it was not locked out."""
        if self._lockout is None:
            return False
        kind = self._lockout.error_type
        self._lockout = None
        self.errors = [e for e in self.errors if e.error_type != kind]
        return True

    def _add_error(self, error_type: str, level: ErrorLevel, description: str,
                   refs: dict[str, str]) -> None:
        self.errors.append(Error(error_type, level, description, references=refs))
        if self._lockout is not None and self._lockout not in self.errors[-MAX_ERRORS:]:
            self.errors.remove(self._lockout)  # the lockout is never pruned
            self.errors.append(self._lockout)
        del self.errors[:-MAX_ERRORS]

    # -- helpers --------------------------------------------------------------------------

    def _set(self, action_id: str, status: ActionStatus, result: str | None = None) -> None:
        state = self._actions.get(action_id)
        if state is not None:
            self._actions[action_id] = ActionState(action_id, status, state.action_type,
                                                   state.description, result)

    def _end(self, action_id: str, status: ActionStatus, result: str | None) -> None:
        self._set(action_id, status, result)

    def _prune_instant(self, keep: int) -> None:
        done = [a for a in self._instant if (s := self._actions.get(a)) is None or s.status.done]
        for action_id in done[:max(0, len(done) - keep)]:
            self._instant.remove(action_id)
            self._actions.pop(action_id, None)


def order_refs(payload: bytes) -> dict[str, str]:
    """``headerId``/``orderId``/``orderUpdateId`` of an order that failed to decode, as error
    references, when they can be read at all."""
    try:
        obj = from_bytes(payload)
    except ProtocolError:
        return {}
    if not isinstance(obj, dict):
        return {}
    return {k: str(obj[k]) for k in ("headerId", "orderId", "orderUpdateId")
            if isinstance(obj.get(k), str | int) and not isinstance(obj.get(k), bool)}
