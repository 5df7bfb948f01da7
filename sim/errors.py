"""The simulator's errors: a branch of the project's one tree (:mod:`fleet.errors`)::

    fleet.errors.FleetError
     ├── fleet.errors.ProblemsError
     │    └── ScenarioError (ValueError)   a scenario file is invalid
     ├── ChildFailed                       a robot process did not start
     └── NoAnswer                          a simulated Nav2 robot refuses a request

Only :mod:`sim` (and the CLI, which runs it) raises or names them.
"""

from __future__ import annotations

from fleet.errors import FleetError, Problem, ProblemsError


class ScenarioError(ProblemsError, ValueError):
    """A simulator scenario file is invalid; :attr:`problems` lists every problem (those of
    the map, mission or fleet file it names included)."""

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[list[Problem]]]:
        # raised in the space server's process too: cross with the problems, not the text
        return (type(self), (list(self.problems),))


class ChildFailed(FleetError):
    """A robot process did not start."""


class NoAnswer(FleetError):
    """A request a simulated Nav2 robot will not answer normally (a missing attachment,
    CDR that does not parse): it becomes an error reply (:mod:`sim.nav2`)."""
