"""Vehicle routing on top of PyVRP, independent of facilities.

A :class:`Problem` holds matrices over *locations* (indices ``0..n-1``), the depots (docks,
chargers) and clients (inspection tasks) placed on them, and the vehicle types. :func:`solve`
returns a :class:`Solution` for one of two objectives:

``distance``
    Minimise the total travelled distance: one PyVRP run (iterated local search) for the
    whole time limit. PyVRP 0.14 has no intra-route 2-opt, so when a lone robot serves
    every client from and back to one depot, its first tour comes from ``fast_tsp`` (at
    most a quarter of the time, 2 s at most) and PyVRP goes on from there.
``makespan``
    Minimise the time the last robot finishes. PyVRP minimises sums, not maxima, so the
    makespan is obtained by searching over a *hard finishing time* ``T`` imposed on every
    vehicle (PyVRP's vehicle ``tw_late``): first an unconstrained run that minimises the
    summed route durations gives an upper bound; then :func:`fleet.planning.makespan.
    bisect_makespan` bisects ``T`` between a lower bound (the farthest single task's round
    trip) and the best makespan found, re-solving warm-started from the incumbent with the
    tightened ``T``. Under each bound PyVRP still minimises the summed durations, which is
    the tie-breaker. A bound for which no solution is found within its time share is
    treated as infeasible: the result is the best makespan *found*, not a proven optimum.

When a search stops (:data:`STOPS`)
    Every PyVRP run stops at the first of: its share of the time limit; a target cost met
    (a makespan probe that found a solution under its bound); or **convergence**: it has
    gone as many iterations without a better solution as it took to find its best, and at
    least :data:`CONVERGE_FLOOR` (:data:`SINGLE_RUN_FLOOR` when the search is one run)
    (:class:`_Converged`). A run that keeps improving runs on;
    one that found its best early stops early. The rule counts iterations, not seconds, so
    a plan does not depend on how busy the machine is: the same seed gives the same plan
    unless the time limit cut a run short. The solution says which happened: ``converged``
    when no run was cut short by time, ``limit`` otherwise. The time limit stays the
    ceiling.

Units and scaling
    Callers give metres and seconds as floats; PyVRP needs integers, so distances are
    converted to decimetres (:data:`DISTANCE_SCALE`) and times to deciseconds
    (:data:`TIME_SCALE`), **rounded up**, so a schedule the solver finds feasible is also
    feasible with the true (smaller or equal) travel and service times, up to waiting.
    Reported distances and times are recomputed from the caller's float matrices along
    the solver's routes (leaving the start depot when the solver does, waiting for time
    windows, dwelling), so they are exact for the input. A non-finite matrix entry means
    "no way": a client a vehicle type cannot reach from its start or return from to its end
    depot is forbidden to it; any other unreachable leg used by a route makes the solution
    infeasible (PyVRP sees it as a prohibitively long edge).

Hard constraints and how they map onto PyVRP
    - Allowed vehicle types per client (sensors, EPL): one extra load dimension per
      distinct allowed set; the client loads 1 unit and only allowed types have room.
      PyVRP never reports a solution that overloads as feasible, so this is hard.
    - Different robot speeds or access: one matrix pair (a *profile*) per kind of robot.
    - Own dock per robot: ``start_depot``/``end_depot``; multi-depot is native.
    - Service (dwell) durations, client time windows (service *starts* inside the window),
      vehicle shift windows, ``max_duration`` (route duration limit), ``max_distance``.
    - Priorities: optional clients carry prizes that grow geometrically with the priority
      level, each level's prize larger than the travel cost of any solution plus all the
      prizes of the lower levels, so when not everything fits, lower priorities are dropped
      first and nothing is dropped merely to save travel.
    - Batteries: PyVRP's load is per client, not per metre, so it cannot express travel
      energy exactly. Exact for a single charge: energy linear in distance is a
      ``max_distance`` (usable Wh / Wh per metre), applied to the whole route. With
      chargers as ``reload_depots`` and energy as a load dimension, a client's load can
      only be an estimate (its dwell energy plus, say, half its two shortest legs, a lower
      bound of the true trip energy): the plan verifier must check the true battery profile.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import fast_tsp
import numpy as np
import pyvrp
from pyvrp.constants import MAX_VALUE
from pyvrp.IteratedLocalSearch import IteratedLocalSearchCallbacks, IteratedLocalSearchParams
from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

from fleet.errors import PlanningError
from fleet.planning.makespan import bisect_makespan
from fleet.planning.vrp import (
    OBJECTIVES,
    Client,
    Depot,
    Objective,
    Problem,
    Route,
    RouteStop,
    Solution,
    VehicleType,
    VisitKind,
    euclidean_matrix,
)

__all__ = [
    "DISTANCE_SCALE",
    "OBJECTIVES",
    "TIME_SCALE",
    "Client",
    "Depot",
    "Objective",
    "Problem",
    "Route",
    "RouteStop",
    "Solution",
    "SolveProgress",
    "VehicleType",
    "VisitKind",
    "euclidean_matrix",
    "solve",
]

log = logging.getLogger(__name__)

DISTANCE_SCALE = 10
"""Solver distance units per metre (decimetres)."""
TIME_SCALE = 10
"""Solver time units per second (deciseconds)."""

CONVERGE_FLOOR = 100
"""Iterations without a better solution that each run of a makespan search allows before
it may stop as converged: the search goes on as a whole while its bracket narrows. On the
sample missions (30-70 points) those runs find their best within their first 100
iterations (0.05-0.3 s); see docs/benchmarks.md, "Planning speed"."""

SINGLE_RUN_FLOOR = IteratedLocalSearchParams().num_iters_no_improvement
"""The same for a search that is one run (the distance objective): PyVRP's own restart
threshold (150,000 iterations without a better solution, after which it starts over from
its best). Its iterated local search with late acceptance goes thousands of iterations
without a new best and then improves again: with 1,000 or 10,000 the VRPLIB X instances
stopped within 2 s at 1-3 % above the best known. On the sample missions, whose iterations
cost milliseconds, this run therefore ends at the time limit."""

PROBE_FLOOR = 300
"""Iterations a makespan probe (a finishing bound to meet) gets before it gives up on its
bound: probes do not use the doubling rule, as a probe under too tight a bound keeps
finding slightly better solutions that drop points, never one that meets the bound."""

_TOUR_SECONDS = 2.0  # at most, for a lone robot's starting tour (kroA100: optimal in 0.5 s)
_INT_MAX = int(np.iinfo(np.int64).max)
_PRIZE_LIMIT = 1 << 60  # keeps PyVRP's int64 cost sums (travel + prizes + penalties) safe

@dataclass(frozen=True)
class SolveProgress:
    """A progress report: ``best`` is the objective value of the best feasible solution
    so far (``None`` before one), ``phase`` names the current step."""

    elapsed: float
    time_limit: float
    phase: str
    best: float | None


ProgressCallback = Callable[[SolveProgress], None]


def solve(
    problem: Problem,
    *,
    objective: Objective,
    time_limit: float,
    seed: int = 0,
    no_improvement: int | None = None,
    progress: ProgressCallback | None = None,
    initial: Sequence[tuple[int, Sequence[int]]] | None = None,
) -> Solution:
    """Solve ``problem`` for ``objective`` within ``time_limit`` seconds of wall time.

    ``no_improvement`` ends a search early after that many iterations without a better
    solution (``None``: use the whole time). ``progress`` is called on each new best
    solution and at least every half second. ``initial`` (vehicle type, client indices in
    visit order) is a warm start: a re-plan starts from the plan it changes (a client it
    names twice, or one its vehicle may not serve, is left out of it). The result may be
    infeasible (see :class:`Solution`); raises :class:`PlanningError` when the problem
    cannot be handed to the solver at all (e.g. a required client no vehicle type may
    serve).
    """
    if objective not in OBJECTIVES:
        raise PlanningError(f"unknown objective {objective!r} (expected makespan or distance)")
    if not time_limit > 0:
        raise PlanningError("the time limit must be positive")
    started = time.perf_counter()
    model = _Model(problem, objective)
    runner = _Runner(model, seed, no_improvement, progress, started, time_limit)
    # PyVRP has no intra-route 2-opt, so a lone robot's tour starts from a TSP solver's.
    seed_tour = model.warm(initial) if initial is not None else \
        model.tour_seed(min(0.25 * time_limit, _TOUR_SECONDS))
    if objective == "distance" or not problem.clients:
        best = runner.run(model.data(None), runner.remaining(), seed_tour, "distance", None,
                          floor=SINGLE_RUN_FLOOR)
    else:
        best = bisect_makespan(runner, model.data, lower=model.makespan_lower_bound,
                               cost_bound=model.cost_bound(), time_limit=runner.remaining(),
                               initial=seed_tour, unit=1 / TIME_SCALE)
    return model.decode(best, time.perf_counter() - started,
                        "limit" if runner.limited else "converged")


# --- internals ---------------------------------------------------------------------------

def _up(value: float, scale: int) -> int:
    """``value`` in solver units, rounded up; infinity becomes PyVRP's "unconstrained"."""
    if math.isinf(value):
        return _INT_MAX
    return math.ceil(value * scale - 1e-6)


def _matrix(m: np.ndarray[Any, Any], scale: int) -> np.ndarray[Any, Any]:
    finite = np.isfinite(m)
    scaled = np.ceil(np.where(finite, m, 0.0) * scale - 1e-6).clip(min=0)
    if (scaled > MAX_VALUE).any():
        raise PlanningError("a distance or duration is too large for the solver's resolution")
    out: np.ndarray[Any, Any] = np.where(finite, scaled, MAX_VALUE).astype(np.int64)
    np.fill_diagonal(out, 0)
    return out


class _Model:
    """The problem in PyVRP's integer units; re-usable with different finishing bounds."""

    def __init__(self, problem: Problem, objective: Objective) -> None:
        self.problem = problem
        self.objective = objective
        p = problem
        self.dist = [_matrix(m, DISTANCE_SCALE) for m in p.distances]
        self.dur = [_matrix(m, TIME_SCALE) for m in p.durations]
        self.allowed = [self._allowed(i, c) for i, c in enumerate(p.clients)]
        for i, c in enumerate(p.clients):
            if c.required and not self.allowed[i]:
                raise PlanningError(
                    f"client {c.name or i}: no vehicle type may serve it or reach it")
        # One load dimension per distinct allowed set that excludes someone (see module doc).
        everyone = frozenset(range(len(p.vehicle_types)))
        exclusive = sorted({a for a in self.allowed if a != everyone}, key=sorted)
        dims = p.num_load_dimensions
        unlimited = [sum(c.demand[d] for c in p.clients) for d in range(dims)]
        n_clients = len(p.clients)
        self.prizes = self._prizes()
        clients = [
            pyvrp.Client(
                location=c.location,
                delivery=[*c.demand, *(int(self.allowed[i] == s) for s in exclusive)],
                service_duration=_up(c.service, TIME_SCALE),
                tw_early=_up(c.tw_early, TIME_SCALE),
                tw_late=_INT_MAX if math.isinf(c.tw_late) else math.floor(
                    c.tw_late * TIME_SCALE + 1e-6),
                prize=0 if c.required else self.prizes[c.priority],
                required=c.required,
                name=c.name,
            )
            for i, c in enumerate(p.clients)
        ]
        vehicle_types = [
            pyvrp.VehicleType(
                num_available=v.count,
                capacity=[*(v.capacity or unlimited),
                          *(n_clients if k in s else 0 for s in exclusive)],
                start_depot=v.start_depot,
                end_depot=v.end,
                tw_early=_up(v.tw_early, TIME_SCALE),
                tw_late=_INT_MAX if math.isinf(v.tw_late) else math.floor(
                    v.tw_late * TIME_SCALE + 1e-6),
                shift_duration=_up(v.max_duration, TIME_SCALE),
                max_distance=_up(v.max_distance, DISTANCE_SCALE),
                unit_distance_cost=1 if objective == "distance" else 0,
                unit_duration_cost=0 if objective == "distance" else 1,
                profile=v.profile,
                reload_depots=list(v.reload_depots),
                max_reloads=v.max_reloads if v.max_reloads is not None else 2**64 - 1,
                name=v.name,
            )
            for k, v in enumerate(p.vehicle_types)
        ]
        depots = [pyvrp.Depot(location=d.location, service_duration=_up(d.service, TIME_SCALE),
                              name=d.name) for d in p.depots]
        locations = [pyvrp.Location(x=0.0, y=0.0) for _ in range(p.num_locations)]
        self.base = pyvrp.ProblemData(locations, clients, depots, vehicle_types,
                                      self.dist, self.dur)

    def _allowed(self, i: int, c: Client) -> frozenset[int]:
        """Vehicle types that may serve client ``i`` and can get there and back."""
        p = self.problem
        allowed = set(range(len(p.vehicle_types)) if c.allowed is None else c.allowed)
        for k in list(allowed):
            v = p.vehicle_types[k]
            there = p.distances[v.profile][p.depots[v.start_depot].location, c.location]
            back = p.distances[v.profile][c.location, p.depots[v.end].location]
            if not (math.isfinite(there) and math.isfinite(back)):
                allowed.discard(k)
        return frozenset(allowed)

    def cost_bound(self) -> int:
        """More than the travel (or duration) cost of any solution, in solver units."""
        p = self.problem
        mats = self.dist if self.objective == "distance" else self.dur
        finite = [np.where(m < MAX_VALUE, m, 0) for m in mats]
        max_in = np.max([f.max(axis=0) for f in finite], axis=0)
        longest = int(max(int(f.max()) for f in finite))
        routes = min(sum(v.count for v in p.vehicle_types), max(1, len(p.clients)))
        bound = sum(int(max_in[c.location]) for c in p.clients) + routes * longest
        if self.objective != "distance":
            bound += sum(_up(c.service, TIME_SCALE) for c in p.clients)
            waits = [_up(c.tw_early, TIME_SCALE) for c in p.clients]
            reloads = sum(_up(d.service, TIME_SCALE) for d in p.depots)
            bound += routes * (max(waits, default=0) + len(p.clients) * reloads)
        return bound + 1

    def _prizes(self) -> dict[int, int]:
        """Prize per priority level of optional clients: each level outweighs the travel
        cost of any solution plus every prize of the levels below it."""
        optional = [c.priority for c in self.problem.clients if not c.required]
        prizes: dict[int, int] = {}
        below, bound = 0, self.cost_bound()
        for level in sorted(set(optional)):
            prizes[level] = below + bound
            below += prizes[level] * optional.count(level)
        if below > _PRIZE_LIMIT:
            raise PlanningError("too many priority levels among optional tasks for the "
                                "solver's integer costs; use fewer levels")
        return prizes

    def data(self, finish_by: int | None) -> Any:
        """PyVRP data, with every vehicle back by ``finish_by`` (solver units) if given."""
        if finish_by is None:
            return self.base
        # a robot not ready before the bound gets an empty shift rather than a window
        # PyVRP refuses (it cannot serve anything by then either way)
        vts = [vt.replace(tw_late=max(vt.tw_early, min(vt.tw_late, finish_by)),
                          start_late=max(vt.tw_early, min(vt.start_late, finish_by)))
               for vt in self.base.vehicle_types()]
        return self.base.replace(vehicle_types=vts)

    def warm(self, initial: Sequence[tuple[int, Sequence[int]]]) -> Any:
        """A PyVRP solution of ``initial``'s routes (see :func:`solve`)."""
        seen: set[int] = set()
        routes = []
        for k, clients in initial:
            if not 0 <= k < len(self.problem.vehicle_types):
                continue
            visits = [c for c in clients if 0 <= c < len(self.problem.clients)
                      and c not in seen and k in self.allowed[c]]
            seen.update(visits)
            if visits:
                routes.append(pyvrp.Route(self.base, visits, k))
        return pyvrp.Solution(self.base, routes)

    def tour_seed(self, seconds: float) -> Any | None:
        """For a lone robot with every client required, from and to one depot: its tour by
        ``fast_tsp`` (a local search for symmetric TSPs) as a PyVRP solution; else ``None``.

        Travel is what a tour can change (dwell is the same in any order), so the tour is
        on the objective's travel matrix; ``fast_tsp`` wants 16-bit integers, hence the
        rescaling (PyVRP then polishes with the exact matrix and all constraints)."""
        p = self.problem
        if (sum(v.count for v in p.vehicle_types) != 1 or len(p.clients) < 3
                or not all(c.required for c in p.clients)):
            return None
        (k, v), = ((k, v) for k, v in enumerate(p.vehicle_types) if v.count)
        if v.end != v.start_depot or not all(k in a for a in self.allowed):
            return None
        mats = self.dist if self.objective == "distance" else self.dur
        nodes = [p.depots[v.start_depot].location] + [c.location for c in p.clients]
        m = mats[v.profile][np.ix_(nodes, nodes)].astype(float)
        if not (m == m.T).all():
            return None
        m[m >= MAX_VALUE] = np.inf
        top = float(np.max(m[np.isfinite(m)], initial=1.0)) or 1.0
        small = np.where(np.isfinite(m), np.rint(m * (60_000 / top)), 65_535).astype(int)
        try:
            tour = fast_tsp.find_tour(small.tolist(), max(seconds, 0.05),
                                      stop_when_converged=True)
        except ValueError:  # a matrix it refuses: PyVRP starts on its own instead
            log.warning("fast_tsp refused the tour; PyVRP starts from scratch", exc_info=True)
            return None
        start = tour.index(0)
        order = [i - 1 for i in tour[start + 1:] + tour[:start]]
        return pyvrp.Solution(self.base, [pyvrp.Route(self.base, order, k)])

    def makespan_lower_bound(self, served: Any = None) -> int:
        """A makespan no solution that serves the required clients (and, given a PyVRP
        solution ``served``, every client it serves) beats, in solver units: the largest
        of (a) one of those clients' quickest way in, dwell and quickest way out and (b)
        their ways in and dwells shared evenly over all robots (the longest route is at
        least the average). Only single legs are used: the closure's times are along the
        shortest *paths*, so a detour through other points may be quicker than a direct
        leg, and a round trip's direct legs would bound nothing."""
        p = self.problem
        chosen = {i for i, c in enumerate(p.clients) if c.required}
        if served is not None:
            chosen |= {int(a.idx) for r in served.routes() for a in r.schedule()
                       if not a.is_depot()}
        best, work = 0, 0
        for i in sorted(chosen):
            c = p.clients[i]
            profiles = {p.vehicle_types[k].profile for k in self.allowed[i]}
            if not profiles:
                continue
            into = min(int(np.delete(self.dur[f][:, c.location], c.location).min())
                       for f in profiles)
            out = min(int(np.delete(self.dur[f][c.location, :], c.location).min())
                      for f in profiles)
            service = _up(c.service, TIME_SCALE)
            best = max(best, into + service + out)
            work += into + service
        vehicles = sum(v.count for v in p.vehicle_types)
        return max(best, -(-work // max(1, vehicles)))

    def decode(self, sol: Any, seconds: float, stopped: str = "converged") -> Solution:
        """Our :class:`Solution` from a PyVRP solution (distances from the float matrices)."""
        p = self.problem
        routes: list[Route] = []
        used = [0] * len(p.vehicle_types)
        visited: set[int] = set()
        legal = sol.is_feasible() and sol.is_complete()
        for r in sol.routes():
            k = r.vehicle_type()
            v = p.vehicle_types[k]
            # Times are replayed with the caller's float durations (the solver's are rounded
            # up): leave when the solver leaves, wait for windows, dwell, go on.
            stops: list[RouteStop] = []
            clock, dist, prev = 0.0, 0.0, -1
            schedule = r.schedule()
            for a in schedule:
                idx = int(a.idx)
                place: Depot | Client
                if a.is_depot():
                    kind, place = VisitKind.DEPOT, p.depots[idx]
                    early = 0.0  # dwell at the start and on reloads, not at the end
                else:
                    kind, place = VisitKind.CLIENT, p.clients[idx]
                    early = place.tw_early
                    visited.add(idx)
                    legal = legal and k in self.allowed[idx]
                if prev < 0:  # PyVRP's own start (after any dwell at the start depot)
                    begin = a.start_time / TIME_SCALE
                    clock = a.end_time / TIME_SCALE
                else:
                    dist += float(p.distances[v.profile][prev, place.location])
                    begin = max(clock + float(p.durations[v.profile][prev, place.location]),
                                early)
                last = len(stops) == len(schedule) - 1
                if prev >= 0:
                    clock = begin if last else begin + place.service
                stops.append(RouteStop(kind, idx, begin, clock, int(a.trip)))
                prev = place.location
            legal = legal and math.isfinite(dist)
            routes.append(Route(k, used[k], tuple(stops), dist))
            used[k] += 1
        dropped = tuple(i for i in range(len(p.clients)) if i not in visited)
        legal = legal and not any(p.clients[i].required for i in dropped)
        return Solution(
            objective=self.objective,
            routes=tuple(routes),
            dropped=dropped,
            distance=float(sum(r.distance for r in routes)),
            makespan=max((r.end for r in routes), default=0.0),
            feasible=bool(legal),
            seconds=seconds,
            stopped=stopped,
        )


LOOPING_OPERATORS = ("SwapTails", "Swap22")
"""PyVRP 0.14 operators left out on heterogeneous fleets (see :func:`_operators`)."""


def _operators(problem: Problem) -> list[Any]:
    """PyVRP's default local-search operators, less :data:`LOOPING_OPERATORS` on
    heterogeneous fleets.

    On problems with several vehicle types over several profiles, PyVRP 0.14.1 (the newest
    release) can loop without end inside a single local search, where no time limit can
    interrupt it: ``SwapTails`` did on the coal-mine gas patrol under a makespan bound
    (reproduced with plain ``pyvrp.solve``); ``Swap22`` together with
    ``InsertOptionalClient`` did on the chemical plant's leak round, in makespan probes
    (5 of 10 captured runs of one search replayed for 5,000 iterations looped in
    ``applyBinaryOps``; without ``Swap22`` all finished, also at 20,000).
    ``InsertOptionalClient`` stays: priorities rely on inserting optional points.

    ``Swap22`` is left out of every run, not only probes, though it was only seen looping
    in probes: plans are then worse on large sites (a 500-point mine's plan a third
    longer), and keeping it where no loop was seen changed the demo's plans so that its
    leak was no longer met (docs/benchmarks.md, "Planning speed"). Homogeneous fleets (the
    VRPLIB benchmarks) keep every operator.
    """
    ops = list(pyvrp.SolveParams().operators)
    if len(problem.vehicle_types) > 1 or len(problem.distances) > 1:
        ops = [op for op in ops if op.__name__ not in LOOPING_OPERATORS]
    return ops


def rebind(solution: Any, data: Any) -> Any:
    """``solution``'s routes evaluated against ``data`` (for a warm start after a change)."""
    routes = []
    for r in solution.routes():
        acts = [pyvrp.Activity(a.type, a.idx) for a in r.schedule()][1:-1]
        routes.append(pyvrp.Route(data, acts, r.vehicle_type()))
    return pyvrp.Solution(data, routes)


@dataclass
class _Runner:
    """Runs PyVRP on the model's data with time accounting and progress reporting."""

    model: _Model
    seed: int
    no_improvement: int | None
    progress: ProgressCallback | None
    started: float
    time_limit: float
    best_value: float | None = None
    limited: bool = False
    """Whether a run was cut short by its share of the time limit."""
    _last_report: float = field(default=0.0)

    def remaining(self) -> float:
        """Seconds left of the whole time limit."""
        return self.time_limit - (time.perf_counter() - self.started)

    def run(self, data: Any, seconds: float, initial: Any, phase: str,
            target: int | None, floor: int | None = None) -> Any:
        """Best PyVRP solution for ``data`` within ``seconds``; stops early once its cost
        is at most ``target`` (solver units), once converged (:class:`_Converged`) or after
        ``no_improvement`` iterations without a better solution."""
        # a probe (a target to meet) gives up after the floor; any other run stops once
        # it has converged by the doubling rule
        if floor is None:
            floor = CONVERGE_FLOOR if target is None else PROBE_FLOOR
        converged = _Converged(floor, doubling=target is None)
        met = _Met(target)
        criteria: list[Any] = [converged, met, MaxRuntime(max(0.0, seconds))]
        if self.no_improvement is not None:
            criteria.append(NoImprovement(self.no_improvement))
        params = pyvrp.SolveParams(ils=IteratedLocalSearchParams(callbacks=_Watch(self, phase)),
                                   operators=_operators(self.model.problem))
        if initial is not None:
            initial = rebind(initial, data)
        with warnings.catch_warnings():
            # PyVRP warns when it struggles to find a feasible solution; our callers learn
            # that from Solution.feasible, so keep it out of the user's terminal.
            warnings.simplefilter("ignore")
            result = pyvrp.solve(data, MultipleCriteria(criteria), seed=self.seed,
                                 collect_stats=False, display=False, params=params,
                                 initial_solution=initial)
        if not (converged.fired or met.fired) and (
                self.no_improvement is None or result.runtime >= seconds):
            self.limited = True
        return result.best

    def value(self, sol: Any) -> float:
        """The objective value of a PyVRP solution, in the caller's units (approximate)."""
        if self.model.objective == "distance":
            return float(sol.distance()) / DISTANCE_SCALE
        return max((r.end_time() for r in sol.routes()), default=0) / TIME_SCALE

    def report(self, phase: str, sol: Any | None, force: bool = False) -> None:
        """Tell the progress callback, at most every half second unless ``force``."""
        if self.progress is None:
            return
        now = time.perf_counter() - self.started
        if sol is not None and sol.is_feasible():
            value = self.value(sol)
            if self.best_value is None or value < self.best_value:
                self.best_value = value
        if force or now - self._last_report >= 0.5:
            self._last_report = now
            self.progress(SolveProgress(now, self.time_limit, phase, self.best_value))


class _Converged:
    """A PyVRP stopping criterion: true once the run has gone as many iterations without a
    better solution as it took to find its best, and at least ``floor`` (a doubling rule:
    a run that improved at iteration 400 may run to 800). PyVRP calls it once per iteration
    with the best cost so far (infinite while none is feasible, so a probe that finds no
    solution under its bound stops after ``floor`` iterations)."""

    def __init__(self, floor: int, doubling: bool = True) -> None:
        self.floor = floor
        self.doubling = doubling
        self.iterations = 0
        self.last_better = 0
        self.best = math.inf
        self.fired = False

    def __call__(self, best_cost: float) -> bool:
        if best_cost < self.best and self.doubling:
            self.best, self.last_better = best_cost, self.iterations
        self.iterations += 1
        self.fired = self.iterations - self.last_better > max(self.floor, self.last_better)
        return self.fired


class _Met:
    """A PyVRP stopping criterion: true once the best cost is at most ``target``."""

    def __init__(self, target: int | None) -> None:
        self.target = target
        self.fired = False

    def __call__(self, best_cost: float) -> bool:
        self.fired = self.target is not None and best_cost <= self.target
        return self.fired


class _Watch(IteratedLocalSearchCallbacks):
    """PyVRP iterated-local-search callbacks that forward progress."""

    def __init__(self, runner: _Runner, phase: str) -> None:
        self.runner, self.phase = runner, phase

    def on_start(self, ils: Any) -> None:
        self.runner.report(self.phase, None, force=True)

    def on_end(self, result: Any) -> None:
        self.runner.report(self.phase, result.best, force=True)

    def on_iteration(self, current: Any, candidate: Any, best: Any, evaluator: Any) -> None:
        self.runner.report(self.phase, None)

    def on_restart(self, best: Any) -> None:
        pass

    def on_best(self, best: Any) -> None:
        self.runner.report(self.phase, best)

