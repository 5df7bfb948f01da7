"""Labels on a map picture: where each text goes so that none hides another.

:class:`LabelPlacer` places labels greedily in map metres (a label takes the first free
spot around its anchor, or is left out); :class:`Box` is the rectangle it reasons with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry import box as shapely_box


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in map metres."""

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

    def overlaps(self, o: Box) -> bool:
        return self.x0 < o.x1 and o.x0 < self.x1 and self.y0 < o.y1 and o.y0 < self.y1


_Spot = tuple[float, float, str, str, float]


class LabelPlacer:
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

    def __init__(self, box: Box, scale: float) -> None:
        self.box = box
        self.m_per_pt = 1.0 / (72.0 * scale)
        self.taken: list[Box] = []
        self.markers: list[tuple[float, float, Box]] = []

    def block_marker(self, x: float, y: float, size_pt: float = 3.5) -> None:
        r = size_pt * self.m_per_pt
        self.markers.append((x, y, Box(x - r, y - r, x + r, y + r)))

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
            cand = Box(x0, y0, x0 + bw, y0 + bh)
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
