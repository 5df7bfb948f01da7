"""The robot-side agent: :class:`RobotAgent` speaks the wire protocol and drives a body.

Started, an agent

1. subscribes to its ``order``, ``instantActions`` and ``inspectionAck`` keys, declares its
   liveliness token, and publishes ``connection`` ONLINE, its factsheet and a state;
2. accepts or rejects orders (:mod:`fleet.agent.progress`), and on its one worker thread
   drives the released base node by node (:meth:`RobotBody.move_to`) and runs the actions
   of each node reached (``inspect`` via :meth:`RobotBody.inspect`); it stops at the end of
   the base until an update extends it;
3. handles instant actions at once, on the thread that delivers them: ``startPause``,
   ``stopPause``, ``cancelOrder``, ``factsheetRequest``, ``stateRequest``,
   ``resetLockout`` (and
   ``startCharging``/``stopCharging`` for a :class:`ChargingBody`); others FAIL;
4. publishes its state on every change (at most once per ``min_state_interval``; changes
   closer together go out as one state) and at least once per ``state_interval``;
5. locks itself out (:mod:`fleet.agent.lockout`) when an inspection measures methane at or
   above the power-off level and the robot is not rated Ma: it stops, reports a FATAL
   ``methaneLockout`` error and rejects orders until a person resets it;
6. publishes each inspection result, keeps it (:class:`ResultOutbox`) and resends it with
   back-off until an ``inspectionAck`` lists it, as committed or as rejected (then the
   manager's reason is logged once, at WARNING, and kept in :attr:`RobotAgent.rejected`);
   after a lost link comes back it publishes ONLINE, factsheet and state again and resends
   every pending result at once.

:meth:`RobotAgent.stop` publishes ``connection`` OFFLINE and withdraws the token; a token
that disappears without OFFLINE tells the manager the connection broke.

Threads: the worker (one per agent), the one zenoh-python runs for the agent's single
subscription, the ticker (shared by every agent given the same :class:`Ticker`, else one per
agent). Many agents may share
one :class:`~fleet.comms.Bus` (one Zenoh session): pass it as ``bus``; the agent then
never closes it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

from fleet.agent import actions
from fleet.agent.body import Battery, ChargingBody, MoveTarget, Pose, RobotBody
from fleet.agent.config import AgentConfig
from fleet.agent.lockout import Interlock, Trip
from fleet.agent.outbox import ResultOutbox
from fleet.agent.progress import Drive, OrderProgress, Perform, Verdict, order_refs
from fleet.agent.ticker import Ticker, TickHandle
from fleet.clock import Clock, SystemClock
from fleet.comms import Bus, client_config
from fleet.errors import AgentError as AgentError  # re-exported
from fleet.errors import MoveFailed, OutboxError, ProtocolError, TransportError
from fleet.protocol.codec import decode
from fleet.protocol.factsheet import Epl
from fleet.protocol.header import HeaderStamper, Message
from fleet.protocol.inspection import InspectionAck, Rejection
from fleet.protocol.keys import Topic, alive_key, subscription_key, topic_key
from fleet.protocol.order import Action, ActionType, InstantActions, Node, Order
from fleet.protocol.state import (
    ActionStatus,
    BatteryState,
    Connection,
    ConnectionState,
    State,
)

logger = logging.getLogger(__name__)

OFFLINE_GRACE = 0.05
"""Real seconds between publishing OFFLINE and withdrawing the liveliness token: Zenoh does
not order a message and a token's disappearance for a receiver, and a manager that saw the
token go first would record a broken connection instead of a clean shutdown."""

REJECTIONS_KEPT = 100
"""How many of the latest rejections :attr:`RobotAgent.rejected` keeps."""

JOIN_TIMEOUT = 10.0
"""Real seconds :meth:`RobotAgent.stop` waits for the worker to return from the body."""


_INSTANT = frozenset({ActionType.START_PAUSE, ActionType.STOP_PAUSE, ActionType.STATE_REQUEST,
                      ActionType.FACTSHEET_REQUEST})
"""Instant actions that finish at once (cancelOrder and charging are handled apart)."""


class RobotAgent:
    """One robot on the wire; see the module docstring.

    ``bus``: a shared Bus (the agent never closes it); otherwise ``connect`` lists router
    endpoints and the agent opens (and closes) its own client session with link lease
    ``lease_ms``. ``clock`` (default real time) paces everything; ``ticker`` is a shared
    :class:`Ticker` on the same clock (default: one of its own).
    """

    def __init__(self, config: AgentConfig, body: RobotBody, *, bus: Bus | None = None,
                 connect: Sequence[str] = (), clock: Clock | None = None,
                 ticker: Ticker | None = None, lease_ms: int = 1000,
                 connect_timeout_ms: int = 3000) -> None:
        if bus is None and not connect:
            raise AgentError("a robot agent needs a bus or router endpoints to connect to")
        self.config = config
        self.body = body
        self.clock: Clock = clock if clock is not None else (
            ticker.clock if ticker is not None else SystemClock())
        self._bus = bus
        self._own_bus = bus is None
        self._connect = tuple(connect)
        self._lease_ms = lease_ms
        self._connect_timeout_ms = connect_timeout_ms
        self._ticker = ticker if ticker is not None else Ticker(self.clock)
        self._own_ticker = ticker is None
        self._charging = isinstance(body, ChargingBody)
        supported = {ActionType.INSPECT.value}
        if self._charging:
            supported |= {ActionType.START_CHARGING.value, ActionType.STOP_CHARGING.value}
        self._progress = OrderProgress(
            config.manufacturer, config.serial_number, supported=supported,
            sensors=config.capabilities.sensors, tolerance=config.node_tolerance)
        self._progress.last_node_id = config.start_node
        self.interlock = Interlock(stays_energised=Epl.MA in config.capabilities.inspection().epl,
                                   power_off=config.power_off_ch4)
        """The methane lockout decision (:mod:`fleet.agent.lockout`)."""
        self._stamper = HeaderStamper(config.manufacturer, config.serial_number,
                                      clock=self.clock.now)
        self.outbox = ResultOutbox(config.result_store, first_delay=config.resend_after,
                                   max_delay=config.resend_max)
        self._lock = threading.RLock()       # progress, paused, lifecycle flags
        self._send_lock = threading.RLock()  # stamp + put, so headerIds go out in order
        self._pace = threading.Lock()        # state pacing bookkeeping
        self._last_state = -math.inf
        self._state_pending = False
        self._paused = False
        self._wake = threading.Event()       # the worker has something to look at
        self._halt = threading.Event()       # stop driving now (pause, shutdown)
        self._abort = threading.Event()      # shutdown: stop whatever the body does
        self._started = self._stopping = self._closed = False
        self._link_up = True
        self._entities: list[Any] = []
        self._handlers: dict[str, Callable[[bytes], None]] = {
            Topic.ORDER.value: self._on_order,
            Topic.INSTANT_ACTIONS.value: self._on_instant_actions,
            Topic.INSPECTION_ACK.value: self._on_ack,
        }
        self._tick: TickHandle | None = None
        self._worker: threading.Thread | None = None
        self._rejected: deque[Rejection] = deque(maxlen=REJECTIONS_KEPT)
        self._rejected_count = 0

    def _key(self, topic: Topic | str) -> str:
        c = self.config
        return topic_key(c.interface, c.manufacturer, c.serial_number, topic)

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def rejected(self) -> tuple[Rejection, ...]:
        """The latest results the manager rejected (at most :data:`REJECTIONS_KEPT`),
        oldest first, each with the manager's reason; ``rejected[-1]`` is the last one."""
        with self._lock:
            return tuple(self._rejected)

    @property
    def rejected_count(self) -> int:
        """How many pending results the manager has rejected since the agent was made."""
        with self._lock:
            return self._rejected_count

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._started and not self._stopping

    def start(self) -> None:
        """Connect, announce the robot and begin taking orders (once per agent).

        Raises :class:`~fleet.errors.NotReachable` when no router answers (the agent may
        then be started again).
        """
        with self._lock:
            if self._started:
                raise AgentError("an agent starts once; make a new one to start again")
            if self._bus is None:
                self._bus = Bus.open(client_config(self._connect, lease_ms=self._lease_ms,
                                                   timeout_ms=self._connect_timeout_ms))
            self._started = True
        bus = self._bus
        c = self.config
        # One subscription for the three topics the manager sends: each Python callback
        # subscriber costs a thread in zenoh-python, and a process may run 1,000 agents.
        # It also hears the agent's own messages, which _on_sample skips at once.
        self._entities.append(bus.subscribe_raw(
            subscription_key(c.interface, manufacturer=c.manufacturer, serial=c.serial_number),
            self._on_sample))
        self._entities.append(bus.declare_alive(
            alive_key(c.interface, c.manufacturer, c.serial_number)))
        self._link_up = self._link_is_up()
        self._announce()
        self._worker = threading.Thread(target=self._work, daemon=True,
                                        name=f"agent-{c.manufacturer}-{c.serial_number}")
        self._worker.start()
        if self._own_ticker:
            self._ticker.start()
        self._tick = self._ticker.add(self._on_tick)

    def stop(self, *, grace: float = OFFLINE_GRACE) -> None:
        """Stop cleanly: halt the body, publish ``connection`` OFFLINE, withdraw the token
        ``grace`` real seconds later, and close the session if the agent opened it
        (idempotent)."""
        with self._lock:
            if not self._started or self._stopping:
                return
            self._stopping = True
        self._halt.set()
        self._abort.set()
        self._wake.set()
        if self._tick is not None:
            self._ticker.remove(self._tick)
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(JOIN_TIMEOUT)
            if self._worker.is_alive():
                logger.warning("%s: the body did not return within %g s of being cancelled",
                               self.config.serial_number, JOIN_TIMEOUT)
        if self._send(Connection(self._stamper.blank(), ConnectionState.OFFLINE)) and grace > 0:
            time.sleep(grace)
        with self._send_lock:
            self._closed = True
        assert self._bus is not None
        for entity in reversed(self._entities):
            if not self._bus.closed:
                entity.undeclare()
        self._entities.clear()
        if self._own_ticker:
            self._ticker.close()
        if self._own_bus:
            self._bus.close()

    def _announce(self) -> None:
        self._send(Connection(self._stamper.blank(), ConnectionState.ONLINE))
        self.publish_factsheet()
        self._publish_state()
        now = self.clock.monotonic()
        for result in self.outbox.flush(now):
            self._send(result)

    # -- publishing -----------------------------------------------------------------------

    def _send(self, message: Message) -> bool:
        """Stamp and publish ``message``; False when it could not go out."""
        assert self._bus is not None
        with self._send_lock:
            if self._closed or self._bus.closed:
                return False
            try:
                self._bus.publish(self._key(message.TOPIC), self._stamper.stamp(message))
            except ProtocolError as exc:
                # a value from the body that the schema refuses (e.g. NaN): a bug to fix on
                # the robot, reported without taking the agent down
                logger.error("%s: not publishing an invalid %s message: %s",
                             self.config.serial_number, message.TOPIC, exc)
                return False
            except TransportError as exc:
                logger.warning("%s: publishing %s failed: %s", self.config.serial_number,
                               message.TOPIC, exc)
                return False
            return True

    def publish_factsheet(self) -> None:
        """Publish the factsheet now."""
        self._send(self.config.factsheet(self._stamper.blank(), charging=self._charging))

    def state(self) -> State:
        """The state as it would be published now (header not yet stamped)."""
        pose = Pose(*self.body.position())
        battery = Battery(*self.body.battery())
        with self._lock:
            p = self._progress
            return State(
                header=self._stamper.blank(),
                battery=BatteryState(battery.charge, battery.charging),
                order_id=p.order_id, order_update_id=p.order_update_id,
                last_node_id=p.last_node_id, last_node_sequence_id=p.last_node_sequence_id,
                node_states=p.node_states, edge_states=p.edge_states,
                action_states=p.action_states, driving=p.driving and not self._paused,
                errors=tuple(p.errors),
                agv_position=actions.agv_position(pose),
                paused=self._paused, new_base_request=p.new_base_request,
            )

    def _publish_state(self) -> None:
        # built and sent under the send lock, so a newer state never goes out before an older
        with self._send_lock:
            with self._pace:
                self._last_state = self.clock.monotonic()
                self._state_pending = False
            self._send(self.state())

    def _changed(self, *, urgent: bool = False) -> None:
        """Something in the state changed: publish now, or once the minimum interval passed
        (``urgent``: now, whatever the interval)."""
        with self._pace:
            now = self.clock.monotonic()
            due = self._last_state + self.config.min_state_interval
            if due > now and not urgent:
                if not self._state_pending and not self._stopping:
                    self._state_pending = True
                    self._ticker.add(self._flush_state, due)
                return
        self._publish_state()

    def _flush_state(self, now: float) -> None:
        with self._pace:
            pending = self._state_pending
        if pending and not self._stopping:
            self._publish_state()

    # -- the ticker: periodic state, resends, link watch --------------------------------

    def _on_tick(self, now: float) -> float | None:
        if self._stopping:
            return None
        up = self._link_is_up()
        if up and not self._link_up:
            logger.info("%s: link back, announcing again", self.config.serial_number)
            self._link_up = True
            self._announce()
        self._link_up = up
        interval = self.config.state_interval
        with self._pace:
            last = self._last_state
        if now >= last + interval:
            self._publish_state()
            last = self.clock.monotonic()
        if up:
            for result in self.outbox.due(now):
                self._send(result)
        following = last + interval
        resend = self.outbox.next_due()
        if resend is not None:
            following = min(following, max(resend, now + 0.01))
        return following

    def _link_is_up(self) -> bool:
        assert self._bus is not None
        return self._bus.reachable()

    # -- incoming messages (Zenoh's threads) ---------------------------------------------

    def _on_sample(self, key: str, payload: bytes) -> None:
        handler = self._handlers.get(key[key.rfind("/") + 1:])
        if handler is None or self._stopping:
            return
        try:
            handler(payload)
        # A transport would at best print an exception escaping its callback; log it with
        # the traceback instead so a bug shows where it happened.
        except Exception:
            logger.exception("%s: handling %s failed", self.config.serial_number, key)

    def _on_order(self, payload: bytes) -> None:
        try:
            order = decode(Topic.ORDER, payload)
        except ProtocolError as exc:
            logger.warning("%s: rejected an order: %s", self.config.serial_number, exc)
            with self._lock:
                self._progress.reject_malformed(str(exc), order_refs(payload))
            self._changed()
            return
        assert isinstance(order, Order)
        pose = Pose(*self.body.position())
        with self._lock:
            verdict = self._progress.receive_order(order, pose)
        logger.info("%s: order %s update %d %s", self.config.serial_number, order.order_id,
                    order.order_update_id, verdict.value.lower())
        if verdict is not Verdict.IGNORED:
            self._wake.set()
            # the manager waits for the state that shows the order taken (or refused):
            # publish it now rather than merging it into the next paced state
            self._changed(urgent=True)

    def _on_instant_actions(self, payload: bytes) -> None:
        try:
            message = decode(Topic.INSTANT_ACTIONS, payload)
        except ProtocolError as exc:
            logger.warning("%s: dropped instant actions: %s", self.config.serial_number, exc)
            return
        assert isinstance(message, InstantActions)
        for action in message.actions:
            self._instant(action)

    def _instant(self, action: Action) -> None:
        kind = action.action_type
        charge = kind in (ActionType.START_CHARGING, ActionType.STOP_CHARGING) and self._charging
        with self._lock:
            if self._progress.knows(action.action_id):
                return  # a repeated instant action is not run twice
            if kind == ActionType.CANCEL_ORDER:
                self._progress.cancel(action)
                self._wake.set()
            elif charge:
                self._progress.record_instant(action, ActionStatus.RUNNING)
            elif kind == ActionType.RESET_LOCKOUT:
                if not self.config.lockout_reset:
                    self._progress.record_instant(action, ActionStatus.FAILED,
                                                  "the lockout is reset at the robot")
                else:
                    self._reset_lockout()
                    self._progress.record_instant(action, ActionStatus.FINISHED)
            elif kind in _INSTANT:
                if kind == ActionType.START_PAUSE:
                    self._paused = True
                    self._halt.set()
                elif kind == ActionType.STOP_PAUSE:
                    self._paused = False
                    self._wake.set()
                self._progress.record_instant(action, ActionStatus.FINISHED)
            else:
                self._progress.record_instant(action, ActionStatus.FAILED,
                                              f"instant action {kind!r} is not supported")
        if kind == ActionType.FACTSHEET_REQUEST:
            self.publish_factsheet()
        if charge:
            self._changed()
            ok, reason = self._charge(kind == ActionType.START_CHARGING)
            with self._lock:
                self._progress.record_instant(
                    action, ActionStatus.FINISHED if ok else ActionStatus.FAILED, reason)
        if kind == ActionType.STATE_REQUEST:
            self._publish_state()
        else:
            self._changed()

    def _on_ack(self, payload: bytes) -> None:
        try:
            ack = decode(Topic.INSPECTION_ACK, payload)
        except ProtocolError as exc:
            logger.warning("%s: dropped an inspectionAck: %s", self.config.serial_number, exc)
            return
        assert isinstance(ack, InspectionAck)
        serial = self.config.serial_number
        if ack.result_ids:
            try:
                self.outbox.ack(ack.result_ids)
            except OutboxError as exc:
                logger.error("%s: %s", serial, exc)
        if not ack.rejected:
            return
        # read before removing: only a result still pending is reported (a rejection repeated
        # for a copy that was already in flight is not news); deliveries come one at a time
        pending = [(r, self.outbox.get(r.result_id)) for r in ack.rejected]
        try:
            self.outbox.reject([r.result_id for r in ack.rejected])
        except OutboxError as exc:
            logger.error("%s: %s", serial, exc)
        for rejection, result in pending:
            reason = " ".join(rejection.reason.split())
            if result is None:
                logger.debug("%s: inspection result %r rejected again, or not ours: %s",
                             serial, rejection.result_id, reason)
                continue
            with self._lock:
                self._rejected.append(rejection)
                self._rejected_count += 1
            logger.warning("%s: the manager rejected inspection result %s (action %s at %s), "
                           "which will not be resent: %s", serial, result.result_id,
                           result.action_id, result.inspection_point_id, reason)

    # -- the worker -----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                self._wake.clear()
                step = self._progress.next_step(paused=self._paused)
                if isinstance(step, Drive):
                    self._halt.clear()
                    self._progress.begin_drive(step.node)
                elif isinstance(step, Perform):
                    self._progress.begin_action(step.action.action_id)
            if step is None:
                self.clock.wait(self._wake, self.config.state_interval)
                continue
            self._changed()
            if isinstance(step, Drive):
                self._drive(step)
            else:
                self._perform(step.node, step.action)
            self._changed()

    def _drive(self, step: Drive) -> None:
        target = MoveTarget.of(step.node, step.edge)
        failure: str | None = None
        reached = False
        try:
            reached = self.body.move_to(target, self._halt)
        except MoveFailed as exc:
            failure = str(exc)
        # integrator code: report the failure in the state rather than lose the worker
        except Exception as exc:
            logger.exception("%s: move_to(%s) raised", self.config.serial_number,
                             target.node_id)
            failure = f"internal error: {exc!r}"
        if not reached and failure is None and not self._halt.is_set():
            # a body that gives up unasked would otherwise be asked again at once, forever
            failure = "move_to returned False without being cancelled"
        with self._lock:
            if failure is not None:
                self._progress.move_failed(step.node, failure)
            elif reached:
                self._progress.arrive(step.node)
            else:
                self._progress.halt()

    def _perform(self, node: Node, action: Action) -> None:
        action_id, kind = action.action_id, action.action_type
        with self._lock:
            self._progress.action_running(action_id)
        self._changed()
        if kind == ActionType.INSPECT:
            ok, reason = self._inspect(node, action)
        elif kind in (ActionType.START_CHARGING, ActionType.STOP_CHARGING) and self._charging:
            ok, reason = self._charge(kind == ActionType.START_CHARGING)
        else:
            ok, reason = False, f"action type {kind!r} is not supported"
        with self._lock:
            self._progress.end_action(action_id, ok, reason)

    def _inspect(self, node: Node, action: Action) -> tuple[bool, str | None]:
        with self._lock:
            order_id = self._progress.order_id
        outcome = actions.inspect(self.body, node, action, order_id=order_id,
                                  header=self._stamper.blank(), cancel=self._abort)
        result = outcome.result
        if result is not None:
            # the interlock first: the drive is cut before the result is written to disk
            # and sent (milliseconds a safety function does not wait for)
            trip = self.interlock.check(node.node_id, result.readings, action.parameters)
            if trip is not None:
                self._lock_out(trip)
            try:
                self.outbox.add(result)
            except OutboxError as exc:
                logger.error("%s: %s (kept in memory)", self.config.serial_number, exc)
            if self._send(result):
                self.outbox.sent(result.result_id, self.clock.monotonic())
        return outcome.ok, outcome.reason

    # -- methane lockout ------------------------------------------------------------------

    @property
    def locked_out(self) -> bool:
        """Whether the robot is locked out (a FATAL ``methaneLockout`` in its state)."""
        with self._lock:
            return self._progress.locked_out is not None

    def reset_lockout(self) -> bool:
        """A person reset the robot (its reset switch): the error goes, the drive may be
        powered again and orders are taken; False when it was not locked out."""
        with self._lock:
            done = self._reset_lockout()
        self._changed(urgent=True)
        return done

    def _reset_lockout(self) -> bool:
        if not self._progress.reset_lockout():
            return False
        power_on = getattr(self.body, "power_on", None)
        if callable(power_on):
            power_on()
        logger.warning("%s: methane lockout reset", self.config.serial_number)
        return True

    def _lock_out(self, trip: Trip) -> None:
        """Stop driving, cut the drive (a body's optional ``power_off()``) and report the
        FATAL error; called on the worker thread right after the inspection."""
        logger.error("%s: locked out: %s", self.config.serial_number, trip.error().description)
        with self._lock:
            self._progress.lock_out(trip.error())
        self._halt.set()
        power_off = getattr(self.body, "power_off", None)
        if callable(power_off):
            power_off()
        self._changed(urgent=True)

    def _charge(self, start: bool) -> tuple[bool, str | None]:
        assert isinstance(self.body, ChargingBody)
        outcome = actions.charge(self.body, start)
        return outcome.ok, outcome.reason
