"""The mission report: one self-contained HTML page for a shift supervisor.

:func:`render_report` turns a :class:`~fleet.anomaly.record.MissionRecord` (a mission,
its routes, the anomalies seen during it, its results: what the manager's ``report`` API
verb answers) and the site map into a page with:
what needs action first (unresolved anomalies, worst first), the map with the routes the
robots drove and the anomalies marked where they were found, every anomaly of the
mission, and the readings per inspection point. The map is inline SVG (from
:func:`fleet.facility.render.render_facility`), so the file needs nothing else to open;
there is no script.
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from fleet.anomaly.record import (
    AnomalyRecord,
    MissionRecord,
    MissionSummary,
    ObservationRecord,
    ResultRecord,
)
from fleet.errors import FleetError
from fleet.facility.model import Facility
from fleet.facility.render import Mark, render_facility
from fleet.sensors import Severity

SEVERITY_COLOURS = {"info": "#1565c0", "warning": "#f9a825", "alarm": "#e65100",
                    "critical": "#b71c1c"}
"""Colour of each severity, in the page and on the map."""

_STATUS_TEXT = {"open": "OPEN — nobody has taken it in hand",
                "acknowledged": "acknowledged", "resolved": "resolved"}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;margin:24px;color:#212121}
h1{margin:0 0 4px 0;font-size:26px} h2{margin-top:28px;border-bottom:2px solid #ddd}
.sub{color:#555} table{border-collapse:collapse;width:100%;margin:8px 0;font-size:14px}
th,td{border:1px solid #ccc;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} .num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;color:#fff;font-weight:bold;
font-size:12px;text-transform:uppercase} .warning{color:#212121}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #ccc;border-radius:6px;padding:10px 14px;min-width:130px}
.card b{display:block;font-size:24px} .ok{color:#2e7d32;font-weight:bold}
.hot{background:#fff3e0;font-weight:bold} .map svg{max-width:100%;height:auto}
"""


def mission_facility(record: MissionRecord, *, map_file: Path | None = None) -> Facility:
    """The site map of a report: ``map_file`` when given, else the map the mission was
    launched with (sent by the manager). FleetError when neither is available."""
    from fleet.facility import formats

    if map_file is not None:
        return formats.load(map_file)
    if record.map is not None:
        m = record.map
        return formats.parse(m.text, m.suffix or ".yaml", file=m.name or "map")
    raise FleetError("the manager does not have this mission's map; pass it with --map FILE")


def render_report(record: MissionRecord, out: Path, facility: Facility) -> None:
    """Write the HTML report of ``record`` to ``out``.

    FleetError (MapError) when a route names a node the map does not have or the file
    cannot be written.
    """
    mission = record.mission
    anomalies = sorted(record.anomalies, key=_worst_first)
    svg = _map_svg(facility, record.driven_routes(), anomalies,
                   title=f"{facility.name} — {mission.name}")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Inspection report: {_e(mission.name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Inspection report: {_e(mission.name)}</h1>",
        f'<div class="sub">Site <b>{_e(facility.name)}</b> · mission '
        f"<code>{_e(mission.mission_id)}</code> · status <b>{_e(mission.status)}</b>"
        + (f" ({_e(mission.reason)})" if mission.reason else "")
        + f" · launched {_e(_when(mission.created_at))}, last change "
        f"{_e(_when(mission.updated_at))} · report made "
        f"{_e(_when(record.generated_at))}</div>",
        _cards(mission, anomalies, record.results),
        "<h2>Needs action</h2>", _action_list(anomalies, facility),
        "<h2>Map: routes driven and anomalies found</h2>",
        f'<div class="map">{svg}</div>',
        "<h2>Every anomaly seen during this mission</h2>", _anomaly_table(anomalies, facility),
        "<h2>Readings per inspection point</h2>",
        _readings_table(record.results, record.observations, facility),
        '<p class="sub">Severity: info (worth recording) · warning (attention soon) · alarm '
        "(regulatory alarm level: act now) · critical (beyond the alarm level). Limits and "
        "their sources: docs/anomalies.md, or <code>fleet anomalies limits</code>.</p>",
        "</body></html>"]
    try:
        out.write_text("\n".join(parts), encoding="utf-8")
    except OSError as exc:
        raise FleetError(f"cannot write {out}: {exc.strerror or exc}") from None


def _worst_first(a: AnomalyRecord) -> tuple[int, int, datetime]:
    return (1 if a.status == "resolved" else 0, -_rank(a.severity), a.last_seen)


def _rank(severity: str) -> int:
    try:
        return Severity.parse(severity).rank
    except ValueError:
        return -1


def anomaly_marks(anomalies: Sequence[AnomalyRecord], facility: Facility) -> list[Mark]:
    """Map marks for anomalies, coloured by severity, at their inspection point (or their
    recorded position); anomalies that cannot be placed on ``facility`` are left out."""
    marks: list[Mark] = []
    for a in anomalies:
        place = _place(a, facility)
        if place is None:
            continue
        x, y, level = place
        marks.append(Mark(x, y, level, f"#{a.id} {a.sensor}",
                          SEVERITY_COLOURS.get(a.severity, "#000000"),
                          f"Anomaly: {a.severity}"))
    return marks


def _map_svg(facility: Facility, routes: Mapping[str, Sequence[str]],
             anomalies: Sequence[AnomalyRecord], *, title: str) -> str:
    marks = anomaly_marks(anomalies, facility)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.svg"
        render_facility(facility, path, routes=routes, title=title, marks=marks)
        svg = path.read_text(encoding="utf-8")
    start = svg.find("<svg")  # drop the XML prolog and doctype: inline SVG needs neither
    return svg[start:] if start >= 0 else svg


def _place(a: AnomalyRecord, facility: Facility) -> tuple[float, float, str] | None:
    node = facility.nodes.get(a.inspection_point_id)
    if node is not None:
        return node.x, node.y, node.level
    if a.x is not None and a.y is not None and a.level is not None \
            and a.level in facility.levels:
        return a.x, a.y, a.level
    return None


def _cards(mission: MissionSummary, anomalies: Sequence[AnomalyRecord],
           results: Sequence[ResultRecord]) -> str:
    unresolved = [a for a in anomalies if a.status != "resolved"]
    counts = mission.inspections
    done = (f"{counts.done}/{counts.total}" if counts is not None
            else str(len({r.point for r in results})))
    cards = [("Inspections done", done), ("Results stored", str(len(results))),
             ("Anomalies", str(len(anomalies))), ("Not resolved", str(len(unresolved)))]
    for severity in ("critical", "alarm"):
        n = sum(1 for a in unresolved if a.severity == severity)
        if n:
            cards.append((f"Unresolved {severity}", str(n)))
    return '<div class="cards">' + "".join(
        f'<div class="card">{_e(label)}<b>{_e(value)}</b></div>' for label, value in cards
    ) + "</div>"


def _badge(severity: str) -> str:
    cls = ' class="badge warning"' if severity == "warning" else ' class="badge"'
    return (f'<span{cls} style="background:{SEVERITY_COLOURS.get(severity, "#616161")}">'
            f"{_e(severity)}</span>")


def _point(pid: str, facility: Facility) -> str:
    node = facility.nodes.get(pid)
    return f"{_e(pid)} ({_e(node.name)})" if node is not None and node.name else _e(pid)


def _value(a: AnomalyRecord) -> str:
    if a.peak is None:
        return "—"
    if a.rule == "finding":  # a robot's finding carries its confidence, not a value
        return f"confidence {a.peak:.2g}"
    return f"{a.peak:.4g} {_e(a.unit or '')}".rstrip()


def _action_list(anomalies: Sequence[AnomalyRecord], facility: Facility) -> str:
    todo = [a for a in anomalies if a.status != "resolved"]
    if not todo:
        return '<p class="ok">Nothing: every anomaly of this mission is resolved.</p>'
    rows = "".join(
        f"<tr><td>{_badge(a.severity)}</td><td>{_point(a.inspection_point_id, facility)}</td>"
        f"<td>{_e(a.sensor)}</td><td class=\"num\">{_value(a)}</td>"
        f"<td class=\"num\">{_limit(a)}</td>"
        f"<td>{_e(_STATUS_TEXT.get(a.status, a.status))}"
        + (f"<br>by {_e(a.acknowledged_by)}: {_e(a.ack_note or '')}"
           if a.acknowledged_by else "")
        + f"</td><td>#{_e(a.id)}</td></tr>" for a in todo)
    return ("<table><tr><th>Severity</th><th>Where</th><th>Sensor</th><th>Worst reading</th>"
            "<th>Limit</th><th>Status</th><th>Anomaly</th></tr>" + rows + "</table>"
            "<p class=\"sub\">Take one in hand: <code>fleet anomalies ack ID --note "
            "'...'</code>; close it: <code>fleet anomalies resolve ID --note '...'</code>.</p>")


def _limit(a: AnomalyRecord) -> str:
    if a.threshold is None:
        return _e("robot's own finding" if a.rule == "finding" else "—")
    sign = {"above": "≥ ", "below": "< ", "rate": "change ≥ "}.get(a.rule, "")
    return f"{_e(sign)}{a.threshold:.4g} {_e(a.unit or '')}".rstrip()


def _anomaly_table(anomalies: Sequence[AnomalyRecord], facility: Facility) -> str:
    if not anomalies:
        return '<p class="ok">No anomaly was seen during this mission.</p>'
    rows = "".join(
        f"<tr><td>#{_e(a.id)}</td><td>{_badge(a.severity)}</td>"
        f"<td>{_e(a.status)}</td><td>{_point(a.inspection_point_id, facility)}</td>"
        f"<td>{_e(a.sensor)}</td><td>{_e(a.rule)}</td>"
        f"<td class=\"num\">{_value(a)}</td><td class=\"num\">{_limit(a)}</td>"
        f"<td class=\"num\">{_e(a.count)}</td><td>{_e(_when(a.first_seen))}</td>"
        f"<td>{_e(_when(a.last_seen))}</td>"
        f"<td>{_e(_who(a))}</td></tr>" for a in anomalies)
    return ("<table><tr><th>#</th><th>Severity</th><th>Status</th><th>Where</th>"
            "<th>Sensor</th><th>Rule</th><th>Worst</th><th>Limit</th><th>Times</th>"
            "<th>First seen</th><th>Last seen</th><th>Handled by</th></tr>" + rows + "</table>")


def _who(a: AnomalyRecord) -> str:
    parts = []
    if a.acknowledged_by:
        parts.append(f"ack {a.acknowledged_by} {_when(a.acknowledged_at)}")
    if a.resolved_by:
        note = f": {a.resolve_note}" if a.resolve_note else ""
        parts.append(f"resolved {a.resolved_by} {_when(a.resolved_at)}{note}")
    return "; ".join(parts) or "—"


def _readings_table(results: Sequence[ResultRecord],
                    observations: Sequence[ObservationRecord], facility: Facility) -> str:
    if not results:
        return '<p class="sub">No result was stored for this mission.</p>'
    hot = {(o.result_id, o.seq) for o in observations}
    rows = []
    for r in sorted(results, key=lambda r: (r.point, r.measured_at)):
        cells = []
        for seq, reading in enumerate(r.readings):
            text = f"{_e(reading.sensor)} {reading.value:.4g} {_e(reading.unit)}"
            cls = ' class="hot"' if (r.result_id, seq) in hot else ""
            cells.append(f"<span{cls}>{text}</span>")
        rows.append(f"<tr><td>{_point(r.point, facility)}</td><td>{_e(r.serial)}</td>"
                    f"<td>{_e(_when(r.measured_at))}</td><td>{' · '.join(cells)}</td></tr>")
    return ("<table><tr><th>Inspection point</th><th>Robot</th><th>Measured</th>"
            "<th>Readings (abnormal ones highlighted)</th></tr>" + "".join(rows) + "</table>")


def _when(moment: datetime | None) -> str:
    """A time as ``YYYY-MM-DD HH:MM:SS UTC`` (or a dash)."""
    return "—" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)
