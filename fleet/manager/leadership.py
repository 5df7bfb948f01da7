"""Active and standby managers of one site on one PostgreSQL database.

Several ``fleet serve`` processes share the site's database, each with its own embedded
Zenoh router meshed with the others'. :class:`Leadership` runs in each of them:

- **standby**: holds no manager. Its router carries the robots' traffic, its database and
  maps are open, it follows which robots are heard, and every :data:`RETRY_S` it claims
  the site's lease (:class:`fleet.store.leases.Lease`); the claim succeeds only once the
  lease has run out. A standby that heard robots once but hears none now (its router cut
  off from them) lets the others claim first (:data:`CUT_OFF_DEFER_S`).
- **leader**: it won the lease. It builds a manager (the restart path: missions,
  reservations, lockouts, closures and schedules from the database, robots re-adopted from
  their states) and renews the lease every :data:`RENEW_S`.

Fencing (docs/operations.md, "Two managers"):

- the manager's robot link is a :class:`FencedLink`: nothing goes to a robot once the
  :class:`Fence` has run out, which is the last successful claim's start plus the lease's
  time to live less a margin, on this process's monotonic clock. A leader that cannot
  renew (the database gone, or itself frozen by SIGSTOP) has stopped sending before the
  lease runs out on the database's clock, so before any standby can win it; once awake it
  sends nothing more, whatever its threads were doing;
- every database write of the manager first takes the lease row shared and checks the
  epoch (:meth:`fleet.store.leases.Lease.fence`), so a write commits only while the
  manager leads, and a takeover waits until it has committed;
- messages to robots carry the leader's name and epoch as a Zenoh attachment
  (:func:`attachment`), so a capture can tell leaders apart.

A leader whose fence has run out, or whose claim finds another holder, steps down: its
manager is stopped (its API withdrawn) and it stands by again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fleet.anomaly.rules import TAKEOVER, Verdict
from fleet.comms.bus import Bus, Request
from fleet.comms.transport import Handle
from fleet.errors import FleetError, ProblemsError, StoreError
from fleet.manager.links import RobotId, RobotLink, VdaZenohLink
from fleet.manager.service import Manager
from fleet.protocol.header import Message
from fleet.protocol.keys import Topic, subscription_key
from fleet.sensors import Severity
from fleet.store.leases import Claim, Lease, LeaseView

log = logging.getLogger(__name__)

LEASE_TTL_S = 3.0
"""How long a lease lasts unless renewed (real seconds, the database's clock)."""
LEASE_MARGIN_S = 0.5
"""How much earlier than the lease a leader stops acting (clock rate differences)."""
RENEW_S = 0.75
"""A leader renews its lease this often."""
RETRY_S = 0.5
"""A standby claims the lease this often."""
HEARD_S = 5.0
"""A standby that has heard robots but none for this long (real seconds) is cut off."""
CUT_OFF_DEFER_S = 3 * LEASE_TTL_S
"""How long after the lease ran out a cut-off standby waits before claiming it: one that
hears the robots takes over first; if none does, it leads anyway (the robots may all be
away)."""
MEMBERS_VERB = "manager/members"
"""The key (under the interface) every manager process answers, leader or standby."""

Role = str  # "leader" | "standby" | "single"


def members_key(interface: str) -> str:
    """``{interface}/manager/members``: who manages the site, answered by each process."""
    return f"{interface}/{MEMBERS_VERB}"


def attachment(name: str, epoch: int | None) -> bytes:
    """What a leader attaches to each message to its robots: its name and epoch (JSON)."""
    return json.dumps({"manager": name, "epoch": epoch}).encode()


class Fence:
    """Whether this process may still act as the site's leader (module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = float("-inf")
        self.epoch: int | None = None

    def extend(self, claim: Claim) -> None:
        """A successful claim: valid until ``claim.valid_until``, in ``claim.epoch``."""
        with self._lock:
            if claim.epoch != self.epoch:
                self.epoch = claim.epoch
                self._until = claim.valid_until
            else:
                self._until = max(self._until, claim.valid_until)

    def revoke(self) -> None:
        """Invalid from now on."""
        with self._lock:
            self._until = float("-inf")

    def valid(self) -> bool:
        """Whether the lease is certainly still this process's."""
        return time.monotonic() < self._until

    def left(self) -> float:
        """Seconds of validity left (negative: run out that long ago)."""
        return self._until - time.monotonic()


class FencedLink:
    """A robot link that sends only while ``fence`` is valid (implements RobotLink);
    what it withholds is counted in :attr:`withheld`, not raised."""

    def __init__(self, inner: RobotLink, fence: Fence) -> None:
        self.inner = inner
        self.fence = fence
        self.withheld = 0

    def start(self, events: Any) -> None:
        self.inner.start(events)

    def send(self, robot: RobotId, message: Message) -> None:
        if not self.fence.valid():
            self.withheld += 1
            if self.withheld == 1:
                log.warning("not leading any more: messages to robots are withheld")
            return
        self.inner.send(robot, message)

    def close(self) -> None:
        self.inner.close()

    def reachable(self, robot: RobotId) -> bool:
        return self.inner.reachable(robot)


class Leadership:
    """One process's part in leading a site: standby until it wins the lease, then leader
    until it loses it (module docstring). ``build`` makes and starts a manager whose robot
    link is fenced by the given fence; ``on_lead`` is told (manager, the lease as it was
    before the claim) after each start. :meth:`run` blocks until ``stop``."""

    def __init__(self, lease: Lease, bus: Bus, interface: str,
                 build: Callable[[Fence], Manager], *,
                 on_lead: Callable[[Manager, LeaseView | None], None] = lambda _m, _v: None,
                 info: dict[str, Any] | None = None) -> None:
        self.lease = lease
        self.bus = bus
        self.interface = interface
        self.build = build
        self.on_lead = on_lead
        self.info = dict(info or {})
        self.fence = Fence()
        self.manager: Manager | None = None
        self.since = datetime.now(UTC)
        self.takeovers = 0
        self._seen: LeaseView | None = None
        self._heard: dict[str, float] = {}
        self._handles: list[Handle] = []
        self._lock = threading.Lock()

    @property
    def role(self) -> Role:
        """``leader`` while it runs a manager within its fence, ``stepping down`` when
        the fence has run out but the manager is not stopped yet, else ``standby``."""
        if self.manager is None:
            return "standby"
        return "leader" if self.fence.valid() else "stepping down"

    def run(self, stop: threading.Event) -> None:
        """Stand by or lead until ``stop`` is set; then step down and release the lease."""
        self._handles = [
            self.bus.serve(members_key(self.interface), self.answer),
            self.bus.subscribe_raw(subscription_key(self.interface, Topic.STATE),
                                   self._on_state),
        ]
        try:
            while not stop.is_set():
                if self.manager is None:
                    self._stand_by()
                    stop.wait(RETRY_S)
                else:
                    self._renew()
                    stop.wait(min(RENEW_S, max(0.05, self.fence.left())))
        finally:
            self._step_down("stopping")
            try:
                self.lease.release()
            except StoreError as exc:
                log.warning("could not release the lease (it runs out by itself): %s", exc)
            for handle in self._handles:
                handle.undeclare()

    def _claim(self) -> Claim | None:
        try:
            return self.lease.claim()
        except StoreError as exc:
            log.warning("lease of %s: %s", self.interface, exc)
            return None

    def _stand_by(self) -> None:
        try:
            before = self.lease.read()
        except StoreError as exc:
            log.debug("cannot read the lease: %s", exc)
            return
        self._seen = before
        if before is not None and before.live and before.holder != self.lease.holder:
            return  # led by another: no claim needed to know it fails
        if before is not None and self._cut_off() and -before.expires_in < CUT_OFF_DEFER_S:
            return  # hearing no robot any more: a standby that does hear them goes first
        claim = self._claim()
        if claim is not None:
            self._lead(claim, before)

    def _lead(self, claim: Claim, before: LeaseView | None) -> None:
        self.fence.extend(claim)
        if not self.fence.valid():
            # the answer came too late (this process stalled): the lease may be another's
            # by now; claim again rather than lead on a lease already run out
            self.fence.revoke()
            return
        log.warning("%s leads %s (epoch %d)", self.lease.holder, self.interface, claim.epoch)
        try:
            manager = self.build(self.fence)
        except FleetError as exc:
            log.error("could not start the manager after winning the lease: %s", exc)
            self.fence.revoke()
            with contextlib.suppress(StoreError):  # else it runs out by itself
                self.lease.release()
            if isinstance(exc, ProblemsError):
                raise  # a bad map or file: no use trying again
            return
        self.manager = manager
        self.since = datetime.now(UTC)
        if before is not None and before.holder != self.lease.holder:
            self.takeovers += 1
        try:
            self.on_lead(manager, before)
        except FleetError as exc:
            log.error("could not record the takeover: %s", exc)

    def _renew(self) -> None:
        claim = self._claim()
        if claim is not None and claim.epoch == self.fence.epoch:
            self.fence.extend(claim)
            return
        if claim is not None:  # ours again, but after losing it meanwhile: start afresh
            self._step_down(f"the lease ran out (epoch {self.fence.epoch} → {claim.epoch})")
            self._lead(claim, None)
            return
        if self.lease.epoch is None:
            self._step_down("another manager holds the lease")
            return
        if not self.fence.valid():
            self._step_down("could not renew the lease in time")

    def _step_down(self, why: str) -> None:
        self.fence.revoke()
        manager, self.manager = self.manager, None
        if manager is None:
            return
        log.warning("%s steps down as leader of %s: %s", self.lease.holder, self.interface,
                    why)
        manager.stop()
        self.since = datetime.now(UTC)

    def _on_state(self, key: str, _payload: bytes) -> None:
        with self._lock:
            self._heard[key] = time.monotonic()

    def _cut_off(self) -> bool:
        """Whether this process heard robots once but hears none now: its router is cut
        off from them (a host frozen and woken may not be meshed again at once)."""
        with self._lock:
            heard_any = bool(self._heard)
        return heard_any and self.robots_heard(within=HEARD_S) == 0

    def robots_heard(self, within: float = 10.0) -> int:
        """Robots whose state this process heard in the last ``within`` seconds."""
        now = time.monotonic()
        with self._lock:
            return sum(1 for t in self._heard.values() if now - t <= within)

    def answer(self, _request: Request | None = None) -> dict[str, Any]:
        """This process, as ``fleet status`` shows it."""
        try:
            view: LeaseView | None = self.lease.read()
            database = "reachable"
        except StoreError as exc:
            view, database = self._seen, f"unreachable: {exc}"
        return {"name": self.lease.holder, "interface": self.interface, "role": self.role,
                "epoch": self.fence.epoch if self.manager is not None else None,
                "since": self.since.isoformat(), "takeovers": self.takeovers,
                "robots_heard": self.robots_heard(), "database": database,
                "lease": None if view is None else view.as_dict(), **self.info}


def describe_process(name: str | None, endpoints: list[str],
                     peers: list[str]) -> tuple[str, dict[str, Any]]:
    """A manager process's name (``name`` or host-pid) and what ``fleet status`` shows of
    where it runs."""
    host = socket.gethostname()
    pid = os.getpid()
    return (name or f"{host}-{pid}",
            {"host": host, "pid": pid, "endpoints": endpoints, "peers": peers})


def single(bus: Bus, interface: str, name: str, info: dict[str, Any]) -> Handle:
    """Answer ``fleet status`` for a manager that leads alone (a SQLite site)."""
    since = datetime.now(UTC).isoformat()
    return bus.serve(members_key(interface), lambda _r: {
        "name": name, "interface": interface, "role": "single", "epoch": None,
        "since": since, "takeovers": 0, "robots_heard": None, "database": "reachable",
        "lease": None, **info})


def fenced_build(make: Callable[[list[RobotLink]], Manager],
                 links: Callable[[], list[RobotLink]], name: str) -> Callable[[Fence], Manager]:
    """What :class:`Leadership` builds with: ``make`` puts a manager together (not started)
    on the given links; the links ``links`` makes afresh for each term are fenced, and the
    VDA 5050 ones attach ``name`` and the epoch to each message. The manager is started."""
    def build(fence: Fence) -> Manager:
        made = links()
        for link in made:
            if isinstance(link, VdaZenohLink):
                link.attachment = attachment(name, fence.epoch)
        manager = make([FencedLink(link, fence) for link in made])
        manager.live.leader = {"name": name, "epoch": fence.epoch}  # the dashboard says so
        manager.start()
        return manager
    return build


def record_takeover(manager: Manager, name: str, epoch: int | None,
                    before: LeaseView | None) -> None:
    """A manager that took the lead from another: a ``manager_takeover`` event on each
    unfinished mission and an anomaly (rule :data:`~fleet.anomaly.rules.TAKEOVER`, so
    supervisors are alerted). Nothing when nobody led before or it led itself."""
    if before is None or before.holder == name:
        return
    interface = manager.settings.interface
    detail = {"manager": name, "epoch": epoch, "previous": before.holder,
              "previous_epoch": before.epoch}
    with manager.lock:
        for run in manager.missions.values():
            if not run.status.terminal:
                manager.core.event(run, "manager_takeover", None, detail)
    text = (f"manager {name} took over {interface} from {before.holder} "
            f"(epoch {before.epoch} → {epoch})")
    log.warning(text)
    manager.anomalies.raise_event(
        Verdict(f"{TAKEOVER}:{interface}", Severity.WARNING, TAKEOVER, None, None, None,
                detail={"description": text, **detail}),
        "-", measured_at=manager.clock.now())
