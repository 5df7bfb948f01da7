"""Our own YAML map format (read and write): the map document of
:mod:`fleet.facility.document`, with source lines kept for error messages."""

from __future__ import annotations

from typing import Any

import yaml

from fleet.errors import MapError, Problem
from fleet.facility.document import facility_from_document, facility_to_document
from fleet.facility.model import Facility


class _LineDict(dict[str, Any]):
    """A mapping that remembers the 1-based line it started on."""

    line: int | None = None


class _LineList(list[Any]):
    """A list that remembers the 1-based line it started on."""

    line: int | None = None


class _Loader(yaml.SafeLoader):
    """SafeLoader that records where each mapping and list starts."""


def _map(loader: _Loader, node: yaml.MappingNode) -> Any:
    data = _LineDict()
    data.line = node.start_mark.line + 1
    yield data
    data.update(loader.construct_mapping(node))  # type: ignore[arg-type]


def _seq(loader: _Loader, node: yaml.SequenceNode) -> Any:
    data = _LineList()
    data.line = node.start_mark.line + 1
    yield data
    data.extend(loader.construct_sequence(node))


_Loader.add_constructor("tag:yaml.org,2002:map", _map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _seq)


def parse_yaml(text: str, *, file: str | None = None) -> Any:
    """Parse YAML text keeping source lines; malformed YAML raises :class:`MapError`."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MapError(Problem(f"not valid YAML: {reason}", file, line)) from None
    except (ValueError, TypeError, RecursionError) as exc:
        # PyYAML's constructors raise plain errors on some inputs (bad timestamps,
        # unhashable keys, deep nesting)
        raise MapError(Problem(f"not valid YAML: {exc}", file)) from None


def read_yaml(text: str, *, file: str | None = None) -> Facility:
    """A facility from our YAML format; raises :class:`MapError` listing every problem."""
    return facility_from_document(parse_yaml(text, file=file), file=file)


class _Dumper(yaml.SafeDumper):
    """SafeDumper that also writes the line-keeping containers (nested in ``site.meta``)."""


_Dumper.add_representer(_LineDict, yaml.SafeDumper.represent_dict)
_Dumper.add_representer(_LineList, yaml.SafeDumper.represent_list)


def write_yaml(fac: Facility) -> str:
    """Our YAML format for a facility; :func:`read_yaml` reads it back to an equal one."""
    return yaml.dump(facility_to_document(fac), Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True, width=100)
