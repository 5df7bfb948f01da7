"""The one exception tree of the project.

Every error raised on purpose by :mod:`fleet` derives from :class:`FleetError`, and each
also subclasses the builtin it refines, so callers may catch either::

    FleetError
     ├── MapError (ValueError)           a facility file or model is invalid
     ├── MissionError (ValueError)       a mission or fleet file is invalid
     ├── ScenarioError (ValueError)      a simulator scenario file is invalid
     ├── PlanningError                   no plan could be made or a plan failed verification
     ├── ProtocolError (ValueError)      a malformed or unknown wire message
     ├── TransportError                  the network under the transport seam failed
 │    └── NotReachable (ConnectionError)  no manager or router answered
     └── StoreError                      the database refused an operation

The CLI turns these into one-line messages and exit codes; nothing else should.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class FleetError(Exception):
    """Base of every error the project raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    ``file`` and ``line`` locate it when known (``line`` is 1-based), ``element`` names the
    offending element (a node, edge or zone id) when there is one.
    """

    reason: str
    file: str | None = None
    line: int | None = None
    element: str | None = None

    def __str__(self) -> str:
        where = self.file or "<map>"
        if self.line is not None:
            where += f":{self.line}"
        subject = f" {self.element}:" if self.element else ""
        return f"{where}:{subject} {self.reason}"


def line_of(obj: object, key: object = None) -> int | None:
    """The 1-based source line the document reader (:mod:`fleet.yamldoc`) recorded on a
    mapping or list, if any; with ``key``, the line of that key in a mapping when it was
    recorded (else the mapping's own line). Readers of parsed documents use it to locate
    their problems; plain data gives None."""
    if key is not None:
        lines = getattr(obj, "key_lines", None)
        if isinstance(lines, dict):
            found = lines.get(str(key))
            if isinstance(found, int):
                return found
    line = getattr(obj, "line", None)
    return line if isinstance(line, int) and not isinstance(line, bool) else None


class _ProblemsError(FleetError):
    """An error that carries one or more located problems."""

    def __init__(self, problems: Problem | str | Iterable[Problem]) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid input")


class MapError(_ProblemsError, ValueError):
    """A facility file or facility model is invalid; :attr:`problems` lists every problem."""


class MissionError(_ProblemsError, ValueError):
    """A mission or fleet file is invalid; :attr:`problems` lists every problem."""


class ScenarioError(_ProblemsError, ValueError):
    """A simulator scenario file is invalid; :attr:`problems` lists every problem (those of
    the map, mission or fleet file it names included)."""


class PlanningError(FleetError):
    """No plan could be produced, or a plan failed verification."""


class ProtocolError(FleetError, ValueError):
    """A wire message is malformed, invalid against its schema, or of an unknown kind."""


class TransportError(FleetError):
    """The network under :mod:`fleet.comms` failed (Zenoh's errors, translated at the seam)."""


class NotReachable(TransportError, ConnectionError):
    """No manager or router answered at the configured endpoint."""


class StoreError(FleetError):
    """The database refused an operation."""
