"""Traffic control: reservations of places and single-lane blocks, deadlock-free.

The model is :mod:`fleet.facility.blocks`: nodes have a capacity; *places* are where a robot
may wait; *blocks* are the single-lane stretches between places. A robot's route is cut into
*runs*, each from one stop (a place where its base may end) to the next. Before the manager
releases base nodes, :meth:`Traffic.extend` grants whole runs: a run needs a slot at every
place it reaches (within capacity) and each block it crosses for its direction (robots going
the same way share a block and follow one another; a robot that turns round inside a block
holds it alone). Grants are freed as the robot reports passing (:meth:`Traffic.reached`).

**Why it cannot deadlock** (docs/traffic.md gives the argument in full). Picture every robot
frozen at the end of what it has been granted. A robot *can finish* if, with the others
frozen, every place left on its route has a free slot (it would drive alone; the blocks are
then empty, since a frozen robot stands at a place). The robots that can finish are found by
a fixpoint: finishing a robot frees the slot it stood on (while it keeps the one at its
goal, counted from the start so that finishing never takes space away). A grant is made
only when it leaves that set no smaller. A robot in the set, first in the fixpoint's order,
always gets its next run once the robots driving through its block the other way have left
it (they need nothing more to do so), and that grant keeps the same order valid; so some
robot always moves, every grant moves a robot forward along a finite route, and every robot
of the set arrives. Robots outside the set (their way is shut by a lost robot, or by robots
parked for good) may move as far as they do no harm, and are reported.

Every method is called under the manager's lock; decisions take microseconds (the fixpoint,
needed only when a grant fills a place, is linear in the routes' places).
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from fleet.facility.blocks import TrafficLayout

DECISIONS_KEPT = 100_000
"""How many of the latest decision times :attr:`Traffic.decisions` keeps (a manager runs
for months)."""

BlockKey = tuple[str, str]
"""How a robot holds a block: (entry, exit) place; robots with the same key share it."""


@dataclass(frozen=True)
class Wait:
    """Why a robot's next run is not granted: the ``kind`` of thing it waits for (``block``,
    ``place``, ``way``: a grant that would shut the way of robots that can still finish),
    its id and the robots holding it."""

    kind: str
    what: str
    holders: tuple[str, ...]

    def describe(self) -> str:
        """One line for a supervisor: ``waiting for block B (held by R2)``."""
        held = f" (held by {', '.join(self.holders)})" if self.holders else ""
        if self.kind == "way":
            return f"waiting for place {self.what}: {', '.join(self.holders)} must pass first"
        return f"waiting for {self.kind} {self.what}{held}"


@dataclass
class _Run:
    start: int
    end: int
    blocks: tuple[tuple[str, BlockKey, int], ...]
    """Each block the run crosses, with how it crosses it and the route index where it
    leaves it (held until the robot reports reaching that)."""
    places: tuple[str, ...]
    """Places reached after ``start`` up to ``end`` (the end included)."""


@dataclass
class _Robot:
    serial: str
    route: list[str]
    runs: list[_Run]
    reached: int = 0
    granted: int = 0
    lost: bool = False
    slots: frozenset[str] = frozenset()
    blocks: dict[str, BlockKey] = field(default_factory=dict)
    waiting: Wait | None = None
    waiting_since: float | None = None
    counted: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    """What this robot adds to the frozen and goal counts (see :meth:`Traffic._hold`)."""
    refused: tuple[int, int] | None = None
    """(stamp, grant) of the last refusal (:meth:`Traffic._stamp_of` its :attr:`waiting`):
    asked again with nothing it waits for changed, the answer is the same."""
    need: int = 0
    """Bit mask of the places still to reach beyond the grant (:meth:`Traffic._bit`)."""
    suffix: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    """Per run, the mask of the places of that run and every later one."""
    stuck: str | None = None
    """The block a lost robot stands in (it holds it until forgotten)."""
    reported: bool = False
    last_end: dict[str, int] = field(default_factory=dict)
    """Block → the end of the last run crossing it: whether the route still crosses a
    block is one look, not a walk along it (a thousand robots' routes, at every
    decision while a lost robot shuts blocks)."""

    @property
    def goal(self) -> str:
        return self.route[-1]

    @property
    def frozen_at(self) -> str:
        return self.route[self.granted]

    @property
    def active(self) -> bool:
        return not self.lost and self.reached < len(self.route) - 1


class Traffic:
    """The reservations of one site (see the module docstring)."""

    def __init__(self, layout: TrafficLayout) -> None:
        self.layout = layout
        self._robots: dict[str, _Robot] = {}
        self._in: dict[str, set[str]] = defaultdict(set)
        """The robots holding a slot of each place."""
        self._holders: dict[str, dict[str, BlockKey]] = defaultdict(dict)
        self._ended: list[tuple[str, Wait, float]] = []
        self._bits: dict[str, int] = {}
        self._frozen: Counter[str] = Counter()
        """Robots frozen at each place: the active ones at the end of their grant, the
        others (done, lost, parked) at every place they hold."""
        self._full = 0
        """Bit mask (:meth:`_bit`) of the places where :attr:`_frozen` fills the capacity."""
        self._over = 0
        """Bit mask of the places where :attr:`_frozen` is over the capacity (robots that
        were there before a restart, or parked where a lost robot stands)."""
        self._active: dict[str, _Robot] = {}
        """The robots with a way left to drive (:attr:`_Robot.active`), so that a finishing
        order costs what the moving robots cost, not the parked ones."""
        self._lost: dict[str, _Robot] = {}
        self._goals: Counter[str] = Counter()
        """Active robots whose goal is each place (and not where they are frozen)."""
        self._stamps: Counter[tuple[str, str]] = Counter()
        """Bumped for a place (``("place", id)``) or block (``("block", id)``) whenever
        who holds it changes: a robot refused for want of it is asked again only then (a
        thousand robots waiting, each asking again on every change anywhere, cost the
        manager a fifth of a core)."""
        self.safety = 0
        """Bumped by every change the finishing orders depend on (where robots are frozen,
        what they still need, who is active)."""
        self._names: list[str] = []
        self._order: list[str] | None = None
        """The finishing order of the last decision (None: work it out again)."""
        self.decisions: deque[float] = deque(maxlen=DECISIONS_KEPT)
        """Seconds each of the latest :meth:`extend` calls took (for the benchmarks)."""
        self.decisions_cpu: deque[float] = deque(maxlen=DECISIONS_KEPT)
        """The same calls' CPU time in the calling thread: wall time less the time the
        thread waited for a core or the interpreter lock, which measures the machine's
        load more than the decision."""

    # -- robots -------------------------------------------------------------------------
    def follow(self, serial: str, route: Sequence[str], *, reached: int = 0,
               granted: int | None = None,
               can_stop: Callable[[int], bool] | None = None) -> None:
        """Start following ``serial`` on ``route`` (its nodes in order, from where it
        stands). ``granted`` (default ``reached``): the route index released to it already
        (a restarted manager passes what the robot's order holds: it is taken as granted
        whatever the capacities, since the robot may be driving it). ``can_stop(i)``:
        whether the base may end at route index ``i`` besides being a place (a comms-dead
        node cannot: the robot would wait there for an update it never hears)."""
        self.forget(serial)
        route = list(route)
        junctions = self.layout.junctions
        stops = [0] + [i for i in range(1, len(route))
                       if self.layout.is_place(route[i]) and route[i] not in junctions
                       and (can_stop is None or can_stop(i))]
        if stops[-1] != len(route) - 1:
            stops.append(len(route) - 1)
        runs = [self._run(route, a, b) for a, b in itertools.pairwise(stops)]
        r = _Robot(serial, route, runs, reached=reached,
                   granted=max(reached, granted if granted is not None else reached))
        r.granted = self._stop_at_or_after(r, r.granted)
        r.suffix = [0] * (len(runs) + 1)
        for j in range(len(runs) - 1, -1, -1):
            m = r.suffix[j + 1]
            for p in runs[j].places:
                m |= self._bit(p)
            r.suffix[j] = m
        r.ends = [run.end for run in runs]
        r.last_end = {b: run.end for run in runs for b, _, _ in run.blocks}  # last wins
        self._robots[serial] = r
        self._hold(r)
        self._order = None
        self.safety += 1

    def park(self, serial: str, node: str) -> None:
        """``serial`` stands at ``node`` with no route (idle, or done): it takes a slot
        there (or, inside a block, the block) until it is given a route or forgotten.
        Nothing changes when it is parked there already (and not lost)."""
        r = self._robots.get(serial)
        if r is not None and r.route == [node] and not r.lost:
            return
        self.follow(serial, [node])

    def forget(self, serial: str) -> None:
        """Free everything ``serial`` holds (it left the site, or a supervisor cleared it)."""
        r = self._robots.pop(serial, None)
        self._active.pop(serial, None)
        self._lost.pop(serial, None)
        if r is not None:
            self._release(r)
            self.safety += 1

    def lose(self, serial: str, *, driving: bool = False) -> None:
        """``serial`` is lost: it keeps what it physically occupies until :meth:`forget`,
        and no longer counts as a robot that will finish. That is the node it last
        reached (a slot there; its block when the node lies inside one) and, when it was
        ``driving`` on from there, the block of the edge it was on. What it was granted
        beyond is freed: it will not drive there."""
        r = self._robots.get(serial)
        if r is None:
            return
        r.lost = True
        self._lost[serial] = r
        r.waiting = None
        self._order = None
        self.safety += 1
        route, i, edge_block = r.route, r.reached, self.layout.block_of_edge
        ahead = edge_block.get((route[i], route[i + 1])) if i + 1 < len(route) else None
        behind = edge_block.get((route[i - 1], route[i])) if i > 0 else None
        if not self.layout.is_place(route[i]):
            r.stuck = ahead or behind
        elif driving:
            r.stuck = ahead
        r.granted = r.reached
        self._rehold(r)

    def reached(self, serial: str, index: int) -> bool:
        """``serial`` reported reaching route ``index``: what lies behind is freed. True
        when anything was freed (waiting robots may now be granted)."""
        r = self._robots.get(serial)
        if r is None or index <= r.reached:
            return False
        r.reached = min(index, len(r.route) - 1)
        r.granted = max(r.granted, r.reached)
        before = (r.slots, dict(r.blocks))
        self._rehold(r)
        return before != (r.slots, r.blocks)

    # -- grants -------------------------------------------------------------------------
    def extend(self, serial: str, want: int, now: float) -> int:
        """Grant ``serial`` whole runs until its grant reaches route index ``want`` (or the
        next stop after it), as far as the rules allow; returns the route index granted
        (never less than before). When it stops short of ``want`` the robot is
        :meth:`waiting`, from ``now`` (manager seconds)."""
        t0, c0 = time.perf_counter(), time.thread_time()
        r = self._robots[serial]
        want = min(want, len(r.route) - 1)
        if r.granted >= want:
            self._stop_waiting(r, now)
        while r.granted < want:
            if r.waiting is not None and r.refused == (self._stamp_of(r.waiting), r.granted):
                break  # nothing it waits for changed since the last refusal
            run = r.runs[bisect.bisect_right(r.ends, r.granted)]
            why = self._grant(r, run)
            if why is not None:
                r.refused = (self._stamp_of(why), r.granted)
                if r.waiting is None or r.waiting != why:
                    r.waiting_since = now if r.waiting is None else r.waiting_since
                    r.waiting = why
                break
            self._stop_waiting(r, now)
        self.decisions.append(time.perf_counter() - t0)
        self.decisions_cpu.append(time.thread_time() - c0)
        return r.granted

    def _stop_waiting(self, r: _Robot, now: float) -> None:
        if r.reported and r.waiting is not None and r.waiting_since is not None:
            self._ended.append((r.serial, r.waiting, now - r.waiting_since))
        r.waiting, r.waiting_since, r.reported = None, None, False

    def _grant(self, r: _Robot, run: _Run) -> Wait | None:
        for block, key, _ in run.blocks:
            others = {s: k for s, k in self._holders[block].items() if s != r.serial}
            if others and (key[0] == key[1] or any(k != key for k in others.values())):
                return Wait("block", block, tuple(sorted(others)))
        for place in run.places:
            held = self._in.get(place, ())
            if place not in r.slots and len(held) >= self.layout.capacity[place]:
                return Wait("place", place, tuple(sorted(held)))
        old = r.granted
        if self._harmless(r, run):
            r.granted = run.end
            self._rehold(r)
            return None
        witness = self._witness()
        r.granted = run.end
        self._rehold(r)
        if self._still_valid(witness, r):
            return None
        first = self._first(witness, r)
        if first is not None:
            self._order = first
            return None
        order = self._greedy()
        if set(order) >= set(witness):
            self._order = order
            return None
        r.granted = old
        self._rehold(r)
        return Wait("way", r.route[run.end], tuple(sorted(set(witness) - set(order))))

    def _stamp_of(self, why: Wait) -> int:
        """What a refusal for ``why`` depends on: the finishing orders for a ``way``, else
        who holds the place or block waited for."""
        return self.safety if why.kind == "way" else self._stamps[why.kind, why.what]

    def _harmless(self, r: _Robot, run: _Run) -> bool:
        """Whether granting ``run`` certainly keeps every finishing order valid: frozen at
        the run's end ``W`` instead of where it is, ``r`` adds to no place but ``W``; if
        ``W`` has room even with every robot frozen there and every robot whose goal it is
        parked there, nobody's way can be shut by it."""
        end = r.route[run.end]
        frozen = self._frozen[end] - int(r.active and r.frozen_at == end)
        goals = self._goals[end] - int(r.active and r.goal == end and r.frozen_at != end)
        return frozen + goals + 1 < self.layout.capacity.get(end, 1)

    def can_finish(self) -> frozenset[str]:
        """The robots that can finish their routes from here, one after another, each
        driving alone while the others stand frozen at the ends of their grants and those
        done stand at their goals (see the module docstring)."""
        return frozenset(self._witness())

    def _witness(self) -> list[str]:
        """The finishing order kept from the last decision (worked out when stale)."""
        if self._order is None:
            self._order = self._greedy()
        return [s for s in self._order if s in self._robots and self._robots[s].active]

    def _still_valid(self, order: list[str], r: _Robot) -> bool:
        """Whether ``order`` (valid before ``r`` was granted up to its frozen place ``W``)
        is valid still. Only ``W`` gained a robot, and only until ``r``'s turn (after it,
        ``r`` stands at its goal either way)."""
        w = r.frozen_at
        return self._ahead_pass(order, r, w, self._frozen[w])

    def _first(self, order: list[str], r: _Robot) -> list[str] | None:
        """``r`` first, then ``order`` without it, when that is a finishing order: ``r``
        can finish now, and parked at its goal from the start instead of frozen where it
        is until its turn, it shuts no one who came before it. None otherwise."""
        cap, occ = self.layout.capacity, self._frozen
        full = r.need & self._full
        if full and (full & ~self._bit(r.frozen_at)
                     or occ[r.frozen_at] - 1 >= cap.get(r.frozen_at, 1)):
            return None  # a place on its way is full (its own counts without it)
        g = r.goal
        if not self._ahead_pass(order, r, g, occ[g] + int(r.frozen_at != g)):
            return None
        return [r.serial, *(x for x in order if x != r.serial)]

    def _ahead_pass(self, order: list[str], r: _Robot, place: str, occ: int) -> bool:
        """Whether every robot before ``r`` in ``order`` that passes ``place`` finds room
        there at its turn, ``occ`` robots standing there at the start (each robot ahead
        leaves it when frozen there, and parks there when it is its goal)."""
        bit, cap = self._bit(place), self.layout.capacity.get(place, 1)
        for serial in order:
            if serial == r.serial:
                break
            s = self._robots[serial]
            if s.need & bit and occ - int(s.frozen_at == place) >= cap:
                return False
            occ += int(s.goal == place) - int(s.frozen_at == place)
        return True

    def _places(self, mask: int) -> list[str]:
        """The places of a bit mask."""
        out = []
        while mask:
            low = mask & -mask
            out.append(self._names[low.bit_length() - 1])
            mask ^= low
        return out

    def _greedy(self) -> list[str]:
        """A finishing order found greedily: a robot that can finish goes next, preferring
        those whose parking at their goal fills no place another needs. A robot that
        cannot finish yet watches one full place on its way and is looked at again only
        when that place frees, so the search costs little more than one look per robot.
        Place sets are bit masks."""
        cap = self.layout.capacity
        bit = self._bit
        frozen = self._frozen
        occ: dict[str, int] = {}  # the counts the search changed (the rest: frozen)
        dead: set[str] = set()
        for s in self._lost.values():
            dead.update(s.blocks)
        full, over = self._full, self._over
        left = [s for s in self._active.values() if not (dead and any(
            s.last_end.get(b, -1) > s.granted for b in dead))]
        wanted = twice = 0  # places some robot needs; needed by two or more
        for s in left:
            twice |= wanted & s.need
            wanted |= s.need
        watchers: dict[str, list[_Robot]] = defaultdict(list)
        queue = list(reversed(left))
        late: list[_Robot] = []
        order: list[str] = []

        def change(q: str, d: int) -> None:
            nonlocal full, over
            n = occ[q] = occ.get(q, frozen[q]) + d
            c, b = cap.get(q, 1), bit(q)
            full = full | b if n >= c else full & ~b
            over = over | b if n > c else over & ~b
            if n < c and q in watchers:
                queue.extend(watchers.pop(q))

        def blocking(s: _Robot) -> int:
            own = bit(s.frozen_at)
            return (s.need & full & ~own) | (s.need & own & over)

        while queue or late:
            if not queue:
                s = late.pop(0)  # nobody harmless can go: one of the others goes
                if blocking(s):
                    queue.append(s)
                    continue
            else:
                s = queue.pop()
                b = blocking(s)
                if b:
                    watchers[self._names[(b & -b).bit_length() - 1]].append(s)
                    continue
                g = s.goal
                gbit = bit(g)
                others = twice if s.need & gbit else wanted
                if g != s.frozen_at and occ.get(g, frozen[g]) + 1 >= cap.get(g, 1) \
                        and others & gbit:
                    late.append(s)  # parking it would fill a place another needs
                    continue
            order.append(s.serial)
            if s.goal != s.frozen_at:
                change(s.frozen_at, -1)
                change(s.goal, +1)
        return order

    def _bit(self, place: str) -> int:
        b = self._bits.get(place)
        if b is None:
            b = self._bits[place] = 1 << len(self._bits)
            self._names.append(place)
        return b

    # -- what a supervisor sees ---------------------------------------------------------
    def waiting(self, serial: str) -> Wait | None:
        """Why ``serial``'s next run is not granted (None: it is not waiting)."""
        r = self._robots.get(serial)
        return None if r is None else r.waiting

    def waited(self, serial: str, now: float) -> float:
        """Seconds ``serial`` has waited for its current :meth:`waiting` reason."""
        r = self._robots.get(serial)
        if r is None or r.waiting_since is None:
            return 0.0
        return now - r.waiting_since

    def long_waits(self, now: float, threshold: float) -> list[tuple[str, Wait, float]]:
        """Waits longer than ``threshold`` seconds not reported before (each once)."""
        out = []
        for r in self._robots.values():
            if r.waiting is not None and r.waiting_since is not None and not r.reported \
                    and now - r.waiting_since > threshold:
                r.reported = True
                out.append((r.serial, r.waiting, now - r.waiting_since))
        return out

    def ended_waits(self) -> list[tuple[str, Wait, float]]:
        """Waits :meth:`long_waits` reported that are over since the last call, with how
        long they lasted."""
        out, self._ended = self._ended, []
        return out

    def waiters(self) -> list[str]:
        """Robots whose last request was refused."""
        return [r.serial for r in self._robots.values() if r.waiting is not None]

    def holding(self, serial: str) -> tuple[frozenset[str], tuple[str, ...]]:
        """The places and blocks ``serial`` holds."""
        r = self._robots.get(serial)
        if r is None:
            return frozenset(), ()
        return r.slots, tuple(sorted(r.blocks))

    def occupancy(self, place: str) -> int:
        """Slots held at ``place``."""
        return len(self._in.get(place, ()))

    def obstacles(self) -> dict[str, tuple[str, str, bool]]:
        """What robots that will not move on hold: block or place id → (``block`` or
        ``place``, robot, whether it is lost). Those are lost robots, and idle ones
        standing inside a block (no route will take them out of it)."""
        out: dict[str, tuple[str, str, bool]] = {}
        for r in self._robots.values():
            idle = len(r.route) == 1 and bool(r.blocks)
            if r.lost or idle:
                out.update({b: ("block", r.serial, r.lost) for b in r.blocks})
                out.update({p: ("place", r.serial, r.lost) for p in r.slots})
        return out

    # -- bookkeeping --------------------------------------------------------------------
    def _run(self, route: list[str], a: int, b: int) -> _Run:
        """Run ``a``..``b`` of ``route``: its places, and its blocks, each with the key of
        how it is crossed: (entry, exit), or (entry, entry) when the run turns round in it
        or crosses it twice (then nobody shares it)."""
        places = tuple(route[i] for i in range(a + 1, b + 1) if self.layout.is_place(route[i])
                       or i == b)
        segments: list[tuple[str, int, int]] = []  # block, first edge, last edge
        for i in range(a, b):
            block = self.layout.block_of_edge.get((route[i], route[i + 1]))
            if block is None:
                continue
            if segments and segments[-1][0] == block and segments[-1][2] == i - 1:
                segments[-1] = (block, segments[-1][1], i)
            else:
                segments.append((block, i, i))
        seen = [blk for blk, _, _ in segments]
        blocks: dict[str, tuple[BlockKey, int]] = {}
        for block, i, j in segments:
            inner = route[i + 1:j + 1]
            turns = len(set(inner)) < len(inner) or seen.count(block) > 1
            key = (route[i], route[i]) if turns else (route[i], route[j + 1])
            first = blocks.get(block)
            blocks[block] = (key if first is None else first[0], j + 1)
        return _Run(a, b, tuple((blk, k, out) for blk, (k, out) in blocks.items()), places)

    def _stop_at_or_after(self, r: _Robot, index: int) -> int:
        for run in r.runs:
            if run.start <= index < run.end:
                return run.end if index > run.start else index
        return index

    def _hold(self, r: _Robot) -> None:
        """Work out what ``r`` holds from where it is and what it was granted; count it."""
        route = r.route
        slots = {route[i] for i in range(r.reached, r.granted + 1)
                 if self.layout.is_place(route[i])}
        blocks: dict[str, BlockKey] = {}
        runs = r.runs
        for j in range(bisect.bisect_right(r.ends, r.reached), len(runs)):
            run = runs[j]
            if run.start >= r.granted:
                break
            for block, key, out in run.blocks:
                if out <= r.reached:
                    continue  # driven through already
                # the same block twice in one window: held as if turning round in it
                blocks[block] = key if block not in blocks else (key[0], key[0])
        if r.granted == len(route) - 1 and not self.layout.is_place(route[-1]):
            # a route ending inside a block (a robot standing there): it keeps the block
            slots.add(route[-1])
            here = route[-1]
            for (x, _), b in self.layout.block_of_edge.items():
                if x == here:
                    blocks[b] = (here, here)
                    break
        if r.stuck is not None:
            blocks[r.stuck] = (r.serial, r.serial)  # nobody shares it
        if r.suffix:
            r.need = r.suffix[bisect.bisect_right(r.ends, r.granted)]
        r.slots = frozenset(slots)
        r.blocks = blocks
        for p in r.slots:
            self._in[p].add(r.serial)
            self._stamps["place", p] += 1
        if r.active:
            r.counted = ((r.frozen_at,), (r.goal,) if r.goal != r.frozen_at else ())
            self._active[r.serial] = r
        else:
            r.counted = (tuple(r.slots), ())
            self._active.pop(r.serial, None)
        self._count(r.counted[0], +1)
        self._goals.update(r.counted[1])
        for b, k in blocks.items():
            self._holders[b][r.serial] = k
            self._stamps["block", b] += 1

    def _count(self, places: Iterable[str], d: int) -> None:
        """Count ``d`` more robots frozen at each of ``places``, keeping :attr:`_full`."""
        cap = self.layout.capacity
        for q in places:
            n = self._frozen[q] = self._frozen[q] + d
            b, c = self._bit(q), cap.get(q, 1)
            self._full = self._full | b if n >= c else self._full & ~b
            self._over = self._over | b if n > c else self._over & ~b

    def _release(self, r: _Robot) -> None:
        self._count(r.counted[0], -1)
        self._goals.subtract(r.counted[1])
        r.counted = ((), ())
        for p in r.slots:
            held = self._in[p]
            held.discard(r.serial)
            if not held:
                del self._in[p]
            self._stamps["place", p] += 1
        for b in r.blocks:
            self._holders[b].pop(r.serial, None)
            self._stamps["block", b] += 1
        r.slots, r.blocks = frozenset(), {}

    def _rehold(self, r: _Robot) -> None:
        before = (r.counted, r.need)
        self._release(r)
        self._hold(r)
        if (r.counted, r.need) != before:
            self.safety += 1

    def robots(self) -> Iterable[str]:
        """Serials followed."""
        return list(self._robots)
