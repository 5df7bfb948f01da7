"""Pictures of a facility: one plan view per level, zones, corridors, stations and routes.

:func:`render_facility` is the one entry point. It draws with matplotlib's object API on
an Agg canvas, never through pyplot, so it opens no window and touches no global figure
state; it is safe in servers and tests. The same figure is written as SVG or PNG.

Every level is drawn at the same scale (metres per inch), so a supervisor can compare
levels at a glance; the layout (side by side or stacked) is the one that gives the largest
scale within a bounded picture. The parts, by concern: :mod:`.floor_plan` (one level's
plan view), :mod:`.overlays` (routes and marks, :class:`Mark`, on top), :mod:`.legend` (the
styles of each kind of thing and the legend), :mod:`.labels` (label placement).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib import rc_context
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fleet.errors import MapError, Problem
from fleet.facility.floor_plan import draw_level
from fleet.facility.labels import Box
from fleet.facility.legend import draw_legend
from fleet.facility.model import Facility
from fleet.facility.overlays import Mark, draw_marks, draw_routes

__all__ = ["PICTURE_FORMATS", "Mark", "render_facility"]

PICTURE_FORMATS = {".svg": "svg", ".png": "png"}
"""Extensions :func:`render_facility` writes, and matplotlib's format name for each."""

_MAX_W, _MAX_H = 15.0, 10.5       # inches of map area at most, all panels together
_LEGEND_W = 2.5                   # inches of legend column
_MARGIN, _TOP, _PANEL_TITLE, _GAP = 0.3, 0.75, 0.3, 0.25
_DPI = 150


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
    passing bays (a hollow hexagon, "Passing bay" in the legend) and the capacity of every
    node that holds more than two robots ("×3"), and a legend. ``routes`` maps a robot
    name to the node ids it visits in order; each is drawn in its own colour on top;
    ``marks`` (:class:`Mark`) on top of those, on the levels drawn (marks on other levels
    are left out). ``title`` defaults to the site's
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
def _bounds(fac: Facility, lid: str) -> Box:
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
    return Box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)


def _layout(boxes: list[Box]) -> tuple[int, float]:
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
            draw_level(fac, ax, levels[i], b, scale, seen)
            left += w + _GAP
        top -= rh + _GAP
    draw_routes(fac, fig, levels, routes, seen)
    draw_marks(fig, levels, marks, seen)

    draw_legend(fig, seen, x=(_MARGIN + max(map_w, 4.0) + _GAP) / fig_w,
                top=1 - _TOP / fig_h)
    return fig
