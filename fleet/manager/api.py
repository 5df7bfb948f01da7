"""The manager's query API over Zenoh (what ``fleet mission`` and ``fleet robots`` call).

Key space, under the site's interface (``uagv`` by default, e.g. ``site-a/uagv``):

====================================  =============================================
``{interface}/manager/mission/launch``  body ``{"name", "mission": YAML text,
                                        "map": {"name", "suffix", "text"}}`` →
                                        ``{"mission_id", "status"}``
``{interface}/manager/mission/list``    → ``[{"mission_id", "name", "status",
                                        "inspections": {...}}, ...]``
``{interface}/manager/mission/status``  body ``{"mission_id"}`` → the mission's status
``{interface}/manager/mission/pause``   body ``{"mission_id"}`` → the new status
``{interface}/manager/mission/resume``  (same)
``{interface}/manager/mission/abort``   (same)
``{interface}/manager/robots``          → ``[{"manufacturer", "serial", "status",
                                        "battery", "last_node", ...}, ...]``
====================================  =============================================

Bodies and answers are JSON; an error answer is ``{"error": "one line"}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleet.comms.bus import Request
from fleet.errors import FleetError, MapError, MissionError
from fleet.facility import formats
from fleet.facility.formats.yaml_map import parse_yaml
from fleet.planning.mission import mission_from_document

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
        text, raw_map = body.get("mission"), body.get("map")
        if not isinstance(text, str) or not isinstance(raw_map, dict):
            raise FleetError("launch needs the mission text and its map")
        map_name = str(raw_map.get("name") or "map")
        try:
            facility = formats.parse(str(raw_map.get("text", "")),
                                     str(raw_map.get("suffix", ".yaml")), file=map_name)
            spec = mission_from_document(parse_yaml(text, file=name), file=name,
                                         facility=facility)
        except (MapError, MissionError) as exc:
            raise FleetError("; ".join(str(p) for p in exc.problems)) from None
        map_doc = {"name": map_name, "suffix": str(raw_map.get("suffix", ".yaml")),
                   "text": str(raw_map.get("text", ""))}
        run = manager.launch(spec.name, spec, text, map_doc=map_doc)
        return {"mission_id": run.id, "name": run.name, "status": run.status.value}

    def listing(_request: Request) -> Any:
        with manager.lock:
            live = {m.id: m for m in manager.missions.values()}
            out = [{"mission_id": m.id, "name": m.name, "status": m.status.value,
                    "inspections": m.to_json()["inspections"]} for m in live.values()]
        for row in manager.store.missions():
            if row.id not in live:
                out.append({"mission_id": row.id, "name": row.name, "status": row.status,
                            "inspections": None})
        return out

    def status(request: Request) -> Any:
        mid = _mission_id(request)
        with manager.lock:
            try:
                return manager.mission(mid).to_json()
            except FleetError:
                pass
        row = manager.store.mission(mid)
        if row is None:
            raise FleetError(f"no mission {mid!r}")
        return {"mission_id": row.id, "name": row.name, "status": row.status,
                "reason": row.failure_reason, "inspections": None, "robots": []}

    def control(verb: str) -> Any:
        def handler(request: Request) -> Any:
            run = manager.control(_mission_id(request), verb)
            return {"mission_id": run.id, "status": run.status.value}
        return handler

    def robots(_request: Request) -> Any:
        with manager.lock:
            return [r.to_json() for r in manager.registry.all()]

    manager.bus.serve(api_key(itf, "mission/launch"), launch)
    manager.bus.serve(api_key(itf, "mission/list"), listing)
    manager.bus.serve(api_key(itf, "mission/status"), status)
    for verb in ("pause", "resume", "abort"):
        manager.bus.serve(api_key(itf, f"mission/{verb}"), control(verb))
    manager.bus.serve(api_key(itf, "robots"), robots)
