"""The one exception tree of the project.

Every error raised on purpose by :mod:`fleet` derives from :class:`FleetError`, is defined
in this module (the modules that raise it may re-export it), and also subclasses the
builtin it refines, so callers may catch either::

    FleetError
     ├── ProblemsError                    an input file has problems; .problems lists them
     │    ├── MapError (ValueError)       a facility file or model is invalid
     │    └── MissionError (ValueError)   a mission or fleet file is invalid
     ├── PlanningError                    no plan could be made or a plan failed verification
     ├── TransitionError (ValueError)     a mission was asked for a state it cannot reach
     ├── ProtocolError (ValueError)       a malformed or unknown wire message
     ├── TransportError                   the network under the transport seam failed
     │    └── NotReachable (ConnectionError)  no manager or router answered
     ├── StoreError                       the database refused an operation
     ├── SampleError (LookupError)        no sample by that name, or none installed
     ├── SecurityError                    a security directory is missing, malformed, or
     │                                    asked for something impossible
     ├── UsageError (ValueError)          a command asks for something refused as unsafe
     │                                    (a dashboard beyond loopback without TLS and
     │                                    authentication); exit 2 at the CLI
     ├── AgentError                       a robot agent cannot be started or used as asked
     ├── AgentConfigError (ValueError)    a robot agent's configuration is invalid
     ├── OutboxError (OSError)            a robot's result file cannot be read or written
     ├── ScheduleError (ValueError)       a schedule's rule is invalid, or no such schedule
     └── ActionFailed                     a robot body could not do what it was asked
          ├── MoveFailed                  move_to could not reach its target
          └── InspectionFailed            inspect could not take its readings

The simulator hangs its own errors (scenario files, robot processes) below these in
``sim.errors``; nothing in this package names them.

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


class ProblemsError(FleetError):
    """An input file has problems; :attr:`problems` lists every one, each located when
    possible (``str(exc)`` is one line per problem)."""

    def __init__(self, problems: Problem | str | Iterable[Problem]) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid input")


class MapError(ProblemsError, ValueError):
    """A facility file or facility model is invalid; :attr:`problems` lists every problem."""


class MissionError(ProblemsError, ValueError):
    """A mission or fleet file is invalid; :attr:`problems` lists every problem."""


class PlanningError(FleetError):
    """No plan could be produced, or a plan failed verification."""


class TransitionError(FleetError, ValueError):
    """A mission was asked to move to a state it cannot reach from where it is."""


class ProtocolError(FleetError, ValueError):
    """A wire message is malformed, invalid against its schema, or of an unknown kind."""


class TransportError(FleetError):
    """The network under :mod:`fleet.comms` failed (Zenoh's errors, translated at the seam)."""


class NotReachable(TransportError, ConnectionError):
    """No manager or router answered at the configured endpoint."""


class StoreError(FleetError):
    """The database refused an operation."""


class SampleError(FleetError, LookupError):
    """No sample file by that name, or the samples are not installed with this copy."""


class SecurityError(FleetError):
    """A security directory is missing, malformed, or asked for something impossible."""


class UsageError(FleetError, ValueError):
    """The command line asks for something refused as unsafe (e.g. serving the dashboard
    beyond loopback without TLS and supervisor authentication); the message says what to
    add. The CLI exits with 2, as for any wrong command line."""


class AgentError(FleetError):
    """A robot agent cannot be started or used as asked."""


class AgentConfigError(FleetError, ValueError):
    """An agent's configuration is invalid; the message names the field."""


class OutboxError(FleetError, OSError):
    """The result file cannot be read or written; the message names the file and reason."""


class ScheduleError(FleetError, ValueError):
    """A schedule's rule is invalid (cron expression, zone, interval, blackout, start or
    until), or no schedule has the id asked for; the message names what and why."""


class ActionFailed(FleetError):
    """A body could not do what it was asked; ``str(exc)`` is the reason the robot reports."""


class MoveFailed(ActionFailed):
    """``move_to`` could not reach its target (path blocked, localisation lost, ...)."""


class InspectionFailed(ActionFailed):
    """``inspect`` could not take its readings (e.g. ``"sensor h2s unavailable"``)."""
