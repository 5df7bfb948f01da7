"""Lost robots as obstacles: the others go round them, or their points wait, blocked.

A robot declared lost stays where it physically is (traffic control keeps what it held:
:meth:`~fleet.manager.traffic.Traffic.lose`). :meth:`Obstacles.around` then

- works out the *shut* site: the site with the edges of every block a lost robot holds
  closed, and the edges into every place lost robots fill;
- re-routes each working robot whose route ahead (past its released base) crosses a shut
  edge: the rest of its round is driven again by the shortest open way between its
  remaining stops, sent as an order update replacing its horizon. That is done by the
  planner thread (:meth:`Obstacles.reroute`), with the ways worked out off the manager's
  lock: with hundreds of robots on a site of thousands of nodes it takes seconds, and the
  manager must go on hearing its robots meanwhile (traffic control already keeps everyone
  out of what the lost robot holds);
- marks the points no open way reaches as *blocked*, with the reason: they are not
  dropped, and the mission waits for them.

The planner plans on the shut site too (:meth:`Obstacles.site`), so it never sends a robot
into a lost one. :meth:`Obstacles.clear` (``fleet robots clear``: people have recovered the
robot) frees its place, records the supervisor's note on the missions it touched, and sends
the blocked points back to be planned.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, replace

import networkx as nx

from fleet.facility.model import Access, Facility, NodeKind
from fleet.manager.closures import Closures, closure_reason
from fleet.manager.core import Core
from fleet.manager.dispatch import Assignment, position
from fleet.manager.missions import MissionRun
from fleet.manager.traffic import Traffic
from fleet.protocol.header import Header
from fleet.protocol.order import RouteStop, route_order

log = logging.getLogger(__name__)


GRAPHS_KEPT = 16
"""Open graphs (per shut site and robot access) kept between re-routings."""


@dataclass(frozen=True)
class _Job:
    """One robot's way to work out again, as its assignment stood under the lock: the
    stops, base end and points it had then, and ``seen`` (base end, update id, stops) to
    tell whether it moved on before the new way is sent."""

    run: MissionRun
    a: Assignment
    stops: tuple[RouteStop, ...]
    base_end: int
    inspections: dict[str, str]
    seen: tuple[int, int, int]
    site: Facility
    free: Facility
    """The site without its gas closures: the ways a robot caught inside one may leave by."""
    access: Access | None
    reason: str
    shorter: bool
    """Only when the new way is shorter (the way is open again)."""


class Obstacles:
    """The lost-robot part of a manager (see the module docstring)."""

    def __init__(self, core: Core, closures: Closures | None = None) -> None:
        self.core = core
        self.closures = closures if closures is not None else Closures(core)
        """Gas closures (:mod:`fleet.manager.closures`): zones of the planning site."""
        self._sites: dict[tuple[str, frozenset[tuple[str, str]], int], Facility] = {}
        self._graphs: dict[tuple[int, Access | None], tuple[Facility, nx.DiGraph]] = {}
        self._around = False
        """A robot was lost since the last :meth:`reroute`."""
        self._shorter: set[str] = set()
        """Missions whose robots may take a shorter way (a lost robot was cleared)."""

    def shut(self, fac: Facility, *, but: str | None = None) -> dict[tuple[str, str], str]:
        """Edge key → why it is shut, for the lost (and idle, parked in a block) robots on
        ``fac``'s site, except robot ``but``: a robot is no obstacle to its own way."""
        t = self.core.traffic.get(fac.name)
        if t is None:
            return {}
        out: dict[tuple[str, str], str] = {}
        layout = fac.layout
        for what, (kind, serial, lost) in t.obstacles().items():
            if serial == but:
                continue
            who = f"{'lost' if lost else 'idle'} robot {serial}"
            if kind == "block":
                for key in layout.block(what).edges:
                    out[key] = f"{who} stands in block {what}"
            elif t.occupancy(what) >= layout.capacity[what]:
                g = fac.graph
                for _, _, e in itertools.chain(g.in_edges(what, data="edge"),
                                               g.out_edges(what, data="edge")):
                    out[e.key] = f"{who} fills {what}"
        return out

    def site(self, fac: Facility, *, closures: bool = True, but: str | None = None
             ) -> Facility:
        """``fac`` with its gas closures as zones (unless ``closures`` is false) and the
        edges :meth:`shut` (but for robot ``but``) closed (``fac`` itself when nothing is
        closed or shut)."""
        shut = self.shut(fac, but=but)
        base = self.closures.site(fac) if closures else fac
        if not shut:
            return base
        key = (fac.name, frozenset(shut), id(base))
        found = self._sites.get(key)
        if found is None or found.name != base.name:
            if len(self._sites) > GRAPHS_KEPT:
                self._sites.clear()
            edges = tuple(replace(e, closed=True) if e.key in shut else e for e in base.edges)
            found = self._sites[key] = replace(base, edges=edges)
        return found

    def way_home(self, fac: Facility, node: str, access: Access | None,
                 serial: str) -> list[str] | None:
        """The shortest way for robot ``serial`` with ``access`` standing at ``node`` to the
        nearest dock of ``fac`` it may use (a charger when no dock is reachable: chargers
        often stand in drifts others drive through), leaving any gas closure it stands in
        first (:func:`way_out`); None when there is none (caller holds the lock). What the
        robot itself holds does not shut its way (an idle robot parked in a single-lane
        drift shuts the drift to the others)."""
        site = self.site(fac, but=serial)
        out = way_out(site, self._graph(self.site(fac, closures=False, but=serial), access),
                      node, access)
        if out is None:
            return None
        g = self._graph(site, access)
        if out[-1] not in g:
            return None
        dist, paths = nx.single_source_dijkstra(g, out[-1], weight="length")
        homes = [n for n in dist if fac.nodes[n].kind is NodeKind.DOCK] or \
            [n for n in dist if fac.nodes[n].kind is NodeKind.CHARGER]
        if not homes:
            return None
        best = min(homes, key=lambda n: (dist[n], n))
        return [*out[:-1], *paths[best]]

    # -- a robot was lost ---------------------------------------------------------------
    def around(self) -> None:
        """A robot was lost: every working robot whose way ahead it shuts is re-routed, and
        what no open way reaches is marked blocked, soon, by the planner thread
        (:meth:`reroute`); the caller may hold the lock. Until then traffic control keeps
        the others out of what the lost robot holds."""
        self._around = True
        self.core.wake.set()

    def reroute(self) -> None:
        """The re-routing :meth:`around` and :meth:`clear` asked for (the planner thread;
        takes the lock itself). The ways are worked out off the lock, since on a large
        site with a large fleet they take seconds, in which the manager must go on
        hearing its robots; a robot whose order moved on meanwhile is looked at again."""
        core = self.core
        with core.lock:
            self._vacated()
            jobs = self._jobs()
        if not jobs:
            return
        ways = [(job, _way(job, self._graph(job.site, job.access),
                           self._graph(job.free, job.access))) for job in jobs]
        with core.lock:
            touched: dict[str, MissionRun] = {}
            for job, (keep, tail, blocked) in ways:
                a, run = job.a, job.run
                if not a.active or run.status.terminal:
                    continue
                if (a.base_end, a.update_id, len(a.stops)) != job.seen:
                    self._again(job)  # its order moved on while the way was worked out
                    continue
                if job.shorter and (blocked or _length(job.site, [keep[-1], *tail])
                                    >= _length(job.site, list(job.stops[job.base_end:])) - 1.0):
                    continue
                self._send(run, a, keep, tail, job.site, core.traffic.get(job.site.name),
                           job.reason, blocked)
                touched[run.id] = run
            for run in touched.values():
                core.persist(run)

    def _jobs(self) -> list[_Job]:
        """What :meth:`reroute` is to work out, as it stands (caller holds the lock)."""
        core = self.core
        jobs: dict[tuple[str, str], _Job] = {}
        changed = set(self.closures.changed)
        self.closures.changed.clear()
        for run in list(core.missions.values()):
            if run.status.terminal or run.spec.facility.name not in changed:
                continue
            self._closures_changed(run, jobs)
        shorter, self._shorter = self._shorter, set()
        for run in list(core.missions.values()):
            if run.status.terminal:
                continue
            if run.id in shorter:
                # the way is open again: robots that go round take the shorter way now
                site = self.site(run.spec.facility)
                for a in run.active():
                    jobs[run.id, a.serial] = self._job(run, a, site, "the way is open again",
                                                       shorter=True)
            if not self._around:
                continue
            shut = self.shut(run.spec.facility)
            if not shut:
                continue
            site = self.site(run.spec.facility)
            reason = "; ".join(sorted(set(shut.values())))
            for a in run.active():
                ahead = [s.node_id for s in a.stops[a.base_end:]]
                if any(k in shut or k[::-1] in shut for k in itertools.pairwise(ahead)):
                    jobs[run.id, a.serial] = self._job(run, a, site, reason, shorter=False)
        self._around = False
        return list(jobs.values())

    def _vacated(self) -> None:
        """Points blocked only by robots that no longer stand in the way go back to the
        pool (caller holds the lock). An idle robot parked in a block (one back from a
        lockout, say) shuts it only while it stands there: once it has driven home, what
        it blocked is planned again without a supervisor (a lost robot stays in the way
        until cleared, :meth:`clear`)."""
        for run in list(self.core.missions.values()):
            if run.status.terminal or not run.blocked:
                continue
            now = set(self.shut(run.spec.facility).values())
            freed = []
            for point, why in run.blocked.items():
                causes = why.removeprefix("no open way: ").split("; ")
                if why.startswith("no open way: ") and all(
                        " robot " in c and "(closure C-" not in c for c in causes) \
                        and not now.intersection(causes):
                    freed.append(point)
            if freed:
                self._unblock(run, freed, "the robots in the way left")
                self.core.wake.set()

    def _unblock(self, run: MissionRun, points: list[str], why: str) -> None:
        """``points`` leave ``run``'s blocked ones for its pool (caller holds the lock)."""
        for point in points:
            run.pool.add(point)
            del run.blocked[point]
        run.reason = None
        self.core.event(run, "unblocked", None, {"points": sorted(points), "why": why})
        self.core.persist(run)

    def _closures_changed(self, run: MissionRun, jobs: dict[tuple[str, str], _Job]) -> None:
        """The gas closures of ``run``'s site changed: each working robot not allowed in a
        closed node ahead of it gets a job to go round; points blocked by a closure that
        is no longer open go back to the pool, and the others may take a shorter way."""
        fac = run.spec.facility
        closed = self.closures.closed_nodes(fac)
        site = self.site(fac)
        open_reasons = {closure_reason(r) for r in closed.values()}
        reopened = [p for p, why in run.blocked.items()
                    if "(closure C-" in why and not any(r in why for r in open_reasons)]
        if reopened:
            self._unblock(run, reopened, "gas closure reopened")
            self._shorter.add(run.id)
        for a in run.active():
            robot = self.core.registry.find(a.serial)
            cls = robot.robot_class() if robot is not None else None
            access = cls.access if cls is not None else None
            ahead = [s.node_id for s in a.stops[a.base_end:]]
            hit = [closed[n] for n in ahead if n in closed and not site.node_allowed(n, access)]
            if hit:
                jobs[run.id, a.serial] = self._job(run, a, site, closure_reason(hit[0]),
                                                   shorter=False)
            elif not closed:
                self._shorter.add(run.id)

    def _job(self, run: MissionRun, a: Assignment, site: Facility, reason: str, *,
             shorter: bool) -> _Job:
        robot = self.core.registry.find(a.serial)
        cls = robot.robot_class() if robot is not None else None
        return _Job(run, a, tuple(a.stops), a.base_end, dict(a.inspections),
                    (a.base_end, a.update_id, len(a.stops)), site,
                    self.site(run.spec.facility, closures=False),
                    cls.access if cls is not None else None, reason, shorter)

    def _again(self, job: _Job) -> None:
        if job.shorter:
            self._shorter.add(job.run.id)
        else:
            self._around = True
        self.core.wake.set()

    def _graph(self, site: Facility, access: Access | None) -> nx.DiGraph:
        """The edges of ``site`` a robot with ``access`` may drive, as a graph of its own
        (a filtered view costs a Python call per edge looked at; this is built once per
        shut site and access)."""
        key = (id(site), access)
        found = self._graphs.get(key)
        if found is None or found[0] is not site:
            if len(self._graphs) > GRAPHS_KEPT:
                self._graphs.clear()
            g = nx.DiGraph()
            g.add_nodes_from(site.graph.nodes)
            g.add_edges_from((u, v, {"length": d["length"]})
                             for u, v, d in site.graph.edges(data=True)
                             if site.traversable(d["edge"], access))
            found = self._graphs[key] = (site, g)
        return found[1]

    def _send(self, run: MissionRun, a: Assignment, keep: list[RouteStop],
              tail: list[RouteStop], fac: Facility, t: Traffic | None, reason: str,
              blocked: list[str]) -> None:
        """Give ``a`` the new way (``keep`` then ``tail``) in an order update; ``blocked``
        points leave it, blocked for ``reason`` (caller holds the lock and persists)."""
        core = self.core
        a.replace_tail(keep, tail, fac)
        closed = reason.startswith("closed:")
        for point in blocked:
            a.drop_point(point)
            if closed:
                # a robot rated for the closure may still do it: the planner decides (it
                # blocks what none may)
                run.pool.add(point)
                core.event(run, "handed_back", a.serial, {"point": point, "reason": reason})
                continue
            run.blocked[point] = f"no open way: {reason}"
            core.event(run, "blocked", a.serial, {"point": point, "reason": run.blocked[point]})
        if blocked and closed:
            core.wake.set()
        elif blocked:
            run.reason = f"{len(run.blocked)} point(s) blocked: {reason}; " \
                "`fleet robots clear M/S` once the robot is recovered"
        a.update_id += 1
        core.send(a.manufacturer, a.serial, route_order(
            Header(a.manufacturer, a.serial), a.order_id, a.stops, a.legs,
            base_end=a.base_end, start=a.base_end, end=a.horizon_end,
            order_update_id=a.update_id))
        core.event(run, "rerouted", a.serial, {"reason": reason, "blocked": blocked,
                                               "route": [s.node_id for s in a.stops]})
        if t is not None:
            t.follow(a.serial, [s.node_id for s in a.stops], reached=a.reached,
                     granted=a.base_end, can_stop=lambda i: a.stops[i].node_id not in a.dead)

    # -- a supervisor cleared it --------------------------------------------------------
    def clear(self, serial: str, note: str) -> list[str]:
        """People recovered ``serial``: its place is free, and every mission's blocked
        points go back to be planned; returns the missions the note was recorded on."""
        core = self.core
        with core.lock:
            for t in core.traffic.values():
                t.forget(serial)
            touched = []
            for run in core.missions.values():
                if run.status.terminal:
                    continue
                core.event(run, "robot_cleared", serial, {"note": note,
                                                          "unblocked": sorted(run.blocked)})
                touched.append(run.id)
                if run.blocked:
                    run.pool.update(run.blocked)
                    run.blocked.clear()
                    run.reason = None
                    core.persist(run)
                self._shorter.add(run.id)
            log.info("robot %s cleared by a supervisor: %s", serial, note)
        core.wake.set()
        return touched



def way_out(site: Facility, free: nx.DiGraph, node: str,
            access: Access | None) -> list[str] | None:
    """The shortest way on ``free`` (a robot's graph of the site without its gas closures)
    from ``node`` to the nearest node ``site`` (with the closures) allows the robot to
    stand at: the way out of a closure it is caught in (``[node]`` when it may stand
    there already); None when there is none."""
    if site.node_allowed(node, access):
        return [node]
    if node not in free:
        return None
    dist, paths = nx.single_source_dijkstra(free, node, weight="length")
    for n in sorted(dist, key=lambda x: (dist[x], x)):
        if site.node_allowed(n, access):
            path: list[str] = paths[n]
            return path
    return None


def _way(job: _Job, g: nx.DiGraph, free: nx.DiGraph
         ) -> tuple[list[RouteStop], list[RouteStop], list[str]]:
    """The shortest way on ``g`` (the open edges of ``job.site``) through the job's
    remaining stops (those with actions, and the last) from where its base ends: the stops
    kept (the base, as sent), the new tail, and the points of the stops no open way
    reaches. A leg of the old way that is still open is kept as it was.

    A base that ends inside a gas closure the robot may not be in (it was there when the
    closure opened, or its released base took it in) is first followed by the shortest way
    out on ``free`` (:func:`way_out`), to the nearest node outside: the safe place it
    stops at when nothing else is left."""
    fac, stops = job.site, job.stops
    keep = list(stops[:job.base_end + 1])
    tail: list[RouteStop] = []
    here, at = keep[-1].node_id, job.base_end
    blocked: list[str] = []
    out = way_out(fac, free, here, job.access)
    if out is not None and len(out) > 1:
        tail += [RouteStop(n, position(fac, n)) for n in out[1:]]
        here = out[-1]
    for i in range(job.base_end + 1, len(stops)):
        stop = stops[i]
        if not (stop.actions or i == len(stops) - 1):
            continue
        leg = [s.node_id for s in stops[at:i + 1]]
        if leg[0] == here and all(g.has_edge(u, v) for u, v in itertools.pairwise(leg)):
            path = leg
        else:
            try:
                path = nx.shortest_path(g, here, stop.node_id, weight="length")
            except (nx.NetworkXNoPath, nx.NodeNotFound):
                blocked += [job.inspections[x.action_id] for x in stop.actions
                            if x.action_id in job.inspections]
                continue
        tail += [RouteStop(n, position(fac, n)) for n in path[1:-1]]
        if len(path) > 1:
            tail.append(RouteStop(stop.node_id, stop.position, stop.actions))
        elif stop.actions:  # the stop is where the robot's base ends: its actions move
            last = tail[-1] if tail else keep[-1]
            merged = RouteStop(last.node_id, last.position, (*last.actions, *stop.actions))
            if tail:
                tail[-1] = merged
            else:
                keep = [*keep[:-1], merged]
        here, at = stop.node_id, i
    return keep, tail, blocked


def _length(fac: Facility, stops: list[RouteStop]) -> float:
    """Metres along ``stops``."""
    total = 0.0
    for x, y in itertools.pairwise(stops):
        edge = fac.edge_between(x.node_id, y.node_id)
        total += edge.length if edge is not None else 0.0
    return total
