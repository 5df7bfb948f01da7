"""The manager's query API over Zenoh (what ``fleet mission`` and ``fleet robots`` call).

Key space, under the site's interface (``uagv`` by default, e.g. ``site-a/uagv``):

====================================  =============================================
``{interface}/manager/mission/launch``  body ``{"name", "mission": YAML text,
                                        "map": {"name", "suffix", "text"}}`` →
                                        ``{"mission_id", "status"}``
``{interface}/manager/mission/list``    → ``[{"mission_id", "name", "status",
                                        "inspections": {...}}, ...]``
``{interface}/manager/mission/status``  body ``{"mission_id"}`` → the mission's status
``{interface}/manager/mission/pause``   body ``{"mission_id"}`` → ``{"mission_id",
                                        "status", "reason", "control"}``: the status
                                        changes once the robots confirm; ``control``
                                        (also in the status) follows their answers
``{interface}/manager/mission/resume``  (same)
``{interface}/manager/mission/abort``   (same)
``{interface}/manager/robots``          → ``[{"manufacturer", "serial", "status",
                                        "battery", "last_node", "dock", "refused",
                                        "last_rejected", ...}, ...]``
``{interface}/manager/robots/clear``    body ``{"manufacturer", "serial", "by", "note"}``
                                        → ``{"robot", "missions"}``: people recovered a
                                        lost robot (docs/traffic.md)
``{interface}/manager/robots/reset``    body ``{"manufacturer", "serial", "by", "note"}``
                                        → ``{"robot", "lockouts", "missions", "status"}``:
                                        people reset a locked-out robot
                                        (docs/gas-safety.md)
``{interface}/manager/closures/list``   body ``{"all"}`` (optional) → ``[closure, ...]``
                                        oldest first: the open gas closures, every one
                                        with ``all`` (docs/gas-safety.md)
``{interface}/manager/closures/reopen`` body ``{"id", "by", "note"}`` → the closure:
                                        a supervisor reopens it (``id`` 3 or ``C-3``)
``{interface}/manager/anomalies/list``  body ``{"open", "status", "severity", "since",
                                        "mission_id", "point", "limit"}`` (all optional)
                                        → ``[anomaly, ...]`` newest first
``{interface}/manager/anomalies/show``  body ``{"id"}`` → ``{"anomaly", "observations",
                                        "deliveries"}``
``{interface}/manager/anomalies/ack``   body ``{"id", "by", "note"}`` → the anomaly
``{interface}/manager/anomalies/resolve`` (same)
``{interface}/manager/report``          body ``{"mission_id"}`` → what ``fleet report``
                                        renders (docs/anomalies.md)
``{interface}/manager/live/snapshot``  → the dashboards' live state, whole
                                        (docs/dashboard.md, :mod:`fleet.manager.live`)
``{interface}/manager/sites``           → ``[site map, ...]``: levels, nodes, edges
``{interface}/manager/trend``           body ``{"point", "sensor", "since"}`` →
                                        ``{"readings": [[time, value], ...], "limits",
                                        "unit"}``
``{interface}/manager/report/shift``    body ``{"since", "until"}`` (ISO 8601; ``until``
                                        optional, default now) → what ``fleet report
                                        --since/--shift`` renders (docs/anomalies.md)
====================================  =============================================

Bodies and answers are JSON; an error answer is ``{"error": "one line"}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from fleet.comms.bus import Request
from fleet.errors import FleetError, MapError, MissionError
from fleet.manager.missions import mission_spec

if TYPE_CHECKING:
    from fleet.manager.service import Manager


def api_key(interface: str, verb: str) -> str:
    """The key of one API verb, e.g. ``uagv/manager/mission/launch``."""
    return f"{interface}/manager/{verb}"


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.body, dict):
        raise FleetError("the request needs a JSON object body")
    return request.body


def _mission_id(request: Request) -> str:
    mid = _body(request).get("mission_id")
    if not isinstance(mid, str) or not mid:
        raise FleetError("the request needs a mission_id")
    return mid


def serve_api(manager: Manager) -> None:
    """Declare every queryable of the API on the manager's bus."""
    itf = manager.settings.interface

    def launch(request: Request) -> Any:
        body = _body(request)
        name = str(body.get("name") or "mission")
        text, map_doc = mission_document(body, "launch")
        try:
            spec = mission_spec(text, map_doc, name=name)
        except (MapError, MissionError) as exc:
            raise FleetError("; ".join(str(p) for p in exc.problems)) from None
        run = manager.launch(spec.name, spec, text, map_doc=map_doc)
        return {"mission_id": run.id, "name": run.name, "status": run.status.value}

    def listing(_request: Request) -> Any:
        return manager.queries.missions()

    def status(request: Request) -> Any:
        return manager.queries.mission(_mission_id(request))

    def control(verb: str) -> Any:
        def handler(request: Request) -> Any:
            run = manager.control(_mission_id(request), verb)
            with manager.lock:
                control = run.control.to_json() if run.control is not None else None
                return {"mission_id": run.id, "status": run.status.value,
                        "reason": run.reason, "control": control}
        return handler

    def robots(_request: Request) -> Any:
        locked = {(r.manufacturer, r.serial): r for r in manager.lockouts.open()}
        out = manager.queries.robots()
        for r in out:
            row = locked.get((r["manufacturer"], r["serial"]))
            r["lockout"] = None if row is None else {
                "id": row.id, "node": row.node_id, "sensor": row.sensor, "value": row.value,
                "unit": row.unit, "power_off": row.level, "at": row.locked_at.isoformat()}
        return out

    def supervisor_note(body: dict[str, Any], verb: str, what: str) -> tuple[str, str, str]:
        serial, by = body.get("serial"), body.get("by")
        if not isinstance(serial, str) or not serial:
            raise FleetError(f"{verb} needs the robot's serial")
        if not isinstance(by, str) or not by.strip():
            raise FleetError(f"{verb} needs who you are (by)")
        note = _text(body.get("note"), "note")
        if not note or not note.strip():
            raise FleetError(f"{verb} needs a note saying {what}")
        return serial, by, note

    def reset(request: Request) -> Any:
        body = _body(request)
        serial, by, note = supervisor_note(body, "reset", "how the robot was reset")
        return manager.reset_robot(str(body.get("manufacturer") or ""), serial, by=by,
                                   note=note)

    def clear(request: Request) -> Any:
        body = _body(request)
        serial, by = body.get("serial"), body.get("by")
        if not isinstance(serial, str) or not serial:
            raise FleetError("clear needs the robot's serial")
        if not isinstance(by, str) or not by.strip():
            raise FleetError("clear needs who you are (by)")
        note = _text(body.get("note"), "note")
        if not note:
            raise FleetError("clear needs a note saying how the robot was recovered")
        manufacturer = body.get("manufacturer") or ""
        missions = manager.clear_robot(str(manufacturer), serial, f"{by}: {note}")
        return {"robot": f"{manufacturer}/{serial}".lstrip("/"), "missions": missions}

    manager.serve(api_key(itf, "mission/launch"), launch)
    manager.serve(api_key(itf, "mission/list"), listing)
    manager.serve(api_key(itf, "mission/status"), status)
    for verb in ("pause", "resume", "abort"):
        manager.serve(api_key(itf, f"mission/{verb}"), control(verb))
    manager.serve(api_key(itf, "robots"), robots)
    manager.serve(api_key(itf, "robots/clear"), clear)
    manager.serve(api_key(itf, "robots/reset"), reset)
    _serve_closures(manager)
    _serve_anomalies(manager)
    _serve_live(manager)
    from fleet.manager.schedule_api import serve_schedules
    serve_schedules(manager, lambda verb: api_key(itf, verb))


# ------------------------------------------------------------------ live (dashboards)
def _serve_live(manager: Manager) -> None:
    """What dashboards ask (:mod:`fleet.manager.live`): the whole live state, the site
    maps, and a point's trend."""
    from fleet.manager.live import site_json, trend

    itf = manager.settings.interface

    def trend_of(request: Request) -> Any:
        body = _body(request)
        point, sensor = _text(body.get("point"), "point"), _text(body.get("sensor"), "sensor")
        if not point or not sensor:
            raise FleetError("a trend needs a point and a sensor")
        since = _since(body.get("since"))
        if since is None:
            raise FleetError("a trend needs since (an ISO 8601 time)")
        return trend(manager, point, sensor, since)

    manager.serve(api_key(itf, "live/snapshot"), lambda _r: manager.live.snapshot())
    manager.serve(api_key(itf, "sites"),
                      lambda _r: [site_json(f) for f in manager.closures.sites()])
    manager.serve(api_key(itf, "trend"), trend_of)


# ------------------------------------------------------------------ closures
def _serve_closures(manager: Manager) -> None:
    """The gas-closure verbs (docs/gas-safety.md, "Gas closures"): list and reopen. A
    closure is :func:`~fleet.manager.closures.closure_json`."""
    from fleet.manager.closures import closure_json

    itf = manager.settings.interface

    def listing(request: Request) -> Any:
        body = request.body if isinstance(request.body, dict) else {}
        every = body.get("all", False)
        if not isinstance(every, bool):
            raise FleetError("all must be true or false")
        rows = manager.store.closures() if every else manager.closures.open()
        return [closure_json(r) for r in rows]

    def reopen(request: Request) -> Any:
        body = _body(request)
        closure_id = closure_ref(body.get("id"))
        by = body.get("by")
        if not isinstance(by, str) or not by.strip():
            raise FleetError("reopen needs who you are (by)")
        note = _text(body.get("note"), "note")
        if not note or not note.strip():
            raise FleetError("reopen needs a note saying why the area is safe again")
        return closure_json(manager.reopen_closure(closure_id, by=by.strip(), note=note))

    manager.serve(api_key(itf, "closures/list"), listing)
    manager.serve(api_key(itf, "closures/reopen"), reopen)


def mission_document(body: dict[str, Any], verb: str) -> tuple[str, dict[str, str]]:
    """A request's mission text and its map (name, suffix, text, with the defaults a
    launch takes), as ``mission/launch`` and ``schedules/add`` receive them."""
    text, raw = body.get("mission"), body.get("map")
    if not isinstance(text, str) or not isinstance(raw, dict):
        raise FleetError(f"{verb} needs the mission text and its map")
    return text, {"name": str(raw.get("name") or "map"),
                  "suffix": str(raw.get("suffix", ".yaml")), "text": str(raw.get("text", ""))}


def closure_ref(value: object) -> int:
    """A closure's id from ``3``, ``"3"`` or ``"C-3"`` (any case); FleetError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        text = value.strip().upper().removeprefix("C-").removeprefix("C")
        if text.isascii() and text.isdigit() and int(text) > 0:
            return int(text)
    raise FleetError(f"a closure id is a number like 3 or C-3, not {value!r}")


# ------------------------------------------------------------------ anomalies
def _serve_anomalies(manager: Manager) -> None:
    """The anomaly verbs (docs/anomalies.md): list, show, ack, resolve, and the report."""
    from fleet.anomaly.export import anomaly_json, deliveries_json, observations_json
    from fleet.anomaly.lifecycle import AnomalyStatus
    from fleet.sensors import Severity

    itf = manager.settings.interface
    store = manager.store

    def listing(request: Request) -> Any:
        body = request.body if isinstance(request.body, dict) else {}
        status: Any = body.get("status")
        if body.get("open"):
            status = [AnomalyStatus.OPEN.value, AnomalyStatus.ACKNOWLEDGED.value]
        elif status is not None:
            status = [_choice(AnomalyStatus, s, "status") for s in _listed(status)]
        severity = None
        if body.get("severity") is not None:
            severity = [s.value for s in _choice(Severity, body["severity"],
                                                 "severity").at_least()]
        mission = body.get("mission_id")
        rows = store.anomalies(
            status=status, severity=severity, since=_since(body.get("since")),
            mission_id=_mission_ref(manager, mission) if mission else None,
            point=_text(body.get("point"), "point"), limit=_limit(body.get("limit")))
        return [anomaly_json(r) for r in rows]

    def show(request: Request) -> Any:
        anomaly_id = _anomaly_id(request)
        row = store.anomaly(anomaly_id)
        if row is None:
            raise FleetError(f"no anomaly {anomaly_id}")
        return {"anomaly": anomaly_json(row),
                "observations": observations_json(store.observations(anomaly_id, limit=1000)),
                "deliveries": deliveries_json(store.deliveries(anomaly_id))}

    def change(verb: str) -> Any:
        def handler(request: Request) -> Any:
            body = _body(request)
            by = body.get("by")
            if not isinstance(by, str) or not by.strip():
                raise FleetError(f"{verb} needs who you are (by)")
            note = _text(body.get("note"), "note")
            act = (manager.anomalies.acknowledge if verb == "ack"
                   else manager.anomalies.resolve)
            return anomaly_json(act(_anomaly_id(request), by=by, note=note))
        return handler

    def report(request: Request) -> Any:
        return manager.queries.report(_mission_ref(manager, _mission_id(request))).to_json()

    manager.serve(api_key(itf, "anomalies/list"), listing)
    manager.serve(api_key(itf, "anomalies/show"), show)
    manager.serve(api_key(itf, "anomalies/ack"), change("ack"))
    manager.serve(api_key(itf, "anomalies/resolve"), change("resolve"))
    def shift(request: Request) -> Any:
        body = _body(request)
        since = _since(body.get("since"), "since")
        if since is None:
            raise FleetError("a shift report needs since (an ISO 8601 time)")
        until = _since(body.get("until"), "until") or manager.clock.now()
        return manager.queries.shift(since, until).to_json()

    manager.serve(api_key(itf, "report"), report)
    manager.serve(api_key(itf, "report/shift"), shift)


E = TypeVar("E", bound=StrEnum)


def _choice(enum: type[E], value: object, what: str) -> E:
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        raise FleetError(f"unknown {what} {value!r} (one of: "
                         f"{', '.join(m.value for m in enum)})") from None


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


def _text(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FleetError(f"{what} must be a string")
    return value


def _limit(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FleetError("limit must be a whole number >= 1")
    return value


def _since(value: object, what: str = "since") -> datetime | None:
    """An ISO 8601 time (a naive one is UTC)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise FleetError(f"{what} must be an ISO 8601 time, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _anomaly_id(request: Request) -> int:
    value = _body(request).get("id")
    if isinstance(value, str) and value.strip().lstrip("#").isdigit():
        return int(value.strip().lstrip("#"))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise FleetError(f"an anomaly id is a number, not {value!r}")


def _mission_ref(manager: Manager, mission: object) -> str:
    """The full id of a mission given by id or by a unique prefix of 4+ characters."""
    if not isinstance(mission, str) or not mission:
        raise FleetError("mission_id must be a mission id")
    if manager.store.mission(mission) is not None:
        return mission
    if len(mission) >= 4:
        found = [m.id for m in manager.store.missions() if m.id.startswith(mission)]
        if len(found) == 1:
            return found[0]
    raise FleetError(f"no mission {mission!r}")
