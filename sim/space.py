"""The site as shared physical space: :class:`Space`, where simulated bodies stand and drive.

Without a space, simulated robots pass through each other ("ghosts"). With one, each body
asks before it moves, as a real robot's safety scanner would make it stop and wait:

- A robot **occupies** its node while it stands there, or its edge while it drives (it
  leaves its start node the moment its first leg starts; until then it holds both).
- It does not **enter a full node** (as many robots as :meth:`Facility.capacity
  <fleet.facility.model.Facility.capacity>`): it waits at the end of its edge, still on it.
- It does not enter a **single-lane edge on which a robot drives the other way**
  (one-way edges never conflict; two-lane edges take traffic both ways).
- On one edge and direction it **follows, never overtakes**: it keeps ``gap_m`` behind the
  robot ahead, never leaves the edge before it, and does not enter while the last robot
  on the edge is still within ``gap_m`` of the entry.
- It **turns back** on its edge (after a cancelled move) only when nobody else is on it.

Every wait caused by other robots is recorded (:class:`WaitRecord`); head-on standoffs and
deadlocks are found in the wait-for graph (:mod:`sim.standoffs`) at most every
``look_every_s`` world seconds, on the next call after that.

**Calls never block** and take only picklable arguments, so that one Space can serve
bodies in several processes (:mod:`sim.space_server`): the body waits, polling with its own
clock, and every method takes the world time ``now`` of the caller. The space keeps no
clock. Methods are thread-safe.

With ``ghosts=True`` every request is granted at once and nothing is recorded.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fleet.errors import Problem
from fleet.facility.model import Facility
from sim.errors import ScenarioError
from sim.standoffs import Standoffs, Wait, WaitKind

__all__ = ["Space", "SpaceLike", "SpaceParams", "SpaceReport", "Wait", "WaitKind", "WaitRecord",
           "edge_name"]

_EPS = 1e-9


def edge_name(a: str, b: str) -> str:
    """How a wait names the edge driven from ``a`` to ``b``: ``"a->b"``."""
    return f"{a}->{b}"


@dataclass(frozen=True)
class SpaceParams:
    """How strict the space is.

    - ``gap_m``: the safety gap a robot keeps behind the one ahead on an edge, metres.
    - ``deadlock_s``: world seconds a cycle of waiting robots lasts before it counts as a
      deadlock.
    - ``look_every_s``: world seconds between looks for standoffs and deadlocks.
    - ``ghosts``: no constraint at all (robots pass through each other), nothing recorded.
    """

    gap_m: float = 5.0
    deadlock_s: float = 120.0
    look_every_s: float = 2.0
    ghosts: bool = False

    def __post_init__(self) -> None:
        for name in ("gap_m", "deadlock_s", "look_every_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")


@dataclass(frozen=True)
class WaitRecord:
    """A finished wait (or one still open, in :meth:`Space.records`): ``serial`` waited
    ``duration_s`` world seconds from ``start`` at ``where`` for ``blockers`` (the last
    robots seen in its way)."""

    serial: str
    kind: WaitKind
    where: str
    blockers: tuple[str, ...]
    start: float
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"serial": self.serial, "kind": self.kind.value, "where": self.where,
                "blockers": list(self.blockers), "start": round(self.start, 3),
                "duration_s": round(self.duration_s, 3)}


@dataclass(frozen=True)
class SpaceReport:
    """The space's figures at world time ``at``: episodes counted so far, total world
    seconds robots waited for others (open waits up to ``at`` included), waits recorded,
    robots waiting now, and robots in or behind a deadlock at the last look."""

    at: float
    ghosts: bool
    standoffs: int
    deadlocks: int
    robot_wait_s: float
    waits: int
    waiting: tuple[str, ...]
    stuck: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"ghosts": self.ghosts, "standoffs": self.standoffs,
                "deadlocks": self.deadlocks, "robot_wait_s": round(self.robot_wait_s, 1),
                "waits": self.waits, "waiting": list(self.waiting),
                "stuck": list(self.stuck)}


@dataclass
class _Body:
    """Where one robot is: at ``node``, or on ``edge`` (driven from edge[0] to edge[1])
    moving from fraction ``f0`` at ``t0`` to ``f1`` at ``t1``. ``held``: the start node it
    still fills because its first leg has not started."""

    node: str | None
    edge: tuple[str, str] | None = None
    held: str | None = None
    f0: float = 0.0
    t0: float = 0.0
    f1: float = 0.0
    t1: float = 0.0

    def frac(self, t: float) -> float:
        if self.t1 <= self.t0 or t >= self.t1:
            return self.f1
        if t <= self.t0:
            return self.f0
        return self.f0 + (self.f1 - self.f0) * (t - self.t0) / (self.t1 - self.t0)

    def stand(self, frac: float, t: float) -> None:
        self.f0 = self.f1 = frac
        self.t0 = self.t1 = t


class SpaceLike(Protocol):
    """What a fleet and its bodies call: a :class:`Space`, or a client of one in another
    process (:mod:`sim.space_server`)."""

    def place(self, starts: Mapping[str, str], now: float = 0.0, *,
              source: str | None = None) -> None: ...

    def request_edge(self, serial: str, a: str, b: str, now: float) -> Wait | None: ...

    def drive(self, serial: str, f0: float, t0: float, f1: float, t1: float) -> None: ...

    def halt(self, serial: str, frac: float, now: float, *, node: str | None = None
             ) -> None: ...

    def room(self, serial: str, now: float) -> float: ...

    def arrive(self, serial: str, node: str, now: float) -> Wait | None: ...


class Space:
    """The shared occupancy of ``facility`` by simulated bodies; see the module docstring.

    Robots are known once :meth:`place` put them somewhere. A body then calls, around each
    edge it drives: :meth:`request_edge` before entering it, :meth:`drive` when a leg
    starts, :meth:`room` for how far it may go, :meth:`halt` when it stops, and
    :meth:`arrive` to enter the next node. A refused request returns the :class:`Wait`
    (and opens or continues it); the body stands, waits a little on its clock and asks
    again.
    """

    def __init__(self, facility: Facility, params: SpaceParams | None = None) -> None:
        self.facility = facility
        self.params = params if params is not None else SpaceParams()
        self._lock = threading.Lock()
        self._bodies: dict[str, _Body] = {}
        self._at: dict[str, set[str]] = {}
        self._on: dict[tuple[str, str], list[str]] = {}
        self._open: dict[str, Wait] = {}
        self._records: list[WaitRecord] = []
        self._closed_s = 0.0
        self._standoffs = Standoffs(self.params.deadlock_s)
        self._last_look = -math.inf
        self._now = 0.0

    @property
    def ghosts(self) -> bool:
        """Whether robots pass through each other (nothing is enforced or recorded)."""
        return self.params.ghosts

    # ------------------------------------------------------------------ placing
    def place(self, starts: Mapping[str, str], now: float = 0.0, *,
              source: str | None = None) -> None:
        """Stand each robot of ``starts`` (serial → node) at its node (a robot already
        placed moves there). ScenarioError, placing none, when a node would hold more
        robots than its capacity (one line per node, located in ``source``, the file the
        starts come from: the node, its capacity, the robots) or is unknown."""
        if self.ghosts:
            return
        with self._lock:
            problems = []
            source = source or "<scenario>"
            wanted: dict[str, list[str]] = {}
            for serial, node in starts.items():
                wanted.setdefault(node, []).append(serial)
            for node, serials in sorted(wanted.items()):
                if node not in self.facility.nodes:
                    problems.append(Problem(f"unknown node: robots {', '.join(serials)} "
                                            "start there", source, element=node))
                    continue
                there = sorted({s for s in self._at.get(node, ()) if s not in starts}
                               | set(serials))
                cap = self.facility.capacity(node)
                if len(there) > cap:
                    problems.append(Problem(
                        f"holds at most {cap} robot{'s' if cap != 1 else ''} "
                        f"(its capacity), but {len(there)} start there: {', '.join(there)}",
                        source, element=node))
            if problems:
                raise ScenarioError(problems)
            for serial, node in starts.items():
                self._remove(serial, now)
                self._bodies[serial] = _Body(node)
                self._at.setdefault(node, set()).add(serial)

    def carry_out(self, serial: str, now: float) -> None:
        """People carried ``serial`` (a dead robot) out: it occupies nothing any more, and
        its open wait ends. Nothing happens for a robot the space does not hold."""
        if self.ghosts:
            return
        with self._lock:
            self._remove(serial, now)

    def _remove(self, serial: str, now: float) -> None:
        body = self._bodies.pop(serial, None)
        if body is None:
            return
        self._clear(serial, now)
        for node in (body.node, body.held):
            if node is not None:
                self._at.get(node, set()).discard(serial)
        if body.edge is not None:
            self._on[body.edge].remove(serial)

    # ------------------------------------------------------------------ body calls
    def request_edge(self, serial: str, a: str, b: str, now: float) -> Wait | None:
        """May ``serial`` (standing at ``a``, or on the edge between ``a`` and ``b``) start
        driving from ``a`` to ``b``? None when granted (the robot is then on the edge,
        still filling ``a`` until its first leg starts, see :meth:`drive`); else the wait.
        Already on that edge in that direction: None. KeyError for a robot never placed;
        ValueError when it is neither at ``a`` nor on that edge."""
        if self.ghosts:
            return None
        with self._lock:
            self._tick(now)
            body = self._body(serial)
            edge = self.facility.edge_between(a, b)
            if edge is None:
                raise ValueError(f"no edge from {a} to {b}")
            if body.edge == (a, b):
                return None
            if body.held == a and body.edge is not None:
                # let onto another edge but cancelled before it moved: still at its node
                self._on[body.edge].remove(serial)
                body.node, body.edge, body.held = a, None, None
            if body.edge == (b, a):  # turning back
                others = [s for s in (*self._on.get((a, b), ()), *self._on[(b, a)])
                          if s != serial]
                if others:
                    return self._block(serial, WaitKind.REVERSE, edge_name(b, a), others, now)
                self._on[(b, a)].remove(serial)
                self._on.setdefault((a, b), []).append(serial)
                body.edge = (a, b)
                body.stand(1.0 - body.frac(now), now)
                self._clear(serial, now)
                return None
            if body.node != a:
                raise ValueError(f"{serial} is at {body.node or body.edge}, not at {a}")
            if edge.single_lane and not edge.one_way and self._on.get((b, a)):
                return self._block(serial, WaitKind.ONCOMING, a, self._on[(b, a)], now)
            queue = self._on.setdefault((a, b), [])
            if queue:
                last = queue[-1]
                if self._bodies[last].frac(now) * edge.length < self.params.gap_m - _EPS:
                    return self._block(serial, WaitKind.AHEAD, a, [last], now)
            queue.append(serial)
            body.node, body.held, body.edge = None, a, (a, b)
            body.stand(0.0, now)
            self._clear(serial, now)
            return None

    def drive(self, serial: str, f0: float, t0: float, f1: float, t1: float) -> None:
        """``serial`` drives its edge from fraction ``f0`` at world time ``t0`` to ``f1`` at
        ``t1`` (from here on the space places it by interpolation); its start node is free
        from now on. Ignored for a robot not on an edge."""
        if self.ghosts:
            return
        with self._lock:
            body = self._body(serial)
            if body.edge is None:
                return
            if body.held is not None:
                self._at[body.held].discard(serial)
                body.held = None
            body.f0, body.t0, body.f1, body.t1 = f0, t0, f1, t1

    def halt(self, serial: str, frac: float, now: float, *, node: str | None = None) -> None:
        """``serial`` stopped at fraction ``frac`` of its edge, or, with ``node``, stands at
        that end of its edge (it never left its start node, or got in, see :meth:`arrive`):
        no capacity is checked, the body is where it says."""
        if self.ghosts:
            return
        with self._lock:
            self._tick(now)
            body = self._body(serial)
            if body.edge is None:
                return
            if node is None:
                body.stand(frac, now)
                return
            self._on[body.edge].remove(serial)
            if body.held != node:
                if body.held is not None:
                    self._at[body.held].discard(serial)
                self._at.setdefault(node, set()).add(serial)
            body.node, body.edge, body.held = node, None, None
            self._clear(serial, now)

    def room(self, serial: str, now: float) -> float:
        """The furthest fraction of its edge ``serial`` may reach now: 1 (the end) with
        nobody ahead, else the robot ahead's position less the gap (never behind where it
        is). When it may not move at all, an ``ahead`` wait is open."""
        if self.ghosts:
            return 1.0
        with self._lock:
            self._tick(now)
            body = self._body(serial)
            if body.edge is None:
                return 1.0
            queue = self._on[body.edge]
            i = queue.index(serial)
            if i == 0:
                self._clear(serial, now)
                return 1.0
            leader = queue[i - 1]
            length = self._length(body.edge)
            own = body.frac(now)
            limit = (self._bodies[leader].frac(now) * length - self.params.gap_m) / length
            if limit <= own + _EPS:
                self._block(serial, WaitKind.AHEAD, edge_name(*body.edge), [leader], now)
                return own
            self._clear(serial, now)
            return min(1.0, limit)

    def arrive(self, serial: str, node: str, now: float) -> Wait | None:
        """May ``serial``, at the end of its edge, enter ``node``? None when granted (it
        stands there now); else the wait (the node is full, or a robot ahead on the edge
        has not left). None at once when it already stands there."""
        if self.ghosts:
            return None
        with self._lock:
            self._tick(now)
            body = self._body(serial)
            if body.node == node:
                return None
            if body.edge is None or body.edge[1] != node:
                raise ValueError(f"{serial} is at {body.node or body.edge}, not driving to "
                                 f"{node}")
            where = edge_name(*body.edge)
            queue = self._on[body.edge]
            i = queue.index(serial)
            if i > 0:
                return self._block(serial, WaitKind.AHEAD, where, queue[:i], now)
            there = self._at.setdefault(node, set())
            if len(there) >= self.facility.capacity(node):
                return self._block(serial, WaitKind.NODE_FULL, where, sorted(there), now)
            queue.pop(0)
            there.add(serial)
            body.node, body.edge = node, None
            self._clear(serial, now)
            return None

    # ------------------------------------------------------------------ looking
    def where(self, serial: str) -> str | None:
        """Where the space has ``serial``: its node id, ``"a->b"`` on an edge, None when
        never placed (always None with ghosts)."""
        with self._lock:
            body = self._bodies.get(serial)
            if body is None:
                return None
            if body.edge is not None:
                return edge_name(*body.edge)
            return body.node

    def at(self, node: str) -> tuple[str, ...]:
        """Robots filling ``node`` now (sorted)."""
        with self._lock:
            return tuple(sorted(self._at.get(node, ())))

    def on(self, a: str, b: str) -> tuple[str, ...]:
        """Robots on the edge driven from ``a`` to ``b``, the one ahead first."""
        with self._lock:
            return tuple(self._on.get((a, b), ()))

    def position_m(self, serial: str, now: float) -> float | None:
        """Metres along its edge ``serial`` is at ``now`` (None when it stands at a node)."""
        with self._lock:
            body = self._body(serial)
            if body.edge is None:
                return None
            return body.frac(now) * self._length(body.edge)

    def waiting(self) -> dict[str, Wait]:
        """The open waits, by robot."""
        with self._lock:
            return dict(self._open)

    def records(self, now: float | None = None) -> list[WaitRecord]:
        """Every wait recorded so far, in the order they ended; with ``now``, the open
        ones too (lasting until ``now``)."""
        with self._lock:
            out = list(self._records)
            if now is not None:
                out += [self._record(w, now) for w in self._open.values()]
            return out

    def look(self, now: float) -> None:
        """Look for standoffs and deadlocks now (the body calls do it every
        ``look_every_s``)."""
        with self._lock:
            self._look(now)

    def report(self, now: float) -> SpaceReport:
        """The figures at world time ``now`` (looks again first when a look is due)."""
        with self._lock:
            self._tick(now)
            open_s = sum(max(0.0, now - w.since) for w in self._open.values())
            return SpaceReport(now, self.ghosts, self._standoffs.standoffs,
                               self._standoffs.deadlocks, self._closed_s + open_s,
                               len(self._records) + len(self._open),
                               tuple(sorted(self._open)), tuple(sorted(self._standoffs.stuck)))

    # ------------------------------------------------------------------ inside the lock
    def _body(self, serial: str) -> _Body:
        try:
            return self._bodies[serial]
        except KeyError:
            raise KeyError(f"robot {serial!r} was never placed in the space") from None

    def _length(self, edge: tuple[str, str]) -> float:
        e = self.facility.edge_between(*edge)
        assert e is not None  # robots are only let onto existing edges
        return max(e.length, _EPS)

    def _block(self, serial: str, kind: WaitKind, where: str, blockers: list[str],
               now: float) -> Wait:
        current = self._open.get(serial)
        if current is not None and (current.kind, current.where) != (kind, where):
            self._clear(serial, now)
            current = None
        since = current.since if current is not None else now
        wait = Wait(serial, kind, where, tuple(blockers), since)
        self._open[serial] = wait
        return wait

    def _clear(self, serial: str, now: float) -> None:
        wait = self._open.pop(serial, None)
        if wait is not None:
            record = self._record(wait, now)
            self._records.append(record)
            self._closed_s += record.duration_s

    @staticmethod
    def _record(wait: Wait, now: float) -> WaitRecord:
        return WaitRecord(wait.serial, wait.kind, wait.where, wait.blockers, wait.since,
                          max(0.0, now - wait.since))

    def _tick(self, now: float) -> None:
        # callers in other threads and processes read one clock a moment apart
        self._now = max(self._now, now)
        if self._now - self._last_look >= self.params.look_every_s:
            self._look(self._now)

    def _look(self, now: float) -> None:
        self._last_look = now
        self._standoffs.look(self._open, now)

