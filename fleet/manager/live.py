"""The live feed: what a supervisor's dashboard shows, published as it changes.

Keys under the site's interface ``I`` (docs/dashboard.md has the full format):

- ``I/manager/live``: every :attr:`ManagerSettings.live_interval` real seconds (0.5 s by
  default) a JSON message ``{"v": 1, "seq", "at", "full", "manager" (when standbys
  exist: the leader's name and epoch), "robots", "gone", "missions",
  "anomalies", "anomalies_closed", ...}`` carrying only what changed since the previous
  message: the robots whose record changed, the missions whose progress moved, the open
  anomalies raised or changed and the ids of those no longer open; ``lockouts``,
  ``closures``, ``blocks`` (single-lane blocks held) and ``schedules`` (upcoming runs) as
  whole lists, present only when they changed. Every :data:`FULL_EVERY_S` seconds the
  message is *full* (everything, ``"full": true``), so a subscriber that missed messages
  (its ``seq`` jumped) recovers; it may also ask for the whole state at once with a query
  on ``I/manager/live/snapshot``.
- ``I/manager/live/events``: each mission event as it is recorded (``{"mission_id",
  "kind", "robot", "detail", "at"}``), sent at the next tick.
- queries ``I/manager/sites`` (the site maps: nodes, edges, levels) and ``I/manager/trend``
  (a point's readings of one sensor since a time, with the limits in force there).

The access control lets supervisors subscribe to these keys and query them; robots may not
(fleet.security.acl). What a message costs grows with what changed: a record is built per
robot each tick (attribute reads, about a millisecond for a thousand robots), but only the
records that differ from the last ones sent are encoded and published.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from fleet.anomaly.export import anomaly_json
from fleet.anomaly.lifecycle import AnomalyStatus
from fleet.errors import FleetError
from fleet.facility.blocks import Block
from fleet.facility.model import Facility
from fleet.manager.core import Core
from fleet.manager.lifecycle import RobotStatus
from fleet.manager.registry import RobotEntry
from fleet.manager.stateview import StateView
from fleet.protocol.keys import check_interface

if TYPE_CHECKING:
    from fleet.manager.service import Manager

log = logging.getLogger(__name__)

FULL_EVERY_S = 10.0
"""Real seconds between full messages."""

EVENTS_PER_TICK = 500
"""At most this many mission events are published per tick (the rest wait for the next:
a burst of a thousand robots lost at once must not stall the feed)."""

YIELD_EVERY = 50
"""Robot records built between two yields of the interpreter lock (under a millisecond): a
tick over a thousand robots would otherwise keep the threads that handle states waiting
(dispatch latency)."""

OPEN = (AnomalyStatus.OPEN.value, AnomalyStatus.ACKNOWLEDGED.value)
ANOMALIES_LISTED = 500
"""Open anomalies in the feed, newest first (the CLI lists the rest)."""


def live_key(interface: str, what: str = "") -> str:
    """``{interface}/manager/live`` (``what``: ``snapshot``, ``events``)."""
    check_interface(interface)
    return f"{interface}/manager/live" + (f"/{what}" if what else "")


def activity(status: RobotStatus, state: StateView | None, mission_id: str | None,
             waiting: bool) -> str:
    """What a dashboard colours a robot by: ``locked_out``, ``lost``, ``offline``,
    ``charging``, ``waiting`` (traffic control holds it), ``working`` (on a mission) or
    ``idle``."""
    if status is RobotStatus.LOCKED_OUT:
        return "locked_out"
    if status is RobotStatus.CONNECTION_BROKEN:
        return "lost"
    if status is RobotStatus.OFFLINE:
        return "offline"
    if state is not None and state.charging:
        return "charging"
    if waiting:
        return "waiting"
    return "working" if mission_id is not None else "idle"


class LiveFeed:
    """The live feed of one manager (see the module docstring); :meth:`run` is its thread,
    :meth:`tick` one message (for tests), :meth:`snapshot` the whole state."""

    def __init__(self, manager: Manager, publish: Callable[[str, bytes], None]) -> None:
        self.manager = manager
        self.core: Core = manager.core
        self.publish = publish
        itf = manager.settings.interface
        self._key, self._events_key = live_key(itf), live_key(itf, "events")
        self._seq = 0
        self.leader: dict[str, Any] | None = None
        """``{"name", "epoch"}`` of this manager when it leads a site with standbys
        (:mod:`fleet.manager.leadership`): every message carries it as ``manager``."""
        self._sent: dict[str, dict[str, Any]] = {}
        """What the last messages said: section → id → record (or ``"list"`` → list)."""
        self._events: deque[dict[str, Any]] = deque(maxlen=10_000)
        self._blocks: dict[str, dict[str, Block]] = {}
        self._memo: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
        """Serial → the inputs of its last record (state, status, mission, wait: compared
        by identity) and that record."""
        self._lock = threading.Lock()
        self._full_at = 0.0
        self.ticks = 0
        """Messages built so far (:meth:`tick`), and the real seconds they took."""
        self.tick_seconds = 0.0
        self.core.on_event = self._on_event

    # -- what changed -------------------------------------------------------------------
    def tick(self, *, full: bool = False) -> dict[str, Any]:
        """The next message: what changed since the last one (everything when ``full``);
        it becomes what the next one is compared with."""
        started = time.perf_counter()
        current = self._current()
        with self._lock:
            self._seq += 1
            message: dict[str, Any] = {"v": 1, "seq": self._seq,
                                       "at": self.core.clock.now().isoformat(), "full": full}
            for section in ("robots", "missions", "anomalies"):
                now, before = current[section], self._sent.get(section, {})
                message[section] = [r for k, r in now.items() if full or (
                    (was := before.get(k)) is not r and was != r)]
                gone = [k for k in before if k not in now]
                if section == "robots":
                    message["gone"] = gone
                elif section == "anomalies":
                    message["anomalies_closed"] = [int(k) for k in gone]
                self._sent[section] = now
            if self.leader is not None:
                message["manager"] = self.leader
            for section in ("lockouts", "closures", "blocks", "schedules"):
                if full or self._sent.get(section, {}).get("list") != current[section]:
                    message[section] = current[section]
                    self._sent[section] = {"list": current[section]}
            self.ticks += 1
            self.tick_seconds += time.perf_counter() - started
        return message

    def snapshot(self) -> dict[str, Any]:
        """The whole state as a full message (``seq`` the current one, not advanced): what
        the ``snapshot`` query answers."""
        current = self._current()
        with self._lock:
            seq = self._seq
        return {"v": 1, "seq": seq, "at": self.core.clock.now().isoformat(), "full": True,
                "robots": list(current["robots"].values()), "gone": [],
                "missions": list(current["missions"].values()),
                "anomalies": list(current["anomalies"].values()), "anomalies_closed": [],
                **{k: current[k] for k in ("lockouts", "closures", "blocks", "schedules")},
                **({} if self.leader is None else {"manager": self.leader})}

    def _current(self) -> dict[str, Any]:
        core = self.core
        out: dict[str, Any] = {}
        # under the manager's lock only what the records are made of (a state is replaced,
        # never changed, so it may be read after); the records are built after, and a
        # robot whose inputs are those of the last tick keeps its record (states come
        # once a second, ticks twice): the lock is held for as little as can be
        with core.lock:
            waits = {serial: wait.describe() for t in core.traffic.values()
                     for serial in t.waiters() if (wait := t.waiting(serial)) is not None}
            sites = {fac.name: fac for fac in self.manager.closures.sites()}
            inputs = [(r, r.state, r.status, r.mission_id, waits.get(r.serial))
                      for r in core.registry.all()]
            out["missions"] = {run.id: {
                "mission_id": run.id, "name": run.name, "status": run.status.value,
                "site": run.spec.facility.name, "done": len(run.done),
                "total": len(run.tasks), "failed": len(run.failed),
                "blocked": len(run.blocked), "reason": run.reason,
                "robots": sorted(a.serial for a in run.active())}
                for run in core.missions.values()}
            out["blocks"] = self._held_blocks(sites)
        robots: dict[str, dict[str, Any]] = {}
        memo: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
        for i, (r, state, status, mission_id, waiting) in enumerate(inputs):
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                time.sleep(0)  # let the threads handling robots run (the interpreter lock)
            key = (state, status, mission_id, waiting)
            found = self._memo.get(r.serial)
            if found is not None and found[0][0] is state and found[0][1] is status \
                    and found[0][2] == mission_id and found[0][3] == waiting:
                record = found[1]
            else:
                record = self._robot(r, state, status, mission_id, waiting, sites)
            robots[r.serial] = record
            memo[r.serial] = (key, record)
        self._memo = memo
        out["robots"] = robots
        out["lockouts"] = [self._lockout(row, sites) for row in self.manager.lockouts.open()]
        out["closures"] = [{"id": row.id, "site": row.site, "node": row.node_id,
                            "nodes": list(row.nodes or [row.node_id]), "area": row.area,
                            "reason": f"{row.sensor} {row.value:g} {row.unit} "
                                      f"({row.source})",
                            "opened_at": row.opened_at.isoformat()}
                           for row in self.manager.closures.open()]
        out["schedules"] = [{"id": row.id, "name": row.name, "mission": row.mission_name,
                             "next_run": start.isoformat()}
                            for row, start in self.manager.scheduler.upcoming_runs()]
        rows = core.store.anomalies(status=list(OPEN), limit=ANOMALIES_LISTED)
        out["anomalies"] = {str(row.id): anomaly_json(row) for row in rows}
        return out

    @staticmethod
    def _robot(r: RobotEntry, s: StateView | None, status: RobotStatus,
               mission_id: str | None, waiting: str | None,
               sites: dict[str, Facility]) -> dict[str, Any]:
        pos = s.position if s is not None else None
        node = s.last_node_id if s is not None else None
        site = next((name for name, fac in sites.items() if node and node in fac.nodes
                     and (pos is None or fac.nodes[node].level == pos.map_id)), None)
        return {"manufacturer": r.manufacturer, "serial": r.serial, "status": status.value,
                "activity": activity(status, s, mission_id, waiting is not None),
                "battery": s.battery if s is not None else None,
                "charging": bool(s is not None and s.charging),
                "x": round(pos.x, 2) if pos is not None else None,
                "y": round(pos.y, 2) if pos is not None else None,
                "level": pos.map_id if pos is not None else None,
                "site": site, "node": node or None, "mission_id": mission_id,
                "waiting": waiting}

    def _held_blocks(self, sites: dict[str, Facility]) -> list[dict[str, Any]]:
        out = []
        for name, t in sorted(self.core.traffic.items()):
            fac = sites.get(name)
            if fac is None:
                continue
            blocks = self._blocks.get(name)
            if blocks is None:
                blocks = self._blocks[name] = {b.id: b for b in fac.layout.blocks}
            for serial in sorted(t.robots()):
                for block_id in t.holding(serial)[1]:
                    b = blocks.get(block_id)
                    if b is not None:
                        nodes = sorted({n for e in b.edges for n in e})
                        out.append({"site": name, "block": block_id, "holder": serial,
                                    "nodes": nodes})
        return out

    @staticmethod
    def _lockout(row: Any, sites: dict[str, Facility]) -> dict[str, Any]:
        fac = next((f for f in sites.values() if row.node_id in f.nodes), None)
        node = fac.nodes[row.node_id] if fac is not None else None
        return {"robot": f"{row.manufacturer}/{row.serial}", "node": row.node_id,
                "site": fac.name if fac is not None else None,
                "x": node.x if node is not None else None,
                "y": node.y if node is not None else None,
                "level": node.level if node is not None else None,
                "reading": f"{row.sensor} {row.value:g} {row.unit}",
                "at": row.locked_at.isoformat()}

    # -- events ---------------------------------------------------------------------------
    def _on_event(self, mission_id: str, kind: str, serial: str | None,
                  detail: dict[str, Any], at: datetime) -> None:
        self._events.append({"mission_id": mission_id, "kind": kind, "robot": serial,
                             "detail": detail, "at": at.isoformat()})

    def _flush_events(self) -> None:
        for _ in range(min(EVENTS_PER_TICK, len(self._events))):
            self.publish(self._events_key, _dumps(self._events.popleft()))

    # -- the thread -----------------------------------------------------------------------
    def run_once(self) -> None:
        """Publish the next message (full when :data:`FULL_EVERY_S` real seconds have
        passed since the last full one) and the events recorded since."""
        now = time.monotonic()
        full = now >= self._full_at
        if full:
            self._full_at = now + FULL_EVERY_S
        self.publish(self._key, _dumps(self.tick(full=full)))
        self._flush_events()

    def run(self) -> None:
        """Publish a message every ``live_interval`` real seconds (a full one every
        :data:`FULL_EVERY_S`) until the manager stops. A failure is logged and the next
        tick tried: the dashboard must never take the manager down."""
        core = self.core
        interval = core.settings.live_interval
        due = time.monotonic() + interval
        # on a fixed beat (the time a tick takes is not added to the interval); a late
        # thread skips the beats it missed rather than bursting
        while not core.stopping.wait(max(0.0, due - time.monotonic())):
            due = max(due + interval, time.monotonic())
            try:
                self.run_once()
            except FleetError as exc:
                log.warning("live feed: %s", exc)
            except Exception:  # the feed must never take the manager down
                log.exception("live feed failed a tick")


def _dumps(value: Any) -> bytes:
    # orjson: a thousand robots' records encode in a fraction of the time json takes,
    # holding the interpreter lock that long
    return orjson.dumps(value, default=str)


# -- the queries ------------------------------------------------------------------------
TREND_POINTS = 5000
"""Most readings a trend answer carries (the newest)."""


def site_json(fac: Facility) -> dict[str, Any]:
    """A site map as dashboards draw it: levels, nodes (site coordinates) and edges."""
    return {"name": fac.name, "kind": fac.kind.value if fac.kind is not None else None,
            "levels": [{"id": lv.id, "name": lv.name or lv.id} for lv in fac.levels.values()],
            "nodes": [{"id": n.id, "x": n.x, "y": n.y, "level": n.level, "kind": n.kind.value}
                      for n in fac.nodes.values()],
            "edges": [{"a": e.source, "b": e.target, "single_lane": e.single_lane,
                       "closed": e.closed} for e in fac.edges]}


def trend(manager: Manager, point: str, sensor: str, since: datetime) -> dict[str, Any]:
    """The readings of ``sensor`` at ``point`` since ``since`` (the newest
    :data:`TREND_POINTS`, oldest first) and the limits in force there: threshold name →
    value, ``warning``/``alarm``... above, ``warning_below``... below (the limits of the
    latest mission whose site has the point, else the defaults)."""
    rows = manager.store.readings(point, sensor, since=since, limit=TREND_POINTS,
                                  newest_first=True)
    rows.reverse()
    with manager.lock:
        runs = [r for r in manager.missions.values() if point in r.spec.facility.nodes]
    book = manager.anomalies.limits_for(runs[-1].id if runs else None)
    found = book.at(point).get(sensor)
    limits: dict[str, float] = {}
    unit = rows[-1].unit if rows else None
    if found is not None:
        unit = unit or found.unit
        limits.update({sev.value: v for sev, v in found.above.items()})
        limits.update({f"{sev.value}_below": v for sev, v in found.below.items()})
    return {"point": point, "sensor": sensor, "unit": unit, "limits": limits,
            "readings": [[r.measured_at.isoformat(), r.value] for r in rows]}
