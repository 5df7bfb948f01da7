"""The query facade: what the API (and anything else outside the core) may read of a
running manager, as JSON-ready copies (or typed records) taken under the lock.

:mod:`fleet.manager.api` answers the CLI's queries with these methods and never touches
the manager's lock, registry or missions itself; a dashboard or a standby would read the
same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fleet.anomaly.record import (
    AnomalyRecord,
    ClosureRecord,
    InspectionCounts,
    LockoutRecord,
    MapDocument,
    MissionRecord,
    MissionSummary,
    ObservationRecord,
    ResultRecord,
    RouteRecord,
)
from fleet.anomaly.shift import ShiftRecord
from fleet.errors import FleetError, MapError
from fleet.facility import formats
from fleet.facility.model import Facility, NodeKind
from fleet.manager.core import Core
from fleet.manager.missions import MissionRun, joined
from fleet.manager.patrol import targets
from fleet.manager.registry import RobotEntry

REPORT_ROWS = 20_000
"""At most this many results, and as many observations, in a mission's report."""


class Queries:
    """Read-only views of a manager (see the module docstring)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def mission_run(self, mission_id: str) -> MissionRun:
        """A live mission by id (a unique prefix of at least 4 characters is enough);
        FleetError when none (caller holds the lock)."""
        missions = self.core.missions
        run = missions.get(mission_id)
        if run is None and len(mission_id) >= 4:
            found = [m for k, m in missions.items() if k.startswith(mission_id)]
            run = found[0] if len(found) == 1 else None
        if run is None:
            raise FleetError(f"no mission {mission_id!r}")
        return run

    def missions(self) -> list[dict[str, Any]]:
        """Every mission, live ones with their progress, finished ones from the store."""
        core = self.core
        with core.lock:
            live = {m.id: m for m in core.missions.values()}
            out = [{"mission_id": m.id, "name": m.name, "status": m.status.value,
                    "inspections": m.to_json()["inspections"]} for m in live.values()]
        for row in core.store.missions():
            if row.id not in live:
                out.append({"mission_id": row.id, "name": row.name, "status": row.status,
                            "inspections": None})
        return out

    def mission(self, mission_id: str) -> dict[str, Any]:
        """One mission's status (``fleet mission status``); FleetError when unknown. A live
        mission's ``inspections`` has ``repeats`` too: the results stored as repeats of an
        inspection (:mod:`fleet.store.repeats`), read from the store."""
        core = self.core
        status: dict[str, Any] | None = None
        with core.lock:
            try:
                run = self.mission_run(mission_id)
                status = run.to_json()
                if run.idleness is not None:
                    status["patrol"] = run.idleness.report(targets(run.spec),
                                                           core.clock.now().timestamp())
                for r in status["robots"]:
                    r["waiting"] = self.waiting(r["serial"]) if r["active"] else None
            except FleetError:
                pass
        if status is not None:
            # read outside the lock: the database may be slow, the manager must not wait
            status["inspections"]["repeats"] = core.store.count_results(
                status["mission_id"], repeats=True)
            return status
        row = core.store.mission(mission_id)
        if row is None:
            raise FleetError(f"no mission {mission_id!r}")
        return {"mission_id": row.id, "name": row.name, "status": row.status,
                "reason": row.failure_reason, "inspections": None, "robots": []}

    def report(self, mission_id: str) -> MissionRecord:
        """Everything the report of mission ``mission_id`` (its full id) shows: a live
        mission as it stands, a finished one from the snapshot it was stored with.
        FleetError when there is no such mission or its stored snapshot is damaged."""
        core = self.core
        row = core.store.mission(mission_id)
        if row is None:
            raise FleetError(f"no mission {mission_id!r}")
        summary = MissionSummary(mission_id=row.id, name=row.name, status=row.status,
                                 reason=row.failure_reason, created_at=row.created_at,
                                 updated_at=row.updated_at)
        with core.lock:
            run = core.missions.get(mission_id)
            if run is not None:
                summary = MissionSummary(
                    mission_id=row.id, name=row.name, status=run.status.value,
                    reason=run.reason or row.failure_reason, created_at=row.created_at,
                    updated_at=row.updated_at, inspections=InspectionCounts(
                        done=len(run.done), total=len(run.tasks), failed=len(run.failed),
                        dropped=len(run.dropped), waiting=len(run.pool)))
                routes, map_doc = _live_routes(run), _map_document(run.map_doc)
                site: str | None = run.spec.facility.name
            else:
                routes, map_doc = _stored_routes(row.plan), _stored_map(row.plan)
                site = None
        store = core.store
        lockouts, closures = _gas_records(core, mission_id, {r.serial for r in routes}, site,
                                          map_doc)
        return MissionRecord(
            lockouts=lockouts, closures=closures,
            mission=summary, generated_at=core.clock.now(), map=map_doc, routes=routes,
            anomalies=tuple(AnomalyRecord.from_values(a.model_dump())
                            for a in store.anomalies(mission_id=mission_id)),
            observations=tuple(ObservationRecord.from_values(o.model_dump()) for o in
                               store.observations(mission_id=mission_id, limit=REPORT_ROWS)),
            results=tuple(ResultRecord(result_id=r.result_id, point=r.inspection_point_id,
                                       serial=r.serial_number, measured_at=r.measured_at,
                                       readings=r.readings)
                          for r in store.results(mission_id, limit=REPORT_ROWS)))

    def shift(self, since: datetime, until: datetime) -> ShiftRecord:
        """Everything the shift report of ``[since, until)`` shows
        (:func:`fleet.manager.shift.shift_record`); FleetError for a bad window."""
        from fleet.manager.shift import live_view, shift_record

        live, robots = live_view(self.core)
        return shift_record(self.core.store, since, until, now=self.core.clock.now(),
                            live=live, robots=robots)

    def robots(self) -> list[dict[str, Any]]:
        """Every robot heard of (``fleet robots``), with the dock it stands at."""
        core = self.core
        with core.lock:
            sites = [m.spec.facility for m in reversed(core.missions.values())]
            return [{**r.to_json(), "dock": _dock(r, sites), "waiting": self.waiting(r.serial)}
                    for r in core.registry.all()]

    def waiting(self, serial: str) -> str | None:
        """What traffic control makes ``serial`` wait for, in one line (None: nothing)."""
        core = self.core
        with core.lock:
            for t in core.traffic.values():
                wait = t.waiting(serial)
                if wait is not None:
                    return f"{wait.describe()} for {t.waited(serial, core.now()):.0f} s"
        return None

    def robot(self, manufacturer: str, serial: str) -> dict[str, Any]:
        """One robot (``fleet robots show``); FleetError when unknown."""
        for r in self.robots():
            if (r["manufacturer"], r["serial"]) == (manufacturer, serial):
                return r
        raise FleetError(f"no robot {manufacturer}/{serial}")


def _gas_records(core: Core, mission_id: str, serials: set[str], site: str | None,
                 map_doc: MapDocument | None
                 ) -> tuple[tuple[LockoutRecord, ...], tuple[ClosureRecord, ...]]:
    """The lockouts and closures a mission's report lists: those its events name
    (``robot_locked_out``, ``closure_opened``, ``closure_reopened``), the open lockouts of
    its robots, and the open closures of its site (``site``, else the site of ``map_doc``)."""
    store = core.store
    named: dict[str, set[object]] = {"lockout": set(), "closure": set()}
    for e in store.events(mission_id):
        key = {"robot_locked_out": "lockout", "closure_opened": "closure",
               "closure_reopened": "closure"}.get(e.kind)
        if key is not None and isinstance(e.detail, Mapping):
            named[key].add(e.detail.get(key))
    lockouts = tuple(LockoutRecord.from_values(r.model_dump()) for r in store.lockouts()
                     if r.id in named["lockout"] or (r.reset_at is None and r.serial in serials))
    rows = store.closures()
    if site is None and map_doc is not None and any(r.reopened_at is None for r in rows):
        try:
            site = formats.parse(map_doc.text, map_doc.suffix, file=map_doc.name).name
        except MapError:
            site = None  # a map that no longer parses: only the closures its events name
    closures = tuple(ClosureRecord.from_values(r.model_dump()) for r in rows
                     if r.id in named["closure"] or (r.reopened_at is None and r.site == site))
    return lockouts, closures


def _dock(robot: RobotEntry, sites: list[Facility]) -> str | None:
    """The dock or charger the robot stands at (its last node, or by its reported
    position), on the site of the newest mission that knows one; None when it is
    elsewhere or no site is known."""
    for facility in sites:
        at = robot.node_in(facility)
        if at is not None and facility.nodes[at].kind in (NodeKind.DOCK, NodeKind.CHARGER):
            return at
    return None


def _live_routes(run: MissionRun) -> tuple[RouteRecord, ...]:
    """Each robot's route in a running mission: planned (its current assignment) and
    driven (its earlier assignments, then the current one up to where it got)."""
    return tuple(
        RouteRecord(serial=a.serial, manufacturer=a.manufacturer,
                    planned=tuple(s.node_id for s in a.stops),
                    driven=tuple(joined(list(run.driven_before.get(a.serial, ())),
                                        a.driven())))
        for a in run.assignments.values())


def _stored_routes(snapshot: object) -> tuple[RouteRecord, ...]:
    """The routes of a finished mission, read from the snapshot it was stored with
    (:meth:`MissionRun.snapshot`); none when there is no snapshot, FleetError when it is
    damaged."""
    if not isinstance(snapshot, Mapping):
        return ()
    try:
        before = snapshot.get("driven_before") or {}
        routes = []
        for a in snapshot.get("assignments") or ():
            planned = [str(s["node"]) for s in a.get("stops") or ()]
            reached = int(a.get("reached") or 0)
            serial = str(a["serial"])
            driven = joined([str(n) for n in before.get(serial) or ()], planned[:reached + 1])
            manufacturer = a.get("manufacturer")
            routes.append(RouteRecord(serial=serial, planned=tuple(planned),
                                      driven=tuple(driven), manufacturer=None
                                      if manufacturer is None else str(manufacturer)))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise FleetError("the stored snapshot of this mission is damaged: its routes "
                         "cannot be read") from None
    return tuple(routes)


def _stored_map(snapshot: object) -> MapDocument | None:
    return _map_document(snapshot.get("map")) if isinstance(snapshot, Mapping) else None


def _map_document(raw: object) -> MapDocument | None:
    """The map as launched (name, suffix, text), or None when the mission has none."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("text"), str):
        return None
    return MapDocument(text=raw["text"], name=str(raw.get("name") or "map"),
                       suffix=str(raw.get("suffix") or ".yaml"))
