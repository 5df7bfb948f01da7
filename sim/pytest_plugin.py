"""pytest fixtures for whole-simulation tests, installed with the package (entry point
``pytest11``: any project that installs ``fleet`` gets them, no conftest needed): a
manager on a random loopback port, simulated fleets beside it, and whole runs; everything
started here is torn down after the test.

- ``sim_manager(speed=1.0, **settings)`` → :class:`sim.runner.EmbeddedManager` (its
  ``manager``, ``store`` and ``endpoint``), timeouts scaled to the speed.
- ``sim_fleet(scenario, endpoint, speed=1.0, robots=None, **options)`` → a started
  :class:`sim.robots.SimFleet` (``options``: :class:`sim.robots.FleetOptions` fields).
- ``sim_run(scenario, **options)`` → a started :class:`sim.runner.SimRun`
  (``options``: :class:`sim.runner.RunOptions` fields).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fleet.clock import ScaledClock
from sim.robots import FleetOptions, SimFleet, robots_of
from sim.runner import EmbeddedManager, RunOptions, SimRun, manager_settings, state_interval_for
from sim.scenario import Scenario


@pytest.fixture
def sim_manager(tmp_path: Path) -> Iterator[Callable[..., EmbeddedManager]]:
    """Start managers (embedded router on a free port, SQLite under tmp_path)."""
    made: list[EmbeddedManager] = []

    def start(speed: float = 1.0, **settings: Any) -> EmbeddedManager:
        where = tmp_path / f"manager-{len(made)}"
        where.mkdir()
        manager = EmbeddedManager(where, manager_settings(
            speed, **{"plan_time_limit": 1.0, **settings}), ScaledClock(speed))
        made.append(manager)
        return manager

    yield start
    for manager in reversed(made):
        manager.close()


@pytest.fixture
def sim_fleet(tmp_path: Path) -> Iterator[Callable[..., SimFleet]]:
    """Start simulated fleets connected to a router endpoint."""
    made: list[SimFleet] = []

    def start(scenario: Scenario, endpoint: str, *, speed: float = 1.0,
              robots: int | None = None, **options: Any) -> SimFleet:
        options.setdefault("state_interval", state_interval_for(speed))
        options.setdefault("results_dir", tmp_path / f"results-{len(made)}")
        fleet = SimFleet(scenario, robots_of(scenario, robots), connect=[endpoint],
                         clock=ScaledClock(speed), options=FleetOptions(**options))
        made.append(fleet)
        fleet.start()
        return fleet

    yield start
    for fleet in reversed(made):
        fleet.stop()


@pytest.fixture
def sim_run(tmp_path: Path) -> Iterator[Callable[..., SimRun]]:
    """Start whole runs (manager, fleet, mission) under tmp_path."""
    made: list[SimRun] = []

    def start(scenario: Scenario, **options: Any) -> SimRun:
        options.setdefault("plan_time_limit", 1.0)
        run = SimRun(scenario, RunOptions(**options), workdir=tmp_path / f"run-{len(made)}")
        made.append(run)
        run.start()
        return run

    yield start
    for run in reversed(made):
        run.stop()
