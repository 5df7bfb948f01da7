"""The site model (:mod:`.model`), explosion protection (:mod:`.protection`), its files
(:mod:`.formats`), checks (:mod:`.validate`), routing (:mod:`.routing`, :mod:`.closure`)
and pictures (:mod:`.render`)."""

from fleet.facility.formats import load, save
from fleet.facility.model import (
    Access,
    Edge,
    EdgeKind,
    Facility,
    Level,
    Node,
    NodeKind,
    Zone,
    ZoneKind,
    build_facility,
)
from fleet.facility.protection import Epl, ExplosionGroup, SiteKind

__all__ = [
    "Access",
    "Edge",
    "EdgeKind",
    "Epl",
    "ExplosionGroup",
    "Facility",
    "Level",
    "Node",
    "NodeKind",
    "SiteKind",
    "Zone",
    "ZoneKind",
    "build_facility",
    "load",
    "save",
]
