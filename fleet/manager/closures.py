"""Gas closures: areas closed to robots not rated for the gas measured there
(docs/gas-safety.md, "Gas closures").

A reading at or above its place's power-off level (:attr:`fleet.interlock.Crossing.
POWER_OFF`), from a robot's inspection or a fixed sensor, *closes the area around it*:
the ATEX or Ma-only zone that holds the node, else the nodes within :data:`CLOSURE_RADIUS_M`
metres along the graph. The closure becomes a zone of the planning site
(:meth:`Closures.zones`): on a mine an Ma-only area (only robots rated Ma may enter,
IEC 60079-0 group I), on a plant an ATEX zone 1 (only Ga/Gb: the area is unfit for
zone-2-only Gc equipment, GB/T 50493-2019). So the planner keeps the others out, the
re-routing of :class:`~fleet.manager.obstacles.Obstacles` sends working robots round it
(their order replaced), and points no rated robot can reach are blocked with the closure
as the reason.

A closure reopens when a reading strictly below the restore level is taken inside it
(:meth:`Closures.observe`), or when a supervisor reopens it (:meth:`Closures.reopen`,
``fleet closures reopen ID --note``). Closures are stored (table ``closures``) and
survive a manager restart (:meth:`Closures.restore`).

Each closure raises an ALARM anomaly and alert (rule :data:`~fleet.anomaly.rules.CLOSURE`,
sensor ``closure:ID``, at the node of the reading) naming site, area, node, sensor and
reading; reopening it resolves that anomaly, by whoever reopened it and why. Both happen
after the manager's lock is released (:meth:`Closures.announce`), before :meth:`observe`
and :meth:`reopen` return. The unfinished missions of the site get a ``closure_opened``
and a ``closure_reopened`` event (their reports list the closure).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import networkx as nx
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.ops import unary_union

from fleet.anomaly.log import AnomalyLog
from fleet.anomaly.rules import CLOSURE, Verdict
from fleet.errors import FleetError
from fleet.facility.model import Facility, Zone, ZoneKind
from fleet.interlock import CHEMICAL_PLANT, Crossing, InterlockLevels, crosses
from fleet.manager.core import Core
from fleet.sensors import Severity, convert
from fleet.store import ClosureRow

log = logging.getLogger(__name__)

CLOSURE_RADIUS_M = 30.0
"""Metres along the graph closed around a reading outside any ATEX or Ma-only zone: the
Coal Mine Safety Regulations' power cut within 20 m of the place, plus a margin."""

_WIDTH_M = 1.0
"""Half-width (m) of the closure zone drawn round the closed nodes and the edges between
them: enough to hold each node, narrow enough to miss parallel drifts."""


def closure_reason(row: ClosureRow) -> str:
    """One line: ``closed: ch4 1.62 %vol at tg-12 (closure C-3)``."""
    return f"closed: {row.sensor} {row.value:g} {row.unit} at {row.node_id} (closure C-{row.id})"


def closure_sensor(closure_id: int | None) -> str:
    """The sensor key of a closure's anomaly: ``closure:3``."""
    return f"{CLOSURE}:{closure_id}"


def closure_json(row: ClosureRow) -> dict[str, Any]:
    """A closure as the API answers it (``closures/list``, ``closures/reopen``): the stored
    columns (``node`` for ``node_id``), times in ISO 8601, and ``open``."""

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat().replace("+00:00", "Z")

    return {"id": row.id, "site": row.site, "node": row.node_id,
            "nodes": [str(n) for n in row.nodes or ()], "area": row.area, "source": row.source,
            "sensor": row.sensor, "value": row.value, "unit": row.unit,
            "restore": row.restore, "opened_at": iso(row.opened_at),
            "reopened_at": iso(row.reopened_at), "reopened_by": row.reopened_by,
            "note": row.note, "open": row.reopened_at is None}


@dataclass(frozen=True)
class _Change:
    """A closure opened (``power_off`` its level) or reopened, to announce once the
    manager's lock is released."""

    row: ClosureRow
    opened: bool
    power_off: float | None = None
    mission_id: str | None = None
    place: tuple[float, float, str] | None = None


class Closures:
    """The gas-closure part of a manager (see the module docstring)."""

    def __init__(self, core: Core, anomalies: AnomalyLog | None = None) -> None:
        self.core = core
        self.anomalies = anomalies
        """Where closures raise and resolve their anomalies (None: nowhere)."""
        self._pending: list[_Change] = []
        self._open: dict[int, ClosureRow] = {}
        self._sites: dict[str, Facility] = {}
        self._zones: dict[tuple[str, frozenset[int]], tuple[Zone, ...]] = {}
        self.changed: list[str] = []
        """Site names whose closures changed since the obstacles last looked."""

    def add_site(self, fac: Facility) -> None:
        """Know ``fac`` (a mission's or a listened-to map) to place readings on."""
        with self.core.lock:
            self._sites[fac.name] = fac

    def restore(self) -> None:
        """A (re)starting manager takes up the open closures."""
        rows = self.core.store.closures(open_only=True)
        with self.core.lock:
            self._open = {r.id: r for r in rows if r.id is not None}

    def sites(self) -> list[Facility]:
        """Every site the manager knows (missions' and fixed sensors'), by name."""
        with self.core.lock:
            return [self._sites[name] for name in sorted(self._sites)]

    def open(self, site: str | None = None) -> list[ClosureRow]:
        """The open closures (of ``site``), oldest first."""
        with self.core.lock:
            return [r for _, r in sorted(self._open.items())
                    if site is None or r.site == site]

    def closed_nodes(self, fac: Facility) -> dict[str, ClosureRow]:
        """Node → the (first) open closure holding it, on ``fac``'s site."""
        out: dict[str, ClosureRow] = {}
        for row in self.open(fac.name):
            for n in row.nodes or ():
                out.setdefault(str(n), row)
        return out

    # -- readings ---------------------------------------------------------------------
    def observe(self, node: str, source: str, sensor: str, value: float, unit: str,
                levels: InterlockLevels | None, *, site: str | None = None,
                announce: bool = True) -> bool:
        """A reading at ``node`` (of ``site``, else of the site known to hold the node):
        at or above power-off it closes the area (unless an open closure of the same
        sensor holds it already), strictly below restore it reopens the closures holding
        ``node``. True when something opened or reopened (the planner is woken, the
        anomaly raised or resolved: call without the manager's lock, or with
        ``announce=False`` under it and :meth:`announce` once it is released)."""
        if levels is None:
            return False
        crossing = crosses(levels, value, unit)
        if crossing not in (Crossing.POWER_OFF, Crossing.RESTORE):
            return False
        core = self.core
        with core.lock:
            fac = self._sites.get(site or "") or next(
                (f for f in self._sites.values() if node in f.nodes), None)
            if fac is None:
                return False
            holding = [r for r in self._open.values() if r.site == fac.name
                       and node in (r.nodes or ()) and r.sensor == sensor]
            if crossing is Crossing.RESTORE:
                if not holding:
                    return False
                for row in holding:
                    self._close_row(row, by=f"{source} read {sensor} {value:g} {unit}",
                                    note="below the restore level")
            elif holding:
                return False
            else:
                self._close_area(fac, node, source, sensor, value, unit, levels)
        core.wake.set()
        if announce:
            self.announce()
        return True

    def _close_area(self, fac: Facility, node: str, source: str, sensor: str, value: float,
                    unit: str, levels: InterlockLevels) -> None:
        """Open a closure round ``node`` (caller holds the lock)."""
        core = self.core
        nodes, area = self._area(fac, node)
        row = core.store.add_closure(
            site=fac.name, node_id=node, nodes=nodes, area=area, source=source,
            sensor=sensor, value=value, unit=unit, restore=levels.restore,
            at=core.clock.now())
        assert row.id is not None
        self._open[row.id] = row
        self.changed.append(fac.name)
        log.warning("gas closure C-%s of %s (%s, %d nodes): %s", row.id, fac.name, area,
                    len(nodes), closure_reason(row))
        n = fac.nodes[node]
        runs = self._event(row, "closure_opened", {
            "closure": row.id, "site": row.site, "node": node, "area": area,
            "reading": f"{sensor} {value:g} {unit}", "source": source})
        mission = runs[0] if runs else None
        power_off = convert(levels.power_off, levels.unit, unit)  # in the reading's unit
        self._pending.append(_Change(row, True, power_off, mission, (n.x, n.y, n.level)))

    def reopen(self, closure_id: int, *, by: str, note: str | None) -> ClosureRow:
        """A supervisor reopens closure ``closure_id``: stored with who, when and the note,
        its anomaly resolved. FleetError (one line) when there is no such closure or it is
        reopened already."""
        with self.core.lock:
            row = self._open.get(closure_id)
            if row is None:
                raise FleetError(self._not_open(closure_id))
            done = self._close_row(row, by=by, note=note)
        self.core.wake.set()
        self.announce()
        return done

    def _not_open(self, closure_id: int) -> str:
        known = next((r for r in self.core.store.closures() if r.id == closure_id), None)
        if known is None or known.reopened_at is None:
            return f"no closure C-{closure_id} (`fleet closures list` shows the open ones)"
        return (f"closure C-{closure_id} was reopened already, at "
                f"{known.reopened_at:%Y-%m-%d %H:%M:%S} UTC by {known.reopened_by}")

    def _close_row(self, row: ClosureRow, *, by: str, note: str | None) -> ClosureRow:
        assert row.id is not None
        done = self.core.store.reopen_closure(row.id, by=by, note=note,
                                              at=self.core.clock.now()) or row
        self._open.pop(row.id, None)
        self.changed.append(row.site)
        self._event(done, "closure_reopened", {"closure": row.id, "site": row.site,
                                               "by": by, "note": note})
        self._pending.append(_Change(done, False))
        log.warning("gas closure C-%s of %s reopened by %s", row.id, row.site, by)
        return done

    def _event(self, row: ClosureRow, kind: str, detail: dict[str, Any]) -> list[str]:
        """Record ``kind`` on the unfinished missions of the closure's site (their report
        lists the closure); their ids."""
        runs = [r for r in self.core.missions.values()
                if not r.status.terminal and r.spec.facility.name == row.site]
        for run in runs:
            self.core.event(run, kind, None, detail)
        return [r.id for r in runs]

    def announce(self) -> None:
        """Raise the ALARM anomaly of each new closure and resolve that of each reopened
        one (call without the manager's lock; :meth:`observe` and :meth:`reopen` do).
        A failure is logged: the closure itself is stored either way."""
        with self.core.lock:
            pending, self._pending = self._pending, []
        if self.anomalies is None:
            return
        for change in pending:
            row = change.row
            try:
                if change.opened:
                    self._raise(change)
                else:
                    self.anomalies.resolve_raised(
                        row.node_id, closure_sensor(row.id), by=row.reopened_by or "?",
                        note=f"closure C-{row.id} reopened" + (f": {row.note}" if row.note
                                                               else ""))
            except FleetError as exc:
                log.error("could not %s the anomaly of closure C-%s: %s",
                          "raise" if change.opened else "resolve", row.id, exc)

    def _raise(self, change: _Change) -> None:
        assert self.anomalies is not None
        row = change.row
        text = (f"gas closure C-{row.id} of {row.site}: {row.area} ({len(row.nodes or ())} "
                f"nodes) closed to unrated robots; {row.source} read {row.sensor} "
                f"{row.value:g} {row.unit} at {row.node_id}")
        level = change.power_off
        verdict = Verdict(closure_sensor(row.id), Severity.ALARM, CLOSURE, level, row.value,
                          row.unit, max(0.0, row.value - level) if level is not None else 0.0,
                          detail={"description": text, "closure": row.id, "site": row.site,
                                  "area": row.area, "node": row.node_id, "sensor": row.sensor,
                                  "source": row.source, "nodes": list(row.nodes or ())})
        x, y, floor = change.place or (None, None, None)
        self.anomalies.raise_event(verdict, row.node_id, measured_at=row.opened_at,
                                   mission_id=change.mission_id, x=x, y=y, level=floor)

    @staticmethod
    def _area(fac: Facility, node: str) -> tuple[list[str], str]:
        for z in fac.zones_at(node):
            if z.kind in (ZoneKind.GAS_HAZARD, ZoneKind.MA_ONLY):
                inside = sorted(n for n in fac.nodes if fac.nodes[n].level == z.level
                                and z.polygon.intersects(fac.nodes[n].point))
                return inside, f"zone {z.id}"
        g = fac.graph.to_undirected(as_view=True)
        near = nx.single_source_dijkstra_path_length(g, node, cutoff=CLOSURE_RADIUS_M,
                                                     weight="length")
        return sorted(near), f"within {CLOSURE_RADIUS_M:g} m"

    # -- the planning site --------------------------------------------------------------
    def zones(self, fac: Facility) -> tuple[Zone, ...]:
        """The zones ``fac``'s open closures add to the planning site."""
        rows = self.open(fac.name)
        if not rows:
            return ()
        key = (fac.name, frozenset(r.id for r in rows if r.id is not None))
        found = self._zones.get(key)
        if found is None:
            found = self._zones[key] = tuple(
                z for r in rows for z in _closure_zones(fac, r))
        return found

    def site(self, fac: Facility) -> Facility:
        """``fac`` with its closures as zones (``fac`` itself without any)."""
        zones = self.zones(fac)
        return replace(fac, zones=(*fac.zones, *zones)) if zones else fac


def _closure_zones(fac: Facility, row: ClosureRow) -> Iterable[Zone]:
    nodes = {str(n) for n in row.nodes or () if str(n) in fac.nodes}
    plant = fac.kind is not None and fac.kind.value == CHEMICAL_PLANT
    per_level: dict[str, list[Polygon | MultiPolygon]] = {}
    for n in nodes:
        node = fac.nodes[n]
        per_level.setdefault(node.level, []).append(Point(node.x, node.y).buffer(_WIDTH_M))
    for e in fac.edges:
        if e.source in nodes and e.target in nodes:
            a, b = fac.nodes[e.source], fac.nodes[e.target]
            if a.level == b.level:
                per_level[a.level].append(LineString([(a.x, a.y), (b.x, b.y)])
                                          .buffer(_WIDTH_M))
    for level, shapes in sorted(per_level.items()):
        merged = unary_union(shapes)
        parts = list(merged.geoms) if isinstance(merged, MultiPolygon) else [merged]
        for i, part in enumerate(parts):
            zid = f"closure-C{row.id}-{level}-{i}"
            if plant:
                yield Zone(zid, ZoneKind.GAS_HAZARD, level, part, atex_zone=1,
                           gas=row.sensor, name=closure_reason(row))
            else:
                yield Zone(zid, ZoneKind.MA_ONLY, level, part, name=closure_reason(row))
