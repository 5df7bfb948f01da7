"""The site model (:mod:`.model`), its files (:mod:`.formats`), checks (:mod:`.validate`),
routing (:mod:`.routing`, :mod:`.closure`) and pictures (:mod:`.render`)."""

from fleet.facility.formats import load, save
from fleet.facility.model import (
    Access,
    Edge,
    EdgeKind,
    Epl,
    Facility,
    Level,
    Node,
    NodeKind,
    Zone,
    ZoneKind,
    build_facility,
)

__all__ = [
    "Access",
    "Edge",
    "EdgeKind",
    "Epl",
    "Facility",
    "Level",
    "Node",
    "NodeKind",
    "Zone",
    "ZoneKind",
    "build_facility",
    "load",
    "save",
]
