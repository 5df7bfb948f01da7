"""Where the robots were while gas closures were open, from the states they published
(docs/gas-safety.md, "Gas closures"): the check that no robot unrated for a closure stood
inside it, made on what the robots said, not on what the manager believed.

:class:`StateLog` records every state the robots publish (a subscriber of its own on the
run's observer session), with the robot's own timestamp (the scaled world clock its
results carry too). :func:`intrusions` then lists each state of an unrated robot whose
node or position lies inside a closure between its opening and its reopening. A state
carrying the FATAL ``methaneLockout`` error is left out: that robot stands powered off
where it locked itself out (inside the closure its own reading opened), the one robot the
interlock stopped there rather than kept out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shapely.geometry import LineString, Point
from shapely.ops import unary_union

from fleet.facility.model import Facility
from fleet.protocol.header import parse_timestamp
from fleet.protocol.keys import ParsedKey, Topic, subscription_key
from fleet.protocol.state import METHANE_LOCKOUT, ErrorLevel, State
from fleet.store import ClosureRow
from sim.runner import SimRun

WIDTH_M = 1.0
"""Half-width (m) of the closed area round its nodes and the edges between them (the
manager's own closure zones are as wide: fleet.manager.closures)."""


@dataclass(frozen=True)
class Seen:
    """A state as a robot published it."""

    stamped: datetime
    """The robot's own timestamp (its header)."""
    serial: str
    node: str
    x: float | None
    y: float | None
    locked: bool
    """The state carries the FATAL methaneLockout error."""


@dataclass(frozen=True)
class ClosedArea:
    """A closure: its nodes, and when it was open (``reopened`` None: still open)."""

    closure_id: int
    nodes: frozenset[str]
    opened: datetime
    reopened: datetime | None

    @classmethod
    def of_row(cls, row: ClosureRow) -> ClosedArea:
        """From the store's row."""
        return cls(row.id or 0, frozenset(str(n) for n in row.nodes or ()), row.opened_at,
                   row.reopened_at)

    @classmethod
    def of_json(cls, c: Mapping[str, Any]) -> ClosedArea:
        """From a ``closures/list`` answer's closure."""
        return cls(int(c["id"]), frozenset(str(n) for n in c.get("nodes") or ()),
                   parse_timestamp(str(c["opened_at"])),
                   parse_timestamp(str(c["reopened_at"])) if c.get("reopened_at") else None)


class StateLog:
    """Every state the robots of ``run`` publish from now on (thread-safe)."""

    def __init__(self, run: SimRun) -> None:
        if run.observer is None:
            raise ValueError("the run has no observer session: start it first")
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        run.observer.subscribe(subscription_key(run.options.interface, Topic.STATE),
                               self._on_state)

    def _on_state(self, key: ParsedKey, message: object) -> None:
        if not isinstance(message, State):
            return
        pos = message.agv_position
        seen = Seen(parse_timestamp(message.header.timestamp), key.serial,
                    message.last_node_id, None if pos is None else pos.x,
                    None if pos is None else pos.y,
                    any(e.error_type == METHANE_LOCKOUT and e.level is ErrorLevel.FATAL
                        for e in message.errors))
        with self._lock:
            self._seen.append(seen)

    def states(self) -> list[Seen]:
        """The states recorded so far, in the order they arrived."""
        with self._lock:
            return list(self._seen)


def intrusions(states: Iterable[Seen], closures: Iterable[ClosedArea], facility: Facility,
               unrated: set[str]) -> list[str]:
    """One line per state of a robot in ``unrated`` that lies inside a closure while it
    was open (its node is one of the closure's, or its position lies within
    :data:`WIDTH_M` of them and the edges between them); locked-out states excepted (see
    the module docstring). Empty when none."""
    areas = []
    for c in closures:
        nodes = [n for n in c.nodes if n in facility.nodes]
        shapes = [Point(facility.nodes[n].x, facility.nodes[n].y).buffer(WIDTH_M)
                  for n in nodes]
        shapes += [LineString([(facility.nodes[e.source].x, facility.nodes[e.source].y),
                               (facility.nodes[e.target].x, facility.nodes[e.target].y)])
                   .buffer(WIDTH_M) for e in facility.edges
                   if e.source in c.nodes and e.target in c.nodes]
        areas.append((c, unary_union(shapes)))
    out = []
    for s in states:
        if s.serial not in unrated or s.locked:
            continue
        for c, area in areas:
            if s.stamped < c.opened or (c.reopened is not None and s.stamped > c.reopened):
                continue
            if s.node in c.nodes or (s.x is not None and s.y is not None
                                     and area.contains(Point(s.x, s.y))):
                out.append(f"{s.serial} at {s.node} ({s.x}, {s.y}) inside closure "
                           f"C-{c.closure_id} at {s.stamped:%H:%M:%S}")
    return out


__all__ = ["ClosedArea", "Seen", "StateLog", "intrusions"]
