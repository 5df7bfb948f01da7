"""The query facade: what the API (and anything else outside the core) may read of a
running manager, as JSON-ready copies taken under the lock.

:mod:`fleet.manager.api` answers the CLI's queries with these methods and never touches
the manager's lock, registry or missions itself; a dashboard or a standby would read the
same way.
"""

from __future__ import annotations

from typing import Any

from fleet.errors import FleetError
from fleet.facility.model import Facility, NodeKind
from fleet.manager.core import Core
from fleet.manager.missions import MissionRun
from fleet.manager.registry import RobotEntry


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
        """One mission's status (``fleet mission status``); FleetError when unknown."""
        core = self.core
        with core.lock:
            try:
                return self.mission_run(mission_id).to_json()
            except FleetError:
                pass
        row = core.store.mission(mission_id)
        if row is None:
            raise FleetError(f"no mission {mission_id!r}")
        return {"mission_id": row.id, "name": row.name, "status": row.status,
                "reason": row.failure_reason, "inspections": None, "robots": []}

    def mission_snapshot(self, mission_id: str) -> tuple[dict[str, Any] | None,
                                                          dict[str, Any] | None]:
        """A live mission's status and persisted snapshot, or (None, None)."""
        with self.core.lock:
            run = self.core.missions.get(mission_id)
            if run is None:
                return None, None
            return run.to_json(), run.snapshot()

    def robots(self) -> list[dict[str, Any]]:
        """Every robot heard of (``fleet robots``), with the dock it stands at."""
        core = self.core
        with core.lock:
            sites = [m.spec.facility for m in reversed(core.missions.values())]
            return [{**r.to_json(), "dock": _dock(r, sites)} for r in core.registry.all()]

    def robot(self, manufacturer: str, serial: str) -> dict[str, Any]:
        """One robot (``fleet robots show``); FleetError when unknown."""
        for r in self.robots():
            if (r["manufacturer"], r["serial"]) == (manufacturer, serial):
                return r
        raise FleetError(f"no robot {manufacturer}/{serial}")


def _dock(robot: RobotEntry, sites: list[Facility]) -> str | None:
    """The dock or charger the robot stands at (its last node, or by its reported
    position), on the site of the newest mission that knows one; None when it is
    elsewhere or no site is known."""
    for facility in sites:
        at = robot.node_in(facility)
        if at is not None and facility.nodes[at].kind in (NodeKind.DOCK, NodeKind.CHARGER):
            return at
    return None
