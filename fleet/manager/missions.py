"""A mission while the manager runs it: spec, status, assignments and the task pool."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet.manager.dispatch import Assignment
from fleet.manager.instants import ControlRequest
from fleet.manager.lifecycle import MissionStatus, check_transition
from fleet.manager.patrol import Idleness, Laps, targets
from fleet.manager.refusals import OrderRefusals
from fleet.planning.mission import MissionSpec


def joined(route: list[str], more: list[str]) -> list[str]:
    """``route`` followed by ``more``, which starts where ``route`` ended: that node once."""
    return route + (more[1:] if route and more and route[-1] == more[0] else more)


@dataclass
class MissionRun:
    """One mission in the manager.

    Every task is in exactly one of: ``pool`` (waiting to be planned), an active
    assignment's remaining points, ``done``, ``failed``, ``dropped`` (with its reason) or
    ``blocked`` (a lost robot shuts every way to it: with the reason).
    """

    id: str
    name: str
    spec: MissionSpec
    status: MissionStatus = MissionStatus.QUEUED
    assignments: dict[str, Assignment] = field(default_factory=dict)
    pool: set[str] = field(default_factory=set)
    done: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    dropped: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    waiting_reported: bool = False
    document: str = ""
    map_doc: dict[str, str] = field(default_factory=dict)
    """The map as launched (name, suffix, text): a restarted manager rebuilds from it."""
    blocked: dict[str, str] = field(default_factory=dict)
    """Points no open way reaches, with why (a lost robot shuts it): the mission waits
    for them until a supervisor clears the robot (:mod:`fleet.manager.obstacles`)."""
    handovers: dict[str, int] = field(default_factory=dict)
    """Per point, times it was handed back after a robot left it behind."""
    driven_before: dict[str, list[str]] = field(default_factory=dict)
    """Per serial, the nodes its robot drove for earlier assignments of this mission (a
    robot that takes over after its own round gets a new assignment)."""
    idleness: Idleness | None = None
    """A continuous patrol's visits (:mod:`fleet.manager.patrol`); None for a mission
    done once."""
    laps: Laps | None = None
    """A continuous patrol's cyclic plan in force (:mod:`fleet.manager.patroller`); not
    persisted: a restarted manager plans again."""
    rounds_because: str | None = None
    """Why a continuous patrol fell back to rounds (no cyclic plan could be made); None
    while it drives laps."""
    refusals: dict[str, OrderRefusals] = field(default_factory=dict)
    """Per serial, its refusals of this mission's orders (:mod:`fleet.manager.refusals`):
    the planner leaves a robot out while it is barred."""
    control: ControlRequest | None = None
    """The latest pause or resume asked of the robots, followed to their answers
    (:mod:`fleet.manager.instants`); not persisted (a restarted manager's robots are asked
    again by a supervisor)."""

    @property
    def pausing(self) -> bool:
        """Whether a pause is asked and not all robots have answered: no new work is
        given out meanwhile."""
        return self.control is not None and self.control.verb == "pause" \
            and not self.control.settled

    @property
    def tasks(self) -> list[str]:
        """Every task point of the mission."""
        return [t.point for t in self.spec.tasks]

    def move(self, new: MissionStatus, reason: str | None = None) -> bool:
        """Change status (checked); True when it changed."""
        check_transition(self.status, new)
        if new == self.status:
            return False
        self.status = new
        if reason is not None:
            self.reason = reason
        return True

    def assign(self, a: Assignment) -> None:
        """Give ``a`` to its robot, keeping the route driven for the one it replaces."""
        old = self.assignments.get(a.serial)
        if old is not None:
            self.driven_before[a.serial] = joined(self.driven_before.get(a.serial, []),
                                                  old.driven())
        self.assignments[a.serial] = a

    def active(self) -> list[Assignment]:
        """Assignments whose robots are still working."""
        return [a for a in self.assignments.values() if a.active]

    def settled(self) -> bool:
        """Whether nothing is left to do: no pool, no active assignment with work (a
        continuous patrol is never done: it runs until stopped)."""
        if self.idleness is not None:
            return False
        return not self.pool and not self.blocked and not any(
            a.active and a.remaining for a in self.assignments.values())

    def refill(self, now: float) -> list[str]:
        """Put a continuous patrol's points that are due again (:meth:`Idleness.due`) back
        into the pool, unless a robot has them now or they are blocked or dropped; those
        points (none for a mission done once). The planner calls it only for a patrol run
        as rounds (:attr:`rounds_because`): laps cover every point by themselves."""
        if self.idleness is None:
            return []
        busy = {p for a in self.assignments.values() if a.active for p in a.remaining}
        out = []
        for point, target in targets(self.spec).items():
            if point in self.pool or point in busy or point in self.blocked \
                    or point in self.dropped:
                continue
            if self.idleness.due(point, target, now):
                self.pool.add(point)
                out.append(point)
        return out

    def outcome(self) -> MissionStatus:
        """The terminal status a settled mission ends in."""
        if set(self.done) >= set(self.tasks):
            return MissionStatus.COMPLETED
        return MissionStatus.PARTIALLY_COMPLETED if self.done else MissionStatus.FAILED

    def to_json(self) -> dict[str, Any]:
        """What ``fleet mission status --json`` prints."""
        total = len(self.tasks)
        return {
            "mission_id": self.id,
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason,
            "inspections": {"done": len(self.done), "total": total,
                            "failed": len(self.failed), "dropped": len(self.dropped),
                            "blocked": len(self.blocked),
                            "waiting": len(self.pool)},
            "robots": [a.to_json() for a in self.assignments.values()],
            "done": self.done,
            "dropped": self.dropped,
            "blocked": self.blocked,
            "refusals": [r.to_json() for r in self.refusals.values()],
            "control": None if self.control is None else self.control.to_json(),
        }

    def snapshot(self) -> dict[str, Any]:
        """What is persisted so that a restarted manager can pick the mission up."""
        return {
            "map": self.map_doc,
            "assignments": [
                {"serial": a.serial, "manufacturer": a.manufacturer, "order_id": a.order_id,
                 "stops": [{"node": s.node_id, "actions": [x.to_json() for x in s.actions]}
                           for s in a.stops],
                 "inspections": a.inspections, "release_ahead": a.release_ahead,
                 "horizon": a.horizon,
                 "base_end": a.base_end, "update_id": a.update_id,
                 "done": sorted(a.done), "failed": sorted(a.failed), "active": a.active,
                 "reached": a.reached, "charges": [c.to_json() for c in a.charges],
                 "left": sorted(a.left)}
                for a in self.assignments.values()
            ],
            "pool": sorted(self.pool), "done": self.done, "failed": sorted(self.failed),
            "dropped": self.dropped, "driven_before": self.driven_before,
            "blocked": self.blocked,
            "handovers": self.handovers,
            "refusals": [r.to_json() for r in self.refusals.values()],
            "idleness": None if self.idleness is None else self.idleness.to_json(),
        }

    @classmethod
    def restore(cls, mission_id: str, name: str, status: MissionStatus, document: str,
                snapshot: dict[str, Any]) -> MissionRun:
        """Rebuild a mission a previous manager persisted; ``FleetError``-derived errors
        (map or mission problems) or ``KeyError``/``TypeError`` on a damaged snapshot."""
        from fleet.manager.dispatch import rebuild_assignment

        map_doc = snapshot["map"]
        spec = mission_spec(document, map_doc, name=name)
        run = cls(mission_id, name, spec, status, document=document, map_doc=dict(map_doc))
        run.pool = set(snapshot["pool"])
        run.done = dict(snapshot["done"])
        run.failed = set(snapshot["failed"])
        run.dropped = dict(snapshot["dropped"])
        run.blocked = dict(snapshot.get("blocked", {}))
        run.driven_before = {k: list(v) for k, v in
                             (snapshot.get("driven_before") or {}).items()}
        run.handovers = {str(k): int(v) for k, v in (snapshot.get("handovers") or {}).items()}
        for r in snapshot.get("refusals") or ():
            refusal = OrderRefusals.from_json(r)
            run.refusals[refusal.serial] = refusal
        if snapshot.get("idleness"):
            run.idleness = Idleness.from_json(snapshot["idleness"])
        for data in snapshot["assignments"]:
            a = rebuild_assignment(mission_id, data, spec.facility)
            run.assignments[a.serial] = a
        return run


def mission_spec(document: str, map_doc: Mapping[str, str], *, name: str) -> MissionSpec:
    """The mission of ``document`` (a mission file's text) on the map ``map_doc`` (its
    file's ``name``, ``suffix`` and ``text``), as a launch, a restart and a schedule read
    them. MapError or MissionError (with the problems) when either does not load."""
    from fleet import yamldoc
    from fleet.errors import MissionError
    from fleet.facility import formats
    from fleet.planning.mission import mission_from_document

    facility = formats.parse(str(map_doc.get("text", "")), str(map_doc.get("suffix", ".yaml")),
                             file=str(map_doc.get("name") or "map"))
    doc = yamldoc.parse(document, file=name, error=MissionError)
    return mission_from_document(doc, file=name, facility=facility)
