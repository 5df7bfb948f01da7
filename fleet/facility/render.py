"""Pictures of a facility: one plan view per level, zones, corridors, stations and routes.

:func:`render_facility` is the one entry point. It draws with matplotlib's object API on
an Agg canvas, never through pyplot, so it opens no window and touches no global figure
state; it is safe in servers and tests.

Every level is drawn at the same scale (metres per inch), so a supervisor can compare
levels at a glance; the layout (side by side or stacked) is the one that gives the largest
scale within a bounded picture.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from matplotlib import rc_context
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patches import Polygon as PolygonPatch
from matplotlib.transforms import offset_copy
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry import box as shapely_box
from shapely.ops import polylabel

from fleet.errors import MapError, Problem
from fleet.facility.model import LEVEL_LINKS, Facility, Node, NodeKind, Zone, ZoneKind

PICTURE_FORMATS = {".svg": "svg", ".png": "png"}
"""Extensions :func:`render_facility` writes, and matplotlib's format name for each."""

_MAX_W, _MAX_H = 15.0, 10.5       # inches of map area at most, all panels together
_LEGEND_W = 2.5                   # inches of legend column
_MARGIN, _TOP, _PANEL_TITLE, _GAP = 0.3, 0.75, 0.3, 0.25
_DPI = 150
_LABEL_PT = 5.5
_MAX_LABELS = 400                 # per level; beyond it only landings/stations are named

# zone kind (and ATEX number) -> face colour, alpha, hatch, edge colour, legend text
_ZONE_STYLE: dict[tuple[ZoneKind, int | None], tuple[str, float, str | None, str, str]] = {
    (ZoneKind.NO_GO, None): ("#8b0000", 0.22, "////", "#8b0000", "No-go"),
    (ZoneKind.GAS_HAZARD, 0): ("#d84315", 0.65, None, "#b71c1c", "ATEX zone 0"),
    (ZoneKind.GAS_HAZARD, 1): ("#fb8c00", 0.38, None, "#e65100", "ATEX zone 1"),
    (ZoneKind.GAS_HAZARD, 2): ("#fdd835", 0.30, None, "#f9a825", "ATEX zone 2"),
    (ZoneKind.SPEED_LIMIT, None): ("#1e88e5", 0.16, None, "#1565c0", "Speed limit"),
    (ZoneKind.COMMS_DEAD, None): ("#757575", 0.16, "xxx", "#616161", "5G dead zone"),
    (ZoneKind.RESTRICTED, None): ("#8e24aa", 0.20, None, "#6a1b9a", "Restricted"),
}
# node kind -> marker, size (pt^2), face colour, legend text
_NODE_STYLE: dict[NodeKind, tuple[str, float, str, str]] = {
    NodeKind.INSPECTION: ("o", 16.0, "#00897b", "Inspection point"),
    NodeKind.CHARGER: ("s", 42.0, "#fbc02d", "Charger"),
    NodeKind.DOCK: ("D", 36.0, "#1565c0", "Dock"),
    NodeKind.REFUGE: ("P", 70.0, "#2e7d32", "Refuge"),
    NodeKind.LANDING: ("^", 60.0, "#6a1b9a", "Landing (shaft/ramp/lift)"),
}
_ROUTE_COLOURS = ("#d81b60", "#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#00acc1",
                  "#6d4c41", "#3949ab", "#c0ca33", "#f4511e")
_CORRIDOR, _SINGLE, _CLOSED, _LINK = "#37474f", "#546e7a", "#b0b0b0", "#8d6e63"


@dataclass(frozen=True)
class Mark:
    """A marker drawn on top of everything at ``(x, y)`` on ``level``: a filled circle of
    ``colour`` with ``label`` beside it; marks of one ``legend`` text share a legend entry
    (the anomaly report marks anomalies with them)."""

    x: float
    y: float
    level: str
    label: str
    colour: str = "#d50000"
    legend: str = "Mark"


def render_facility(
    fac: Facility,
    out: Path,
    *,
    level: str | None = None,
    routes: Mapping[str, Sequence[str]] | None = None,
    title: str | None = None,
    marks: Sequence[Mark] = (),
) -> None:
    """Draw ``fac`` to ``out``, an ``.svg`` or ``.png`` file chosen by extension.

    Draws every level (or only ``level``), each as a plan view at one shared scale with a
    scale bar: zones filled by kind, corridors (single-lane dashed, closed ones grey and
    crossed, one-way with an arrow), landings labelled with the level they lead to,
    chargers, docks, refuges and inspection points (labelled by id while labels fit),
    and a legend. ``routes`` maps a robot name to the node ids it visits in order; each is
    drawn in its own colour on top; ``marks`` (:class:`Mark`) on top of those, on the
    levels drawn (marks on other levels are left out). ``title`` defaults to the site's
    name. SVG text stays text (searchable, e.g. for node ids).

    Raises :class:`MapError` for an unsupported extension, an unknown level, a route
    through an unknown node, or a file that cannot be written.
    """
    out = Path(out)
    fmt = PICTURE_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise MapError(Problem(
            f"unsupported picture format {out.suffix or '(no extension)'!r}; "
            f"use one of: {', '.join(PICTURE_FORMATS)}", str(out)))
    if level is not None and level not in fac.levels:
        raise MapError(Problem(
            f"unknown level {level!r} (levels: {', '.join(fac.levels)})", str(out)))
    for robot, path in (routes or {}).items():
        for nid in path:
            if nid not in fac.nodes:
                raise MapError(Problem(f"route of {robot!r} visits unknown node {nid!r}",
                                       str(out)))
    levels = [level] if level is not None else [lv for lv in fac.levels
                                                 if fac.level_nodes(lv)]
    # SVG text stays text (searchable, smaller); a fixed salt keeps SVG ids reproducible
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "fleet-map", "font.size": 7.0}):
        fig = _draw(fac, levels or list(fac.levels)[:1], routes or {}, title or fac.name,
                    marks)
        try:
            fig.savefig(out, format=fmt, dpi=_DPI,
                        metadata={"Date": None} if fmt == "svg" else None)
        except OSError as exc:
            raise MapError(Problem(f"cannot write picture: {exc.strerror or exc}",
                                   str(out))) from None


# ------------------------------------------------------------------ layout
@dataclass(frozen=True)
class _Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def w(self) -> float:
        return self.x1 - self.x0

    @property
    def h(self) -> float:
        return self.y1 - self.y0

    def overlaps(self, o: _Box) -> bool:
        return self.x0 < o.x1 and o.x0 < self.x1 and self.y0 < o.y1 and o.y0 < self.y1


def _bounds(fac: Facility, lid: str) -> _Box:
    xs = [n.x for n in fac.level_nodes(lid)]
    ys = [n.y for n in fac.level_nodes(lid)]
    for z in fac.zones:
        if z.level == lid:
            bx0, by0, bx1, by1 = z.polygon.bounds
            xs += [bx0, bx1]
            ys += [by0, by1]
    if not xs:
        xs, ys = [0.0], [0.0]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    pad = max(0.05 * max(x1 - x0, y1 - y0), 8.0)
    return _Box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)


def _layout(boxes: list[_Box]) -> tuple[int, float]:
    """Columns and scale (inches per metre) giving the largest shared scale."""
    best = (1, 0.0)
    for ncols in range(1, len(boxes) + 1):
        rows = [boxes[i:i + ncols] for i in range(0, len(boxes), ncols)]
        width = max(sum(b.w for b in row) for row in rows)
        height = sum(max(b.h for b in row) for row in rows)
        gaps_w = _GAP * (ncols - 1)
        gaps_h = (_GAP + _PANEL_TITLE) * len(rows)
        scale = min((_MAX_W - gaps_w) / width, (_MAX_H - gaps_h) / height)
        if scale > best[1] * 1.001:
            best = (ncols, scale)
    return best


def _draw(fac: Facility, levels: list[str], routes: Mapping[str, Sequence[str]],
          title: str, marks: Sequence[Mark] = ()) -> Figure:
    boxes = [_bounds(fac, lid) for lid in levels]
    ncols, scale = _layout(boxes)
    rows = [list(range(i, min(i + ncols, len(levels)))) for i in range(0, len(levels), ncols)]
    row_h = [max(boxes[i].h for i in row) * scale for row in rows]
    map_w = max(sum(boxes[i].w * scale for i in row) + _GAP * (len(row) - 1) for row in rows)
    fig_w = _MARGIN + max(map_w, 4.0) + _GAP + _LEGEND_W + _MARGIN
    fig_h = _TOP + sum(row_h) + len(rows) * (_PANEL_TITLE + _GAP) + _MARGIN
    fig = Figure(figsize=(fig_w, fig_h))
    FigureCanvasAgg(fig)
    fig.text(0.5, 1 - 0.3 / fig_h, title, ha="center", va="center", fontsize=14,
             fontweight="bold")
    nins = len(fac.inspection_points)
    fig.text(0.5, 1 - 0.55 / fig_h,
             f"{len(fac.nodes)} nodes · {len(fac.edges)} edges · {nins} inspection points · "
             f"{len(fac.levels)} level{'s' if len(fac.levels) != 1 else ''}",
             ha="center", va="center", fontsize=8, color="#555555")

    seen: dict[str, Artist] = {}
    top = fig_h - _TOP
    for row, rh in zip(rows, row_h, strict=True):
        top -= _PANEL_TITLE
        left = _MARGIN
        for i in row:
            b = boxes[i]
            w, h = b.w * scale, b.h * scale
            ax = fig.add_axes((left / fig_w, (top - h) / fig_h, w / fig_w, h / fig_h))
            _draw_level(fac, ax, levels[i], b, scale, seen)
            left += w + _GAP
        top -= rh + _GAP
    _draw_routes(fac, fig, levels, routes, seen)
    _draw_marks(fig, levels, marks, seen)

    legend_x = (_MARGIN + max(map_w, 4.0) + _GAP) / fig_w
    order = [s[4] for s in _ZONE_STYLE.values()] + [
        "Corridor / road", "Single-lane entry", "One-way", "Closed", "Shaft / ramp / lift",
    ] + [s[3] for s in _NODE_STYLE.values()]
    keys = sorted(seen, key=lambda k: order.index(k) if k in order else len(order))
    fig.legend(handles=[seen[k] for k in keys], labels=keys, loc="upper left",
               bbox_to_anchor=(legend_x, 1 - _TOP / fig_h), fontsize=7, frameon=False,
               title="Legend", title_fontsize=8, alignment="left")
    return fig


# ------------------------------------------------------------------- levels
def _draw_level(fac: Facility, ax: Axes, lid: str, box: _Box, scale: float,
                seen: dict[str, Artist]) -> None:
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
    placer = _LabelPlacer(box, scale)
    # keep labels off the scale bar (bottom left) and the north arrow (top right)
    inch = 1.0 / scale
    placer.taken += [_Box(box.x0, box.y0, box.x0 + box.w / 5 + 0.4 * inch, box.y0 + 0.4 * inch),
                     _Box(box.x1 - 0.4 * inch, box.y1 - 0.65 * inch, box.x1, box.y1)]
    for n in fac.level_nodes(lid):
        if n.kind is not NodeKind.WAYPOINT:
            placer.block_marker(n.x, n.y)
    zones = _draw_zones(fac, ax, lid, seen)
    _draw_edges(fac, ax, lid, seen)
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
        face, alpha, hatch, edge, legend = _ZONE_STYLE[_zone_key(z)]
        ax.add_patch(PolygonPatch(z.coordinates, closed=True, facecolor=face, alpha=alpha,
                                  edgecolor="none", zorder=1))
        outline = PolygonPatch(z.coordinates, closed=True, facecolor="none", edgecolor=edge,
                               linewidth=0.6, hatch=hatch, zorder=1.1)
        ax.add_patch(outline)
        seen.setdefault(legend, Patch(facecolor=face, alpha=max(alpha, 0.35), hatch=hatch,
                                      edgecolor=edge, label=legend))
    return zones


def _label_zones(ax: Axes, zones: list[Zone], placer: _LabelPlacer) -> None:
    # small zones first: they are the ones a big zone's label would hide
    for z in sorted(zones, key=lambda z: z.polygon.area):
        # the pole of inaccessibility: the inside point farthest from the zone's edges
        p = polylabel(z.polygon, tolerance=max(z.polygon.length / 200, 0.01))
        edge = _ZONE_STYLE[_zone_key(z)][3]
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
        "double": ({"colors": _CORRIDOR, "linewidths": 2.2}, "Corridor / road"),
        "single": ({"colors": _SINGLE, "linewidths": 1.0, "linestyles": (0, (4, 2))},
                   "Single-lane entry"),
        "closed": ({"colors": _CLOSED, "linewidths": 1.2, "linestyles": (0, (1, 1.5))},
                   "Closed"),
        "link": ({"colors": _LINK, "linewidths": 1.6, "linestyles": "dashdot"},
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
        seen.setdefault("One-way", Line2D([], [], color=_CORRIDOR, lw=1.2, marker=">",
                                          markersize=5, label="One-way"))


def _draw_nodes(fac: Facility, ax: Axes, lid: str, placer: _LabelPlacer,
                seen: dict[str, Artist]) -> None:
    nodes = fac.level_nodes(lid)
    ways = [n for n in nodes if n.kind is NodeKind.WAYPOINT]
    if ways:
        ax.scatter([n.x for n in ways], [n.y for n in ways], s=3, color="#78909c", zorder=3,
                   linewidths=0)
    for kind, (marker, size, colour, legend) in _NODE_STYLE.items():
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
            placer.place(ax, n.x, n.y, n.id, color="#1b1b1b", fontsize=_LABEL_PT,
                         weight="bold", upright=False)
    points = [n for n in nodes if n.kind is NodeKind.INSPECTION]
    shown = sum(placer.place(ax, n.x, n.y, n.id, color="#004d40", fontsize=_LABEL_PT)
                for n in points[:_MAX_LABELS])
    # named junctions (a control room, a gate, a fan drift) are landmarks: named if room
    for n in nodes:
        if n.kind is NodeKind.WAYPOINT and n.name:
            placer.place(ax, n.x, n.y, n.name, color="#455a64", fontsize=_LABEL_PT,
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


def _scale_bar(ax: Axes, box: _Box, scale: float) -> None:
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


def _north_arrow(ax: Axes, box: _Box, scale: float) -> None:
    x = box.x1 - 0.2 / scale
    y = box.y1 - 0.45 / scale
    ax.annotate("N", xy=(x, y + 0.3 / scale), xytext=(x, y), ha="center", va="top",
                fontsize=7, fontweight="bold", zorder=6,
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 0.8})


# ------------------------------------------------------------------- routes
def _draw_routes(fac: Facility, fig: Figure, levels: list[str],
                 routes: Mapping[str, Sequence[str]], seen: dict[str, Artist]) -> None:
    axes = dict(zip(levels, fig.axes, strict=False))
    k = len(routes)
    for i, (robot, path) in enumerate(routes.items()):
        colour = _ROUTE_COLOURS[i % len(_ROUTE_COLOURS)]
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
        label = f"{robot} ({len(path)} nodes, {_path_length(fac, path):.0f} m)"
        seen[label] = Line2D([], [], color=colour, lw=2.4, marker="o", markerfacecolor="none",
                             markersize=6, label=label)


def _draw_marks(fig: Figure, levels: list[str], marks: Sequence[Mark],
                seen: dict[str, Artist]) -> None:
    axes = dict(zip(levels, fig.axes, strict=False))
    for m in marks:
        ax = axes.get(m.level)
        if ax is None:
            continue
        ax.scatter([m.x], [m.y], s=90, marker="o", color=m.colour, edgecolors="black",
                   linewidths=0.8, zorder=9, alpha=0.9)
        ax.annotate(m.label, (m.x, m.y), xytext=(6, 6), textcoords="offset points",
                    fontsize=6.5, fontweight="bold", color=m.colour, zorder=9.5,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": m.colour,
                          "lw": 0.5, "alpha": 0.85})
        seen.setdefault(m.legend, Line2D([], [], marker="o", ls="", color=m.colour,
                                         markeredgecolor="black", markersize=7,
                                         label=m.legend))


def _path_length(fac: Facility, path: Sequence[str]) -> float:
    total = 0.0
    for a, b in pairwise(path):
        edge = fac.edge_between(a, b)
        na, nb = fac.nodes[a], fac.nodes[b]
        total += edge.length if edge is not None else math.dist((na.x, na.y, na.z),
                                                                (nb.x, nb.y, nb.z))
    return total


# ------------------------------------------------------------------- labels
_Spot = tuple[float, float, str, str, float]


class _LabelPlacer:
    """Greedy label placement in map metres: each label takes the first of a few spots
    around its anchor that overlaps no earlier label or station marker, or is left out.
    Text size is known in points and the scale in inches per metre, so no drawing pass is
    needed to measure."""

    # (dx, dy) in label gaps, alignment, rotation: the order is the order of preference
    _CENTRE: tuple[_Spot, ...] = ((0.0, 0.0, "center", "center", 0.0),)
    _SPOTS: tuple[_Spot, ...] = (
        (0.0, 1.0, "center", "bottom", 0.0), (0.0, -1.0, "center", "top", 0.0),
        (1.0, 0.0, "left", "center", 0.0), (-1.0, 0.0, "right", "center", 0.0),
        (1.0, 1.0, "left", "bottom", 0.0), (1.0, -1.0, "left", "top", 0.0),
        (-1.0, 1.0, "right", "bottom", 0.0), (-1.0, -1.0, "right", "top", 0.0))
    # upright labels fit along densely spaced points in a row (a longwall face)
    _UPRIGHT: tuple[_Spot, ...] = (
        (0.0, 1.0, "center", "bottom", 90.0), (0.0, -1.0, "center", "top", 90.0))

    def __init__(self, box: _Box, scale: float) -> None:
        self.box = box
        self.m_per_pt = 1.0 / (72.0 * scale)
        self.taken: list[_Box] = []
        self.markers: list[tuple[float, float, _Box]] = []

    def block_marker(self, x: float, y: float, size_pt: float = 3.5) -> None:
        r = size_pt * self.m_per_pt
        self.markers.append((x, y, _Box(x - r, y - r, x + r, y + r)))

    def place(self, ax: Axes, x: float, y: float, text: str, *, fontsize: float,
              centred: bool = False, upright: bool = True,
              within: ShapelyPolygon | None = None, zorder: float = 5.0,
              **style: Any) -> bool:
        """Draw ``text`` near ``(x, y)`` where it fits (only inside ``within`` when
        given; turned upright only when ``upright`` and nothing else fits); return
        whether it was drawn."""
        lines = text.split("\n")
        w = max(len(s) for s in lines) * 0.56 * fontsize * self.m_per_pt
        h = len(lines) * 1.2 * fontsize * self.m_per_pt
        gap = 3.5 * self.m_per_pt
        spots = self._CENTRE + self._SPOTS if centred else self._SPOTS
        if upright and not centred:
            spots = self._SPOTS[:2] + self._UPRIGHT + self._SPOTS[2:]
        if within is not None:
            spots = self._CENTRE
        # a label may sit next to its own marker, never on another one
        blocked = self.taken + [b for mx, my, b in self.markers if (mx, my) != (x, y)]
        for sx, sy, ha, va, rot in spots:
            ax_x, ax_y = x + sx * gap, y + sy * gap
            bw, bh = (h, w) if rot else (w, h)
            x0 = {"left": ax_x, "right": ax_x - bw, "center": ax_x - bw / 2}[ha]
            y0 = {"bottom": ax_y, "top": ax_y - bh, "center": ax_y - bh / 2}[va]
            cand = _Box(x0, y0, x0 + bw, y0 + bh)
            inside = (cand.x0 >= self.box.x0 and cand.x1 <= self.box.x1
                      and cand.y0 >= self.box.y0 and cand.y1 <= self.box.y1)
            if not inside or any(cand.overlaps(t) for t in blocked):
                continue
            if within is not None and not within.contains(
                    shapely_box(cand.x0, cand.y0, cand.x1, cand.y1)):
                continue
            self.taken.append(cand)
            ax.text(ax_x, ax_y, text, ha=ha, va=va, fontsize=fontsize, zorder=zorder,
                    linespacing=1.0, rotation=rot, rotation_mode="default", **style)
            return True
        return False
