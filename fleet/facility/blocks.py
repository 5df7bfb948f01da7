"""Space on the site: node capacities, waiting places and single-lane blocks.

Traffic control (:mod:`fleet.manager.traffic`) and the physical simulator (:mod:`sim.space`)
both read this layout, derived once per facility (:attr:`Facility.layout`).

**Capacity** is how many robots may stand at a node at once. The map's ``capacity`` wins;
without one the default is, in this order:

- ``2`` at docks, chargers, refuges and landings: rooms off the drift (a garage bay, a
  charging recess, a refuge chamber's apron, a shaft inset), where one robot rests and
  another still fits beside it;
- ``2`` at a node tagged ``passing-bay`` (a widened stretch cut for passing);
- ``1`` at a node every edge of which is single-lane and that joins at most two of them:
  a point inside an entry, crosscut or belt roadway, where one robot fills the section;
- ``2`` everywhere else: a node on a two-way road, or a junction of three or more drifts
  (the intersection is wider than the roadways meeting there).

These are engineering defaults (a crawler is about a metre wide; a single-lane entry two to
three metres), not figures from a standard: a site states the real ones in its map.

**Places** are the nodes where a robot may wait without shutting a single-lane stretch:
every node with a capacity of two or more, every dock, charger, refuge and landing, and
every node on a two-way road. The other nodes lie *inside* blocks.

**Blocks** are the maximal single-lane stretches between places: the single-lane edges,
joined where they meet at a node inside a block. A block is what traffic control reserves,
for one direction at a time; its *ends* are the places it touches. A block with no end at
all (a single-lane network with nowhere to wait) is a map problem: :func:`block_problems`.

**Passing bays** are the places the map cut into a single-lane network so robots can meet
there: a node that is no room (rooms are places anyway and drawn as what they are), all of
whose edges are single-lane, with a capacity of two or more, that is tagged
``passing-bay`` or joins two single-lane edges and has a ``capacity`` from the map (a
widened point of a drift). A junction of three single-lane drifts is a place by default
but not a bay (nobody cut it for passing), nor is a chamber given a capacity, unless
tagged. Rendering marks the bays (:meth:`TrafficLayout.passing_bays`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from fleet.facility.model import Edge, Facility, Node, NodeKind

PASSING_BAY_TAG = "passing-bay"
"""The node tag of a passing bay: default capacity 2, a place."""

ROOM_KINDS = frozenset({NodeKind.DOCK, NodeKind.CHARGER, NodeKind.REFUGE, NodeKind.LANDING})
"""Node kinds that are rooms off the drift: always places, default capacity 2."""

ROOM_CAPACITY = 2
"""Default capacity of a room (:data:`ROOM_KINDS`), a passing bay, a two-way road node and
a junction of three or more drifts."""


def default_capacity(node: Node, edges: Sequence[Edge]) -> int:
    """The capacity of ``node`` when the map gives none; ``edges`` are those touching it
    (see the module docstring for the rules)."""
    if node.kind in ROOM_KINDS or PASSING_BAY_TAG in node.tags:
        return ROOM_CAPACITY
    if edges and all(e.single_lane for e in edges) and len(edges) <= 2:
        return 1
    return ROOM_CAPACITY


@dataclass(frozen=True)
class Block:
    """A maximal single-lane stretch: its ``edges`` (keys in file order), the ``inside``
    nodes (capacity 1, single-lane all round) and the ``ends`` (places it touches, sorted).
    ``id`` names it by its ends (or its far node for a dead end), unique in the site;
    ``length_m`` is the sum of its edges' lengths (metres)."""

    id: str
    edges: tuple[tuple[str, str], ...]
    inside: frozenset[str]
    ends: tuple[str, ...]
    length_m: float = 0.0


@dataclass(frozen=True)
class TrafficLayout:
    """Capacities, places and blocks of a site (see the module docstring)."""

    capacity: Mapping[str, int]
    places: frozenset[str]
    blocks: tuple[Block, ...]
    block_of_edge: Mapping[tuple[str, str], str]
    """Block id of every single-lane edge, under both ``(a, b)`` and ``(b, a)``."""
    bays: frozenset[str] = frozenset()
    """The passing bays (module docstring); :meth:`passing_bays` lists them sorted."""
    junctions: frozenset[str] = frozenset()
    """Nodes joining three or more others: robots pass them but do not wait there (a
    robot standing in a junction is in the way of every robot crossing it)."""

    @classmethod
    def of(cls, fac: Facility) -> TrafficLayout:
        """The layout of a built facility."""
        return derive(list(fac.nodes.values()), fac.edges)

    def block(self, block_id: str) -> Block:
        """The block with this id; KeyError naming it when unknown."""
        for b in self.blocks:
            if b.id == block_id:
                return b
        raise KeyError(f"unknown block {block_id!r}")

    def is_place(self, node_id: str) -> bool:
        """Whether a robot may wait at the node without shutting a block."""
        return node_id in self.places

    def passing_bays(self) -> list[str]:
        """The passing bays, sorted: places inside a single-lane network that the map made
        wider for robots to meet (the ``passing-bay`` tag, or a ``capacity`` of two or
        more on a node between two single-lane edges); not rooms, not junctions or
        chambers unless tagged (module docstring). What rendering marks and ``fleet map
        info`` counts."""
        return sorted(self.bays)

    def longest_block(self) -> Block | None:
        """The longest block (the first in order among equals); ``None`` without blocks."""
        return max(self.blocks, key=lambda b: b.length_m, default=None)


def derive(nodes: Sequence[Node], edges: Iterable[Edge]) -> TrafficLayout:
    """The layout of a map's parts (edges naming unknown nodes are ignored: validation
    reports them)."""
    by_id = {n.id: n for n in nodes}
    edges = [e for e in edges if e.source in by_id and e.target in by_id]
    touching: dict[str, list[Edge]] = defaultdict(list)
    for e in edges:
        touching[e.source].append(e)
        touching[e.target].append(e)
    capacity = {n.id: n.capacity if n.capacity is not None
                else default_capacity(n, touching[n.id]) for n in nodes}
    places = frozenset(
        n.id for n in nodes
        if capacity[n.id] >= 2 or n.kind in ROOM_KINDS
        or not touching[n.id] or not all(e.single_lane for e in touching[n.id]))
    bays = frozenset(
        n.id for n in nodes
        if n.kind not in ROOM_KINDS and capacity[n.id] >= 2 and touching[n.id]
        and all(e.single_lane for e in touching[n.id])
        and (PASSING_BAY_TAG in n.tags
             or (n.capacity is not None and len(touching[n.id]) == 2)))
    # union-find over the single-lane edges, joined at the nodes inside blocks
    lanes = [e for e in edges if e.single_lane]
    parent = list(range(len(lanes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_at: dict[str, int] = {}
    for i, e in enumerate(lanes):
        for end in (e.source, e.target):
            if end in places:
                continue
            j = first_at.setdefault(end, i)
            parent[find(i)] = find(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(lanes)):
        groups[find(i)].append(i)
    blocks: list[Block] = []
    block_of: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for members in sorted(groups.values()):
        keys = tuple(lanes[i].key for i in members)
        ends_seen = [x for k in keys for x in k if x in places]
        inside = frozenset(x for k in keys for x in k if x not in places)
        ends = tuple(sorted(set(ends_seen)))
        name = _name(ends, keys, inside)
        bid, k = name, 2
        while bid in taken:
            bid, k = f"{name}#{k}", k + 1
        taken.add(bid)
        length = sum(lanes[i].length for i in members)
        blocks.append(Block(bid, keys, inside, ends, length))
        for a, b in keys:
            block_of[(a, b)] = block_of[(b, a)] = bid
    neighbours: dict[str, set[str]] = defaultdict(set)
    for e in edges:
        neighbours[e.source].add(e.target)
        neighbours[e.target].add(e.source)
    junctions = frozenset(n for n, near in neighbours.items() if len(near) >= 3)
    return TrafficLayout(capacity, places, tuple(blocks), block_of, bays, junctions)


def _name(ends: tuple[str, ...], keys: tuple[tuple[str, str], ...],
          inside: frozenset[str]) -> str:
    if len(ends) >= 2:
        return "~".join(ends)
    # a dead end (or no end): named by its end and the inside node met last in file order
    far = [x for k in keys for x in k if x in inside]
    return "~".join([*ends, far[-1]]) if far else "~".join(keys[0])


def block_problems(nodes: Sequence[Node], edges: Sequence[Edge]) -> list[tuple[str, str]]:
    """``(node id, reason)`` for every block with no place at either end: robots meeting
    in it could neither pass nor wait anywhere."""
    layout = derive(nodes, edges)
    out = []
    for b in layout.blocks:
        if not b.ends:
            first = sorted(b.inside)[0]
            out.append((first, f"single-lane stretch {b.id} has no place to wait at either "
                               "end: give one of its nodes a capacity of 2 or more (or tag "
                               f"it {PASSING_BAY_TAG})"))
    return out


def cut_passing_bays(fac: Facility, spacing_m: float) -> Facility:
    """``fac`` with passing bays cut into its long blocks: walking each block from an end,
    the first waypoint at least ``spacing_m`` metres from the last place (or bay) is tagged
    ``passing-bay``. For generated sites (:mod:`sim.generated`): a real mine cuts them when
    it drives its drifts, and a generator that did not would make one robot at a time the
    rule in every long drift. Blocks no longer than ``spacing_m`` are left alone."""
    if not spacing_m > 0:
        raise ValueError(f"spacing must be a positive number of metres, got {spacing_m!r}")
    bays: set[str] = set()
    for b in fac.layout.blocks:
        if b.length_m <= spacing_m:
            continue
        near: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for u, v in b.edges:
            edge = fac.edge_between(u, v) or fac.edge_between(v, u)
            length = edge.length if edge is not None else 0.0
            near[u].append((v, length))
            near[v].append((u, length))
        start = b.ends[0] if b.ends else min(b.inside)
        seen, stack = {start}, [(start, 0.0)]
        while stack:
            node, since = stack.pop()
            for nxt, length in near[node]:
                if nxt in seen:
                    continue
                seen.add(nxt)
                far = since + length
                if nxt in b.inside and far >= spacing_m \
                        and fac.nodes[nxt].kind is NodeKind.WAYPOINT:
                    bays.add(nxt)
                    far = 0.0
                stack.append((nxt, far))
    nodes = {i: replace(n, tags=n.tags | {PASSING_BAY_TAG}) if i in bays else n
             for i, n in fac.nodes.items()}
    return replace(fac, nodes=nodes)
