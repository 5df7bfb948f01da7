"""Lost robots as obstacles: the others go round them, or their points wait, blocked.

A robot declared lost stays where it physically is (traffic control keeps what it held:
:meth:`~fleet.manager.traffic.Traffic.lose`). :meth:`Obstacles.around` then

- works out the *shut* site: the site with the edges of every block a lost robot holds
  closed, and the edges into every place lost robots fill;
- re-routes each working robot whose route ahead (past its released base) crosses a shut
  edge: the rest of its round is driven again by the shortest open way between its
  remaining stops, sent as an order update replacing its horizon;
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
from dataclasses import replace

import networkx as nx

from fleet.facility.model import Access, Facility
from fleet.manager.core import Core
from fleet.manager.dispatch import Assignment, position
from fleet.manager.missions import MissionRun
from fleet.manager.traffic import Traffic
from fleet.protocol.header import Header
from fleet.protocol.order import RouteStop, route_order

log = logging.getLogger(__name__)


class Obstacles:
    """The lost-robot part of a manager (see the module docstring)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._sites: dict[tuple[str, frozenset[tuple[str, str]]], Facility] = {}

    def shut(self, fac: Facility) -> dict[tuple[str, str], str]:
        """Edge key → why it is shut, for the lost robots on ``fac``'s site."""
        t = self.core.traffic.get(fac.name)
        if t is None:
            return {}
        out: dict[tuple[str, str], str] = {}
        layout = fac.layout
        for what, (kind, serial, lost) in t.obstacles().items():
            who = f"{'lost' if lost else 'idle'} robot {serial}"
            if kind == "block":
                for key in layout.block(what).edges:
                    out[key] = f"{who} stands in block {what}"
            elif t.occupancy(what) >= layout.capacity[what]:
                for e in fac.edges:
                    if what in e.key:
                        out[e.key] = f"{who} fills {what}"
        return out

    def site(self, fac: Facility) -> Facility:
        """``fac`` with the shut edges closed (``fac`` itself when nothing is shut)."""
        shut = self.shut(fac)
        if not shut:
            return fac
        key = (fac.name, frozenset(shut))
        found = self._sites.get(key)
        if found is None:
            edges = tuple(replace(e, closed=True) if e.key in shut else e for e in fac.edges)
            found = self._sites[key] = replace(fac, edges=edges)
        return found

    # -- a robot was lost ---------------------------------------------------------------
    def around(self) -> None:
        """Re-route every working robot whose way ahead a lost robot shuts; mark what no
        open way reaches as blocked (caller holds the lock)."""
        core = self.core
        for run in list(core.missions.values()):
            if run.status.terminal:
                continue
            fac = run.spec.facility
            shut = self.shut(fac)
            if not shut:
                continue
            t = core.traffic.get(fac.name)
            open_site = self.site(fac)
            for a in run.active():
                ahead = [s.node_id for s in a.stops[a.base_end:]]
                if not any(k in shut or k[::-1] in shut for k in itertools.pairwise(ahead)):
                    continue
                robot = core.registry.find(a.serial)
                cls = robot.robot_class() if robot is not None else None
                access = cls.access if cls is not None else None
                self._detour(run, a, open_site, access, shut, t)

    def _detour(self, run: MissionRun, a: Assignment, fac: Facility, access: Access | None,
                shut: dict[tuple[str, str], str], t: Traffic | None) -> None:
        reason = "; ".join(sorted(set(shut.values())))
        keep, tail, blocked = _way(a, fac, access)
        self._send(run, a, keep, tail, fac, t, reason, blocked)

    def _send(self, run: MissionRun, a: Assignment, keep: list[RouteStop],
              tail: list[RouteStop], fac: Facility, t: Traffic | None, reason: str,
              blocked: list[str]) -> None:
        """Give ``a`` the new way (``keep`` then ``tail``) in an order update; ``blocked``
        points leave it, blocked for ``reason``."""
        core = self.core
        a.replace_tail(keep, tail, fac)
        for point in blocked:
            a.drop_point(point)
            run.blocked[point] = f"no open way: {reason}"
            core.event(run, "blocked", a.serial, {"point": point, "reason": run.blocked[point]})
        if blocked:
            run.reason = f"{len(run.blocked)} point(s) blocked: {reason}; " \
                         "`fleet robots clear M/S` once the robot is recovered"
        a.update_id += 1
        core.send(a.manufacturer, a.serial, route_order(
            Header(a.manufacturer, a.serial), a.order_id, a.stops, a.legs,
            base_end=a.base_end, start=a.base_end, order_update_id=a.update_id))
        core.event(run, "rerouted", a.serial, {"reason": reason, "blocked": blocked,
                                               "route": [s.node_id for s in a.stops]})
        if t is not None:
            t.follow(a.serial, [s.node_id for s in a.stops], reached=a.reached,
                     granted=a.base_end, can_stop=lambda i: a.stops[i].node_id not in a.dead)
        core.persist(run)

    def _shorter(self, run: MissionRun) -> None:
        """The way is open again: robots that go round take the shorter way now."""
        core = self.core
        fac = run.spec.facility
        site = self.site(fac)
        t = core.traffic.get(fac.name)
        for a in run.active():
            robot = core.registry.find(a.serial)
            cls = robot.robot_class() if robot is not None else None
            before = _length(fac, a.stops[a.base_end:])
            keep, tail, unreachable = _way(a, site, cls.access if cls is not None else None)
            if unreachable or _length(fac, [keep[-1], *tail]) >= before - 1.0:
                continue
            self._send(run, a, keep, tail, site, t, "the way is open again", [])

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
                self._shorter(run)
            log.info("robot %s cleared by a supervisor: %s", serial, note)
        core.wake.set()
        return touched



def _way(a: Assignment, fac: Facility, access: Access | None
         ) -> tuple[list[RouteStop], list[RouteStop], list[str]]:
    """The shortest open way on ``fac`` through ``a``'s remaining stops (those with
    actions, and the last) from where its base ends: the stops kept (the base, as sent),
    the new tail, and the points of the stops no open way reaches."""
    g = nx.subgraph_view(fac.graph, filter_edge=lambda u, v: fac.traversable(
        fac.graph[u][v]["edge"], access))
    keep = a.stops[:a.base_end + 1]
    tail: list[RouteStop] = []
    here = keep[-1].node_id
    targets = [s for i, s in enumerate(a.stops) if i > a.base_end and (
        s.actions or i == len(a.stops) - 1)]
    blocked: list[str] = []
    for stop in targets:
        try:
            path = nx.shortest_path(g, here, stop.node_id, weight="length")
        except nx.NetworkXNoPath:
            blocked += [a.inspections[x.action_id] for x in stop.actions
                        if x.action_id in a.inspections]
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
        here = stop.node_id
    return keep, tail, blocked


def _length(fac: Facility, stops: list[RouteStop]) -> float:
    """Metres along ``stops``."""
    total = 0.0
    for x, y in itertools.pairwise(stops):
        edge = fac.edge_between(x.node_id, y.node_id)
        total += edge.length if edge is not None else 0.0
    return total
