"""Traffic control: reservations of places and blocks, deadlock-free by construction.

The property test steps robots on generated sites (single-lane chains, passing bays,
loops) in random order, as random delays would: robots move only through what traffic
control granted, and only into a node with room (as a robot's safety scanner would stop
it), so a deadlock shows as a state where no robot can do anything.
"""

from __future__ import annotations

import itertools
import random

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet.facility.blocks import PASSING_BAY_TAG
from fleet.facility.model import Edge, Facility, Level, Node, NodeKind, build_facility
from fleet.manager.traffic import Traffic, Wait


def line(spec: str, *, spurs: dict[str, str] | None = None) -> Facility:
    """A chain from a spec such as ``"A=b-c-D"``: capitals are passing bays, ``-`` a
    single-lane edge, ``=`` a two-way one; 50 m apart. ``spurs`` adds a dock per entry
    (dock id → chain node), joined by a two-way edge."""
    names = spec.replace("=", "-").split("-")
    seps = [c for c in spec if c in "-="]
    nodes = [Node(n, 50.0 * i, 0.0, tags=frozenset({PASSING_BAY_TAG}) if n.isupper()
                  else frozenset()) for i, n in enumerate(names)]
    edges = [Edge(a, b, 50.0, single_lane=s == "-")
             for (a, b), s in zip(itertools.pairwise(names), seps, strict=True)]
    for k, (dock, at) in enumerate((spurs or {}).items()):
        nodes.append(Node(dock, 50.0 * names.index(at), -20.0 - k, kind=NodeKind.DOCK))
        edges.append(Edge(dock, at, 20.0))
    if not any(n.kind is NodeKind.DOCK for n in nodes):
        nodes.append(Node("chg", -50.0, 0.0, kind=NodeKind.CHARGER))
        edges.append(Edge("chg", names[0], 50.0))
    return build_facility(name="t", levels=[Level("0")], nodes=nodes, edges=edges)


def test_two_robots_meeting_in_a_drift_one_waits_at_its_end() -> None:
    fac = line("A-b-c-d-E")
    t = Traffic(fac.layout)
    t.follow("R1", ["A", "b", "c", "d", "E"])
    t.follow("R2", ["E", "d", "c", "b", "A"])
    assert t.extend("R1", 4, now=0.0) == 4  # the whole block, to its far end
    assert t.extend("R2", 4, now=0.0) == 0
    wait = t.waiting("R2")
    assert wait == Wait("block", "A~E", ("R1",))
    assert wait.describe() == "waiting for block A~E (held by R1)"
    assert t.reached("R1", 2)  # it left A: A's slot is free, the block is not
    assert t.extend("R2", 4, now=2.0) == 0
    assert t.reached("R1", 4)
    assert t.extend("R2", 4, now=5.0) == 4
    assert t.waiting("R2") is None


def test_robots_going_the_same_way_share_a_block() -> None:
    t = Traffic(line("A-b-c-D", spurs={"d1": "A", "d2": "A"}).layout)
    t.follow("R1", ["A", "b", "c", "D"])
    t.follow("R2", ["A", "b", "c", "D"])
    assert t.extend("R1", 3, now=0.0) == 3
    assert t.extend("R2", 3, now=0.0) == 3
    assert t.holding("R2")[1] == ("A~D",)


def test_a_robot_turning_round_in_a_dead_end_holds_it_alone() -> None:
    t = Traffic(line("A-b-c", spurs={"d1": "A"}).layout)
    t.follow("R1", ["A", "b", "c", "b", "A"])
    t.follow("R2", ["A", "b", "A"])
    assert t.extend("R1", 4, now=0.0) == 4
    assert t.extend("R2", 2, now=0.0) == 0
    assert t.waiting("R2") is not None and t.waiting("R2").kind == "block"  # type: ignore[union-attr]


def test_a_full_place_is_not_granted_and_a_grant_never_shuts_the_only_way() -> None:
    # X is a place for one robot (capacity 1 by the map); R1 parked at X for good would
    # shut R2's only way through it, so R1 is not let in while R2 still has to pass
    nodes = [Node("A", 0, 0, kind=NodeKind.DOCK), Node("X", 50, 0, capacity=1,
                                                       kind=NodeKind.REFUGE),
             Node("B", 100, 0, kind=NodeKind.DOCK)]
    edges = [Edge("A", "X", 50.0), Edge("X", "B", 50.0)]
    fac = build_facility(name="t", levels=[Level("0")], nodes=nodes, edges=edges)
    t = Traffic(fac.layout)
    t.follow("R1", ["A", "X"])
    t.follow("R2", ["A", "X", "B"])
    assert t.extend("R1", 1, now=0.0) == 0
    assert t.waiting("R1") == Wait("way", "X", ("R2",))
    assert t.extend("R2", 2, now=0.0) == 2  # through X to B
    assert t.extend("R1", 1, now=0.0) == 0
    assert t.waiting("R1") == Wait("place", "X", ("R2",))
    t.reached("R2", 2)
    assert t.extend("R1", 1, now=1.0) == 1


def test_a_lost_robot_keeps_its_block_and_shuts_the_way() -> None:
    t = Traffic(line("A-b-c-D", spurs={"d1": "A", "d2": "D"}).layout)
    t.follow("R1", ["A", "b", "c", "D"])
    t.follow("R2", ["D", "c", "b", "A"])
    assert t.extend("R1", 3, now=0.0) == 3
    t.reached("R1", 1)
    t.lose("R1")
    assert "R2" not in t.can_finish()
    assert t.extend("R2", 3, now=0.0) == 0
    # it holds the block it stands in; what it was granted beyond (D) is free
    assert t.obstacles() == {"A~D": ("block", "R1", True)}
    t.forget("R1")  # a supervisor cleared it
    assert t.extend("R2", 3, now=9.0) == 3


def test_a_robot_lost_at_a_place_shuts_nothing_it_did_not_stand_in() -> None:
    t = Traffic(line("A-b-c-D", spurs={"d1": "A", "d2": "D"}).layout)
    t.follow("R1", ["d1", "A", "b", "c", "D"])
    assert t.extend("R1", 4, now=0.0) == 4
    t.reached("R1", 1)
    t.lose("R1", driving=False)  # stopped at A: one slot of A's two
    assert t.obstacles() == {"A": ("place", "R1", True)}
    t.follow("R2", ["d2", "D", "c", "b", "A", "d1"])
    assert t.extend("R2", 5, now=0.0) == 5
    t.forget("R2")
    t.lose("R1", driving=True)  # was already driving into the block
    assert "A~D" in t.obstacles()


def test_long_waits_are_reported_once() -> None:
    t = Traffic(line("A-b-C").layout)
    t.follow("R1", ["A", "b", "C"])
    t.follow("R2", ["C", "b", "A"])
    t.extend("R1", 2, now=0.0)
    t.extend("R2", 2, now=0.0)
    assert t.long_waits(10.0, 30.0) == []
    assert [s for s, _, _ in t.long_waits(31.0, 30.0)] == ["R2"]
    assert t.long_waits(40.0, 30.0) == []
    assert t.waited("R2", 40.0) == 40.0


# -- the property: never a deadlock --------------------------------------------------------

@st.composite
def sites(draw: st.DrawFn) -> tuple[Facility, dict[str, list[str]], int]:
    """A chain of 4-14 nodes with single-lane and two-way edges, passing bays, a few
    chords (loops), one dock per robot off a random node, and a round per robot from its
    dock through 1-3 random nodes back to it."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(4, 14))
    robots = draw(st.integers(2, 20))
    p_single = draw(st.sampled_from([0.5, 0.8, 1.0]))
    names = [f"n{i}" for i in range(n)]
    bays = {0, n - 1} | {i for i in range(n) if rng.random() < 0.25}
    nodes = [Node(m, 50.0 * i, 10.0 * (i % 2),
                  tags=frozenset({PASSING_BAY_TAG}) if i in bays else frozenset())
             for i, m in enumerate(names)]
    edges = [Edge(a, b, 50.0, single_lane=rng.random() < p_single)
             for a, b in itertools.pairwise(names)]
    chords: set[tuple[int, int]] = set()
    for _ in range(rng.randint(0, 2)):
        i, j = sorted(rng.sample(range(n), 2))
        if j - i > 1 and (i, j) not in chords:
            chords.add((i, j))
            edges.append(Edge(names[i], names[j], 50.0 * (j - i),
                              single_lane=rng.random() < p_single))
    for k in range(robots):
        at = rng.randrange(n)
        nodes.append(Node(f"d{k}", 50.0 * at, -30.0 - k, kind=NodeKind.DOCK))
        edges.append(Edge(f"d{k}", names[at], 30.0, single_lane=rng.random() < 0.5))
    fac = build_facility(name="g", levels=[Level("0")], nodes=nodes, edges=edges)
    g = nx.Graph()
    g.add_edges_from((e.source, e.target, {"w": e.length}) for e in edges)
    routes = {}
    for k in range(robots):
        home = f"d{k}"
        others = {f"d{j}" for j in range(robots) if j != k}
        sub = g.subgraph(set(g) - others)
        stops = [home, *rng.sample(names, rng.randint(1, 3)), home]
        route = [home]
        for a, b in itertools.pairwise(stops):
            route += nx.shortest_path(sub, a, b, weight="w")[1:]
        routes[f"R{k}"] = route
    return fac, routes, draw(st.integers(0, 2**32 - 1))


def step_until_done(fac: Facility, routes: dict[str, list[str]], seed: int,
                    window: int = 4) -> dict[str, int]:
    """Robots in random order move one node along what they were granted (when the node
    has room), or ask for more; returns where each ended. Fails on a deadlock."""
    rng = random.Random(seed)
    t = Traffic(fac.layout)
    cap = fac.layout.capacity
    at = {s: 0 for s in routes}
    granted = {s: 0 for s in routes}
    for s, route in routes.items():
        t.follow(s, route)
    where = {s: r[0] for s, r in routes.items()}
    steps = 0
    while any(at[s] < len(routes[s]) - 1 for s in routes):
        steps += 1
        assert steps < 100_000
        moved = False
        order = list(routes)
        rng.shuffle(order)
        for s in order:
            route = routes[s]
            if at[s] >= len(route) - 1 or rng.random() < 0.3:  # a random delay
                continue
            if at[s] < granted[s]:
                nxt = route[at[s] + 1]
                if sum(1 for w in where.values() if w == nxt) < cap[nxt]:
                    at[s] += 1
                    where[s] = nxt
                    t.reached(s, at[s])
                    moved = True
                continue
            before = granted[s]
            granted[s] = t.extend(s, at[s] + window, now=float(steps))
            moved |= granted[s] > before
        if not moved:
            # nobody moved this round: either a random delay (try again) or a deadlock
            stuck = all(
                at[s] >= len(routes[s]) - 1 or (
                    at[s] == granted[s] and t.extend(s, at[s] + window, float(steps)) == at[s])
                or (at[s] < granted[s] and sum(1 for w in where.values()
                                               if w == routes[s][at[s] + 1])
                    >= cap[routes[s][at[s] + 1]])
                for s in routes)
            assert not stuck, f"deadlock: {at} granted {granted} waits " \
                f"{ {s: t.waiting(s) for s in routes} }"
        for place, n in _counts(where).items():
            assert n <= cap[place], f"{place} holds {n} robots (capacity {cap[place]})"
    return at


def _counts(where: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for w in where.values():
        out[w] = out.get(w, 0) + 1
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sites())
def test_no_deadlock_on_generated_sites(case: tuple[Facility, dict[str, list[str]], int]) -> None:
    fac, routes, seed = case
    at = step_until_done(fac, routes, seed)
    assert all(at[s] == len(r) - 1 for s, r in routes.items())


@pytest.mark.parametrize("seed", range(3))
def test_swapping_the_ends_of_a_drift_with_one_bay(seed: int) -> None:
    fac = line("A-b-c-d-M-e-f-g-B", spurs={"da": "A", "db": "B"})
    routes = {"R1": ["da", "A", "b", "c", "d", "M", "e", "f", "g", "B", "db"],
              "R2": ["db", "B", "g", "f", "e", "M", "d", "c", "b", "A", "da"]}
    at = step_until_done(fac, routes, seed)
    assert at == {"R1": 10, "R2": 10}
