"""Placeholder: being written."""

from fleet.errors import MapError, Problem
from fleet.facility.model import Facility


def read_subt_csv(text: str, *, file: str | None = None) -> Facility:
    raise MapError(Problem("format not implemented yet", file))
