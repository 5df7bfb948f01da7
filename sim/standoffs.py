"""Who waits for whom among simulated robots, and the standoffs and deadlocks that follow.

:class:`~sim.space.Space` keeps one open :class:`Wait` per robot held up by others; this
module turns them into a wait-for graph (robot → the robots it waits for) and finds its
cycles (strongly connected components: every robot of one waits, directly or not, for
every other). :class:`Standoffs` counts *episodes*:

- a **head-on standoff** is a cycle holding an ``oncoming`` wait whose blocker is in the
  cycle: a robot standing at the end of a single-lane edge while a robot on that edge drives
  towards it (and, typically, waits for the node the first one fills);
- a **deadlock** is any cycle that has lasted ``deadlock_s`` world seconds.

An episode is a cycle followed over time: a cycle found at a later look that shares a robot
with one found before continues it (a third robot joining a standoff is not a new one), so
each is counted once however long it lasts and however often it is looked at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import networkx as nx


class WaitKind(StrEnum):
    """Why a robot waits for others."""

    NODE_FULL = "node_full"
    """The next node holds as many robots as its capacity: the robot waits at the end of
    its edge (still on it)."""
    ONCOMING = "oncoming"
    """A robot drives the other way on the single-lane edge it wants: it waits at the
    edge's start node."""
    AHEAD = "ahead"
    """The robot ahead on the same edge and direction is within the safety gap (of the
    entry, or of this robot), or has not left the edge yet."""
    REVERSE = "reverse"
    """The robot wants to drive back along its edge while others are on it."""


@dataclass(frozen=True)
class Wait:
    """An open wait: ``serial`` has waited since world time ``since`` at ``where`` (a node
    id, or ``"a->b"`` for an edge driven from a to b) for ``blockers``, for ``kind``."""

    serial: str
    kind: WaitKind
    where: str
    blockers: tuple[str, ...]
    since: float


@dataclass
class _Episode:
    members: frozenset[str]
    since: float
    standoff: bool = False
    deadlock: bool = False


@dataclass
class Standoffs:
    """Episode counts over successive looks at the open waits (:meth:`look`); not
    thread-safe (the Space calls it under its lock)."""

    deadlock_s: float
    standoffs: int = 0
    deadlocks: int = 0
    _episodes: list[_Episode] = field(default_factory=list)
    _stuck: frozenset[str] = frozenset()

    def look(self, waits: Mapping[str, Wait], now: float) -> None:
        """Find the cycles among ``waits`` at world time ``now`` and count new episodes."""
        graph: nx.DiGraph = nx.DiGraph()
        for w in waits.values():
            graph.add_edges_from((w.serial, b) for b in w.blockers)
        episodes: list[_Episode] = []
        for component in nx.strongly_connected_components(graph):
            if len(component) < 2:
                continue  # a robot never waits for itself
            members = frozenset(component)
            # a cycle exists since the last of its waits began
            since = max(waits[s].since for s in members if s in waits)
            before = [e for e in self._episodes if e.members & members]
            episode = _Episode(members, min([since, *(e.since for e in before)]),
                               any(e.standoff for e in before),
                               any(e.deadlock for e in before))
            if not episode.standoff and any(
                    waits[s].kind is WaitKind.ONCOMING and set(waits[s].blockers) & members
                    for s in members if s in waits):
                episode.standoff = True
                self.standoffs += 1
            if not episode.deadlock and now - episode.since >= self.deadlock_s:
                episode.deadlock = True
                self.deadlocks += 1
            episodes.append(episode)
        self._episodes = episodes
        locked = set().union(*(e.members for e in episodes if e.deadlock))
        # robots waiting (directly or not) for a deadlocked cycle cannot move either
        for s in list(locked):
            locked |= nx.ancestors(graph, s)
        self._stuck = frozenset(locked)

    @property
    def stuck(self) -> frozenset[str]:
        """Robots in a deadlock, or waiting for one, at the last look."""
        return self._stuck

    @property
    def cycles(self) -> tuple[frozenset[str], ...]:
        """The waiting cycles found at the last look."""
        return tuple(e.members for e in self._episodes)
