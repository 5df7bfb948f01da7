"""Makespan (the time the last robot finishes) on top of a solver that minimises sums.

PyVRP minimises a sum of route costs. :func:`bisect_makespan` turns that into a makespan
search: one unconstrained run (minimising summed route durations) gives a first makespan
``hi``; then a hard finishing time ``T`` strictly between a lower bound ``lo`` and ``hi``
is imposed on every vehicle and the problem re-solved, warm-started from the incumbent. A
run that meets ``T`` without dropping more (prize-weighted) optional clients than the first
one becomes the incumbent and lowers ``hi`` to its own makespan; a run that does not raises
``lo`` to ``T``. The search stops when ``hi - lo`` is within the tolerance or the time is
up. Failing to meet ``T`` within a time share is not a proof that ``T`` is infeasible, so
the result is the best makespan found, never claimed optimal.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol


class Attempts(Protocol):
    """What the search needs from the solver: timed, warm-startable runs."""

    def remaining(self) -> float:
        """Seconds left of the overall time limit."""

    def run(self, data: Any, seconds: float, initial: Any, phase: str,
            target: int | None) -> Any:
        """Best solution of ``data`` found within ``seconds`` (PyVRP ``Solution``),
        starting from ``initial`` if given, stopping once the cost is at most ``target``."""


def makespan_of(solution: Any) -> int:
    """The latest route end of a PyVRP solution (0 when no route is used)."""
    return max((int(r.end_time()) for r in solution.routes()), default=0)


def bisect_makespan(
    attempts: Attempts,
    data: Callable[[int | None], Any],
    *,
    lower: Callable[[Any], int],
    cost_bound: int,
    time_limit: float,
    first_share: float = 0.25,
    tolerance: float = 0.001,
    initial: Any = None,
    unit: float = 1.0,
) -> Any:
    """The solution with the smallest makespan found within ``time_limit`` seconds.

    ``data(T)`` is the problem with every vehicle back by ``T`` (``None``: unbounded);
    ``lower(first)`` is a makespan no solution that serves what the first solution serves
    beats; ``cost_bound`` exceeds the summed duration
    cost of any solution (and is below the smallest prize), so a run whose cost is at most
    ``prizes + cost_bound`` has kept every client the first run kept. ``first_share`` of the
    time goes to the unconstrained run; the search ends when the bracket is within
    ``tolerance`` (relative) of the incumbent. ``initial`` warm-starts the first run;
    ``unit`` converts solver time to seconds in progress labels. An infeasible first solution
    is returned as is.
    """
    best = attempts.run(data(None), first_share * time_limit, initial, "makespan: first",
                        None)
    if not best.is_feasible():
        return best
    baseline = int(best.uncollected_prizes())
    target = baseline + cost_bound
    hi = makespan_of(best)
    lo = min(lower(best), hi) - 1  # the largest finishing time believed infeasible
    while True:
        gap = hi - lo
        if gap <= max(1.0, tolerance * hi):
            break
        remaining = attempts.remaining()
        if remaining <= 0.01:
            break
        probes_left = max(1, math.ceil(math.log2(gap / max(1.0, tolerance * hi))))
        bound = (lo + hi) // 2
        candidate = attempts.run(data(bound), remaining / probes_left, best,
                                 f"makespan ≤ {bound * unit:g}", target)
        if (candidate.is_feasible() and candidate.uncollected_prizes() <= baseline
                and makespan_of(candidate) <= bound):
            best, hi = candidate, makespan_of(candidate)
        else:
            lo = bound
    return best
