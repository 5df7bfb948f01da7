"""The way out of a gas closure (:func:`fleet.manager.obstacles.way_out`) and the way home
(:meth:`fleet.manager.obstacles.Obstacles.way_home`), on a small in-memory coal mine with
a real closure (:class:`~fleet.manager.closures.Closures`, a SQLite file, a manual clock).

The mine is one drift, west to east (metres between the nodes)::

    D1 --50-- A --20-- B --20-- C --40-- E --30-- K --40-- D2
    dock                                          charger   dock

A power-off methane reading at B closes the nodes within 30 m along the drift: A, B, C.
Only robots rated Ma may then stand there or drive the edges touching them; an Mb robot
may go everywhere else, a Gc robot nowhere on a coal mine.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import networkx as nx
import pytest

from fleet.clock import ManualClock
from fleet.facility import Access, Edge, Epl, Facility, Level, Node, NodeKind, SiteKind
from fleet.interlock import default_levels
from fleet.manager.closures import Closures
from fleet.manager.core import Core, ManagerSettings
from fleet.manager.obstacles import Obstacles, way_out
from fleet.store import Store

from .test_queries import NoLink

DRIFT: tuple[tuple[str, float, NodeKind], ...] = (
    ("D1", 0.0, NodeKind.DOCK), ("A", 50.0, NodeKind.WAYPOINT),
    ("B", 70.0, NodeKind.WAYPOINT), ("C", 90.0, NodeKind.WAYPOINT),
    ("E", 130.0, NodeKind.WAYPOINT), ("K", 160.0, NodeKind.CHARGER),
    ("D2", 200.0, NodeKind.DOCK))
WHOLE = tuple(n for n, _, _ in DRIFT)
NO_D2 = WHOLE[:-1]  # the charger is the only home east of the closure
NO_HOME_EAST = WHOLE[:-2]  # nothing to go home to east of it
ONLY_CLOSED = ("A", "B", "C")  # the closure is all there is

MB = Access(frozenset({Epl.MB}))
MA = Access(frozenset({Epl.MA}))
GC = Access(frozenset({Epl.GC}))


def drift(names: Sequence[str], *, single_lane: bool = False) -> Facility:
    """The coal mine with the nodes ``names`` of :data:`DRIFT`, each joined to the next
    (by single-lane edges when ``single_lane``: A, B, C and E then lie inside one block)."""
    nodes = {n: Node(n, x, 0.0, level="L1", kind=kind) for n, x, kind in DRIFT if n in names}
    ordered = [n for n, _, _ in DRIFT if n in names]
    edges = tuple(Edge(a, b, nodes[b].x - nodes[a].x, single_lane=single_lane)
                  for a, b in itertools.pairwise(ordered))
    return Facility("drift", {"L1": Level("L1")}, nodes, edges, kind=SiteKind.COAL_MINE)


def drivable(fac: Facility, access: Access | None) -> nx.DiGraph:
    """The edges of ``fac`` a robot with ``access`` may drive (``length`` weights)."""
    g = nx.DiGraph()
    g.add_nodes_from(fac.graph.nodes)
    g.add_edges_from((u, v, {"length": d["length"]}) for u, v, d in fac.graph.edges(data=True)
                     if fac.traversable(d["edge"], access))
    return g


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(path=tmp_path / "fleet.db")
    yield s
    s.close()


def closed_at_b(store: Store, fac: Facility) -> Obstacles:
    """The obstacles of a manager that heard a fixed sensor at B read 2.0 % CH4."""
    core = Core(store, NoLink(), ManagerSettings(), ManualClock(0.0))
    closures = Closures(core)
    closures.add_site(fac)
    assert closures.observe("B", "sensor T-B", "ch4", 2.0, "%vol",
                            default_levels("ch4", SiteKind.COAL_MINE.value))
    [row] = closures.open()
    assert row.nodes == sorted(n for n in ("A", "B", "C") if n in fac.nodes)
    return Obstacles(core, closures)


@pytest.mark.parametrize(("names", "access", "node", "expected"), [
    # caught inside: the shortest way to the nearest node it may stand at, through the
    # closure if need be (the free graph ignores closures)
    (WHOLE, MB, "B", ["B", "C", "E"]),  # E is 60 m away, D1 70 m
    (WHOLE, MB, "A", ["A", "D1"]),
    (WHOLE, MB, "C", ["C", "E"]),
    # allowed where it stands: stays
    (WHOLE, MB, "E", ["E"]),
    (WHOLE, MB, "D1", ["D1"]),
    (WHOLE, MA, "B", ["B"]),  # Ma may stay energised in firedamp
    # nowhere to go
    (ONLY_CLOSED, MB, "B", None),
    (WHOLE, GC, "B", None),  # a coal mine admits no Gc robot anywhere
], ids=["mb-middle", "mb-west-edge", "mb-east-edge", "mb-outside", "mb-at-dock", "ma-inside",
        "all-closed", "gc-nowhere"])
def test_way_out(store: Store, names: Sequence[str], access: Access, node: str,
                 expected: list[str] | None) -> None:
    fac = drift(names)
    site = closed_at_b(store, fac).site(fac)
    assert not site.node_allowed("B", MB)  # the closure is a zone of the planning site
    assert way_out(site, drivable(fac, access), node, access) == expected


@pytest.mark.parametrize(("names", "access", "node", "expected"), [
    # out of the closure by the nearest exit (E), then the nearest dock it may reach: D2,
    # though the charger K is nearer (D1, behind the closure, is not reachable)
    (WHOLE, MB, "B", ["B", "C", "E", "K", "D2"]),
    (WHOLE, MB, "A", ["A", "D1"]),  # the nearest exit is a dock
    (NO_D2, MB, "B", ["B", "C", "E", "K"]),  # no dock reachable: the charger
    (WHOLE, MB, "E", ["E", "K", "D2"]),  # outside already; D1 is behind the closure
    (WHOLE, MA, "B", ["B", "A", "D1"]),  # Ma drives through: the nearest dock
    (NO_HOME_EAST, MB, "B", None),  # out to E, but neither dock nor charger from there
    (ONLY_CLOSED, MB, "B", None),
    (WHOLE, GC, "B", None),
], ids=["dock-past-charger", "exit-at-dock", "charger", "outside", "ma-through",
        "no-home", "all-closed", "gc-nowhere"])
def test_way_home(store: Store, names: Sequence[str], access: Access, node: str,
                  expected: list[str] | None) -> None:
    fac = drift(names)
    assert closed_at_b(store, fac).way_home(fac, node, access, "R1") == expected


def test_way_home_without_a_closure_is_the_way_to_the_nearest_dock(store: Store) -> None:
    fac = drift(WHOLE)
    core = Core(store, NoLink(), ManagerSettings(), ManualClock(0.0))
    obstacles = Obstacles(core)
    assert obstacles.way_home(fac, "B", MB, "R1") == ["B", "A", "D1"]
    assert obstacles.way_home(fac, "E", MB, "R1") == ["E", "K", "D2"]  # 70 m, D1 is 130 m


def test_a_robot_parked_in_a_drift_shuts_it_to_the_others_but_not_to_itself(
        store: Store) -> None:
    """A robot back in service from a lockout stands idle where it stopped, inside the
    single-lane drift: the others may not drive through it, but its own way home starts
    there (it was once stranded there, and with it every point the drift reaches)."""
    fac = drift(WHOLE, single_lane=True)
    core = Core(store, NoLink(), ManagerSettings(), ManualClock(0.0))
    obstacles = Obstacles(core)
    traffic = core.traffic_of(fac)
    assert traffic is not None
    traffic.park("R1", "B")
    shut = obstacles.shut(fac)
    assert shut and all("idle robot R1" in why for why in shut.values())
    assert obstacles.shut(fac, but="R1") == {}
    assert obstacles.way_home(fac, "B", MB, "R1") == ["B", "A", "D1"]
    # any other robot finds the drift from D1 to the charger K shut
    assert obstacles.way_home(fac, "K", MB, "R2") == ["K", "D2"]
    assert obstacles.way_home(fac, "C", MB, "R2") is None
