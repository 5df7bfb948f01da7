"""Our own YAML map format (read and write): the map document of
:mod:`fleet.facility.document`, with source lines kept for error messages."""

from __future__ import annotations

from typing import Any

from fleet import yamldoc
from fleet.errors import MapError
from fleet.facility.document import facility_from_document, facility_to_document
from fleet.facility.model import Facility


def parse_yaml(text: str, *, file: str | None = None) -> Any:
    """Parse YAML text keeping source lines; malformed YAML raises :class:`MapError`
    (see :func:`fleet.yamldoc.parse`)."""
    return yamldoc.parse(text, file=file, error=MapError)


def read_yaml(text: str, *, file: str | None = None) -> Facility:
    """A facility from our YAML format; raises :class:`MapError` listing every problem."""
    return facility_from_document(parse_yaml(text, file=file), file=file)


def write_yaml(fac: Facility) -> str:
    """Our YAML format for a facility; :func:`read_yaml` reads it back to an equal one."""
    return yamldoc.dump(facility_to_document(fac))
