"""The plan view of one level of a site: zones filled by kind, corridors (single-lane,
closed, one-way, level links), stations and inspection points with their labels, passing
bays and capacities above two (where robots can wait or meet on single-lane drifts), a
scale bar and a north arrow. :func:`draw_level` draws it on one matplotlib axes.
"""

from __future__ import annotations

import math
from typing import Any

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patches import Polygon as PolygonPatch
from shapely.ops import polylabel

from fleet.facility.labels import Box, LabelPlacer
from fleet.facility.legend import (
    BAY_STYLE,
    CAPACITY_LEGEND,
    CLOSED,
    CORRIDOR,
    LINK,
    NODE_STYLE,
    SINGLE,
    ZONE_STYLE,
)
from fleet.facility.model import LEVEL_LINKS, Facility, Node, NodeKind, Zone, ZoneKind

LABEL_PT = 5.5
"""Type size (points) of station and inspection point labels."""
MAX_LABELS = 400
"""Inspection points labelled per level at most; beyond it only landings and stations are
named."""


def draw_level(fac: Facility, ax: Axes, lid: str, box: Box, scale: float,
               seen: dict[str, Artist]) -> None:
    """Level ``lid`` of ``fac`` on ``ax``, showing ``box`` (map metres) at ``scale``
    (inches per metre); the legend entries it uses go into ``seen``."""
    lv = fac.levels[lid]
    ax.set_xlim(box.x0, box.x1)
    ax.set_ylim(box.y0, box.y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("#fbfbf8")
    for spine in ax.spines.values():
        spine.set_color("#9e9e9e")
    name = lv.name or f"Level {lid}"
    z = lv.z if lv.z != 0 else 0.0  # never "-0"
    ax.set_title(f"{name}   (level {lid}, z = {z:g} m)", loc="left", fontsize=9,
                 fontweight="bold", pad=4)
    placer = LabelPlacer(box, scale)
    # keep labels off the scale bar (bottom left) and the north arrow (top right)
    inch = 1.0 / scale
    placer.taken += [Box(box.x0, box.y0, box.x0 + box.w / 5 + 0.4 * inch, box.y0 + 0.4 * inch),
                     Box(box.x1 - 0.4 * inch, box.y1 - 0.65 * inch, box.x1, box.y1)]
    bays = set(fac.layout.passing_bays())
    for n in fac.level_nodes(lid):
        if n.kind is not NodeKind.WAYPOINT or n.id in bays:
            placer.block_marker(n.x, n.y)
    zones = _draw_zones(fac, ax, lid, seen)
    _draw_edges(fac, ax, lid, seen)
    _draw_bays(fac, ax, lid, bays, seen)
    _draw_nodes(fac, ax, lid, placer, seen)
    # zone labels last: they can move around a zone, point labels cannot
    _label_zones(ax, zones, placer)
    _scale_bar(ax, box, scale)
    _north_arrow(ax, box, scale)


def _zone_key(z: Zone) -> tuple[ZoneKind, int | None]:
    if z.kind is ZoneKind.GAS_HAZARD:
        return (z.kind, z.atex_zone if z.atex_zone in (0, 1, 2) else 0)
    return (z.kind, None)


def _zone_text(z: Zone) -> tuple[str, str]:
    """The zone's short label and its long one (short label and name)."""
    if z.kind is ZoneKind.GAS_HAZARD:
        text = f"Zone {z.atex_zone}" + (f" ({z.gas})" if z.gas else "")
    elif z.kind is ZoneKind.MA_ONLY:
        text = "Ma only" + (f" ({z.reason.value})" if z.reason else "")
    elif z.kind is ZoneKind.SPEED_LIMIT:
        text = f"≤ {z.max_speed:g} m/s"
    elif z.kind is ZoneKind.COMMS_DEAD:
        text = "No 5G"
    elif z.kind is ZoneKind.RESTRICTED:
        text = f"Restricted: {z.capability}"
    else:
        # hatching and the legend already say no-go: the name says what it is
        return "No-go", z.name or "No-go"
    return text, f"{text}\n{z.name}" if z.name else text


def _draw_zones(fac: Facility, ax: Axes, lid: str, seen: dict[str, Artist]) -> list[Zone]:
    zones = sorted((z for z in fac.zones if z.level == lid), key=lambda z: -z.polygon.area)
    for z in zones:
        face, alpha, hatch, edge, legend = ZONE_STYLE[_zone_key(z)]
        ax.add_patch(PolygonPatch(z.coordinates, closed=True, facecolor=face, alpha=alpha,
                                  edgecolor="none", zorder=1))
        outline = PolygonPatch(z.coordinates, closed=True, facecolor="none", edgecolor=edge,
                               linewidth=0.6, hatch=hatch, zorder=1.1)
        ax.add_patch(outline)
        seen.setdefault(legend, Patch(facecolor=face, alpha=max(alpha, 0.35), hatch=hatch,
                                      edgecolor=edge, label=legend))
    return zones


def _label_zones(ax: Axes, zones: list[Zone], placer: LabelPlacer) -> None:
    # small zones first: they are the ones a big zone's label would hide
    for z in sorted(zones, key=lambda z: z.polygon.area):
        # the pole of inaccessibility: the inside point farthest from the zone's edges
        p = polylabel(z.polygon, tolerance=max(z.polygon.length / 200, 0.01))
        edge = ZONE_STYLE[_zone_key(z)][3]
        short, long = _zone_text(z)
        style: dict[str, Any] = {
            "color": edge, "fontsize": 6.0, "style": "italic", "zorder": 4.5,
            "bbox": {"facecolor": "white", "alpha": 0.55, "edgecolor": "none", "pad": 0.6}}
        # the name only where it fits inside the zone; the short label anywhere near it
        inner = [p, z.polygon.centroid, z.polygon.representative_point()]
        if long != short and any(placer.place(ax, q.x, q.y, long, centred=True,
                                              within=z.polygon, **style) for q in inner):
            continue
        # else the short label at the zone's middle, or beside the zone's bounding box
        x0, y0, x1, y1 = z.polygon.bounds
        for ax_x, ax_y in ((p.x, p.y), ((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1), (x0, p.y),
                           (x1, p.y)):
            if placer.place(ax, ax_x, ax_y, short, centred=True, upright=False, **style):
                break


def _draw_edges(fac: Facility, ax: Axes, lid: str, seen: dict[str, Artist]) -> None:
    groups: dict[str, list[tuple[tuple[float, float], tuple[float, float]]]] = {
        "double": [], "single": [], "closed": [], "link": []}
    arrows: list[tuple[Node, Node]] = []
    crosses: list[tuple[float, float]] = []
    for e in fac.edges:
        a, b = fac.nodes[e.source], fac.nodes[e.target]
        if a.level != lid or b.level != lid:
            continue
        seg = ((a.x, a.y), (b.x, b.y))
        if e.closed:
            groups["closed"].append(seg)
            crosses.append(((a.x + b.x) / 2, (a.y + b.y) / 2))
        elif e.kind in LEVEL_LINKS:
            groups["link"].append(seg)
        elif e.single_lane:
            groups["single"].append(seg)
        else:
            groups["double"].append(seg)
        if e.one_way and not e.closed:
            arrows.append((a, b))
    styles: dict[str, tuple[dict[str, Any], str]] = {
        "double": ({"colors": CORRIDOR, "linewidths": 2.2}, "Corridor / road"),
        "single": ({"colors": SINGLE, "linewidths": 1.0, "linestyles": (0, (4, 2))},
                   "Single-lane entry"),
        "closed": ({"colors": CLOSED, "linewidths": 1.2, "linestyles": (0, (1, 1.5))},
                   "Closed"),
        "link": ({"colors": LINK, "linewidths": 1.6, "linestyles": "dashdot"},
                 "Shaft / ramp / lift"),
    }
    for key, segs in groups.items():
        if not segs:
            continue
        kw, legend = styles[key]
        ax.add_collection(LineCollection(segs, zorder=2, capstyle="round", **kw))
        seen.setdefault(legend, Line2D([], [], color=kw["colors"], lw=kw["linewidths"],
                                       ls=kw.get("linestyles", "-"),
                                       marker="x" if key == "closed" else None,
                                       markeredgecolor="#c62828", label=legend))
    if crosses:
        ax.scatter([c[0] for c in crosses], [c[1] for c in crosses], marker="x", s=28,
                   color="#c62828", linewidths=1.2, zorder=2.5)
    for a, b in arrows:
        mx, my = (a.x + b.x) / 2, (a.y + b.y) / 2
        d = math.hypot(b.x - a.x, b.y - a.y)
        ux, uy = (b.x - a.x) / d, (b.y - a.y) / d
        ax.annotate("", xy=(mx + ux * 1e-3 * d, my + uy * 1e-3 * d), xytext=(mx, my),
                    arrowprops={"arrowstyle": "-|>", "color": "#263238", "lw": 0,
                                "mutation_scale": 9, "shrinkA": 0, "shrinkB": 0},
                    zorder=2.6)
    if arrows:
        seen.setdefault("One-way", Line2D([], [], color=CORRIDOR, lw=1.2, marker=">",
                                          markersize=5, label="One-way"))


def _draw_bays(fac: Facility, ax: Axes, lid: str, bays: set[str],
               seen: dict[str, Artist]) -> None:
    here = [n for n in fac.level_nodes(lid) if n.id in bays]
    if not here:
        return
    marker, size, colour, legend = BAY_STYLE
    # hollow and under the stations: a bay that is also an inspection point shows as both
    ax.scatter([n.x for n in here], [n.y for n in here], marker=marker, s=size,
               facecolors="white", edgecolors=colour, linewidths=1.3, zorder=3.2)
    seen.setdefault(legend, Line2D([], [], marker=marker, ls="", markerfacecolor="white",
                                   markeredgecolor=colour, markeredgewidth=1.3,
                                   markersize=7, label=legend))


def _draw_nodes(fac: Facility, ax: Axes, lid: str, placer: LabelPlacer,
                seen: dict[str, Artist]) -> None:
    nodes = fac.level_nodes(lid)
    ways = [n for n in nodes if n.kind is NodeKind.WAYPOINT]
    if ways:
        ax.scatter([n.x for n in ways], [n.y for n in ways], s=3, color="#78909c", zorder=3,
                   linewidths=0)
    for kind, (marker, size, colour, legend) in NODE_STYLE.items():
        group = [n for n in nodes if n.kind is kind]
        if not group:
            continue
        ax.scatter([n.x for n in group], [n.y for n in group], marker=marker, s=size,
                   color=colour, edgecolors="white" if kind is NodeKind.INSPECTION else "black",
                   linewidths=0.5, zorder=3.5)
        seen.setdefault(legend, Line2D([], [], marker=marker, ls="", color=colour,
                                       markeredgecolor="black", markersize=6, label=legend))
    # names in order of importance: where to go between levels, then stations, then points
    for n in [n for n in nodes if n.kind is NodeKind.LANDING]:
        placer.place(ax, n.x, n.y, _landing_text(fac, n), color="#4a148c", fontsize=6.0,
                     weight="bold", upright=False)
    for n in nodes:
        if n.kind in (NodeKind.REFUGE, NodeKind.DOCK, NodeKind.CHARGER):
            placer.place(ax, n.x, n.y, n.id, color="#1b1b1b", fontsize=LABEL_PT,
                         weight="bold", upright=False)
    # room for more than two robots (a garage, a wide junction): few, and worth knowing
    roomy = [(n, fac.capacity(n.id)) for n in nodes if fac.capacity(n.id) > 2]
    for n, cap in roomy:
        placer.place(ax, n.x, n.y, f"×{cap}", color=BAY_STYLE[2], fontsize=LABEL_PT,
                     weight="bold", upright=False)
    if roomy:
        seen.setdefault(CAPACITY_LEGEND, Line2D([], [], ls="", marker="$×$", markersize=6,
                                                color=BAY_STYLE[2], label=CAPACITY_LEGEND))
    points = [n for n in nodes if n.kind is NodeKind.INSPECTION]
    shown = sum(placer.place(ax, n.x, n.y, n.id, color="#004d40", fontsize=LABEL_PT)
                for n in points[:MAX_LABELS])
    # named junctions (a control room, a gate, a fan drift) are landmarks: named if room
    for n in nodes:
        if n.kind is NodeKind.WAYPOINT and n.name:
            placer.place(ax, n.x, n.y, n.name, color="#455a64", fontsize=LABEL_PT,
                         style="italic", upright=False)
    if shown < len(points):
        ax.text(0.995, 0.005, f"{shown} of {len(points)} inspection points labelled",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=5.5,
                color="#555555")


def _landing_text(fac: Facility, n: Node) -> str:
    parts = []
    for e in fac.edges:
        if e.kind not in LEVEL_LINKS or n.id not in (e.source, e.target):
            continue
        other = fac.nodes[e.target if e.source == n.id else e.source]
        if other.level == n.level:
            continue
        arrow = "▼" if other.z < n.z else "▲"
        parts.append(f"{arrow} {other.level} ({e.kind.value} {e.length:.0f} m)")
    return "\n".join(parts) or n.id


def _scale_bar(ax: Axes, box: Box, scale: float) -> None:
    target = box.w / 5
    exp = 10 ** math.floor(math.log10(target))
    length = max(m * exp for m in (1, 2, 5) if m * exp <= target)
    pad = 0.18 / scale
    x0, y0 = box.x0 + pad, box.y0 + pad
    thick = 0.045 / scale
    half = length / 2
    for k, colour in enumerate(("black", "white")):
        ax.add_patch(PolygonPatch(
            [(x0 + k * half, y0), (x0 + (k + 1) * half, y0),
             (x0 + (k + 1) * half, y0 + thick), (x0 + k * half, y0 + thick)],
            closed=True, facecolor=colour, edgecolor="black", linewidth=0.6, zorder=6))
    ax.text(x0 + length / 2, y0 + thick * 1.6, f"{length:g} m", ha="center", va="bottom",
            fontsize=6.5, zorder=6)


def _north_arrow(ax: Axes, box: Box, scale: float) -> None:
    x = box.x1 - 0.2 / scale
    y = box.y1 - 0.45 / scale
    ax.annotate("N", xy=(x, y + 0.3 / scale), xytext=(x, y), ha="center", va="top",
                fontsize=7, fontweight="bold", zorder=6,
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 0.8})


