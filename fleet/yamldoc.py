"""The one YAML document reader: map, mission, fleet and scenario files (and the limits
inside maps and missions) are all read here.

:func:`parse` turns YAML text into plain Python data whose mappings and lists remember the
1-based line they start on, and mappings the line of each key
(:func:`~fleet.errors.line_of` reads both), so the readers of each file kind can report
``file:line: element: reason``. Malformed YAML is never a traceback: it is the caller's
error class (:class:`~fleet.errors.MapError`, :class:`~fleet.errors.MissionError` or
:class:`~sim.errors.ScenarioError`) carrying one :class:`~fleet.errors.Problem` of one
line, located at the line YAML complained about. :func:`read` adds reading the file;
:func:`dump` writes such data back (the line-keeping containers included).

Only YAML's safe subset is accepted (no Python objects): these files come from people and
from the network (``fleet mission launch`` sends the mission text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fleet.errors import MapError, Problem, ProblemsError, line_of

__all__ = ["DocumentError", "dump", "line_of", "parse", "read"]

DocumentError = type[ProblemsError]
"""The error a reader raises for its kind of file (MapError, MissionError, the simulator's
ScenarioError): every one carries located problems."""
"""The error classes a document can be refused with (one per kind of file)."""


class _LineDict(dict[str, Any]):
    """A mapping that remembers the 1-based line it starts on and the line of each key."""

    line: int | None = None
    key_lines: dict[str, int]


class _LineList(list[Any]):
    """A list that remembers the 1-based line it starts on."""

    line: int | None = None


class _Loader(yaml.SafeLoader):
    """SafeLoader that records where each mapping, list and mapping key starts."""


def _map(loader: _Loader, node: yaml.MappingNode) -> Any:
    data = _LineDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value
                      if isinstance(k, yaml.ScalarNode)}
    yield data
    data.update(loader.construct_mapping(node))  # type: ignore[arg-type]


def _seq(loader: _Loader, node: yaml.SequenceNode) -> Any:
    data = _LineList()
    data.line = node.start_mark.line + 1
    yield data
    data.extend(loader.construct_sequence(node))


_Loader.add_constructor("tag:yaml.org,2002:map", _map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _seq)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def parse(text: str, *, file: str | None = None, error: DocumentError = MapError) -> Any:
    """The data of YAML ``text`` (None for an empty document), lines kept.

    Malformed YAML raises ``error`` with one problem, ``file:line: not valid YAML: ...``
    (the line is YAML's, when it names one); nothing else is raised.
    """
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(Problem(f"not valid YAML: {_one_line(str(reason))}", file, line)) from None
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        # PyYAML's constructors raise plain errors on some inputs (bad timestamps,
        # unhashable keys, deep nesting)
        raise error(Problem(f"not valid YAML: {_one_line(str(exc))}", file)) from None


def read(path: str | Path, *, error: DocumentError) -> Any:
    """The data of the YAML file at ``path`` (see :func:`parse`); a missing or unreadable
    file is ``error`` too (``file: no such file``, ``file: cannot read: ...``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(Problem("no such file", str(p))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(Problem(f"cannot read: {_one_line(str(exc))}", str(p))) from None
    return parse(text, file=str(p), error=error)


class _Dumper(yaml.SafeDumper):
    """SafeDumper that also writes the line-keeping containers."""


_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # PyYAML writes these line breaks plain or single-quoted, where a reader folds them
    # into spaces: quote them with escapes so the text reads back as it was
    if any(c in text for c in _LINE_BREAKS):
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')
    return dumper.represent_str(text)


_Dumper.add_representer(_LineDict, yaml.SafeDumper.represent_dict)
_Dumper.add_representer(_LineList, yaml.SafeDumper.represent_list)
_Dumper.add_representer(str, _str)


def dump(data: Any, *, width: int = 100) -> str:
    """YAML text of ``data`` (plain or as :func:`parse` returned it), keys in their order;
    :func:`parse` reads it back to equal data."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=width)
