"""What is drawn on top of a map picture: the robots' routes and marks (anomalies).

Each route gets its own colour and a small sideways shift, so routes along the same
corridor stay distinguishable; :class:`Mark` is a labelled dot (the anomaly report marks
anomalies with them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from matplotlib.artist import Artist
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import offset_copy

from fleet.facility.legend import ROUTE_COLOURS
from fleet.facility.model import Facility


@dataclass(frozen=True)
class Mark:
    """A marker drawn on top of everything at ``(x, y)`` on ``level``: a filled circle of
    ``colour`` with ``label`` beside it (none when it is empty); marks of one ``legend``
    text share a legend entry (the anomaly report marks anomalies, gas closures and
    locked-out robots with them)."""

    x: float
    y: float
    level: str
    label: str
    colour: str = "#d50000"
    legend: str = "Mark"


def draw_routes(fac: Facility, fig: Figure, levels: list[str],
                routes: Mapping[str, Sequence[str]], seen: dict[str, Artist]) -> None:
    """Each route (robot → node ids) on the panels of ``levels`` (``fig``'s axes, in that
    order), each in its own colour with a ring at its start; its legend entry (name,
    nodes, length) goes into ``seen``."""
    axes = dict(zip(levels, fig.axes, strict=False))
    k = len(routes)
    for i, (robot, path) in enumerate(routes.items()):
        colour = ROUTE_COLOURS[i % len(ROUTE_COLOURS)]
        shift = (i - (k - 1) / 2) * 1.8  # points: parallel routes stay distinguishable
        segs: dict[str, list[tuple[tuple[float, float], tuple[float, float]]]] = {}
        for a_id, b_id in pairwise(path):
            a, b = fac.nodes[a_id], fac.nodes[b_id]
            if a.level == b.level:
                segs.setdefault(a.level, []).append(((a.x, a.y), (b.x, b.y)))
        for lid, ax in axes.items():
            tr = offset_copy(ax.transData, fig=fig, x=shift, y=shift, units="points")
            if lid in segs:
                ax.add_collection(LineCollection(segs[lid], colors=colour, linewidths=2.4,
                                                 alpha=0.85, transform=tr, zorder=7,
                                                 capstyle="round"))
            if path and fac.nodes[path[0]].level == lid:
                start = fac.nodes[path[0]]
                ax.scatter([start.x], [start.y], s=70, marker="o", facecolors="none",
                           edgecolors=colour, linewidths=2.0, transform=tr, zorder=7.5)
        label = f"{robot} ({len(path)} nodes, {path_length(fac, path):.0f} m)"
        seen[label] = Line2D([], [], color=colour, lw=2.4, marker="o", markerfacecolor="none",
                             markersize=6, label=label)


def draw_marks(fig: Figure, levels: list[str], marks: Sequence[Mark],
               seen: dict[str, Artist]) -> None:
    """``marks`` on the panels of ``levels`` (marks on other levels are left out)."""
    axes = dict(zip(levels, fig.axes, strict=False))
    for m in marks:
        ax = axes.get(m.level)
        if ax is None:
            continue
        ax.scatter([m.x], [m.y], s=90, marker="o", color=m.colour, edgecolors="black",
                   linewidths=0.8, zorder=9, alpha=0.9)
        seen.setdefault(m.legend, Line2D([], [], marker="o", ls="", color=m.colour,
                                         markeredgecolor="black", markersize=7,
                                         label=m.legend))
        if m.label:
            ax.annotate(m.label, (m.x, m.y), xytext=(6, 6), textcoords="offset points",
                        fontsize=6.5, fontweight="bold", color=m.colour, zorder=9.5,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": m.colour,
                              "lw": 0.5, "alpha": 0.85})


def path_length(fac: Facility, path: Sequence[str]) -> float:
    """Metres along ``path``: each hop's corridor length (straight when there is none)."""
    total = 0.0
    for a, b in pairwise(path):
        edge = fac.edge_between(a, b)
        na, nb = fac.nodes[a], fac.nodes[b]
        total += edge.length if edge is not None else math.dist((na.x, na.y, na.z),
                                                                (nb.x, nb.y, nb.z))
    return total
