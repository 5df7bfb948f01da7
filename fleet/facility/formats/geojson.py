"""Placeholder: being written."""

from fleet.errors import MapError, Problem
from fleet.facility.model import Facility


def read_geojson(text: str, *, file: str | None = None) -> Facility:
    raise MapError(Problem("format not implemented yet", file))
def write_geojson(fac): raise NotImplementedError
