"""Plausibility: a result must have been taken where its inspection point is.

A result names its order and action; the manager knows which inspection point that action
was placed at (the assignment's ``inspections``), the point is a node of the mission's
facility, and the node has a level and coordinates. A result whose ``agvPosition`` says
another level (``mapId`` is the level's id, as in ``state``), or a place farther than
:data:`POSITION_TOLERANCE_M` from the point in the level's plane, cannot be a measurement
of that point: the manager refuses it with the reason (docs/protocol.md, "Plausibility")
rather than file readings from level L-350 under a point on level L-420.

A result the manager cannot place is accepted unchecked: its order is not one of the live
missions' (a restarted manager without the mission, a manual order) and the point it
names is not a node of any live mission's facility, or its position says
``positionInitialized: false`` (the robot does not know where it is; VDA 5050 makes the
position optional in ``state`` for such robots, and our result schema keeps the object
required but lets the robot say so).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from fleet.facility.model import Facility, Node
from fleet.manager.missions import MissionRun
from fleet.protocol.inspection import InspectionResult

POSITION_TOLERANCE_M = 3.0
"""Metres, in the level's plane, that a result's position may lie from its inspection
point. A robot measures standing at the point's node: it stops there within its own
arrival tolerance (5 cm for :mod:`fleet.agent`'s bodies, 0.25 m for Nav2's default
``xy_goal_tolerance``; our orders leave ``allowedDeviationXY`` unset, i.e. the
manufacturer's normal tolerance), and its localisation drifts more underground than on a
factory floor (lidar SLAM in long featureless drifts: errors of a metre or two are
common before a loop closure). 3 m covers both with a margin, and is still well under
the spacing of the inspection points of our maps (tens of metres), so a result taken at
another point, or on its way there, is refused."""


def point_of(result: InspectionResult, missions: Iterable[MissionRun]
             ) -> tuple[str, Node] | None:
    """The inspection point ``result`` was taken for and its node, or None when unknown:
    the point the manager placed the result's action at (its order's assignment), else the
    point the result names when exactly one live mission's site has a node of that id (two
    sites may reuse ids: then nothing is checked rather than the wrong node). The caller
    holds the manager's lock."""
    sites: dict[str, Facility] = {}
    for run in missions:
        facility = run.spec.facility
        for a in run.assignments.values():
            if a.order_id == result.order_id:
                point = a.inspections.get(result.action_id)
                if point is not None and point in facility.nodes:
                    return point, facility.nodes[point]
        if result.inspection_point_id in facility.nodes:
            sites.setdefault(facility.name, facility)
    if len(sites) != 1:
        return None
    [facility] = sites.values()
    return result.inspection_point_id, facility.nodes[result.inspection_point_id]


def implausible(result: InspectionResult, point: str, node: Node, *,
                tolerance: float = POSITION_TOLERANCE_M) -> str | None:
    """Why ``result`` cannot have been taken at inspection point ``point`` (at ``node``),
    in one line naming both levels, or the distance and the tolerance; None when it can
    (or its position is not initialised: nothing to check)."""
    p = result.agv_position
    if not p.position_initialized:
        return None
    if p.map_id != node.level:
        return (f"result {result.result_id} was taken on level {p.map_id!r} but its "
                f"inspection point {point!r} is on level {node.level!r}")
    distance = math.hypot(p.x - node.x, p.y - node.y)
    if not distance <= tolerance:  # a NaN position is refused too
        return (f"result {result.result_id} was taken {distance:.1f} m from its inspection "
                f"point {point!r} on level {node.level!r} (tolerance {tolerance:g} m)")
    return None
