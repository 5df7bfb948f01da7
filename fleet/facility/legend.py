"""How a map picture shows each kind of thing, and the legend that explains it.

The styles of zones (by kind and ATEX zone), corridors and stations are here, with the
legend text of each; :func:`draw_legend` lists, in one fixed order, the entries the
drawing actually used.
"""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.artist import Artist
from matplotlib.figure import Figure

from fleet.facility.model import NodeKind, ZoneKind

# zone kind (and ATEX number) -> face colour, alpha, hatch, edge colour, legend text
ZONE_STYLE: dict[tuple[ZoneKind, int | None], tuple[str, float, str | None, str, str]] = {
    (ZoneKind.NO_GO, None): ("#8b0000", 0.22, "////", "#8b0000", "No-go"),
    (ZoneKind.GAS_HAZARD, 0): ("#d84315", 0.65, None, "#b71c1c", "ATEX zone 0"),
    (ZoneKind.GAS_HAZARD, 1): ("#fb8c00", 0.38, None, "#e65100", "ATEX zone 1"),
    (ZoneKind.GAS_HAZARD, 2): ("#fdd835", 0.30, None, "#f9a825", "ATEX zone 2"),
    (ZoneKind.MA_ONLY, None): ("#c2185b", 0.30, "..", "#880e4f", "Ma-only (group I)"),
    (ZoneKind.SPEED_LIMIT, None): ("#1e88e5", 0.16, None, "#1565c0", "Speed limit"),
    (ZoneKind.COMMS_DEAD, None): ("#757575", 0.16, "xxx", "#616161", "5G dead zone"),
    (ZoneKind.RESTRICTED, None): ("#8e24aa", 0.20, None, "#6a1b9a", "Restricted"),
}
# node kind -> marker, size (pt^2), face colour, legend text
NODE_STYLE: dict[NodeKind, tuple[str, float, str, str]] = {
    NodeKind.INSPECTION: ("o", 16.0, "#00897b", "Inspection point"),
    NodeKind.CHARGER: ("s", 42.0, "#fbc02d", "Charger"),
    NodeKind.DOCK: ("D", 36.0, "#1565c0", "Dock"),
    NodeKind.REFUGE: ("P", 70.0, "#2e7d32", "Refuge"),
    NodeKind.LANDING: ("^", 60.0, "#6a1b9a", "Landing (shaft/ramp/lift)"),
}
BAY_STYLE = ("h", 64.0, "#ef6c00", "Passing bay")
"""Passing bays (:meth:`fleet.facility.blocks.TrafficLayout.passing_bays`): marker, size
(pt^2), edge colour and legend text; drawn hollow around the node, so an inspection point
that is also a bay shows as both."""
CAPACITY_LEGEND = "×N  room for N robots"
"""Legend text of the capacity written beside a node that holds more than two robots."""
ROUTE_COLOURS = ("#d81b60", "#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#00acc1",
                 "#6d4c41", "#3949ab", "#c0ca33", "#f4511e")
"""Colours of the routes, in the order they are drawn."""
CORRIDOR, SINGLE, CLOSED, LINK = "#37474f", "#546e7a", "#b0b0b0", "#8d6e63"
"""Colours of two-way corridors, single-lane entries, closed ones and level links."""

_LEGEND_ORDER = [s[4] for s in ZONE_STYLE.values()] + [
    "Corridor / road", "Single-lane entry", "One-way", "Closed", "Shaft / ramp / lift",
] + [s[3] for s in NODE_STYLE.values()] + [BAY_STYLE[3], CAPACITY_LEGEND]


def draw_legend(fig: Figure, seen: Mapping[str, Artist], *, x: float, top: float) -> None:
    """The legend of ``seen`` (legend text → the artist it shows), its upper left corner
    at figure fraction ``(x, top)``: zones, corridors and stations in a fixed order, then
    routes and marks in the order they were drawn."""
    order = _LEGEND_ORDER
    keys = sorted(seen, key=lambda k: order.index(k) if k in order else len(order))
    fig.legend(handles=[seen[k] for k in keys], labels=keys, loc="upper left",
               bbox_to_anchor=(x, top), fontsize=7, frameon=False,
               title="Legend", title_fontsize=8, alignment="left")
