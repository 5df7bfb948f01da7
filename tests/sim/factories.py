"""Small facilities and scenarios for the simulator tests."""

from __future__ import annotations

from pathlib import Path

from shapely.geometry import Polygon

from fleet.facility.model import (
    Edge,
    Facility,
    Level,
    Node,
    NodeKind,
    Zone,
    ZoneKind,
    build_facility,
)
from sim.scenario import Fault, Scenario
from sim.world import AnySource, WorldSpec

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "sim" / "scenarios"
TINY_MAP = ROOT / "tests" / "data" / "maps" / "tiny.yaml"


def u_bend() -> Facility:
    """A U-shaped drift round a pillar, and a straight spur.

    ``src`` at (0, 0); ``near`` at (20, 0) is 20 m away in a straight line but 220 m along the
    drifts (up to ``a``, across to ``b``, down); ``spur`` at (0, -60) is 60 m away both ways.
    ``door`` lies behind a closed edge from ``src``; ``dock`` is 20 m past ``spur``. The
    comms-dead zone ``pocket`` covers the top of the U (``b`` and the middle of ``a``-``b``).
    """
    def node(i: str, x: float, y: float, kind: NodeKind = NodeKind.INSPECTION) -> Node:
        return Node(i, x, y, level="L", kind=kind)

    return build_facility(
        name="U bend",
        levels=[Level("L")],
        nodes=[node("src", 0, 0), node("a", 0, 100), node("b", 20, 100), node("near", 20, 0),
               node("spur", 0, -60), node("door", -30, 0, NodeKind.WAYPOINT),
               node("dock", 0, -80, NodeKind.DOCK)],
        edges=[Edge("src", "a", 100.0), Edge("a", "b", 20.0), Edge("b", "near", 100.0),
               Edge("src", "spur", 60.0), Edge("src", "door", 30.0, closed=True),
               Edge("spur", "dock", 20.0)],
        zones=[Zone("pocket", ZoneKind.COMMS_DEAD, "L",
                    polygon=_square(10, 90, 30, 110))],
    )


def _square(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


def scenario_on(facility: Facility, *sources: AnySource, seed: int = 1,
                faults: tuple[Fault, ...] = ()) -> Scenario:
    """A scenario of ``facility`` with default sensors and the given sources."""
    return Scenario(name="test", facility=facility, seed=seed,
                    world=WorldSpec(sources=tuple(sources)), faults=faults)
