"""What ``fleet demo`` shows of the methane interlock (docs/gas-safety.md): robots locked
out and reset, gas closures opened and reopened, who finished the points of the face, and
the check that no robot unrated for a closure was inside it while it was open.

The demo follows the manager through its query API (``robots``, ``closures/list``) as a
supervisor would; the check uses the states the robots published
(:class:`sim.closure_watch.StateLog`), not the manager's belief.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet.facility.model import Facility
from fleet.facility.protection import stays_energised
from fleet.protocol.inspection import InspectionResult
from sim.closure_watch import ClosedArea, StateLog, intrusions
from sim.runner import SimRun

FACE_TAG = "face"
"""Map tag of the points of a coal face (whose finishers the demo names)."""


@dataclass
class Interlock:
    """The interlock's part of a demo's summary."""

    lockouts: list[dict[str, Any]] = field(default_factory=list)
    """``{serial, node, reading, reset}`` per lockout seen, in order."""
    closures: list[dict[str, Any]] = field(default_factory=list)
    """The manager's closures (``closures/list``), oldest first."""
    face: dict[str, str] = field(default_factory=dict)
    """Face point → the robot whose result for it was stored last."""
    unrated: list[str] = field(default_factory=list)
    """The robots not rated to stay energised in firedamp (not Ma)."""
    intrusions: list[str] = field(default_factory=list)
    """States of unrated robots inside an open closure (empty when the check holds)."""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (the summary's ``interlock``)."""
        return {"lockouts": self.lockouts, "closures": self.closures, "face": self.face,
                "unrated": self.unrated, "intrusions": self.intrusions,
                "no_unrated_robot_inside_a_closure": not self.intrusions}

    def problems(self) -> list[str]:
        """What the interlock part of the demo did not show as it should."""
        return [f"a robot not rated Ma was inside a gas closure: {line}"
                for line in self.intrusions[:3]]


class InterlockWatch:
    """Follows the interlock during a demo run (see the module docstring)."""

    def __init__(self, sim: SimRun) -> None:
        self.log = StateLog(sim)
        self._status: dict[str, str] = {}
        self._lockouts: dict[str, dict[str, Any]] = {}
        self._closures: dict[int, dict[str, Any]] = {}

    def notice(self, sim: SimRun, robots: Iterable[Mapping[str, Any]],
               event: Callable[[str, str], None]) -> None:
        """Turn lockouts, resets and closures seen since the last look into events."""
        for r in robots:
            serial = str(r["serial"])
            was, now = self._status.get(serial), str(r["status"])
            self._status[serial] = now
            lockout = r.get("lockout")
            if now == "locked_out" and was != "locked_out" and lockout:
                reading = f"{lockout['sensor']} {lockout['value']:g} {lockout['unit']}"
                self._lockouts[serial] = {"serial": serial, "node": lockout["node"],
                                          "reading": reading, "reset": False}
                event("lockout", f"{serial} locked out at {lockout['node']}: {reading} "
                      f"(power-off level {lockout['power_off']:g}); its points go to others")
            elif was == "locked_out" and now != "locked_out":
                if serial in self._lockouts:
                    self._lockouts[serial]["reset"] = True
                event("reset", f"{serial} reset by people, back in service")
        for c in sim.ask("closures/list", {"all": True}):
            known = self._closures.get(int(c["id"]))
            if known is None:
                event("closure", f"C-{c['id']} closes {c['area']} round {c['node']} "
                      f"({len(c['nodes'] or ())} nodes) to robots not rated Ma: "
                      f"{c['source']} read {c['sensor']} {c['value']:g} {c['unit']}")
            if c.get("reopened_at") and (known is None or not known.get("reopened_at")):
                event("reopen", f"C-{c['id']} reopened by {c['reopened_by']}")
            self._closures[int(c["id"])] = dict(c)

    def result(self, sim: SimRun, facility: Facility,
               results: Sequence[InspectionResult]) -> Interlock:
        """The interlock's summary once the run is over."""
        unrated = {r.serial for r in sim.robots if not stays_energised(r.robot_class.ratings)}
        closures = sorted(self._closures.values(), key=lambda c: int(c["id"]))
        face = {r.inspection_point_id: r.header.serial_number for r in results
                if FACE_TAG in facility.nodes[r.inspection_point_id].tags} \
            if results else {}
        return Interlock(
            lockouts=list(self._lockouts.values()), closures=closures,
            face=dict(sorted(face.items())), unrated=sorted(unrated),
            intrusions=intrusions(self.log.states(),
                                  [ClosedArea.of_json(c) for c in closures], facility,
                                  unrated))


__all__ = ["FACE_TAG", "Interlock", "InterlockWatch"]
