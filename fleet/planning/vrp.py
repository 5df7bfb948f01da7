"""The routing problem and its solution as plain, validated data (no solver here).

A :class:`Problem` holds matrices over *locations* (indices ``0..n-1``), the depots (docks,
chargers) and clients (inspection tasks) placed on them, and the vehicle types;
:func:`fleet.planning.solver.solve` turns it into a :class:`Solution`. Distances are metres,
times seconds after the plan's start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import numpy as np

from fleet.errors import PlanningError

Objective = Literal["makespan", "distance"]
OBJECTIVES: tuple[Objective, ...] = ("makespan", "distance")


@dataclass(frozen=True)
class Depot:
    """A place where routes start, end or reload (a dock or a charger).

    ``service`` is the seconds spent there when a route starts there and on each reload
    (e.g. charging), not when a route ends there (PyVRP's semantics): give a dock that is
    also a charger two depots on the same location if the start should not dwell.
    """

    location: int
    service: float = 0.0
    name: str = ""


@dataclass(frozen=True)
class Client:
    """A place to visit once (an inspection task).

    Service (``service`` seconds of dwell) must *start* within ``[tw_early, tw_late]``.
    Optional clients (``required=False``) may be dropped; among them higher ``priority``
    values are kept first. ``demand`` is the load per dimension (matching the vehicle
    types' ``capacity``); ``allowed`` lists the vehicle-type indices that may serve the
    client (``None``: all).
    """

    location: int
    service: float = 0.0
    tw_early: float = 0.0
    tw_late: float = math.inf
    required: bool = True
    priority: int = 1
    demand: tuple[int, ...] = ()
    allowed: frozenset[int] | None = None
    name: str = ""


@dataclass(frozen=True)
class VehicleType:
    """``count`` identical robots starting at ``start_depot`` and ending at ``end_depot``.

    ``end_depot=None`` means the start depot. ``profile`` selects the distance/duration
    matrices; ``capacity`` is per load dimension (empty: unlimited); times are seconds
    after the plan's start; ``max_duration`` bounds a route's end minus start,
    ``max_distance`` its length in metres (over all trips); ``reload_depots`` may be
    visited to empty the load (e.g. chargers when energy is a load dimension).
    """

    count: int = 1
    start_depot: int = 0
    end_depot: int | None = None
    profile: int = 0
    capacity: tuple[int, ...] = ()
    tw_early: float = 0.0
    tw_late: float = math.inf
    max_duration: float = math.inf
    max_distance: float = math.inf
    reload_depots: tuple[int, ...] = ()
    max_reloads: int | None = None
    name: str = ""

    @property
    def end(self) -> int:
        """The depot where routes end."""
        return self.start_depot if self.end_depot is None else self.end_depot


@dataclass(frozen=True, eq=False)
class Problem:
    """A routing problem over ``n`` locations; validated on construction.

    ``distances[p]`` (metres) and ``durations[p]`` (seconds) are the ``n x n`` matrices of
    profile ``p``; entry ``[i, j]`` is the leg from location ``i`` to ``j`` and may be
    ``inf`` when there is no way. Raises :class:`PlanningError` with a plain reason when
    anything is inconsistent.
    """

    distances: tuple[np.ndarray[Any, Any], ...]
    durations: tuple[np.ndarray[Any, Any], ...]
    depots: tuple[Depot, ...]
    clients: tuple[Client, ...]
    vehicle_types: tuple[VehicleType, ...]

    def __post_init__(self) -> None:
        # Accept any array-likes; keep float copies so later edits by the caller don't leak.
        for name in ("distances", "durations"):
            try:
                mats = tuple(np.array(m, dtype=float) for m in getattr(self, name))
            except (TypeError, ValueError) as exc:
                raise PlanningError(f"{name} must be numeric matrices ({exc})") from None
            object.__setattr__(self, name, mats)
        _validate(self)

    @property
    def num_locations(self) -> int:
        """Rows (and columns) of every matrix."""
        return int(self.distances[0].shape[0])

    @property
    def num_load_dimensions(self) -> int:
        """Length of every client's ``demand``."""
        return len(self.clients[0].demand) if self.clients else 0


class VisitKind(StrEnum):
    """What a route stop is."""

    DEPOT = "depot"
    """A depot: the start, a reload, or the end of the route."""
    CLIENT = "client"
    """A client, served here."""


@dataclass(frozen=True)
class RouteStop:
    """One stop of a route: ``index`` into the problem's depots or clients by ``kind``.

    ``start`` and ``end`` are the solver's service start and end (seconds after the plan's
    start); ``trip`` counts reloads before this stop.
    """

    kind: VisitKind
    index: int
    start: float
    end: float
    trip: int = 0


@dataclass(frozen=True)
class Route:
    """What one robot does: vehicle ``vehicle`` (0-based) of type ``vehicle_type``."""

    vehicle_type: int
    vehicle: int
    stops: tuple[RouteStop, ...]
    distance: float
    """Metres, recomputed from the problem's distance matrix (``inf`` if a leg has no way)."""

    @property
    def clients(self) -> tuple[int, ...]:
        """Client indices in visit order."""
        return tuple(s.index for s in self.stops if s.kind is VisitKind.CLIENT)

    @property
    def start(self) -> float:
        """Seconds at which the route starts (dwell at the start depot included)."""
        return self.stops[0].start

    @property
    def end(self) -> float:
        """Seconds at which the robot is back at its end depot."""
        return self.stops[-1].start

    @property
    def duration(self) -> float:
        """End minus start, in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class Solution:
    """The solver's answer; only used vehicles have a route.

    ``feasible`` is true when every hard constraint holds (all required clients served,
    loads, time windows, limits, allowed vehicles, no unreachable leg); an infeasible
    solution is the least-bad one found and must not be executed. ``cost`` is the
    objective's value: ``distance`` (metres, total) or ``makespan`` (seconds, the latest
    route end).
    """

    objective: Objective
    routes: tuple[Route, ...]
    dropped: tuple[int, ...]
    distance: float
    makespan: float
    feasible: bool
    seconds: float
    stopped: str = "converged"
    """Why the search stopped: ``converged`` or ``limit`` (see :mod:`fleet.planning.solver`)."""

    @property
    def cost(self) -> float:
        """The objective's value."""
        return self.distance if self.objective == "distance" else self.makespan


def _validate(p: Problem) -> None:
    reasons: list[str] = []
    if not p.distances or len(p.distances) != len(p.durations):
        raise PlanningError("need one distance and one duration matrix per profile (>= 1)")
    n = p.distances[0].shape[0] if p.distances[0].ndim == 2 else -1
    for name, mats in (("distance", p.distances), ("duration", p.durations)):
        for k, m in enumerate(mats):
            if m.shape != (n, n) or n < 1:
                reasons.append(f"{name} matrix {k} is {m.shape}, expected square and equal")
            elif np.isnan(m).any() or (m < 0).any():
                reasons.append(f"{name} matrix {k} has NaN or negative entries")
    if not p.depots:
        reasons.append("at least one depot is needed")
    if not p.vehicle_types:
        reasons.append("at least one vehicle type is needed")
    dims = len(p.clients[0].demand) if p.clients else 0
    for i, d in enumerate(p.depots):
        if not 0 <= d.location < n or d.service < 0:
            reasons.append(f"depot {i}: location out of range or negative service")
    for i, c in enumerate(p.clients):
        label = f"client {c.name or i}"
        if not 0 <= c.location < n:
            reasons.append(f"{label}: location {c.location} out of range")
        if c.service < 0 or math.isnan(c.tw_early) or not c.tw_early <= c.tw_late:
            reasons.append(f"{label}: negative service or empty time window")
        if len(c.demand) != dims or any(q < 0 for q in c.demand):
            reasons.append(f"{label}: demand must have {dims} non-negative amounts")
        if c.allowed is not None and any(
                not 0 <= v < len(p.vehicle_types) for v in c.allowed):
            reasons.append(f"{label}: allowed vehicle type out of range")
    for i, v in enumerate(p.vehicle_types):
        label = f"vehicle type {v.name or i}"
        depots = (v.start_depot, v.end, *v.reload_depots)
        if v.count < 1 or not all(0 <= d < len(p.depots) for d in depots):
            reasons.append(f"{label}: count must be >= 1 and depots in range")
        if not 0 <= v.profile < len(p.distances):
            reasons.append(f"{label}: profile {v.profile} out of range")
        if v.capacity and (len(v.capacity) != dims or any(q < 0 for q in v.capacity)):
            reasons.append(f"{label}: capacity must have {dims} non-negative amounts")
        if not (v.max_duration > 0 and v.max_distance > 0 and v.tw_early <= v.tw_late):
            reasons.append(f"{label}: limits must be positive and the shift non-empty")
    if reasons:
        raise PlanningError("; ".join(reasons))


def euclidean_matrix(points: Sequence[tuple[float, float]]) -> np.ndarray[Any, Any]:
    """Euclidean distance matrix among ``points`` (a convenience for tests and benchmarks)."""
    xy = np.asarray(points, dtype=float)
    out: np.ndarray[Any, Any] = np.hypot(xy[:, None, 0] - xy[None, :, 0],
                                         xy[:, None, 1] - xy[None, :, 1])
    return out
