"""The shift report's time pieces: times shown in a zone and in UTC (:class:`Times`),
durations as people say them (:func:`duration`), and robots' availability drawn as a
timeline of inline SVG (:func:`timeline`), one bar per robot, no script."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo

from fleet.anomaly.report import _e
from fleet.anomaly.shift import BUSY, CHARGING, LOCKED_OUT, LOST, RobotAvailability

STATE_COLOURS = {BUSY: "#1565c0", CHARGING: "#2e7d32", LOST: "#e65100",
                 LOCKED_OUT: "#212121"}
"""Colour of each recorded state on the availability timeline (idle is the grey behind)."""
STATE_NAMES = {BUSY: "busy", CHARGING: "charging", LOST: "lost", LOCKED_OUT: "locked out"}
IDLE_COLOUR = "#e0e0e0"
"""Colour behind the states: the robot's idle time."""


class Times:
    """Times in the reader's zone and in UTC."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz

    def utc_only(self, moment: datetime) -> bool:
        """Whether the zone reads ``moment`` as UTC itself (then it is shown once)."""
        return moment.astimezone(self.tz).tzname() == "UTC"

    def local(self, moment: datetime | None) -> str:
        """``2026-12-03 08:00 CET``, to the minute (a dash for None)."""
        if moment is None:
            return "—"
        local = moment.astimezone(self.tz)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"

    def both(self, moment: datetime | None) -> str:
        """``2026-12-03 08:00:00 CET (07:00:00 UTC)``; UTC once when the zone is UTC."""
        if moment is None:
            return "—"
        local, utc = moment.astimezone(self.tz), moment.astimezone(UTC)
        if self.utc_only(moment):
            return f"{utc:%Y-%m-%d %H:%M:%S} UTC"
        shown = f"{utc:%H:%M:%S}" if utc.date() == local.date() else \
            f"{utc:%Y-%m-%d %H:%M:%S}"
        return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} ({shown} UTC)"


def duration(seconds: float) -> str:
    """``7h 30m``, ``45m``, ``12s``, ``2d 3h``: the two largest units."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return " ".join(parts[:2])


def timeline(robots: Sequence[RobotAvailability], start: datetime, end: datetime,
              t: Times) -> str:
    """One bar per robot over ``[start, end]``, its recorded states coloured."""
    label_w, width, row_h, top = 170, 900, 22, 22
    span_s = (end - start).total_seconds()
    plot = width - label_w - 24
    height = top + row_h * len(robots) + 6

    def x(moment: datetime) -> float:
        return label_w + plot * (moment - start).total_seconds() / span_s

    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" '
             'font-size="11">']
    for tick in ticks(start, end, t):
        parts.append(f'<line x1="{x(tick):.1f}" y1="{top - 4}" x2="{x(tick):.1f}" '
                     f'y2="{height - 6}" stroke="#bdbdbd" stroke-width="0.5"/>'
                     f'<text x="{x(tick):.1f}" y="{top - 8}" text-anchor="middle">'
                     f"{_e(f'{tick.astimezone(t.tz):%H:%M}')}</text>")
    for i, r in enumerate(robots):
        y = top + i * row_h
        name = f"{r.manufacturer}/{r.serial}" if r.manufacturer else r.serial
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">'
                     f"{_e(name[:26])}</text>"
                     f'<rect x="{label_w}" y="{y + 3}" width="{plot}" height="{row_h - 6}" '
                     f'fill="{IDLE_COLOUR}"/>')
        for s in r.spans:
            x0, x1 = x(max(s.start, start)), x(min(s.end, end))
            tip = f"{STATE_NAMES.get(s.state, s.state)} {t.local(s.start)} – {t.local(s.end)}"
            parts.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 0.5):.1f}" '
                         f'height="{row_h - 6}" fill="{STATE_COLOURS.get(s.state, "#000")}">'
                         f"<title>{_e(tip)}</title></rect>")
    parts.append("</svg>")
    return "".join(parts)


def ticks(start: datetime, end: datetime, t: Times) -> list[datetime]:
    """Round local times across ``[start, end]``: every 1, 2, 3, 6 or 12 hours, or each
    local midnight, so that there are at most about 12."""
    hours = (end - start).total_seconds() / 3600
    step = next((s for s in (1, 2, 3, 6, 12) if hours / s <= 12), 24)
    out: list[datetime] = []
    moment = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while moment <= end and len(out) < 60:
        if moment >= start:
            local = moment.astimezone(t.tz)
            if local.minute == 0 and local.hour % step == 0:
                out.append(moment)
        moment += timedelta(minutes=15)
    if step == 24 and len(out) > 16:
        out = out[::max(1, len(out) // 12)]
    return out
