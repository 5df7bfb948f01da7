"""The mission report: one self-contained HTML page for a shift supervisor.

:func:`render_report` turns what the manager's ``report`` API verb answers (a mission,
its routes, the anomalies seen during it, its results) and the site map into a page with:
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
from pathlib import Path
from typing import Any

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


def mission_facility(data: Mapping[str, Any], *, map_file: Path | None = None) -> Facility:
    """The site map of a report: ``map_file`` when given, else the map the mission was
    launched with (sent by the manager). FleetError when neither is available."""
    from fleet.facility import formats

    if map_file is not None:
        return formats.load(map_file)
    raw = data.get("map")
    if isinstance(raw, Mapping) and isinstance(raw.get("text"), str):
        return formats.parse(raw["text"], str(raw.get("suffix") or ".yaml"),
                             file=str(raw.get("name") or "map"))
    raise FleetError("the manager does not have this mission's map; pass it with --map FILE")


def render_report(data: Mapping[str, Any], out: Path, facility: Facility) -> None:
    """Write the HTML report of ``data`` (the ``report`` API answer) to ``out``.

    FleetError (MapError) when a route names a node the map does not have or the file
    cannot be written.
    """
    mission = data.get("mission") or {}
    anomalies = sorted(data.get("anomalies") or [], key=_worst_first)
    routes = {serial: list(r.get("driven") or []) for serial, r in
              (data.get("routes") or {}).items() if len(r.get("driven") or []) > 1}
    svg = _map_svg(facility, routes, anomalies, title=f"{facility.name} — "
                   f"{mission.get('name', 'mission')}")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Inspection report: {_e(mission.get('name'))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Inspection report: {_e(mission.get('name'))}</h1>",
        f'<div class="sub">Site <b>{_e(facility.name)}</b> · mission '
        f"<code>{_e(mission.get('mission_id'))}</code> · status <b>"
        f"{_e(mission.get('status'))}</b>"
        + (f" ({_e(mission.get('reason'))})" if mission.get("reason") else "")
        + f" · launched {_e(_when(mission.get('created_at')))}, last change "
        f"{_e(_when(mission.get('updated_at')))} · report made "
        f"{_e(_when(data.get('generated_at')))}</div>",
        _cards(mission, anomalies, data),
        "<h2>Needs action</h2>", _action_list(anomalies, facility),
        "<h2>Map: routes driven and anomalies found</h2>",
        f'<div class="map">{svg}</div>',
        "<h2>Every anomaly seen during this mission</h2>", _anomaly_table(anomalies, facility),
        "<h2>Readings per inspection point</h2>",
        _readings_table(data.get("results") or [], data.get("observations") or [], facility),
        '<p class="sub">Severity: info (worth recording) · warning (attention soon) · alarm '
        "(regulatory alarm level: act now) · critical (beyond the alarm level). Limits and "
        "their sources: docs/anomalies.md, or <code>fleet anomalies limits</code>.</p>",
        "</body></html>"]
    try:
        out.write_text("\n".join(parts), encoding="utf-8")
    except OSError as exc:
        raise FleetError(f"cannot write {out}: {exc.strerror or exc}") from None


def _worst_first(a: Mapping[str, Any]) -> tuple[int, int, str]:
    resolved = 1 if a.get("status") == "resolved" else 0
    return (resolved, -_rank(a.get("severity")), str(a.get("last_seen") or ""))


def _rank(severity: object) -> int:
    try:
        return Severity.parse(severity).rank
    except ValueError:
        return -1


def anomaly_marks(anomalies: Sequence[Mapping[str, Any]], facility: Facility) -> list[Mark]:
    """Map marks for anomalies (API JSON), coloured by severity, at their inspection point
    (or their recorded position); anomalies that cannot be placed on ``facility`` are left
    out."""
    marks: list[Mark] = []
    for a in anomalies:
        place = _place(a, facility)
        if place is None:
            continue
        x, y, level = place
        severity = str(a.get("severity"))
        marks.append(Mark(x, y, level, f"#{a.get('id')} {a.get('sensor')}",
                          SEVERITY_COLOURS.get(severity, "#000000"),
                          f"Anomaly: {severity}"))
    return marks


def _map_svg(facility: Facility, routes: Mapping[str, Sequence[str]],
             anomalies: Sequence[Mapping[str, Any]], *, title: str) -> str:
    marks = anomaly_marks(anomalies, facility)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.svg"
        render_facility(facility, path, routes=routes, title=title, marks=marks)
        svg = path.read_text(encoding="utf-8")
    start = svg.find("<svg")  # drop the XML prolog and doctype: inline SVG needs neither
    return svg[start:] if start >= 0 else svg


def _place(a: Mapping[str, Any], facility: Facility) -> tuple[float, float, str] | None:
    node = facility.nodes.get(str(a.get("inspection_point_id")))
    if node is not None:
        return node.x, node.y, node.level
    x, y, level = a.get("x"), a.get("y"), a.get("level")
    if isinstance(x, int | float) and isinstance(y, int | float) and level in facility.levels:
        return float(x), float(y), str(level)
    return None


def _cards(mission: Mapping[str, Any], anomalies: Sequence[Mapping[str, Any]],
           data: Mapping[str, Any]) -> str:
    unresolved = [a for a in anomalies if a.get("status") != "resolved"]
    inspections = mission.get("inspections") or {}
    done = (f"{inspections.get('done')}/{inspections.get('total')}" if inspections
            else str(len({r.get('point') for r in data.get("results") or []})))
    cards = [("Inspections done", done), ("Results stored", str(len(data.get("results") or []))),
             ("Anomalies", str(len(anomalies))), ("Not resolved", str(len(unresolved)))]
    for severity in ("critical", "alarm"):
        n = sum(1 for a in unresolved if a.get("severity") == severity)
        if n:
            cards.append((f"Unresolved {severity}", str(n)))
    return '<div class="cards">' + "".join(
        f'<div class="card">{_e(label)}<b>{_e(value)}</b></div>' for label, value in cards
    ) + "</div>"


def _badge(severity: object) -> str:
    s = str(severity)
    cls = ' class="badge warning"' if s == "warning" else ' class="badge"'
    return (f'<span{cls} style="background:{SEVERITY_COLOURS.get(s, "#616161")}">'
            f"{_e(s)}</span>")


def _point(a: Mapping[str, Any], facility: Facility) -> str:
    pid = str(a.get("inspection_point_id") or a.get("point") or "?")
    node = facility.nodes.get(pid)
    return f"{_e(pid)} ({_e(node.name)})" if node is not None and node.name else _e(pid)


def _value(a: Mapping[str, Any], key: str = "peak") -> str:
    value = a.get(key)
    if not isinstance(value, int | float):
        return "—"
    if a.get("rule") == "finding":  # a robot's finding carries its confidence, not a value
        return f"confidence {value:.2g}"
    return f"{value:.4g} {_e(a.get('unit') or '')}".rstrip()


def _action_list(anomalies: Sequence[Mapping[str, Any]], facility: Facility) -> str:
    todo = [a for a in anomalies if a.get("status") != "resolved"]
    if not todo:
        return '<p class="ok">Nothing: every anomaly of this mission is resolved.</p>'
    rows = "".join(
        f"<tr><td>{_badge(a.get('severity'))}</td><td>{_point(a, facility)}</td>"
        f"<td>{_e(a.get('sensor'))}</td><td class=\"num\">{_value(a)}</td>"
        f"<td class=\"num\">{_limit(a)}</td>"
        f"<td>{_e(_STATUS_TEXT.get(str(a.get('status')), a.get('status')))}"
        + (f"<br>by {_e(a.get('acknowledged_by'))}: {_e(a.get('ack_note') or '')}"
           if a.get("acknowledged_by") else "")
        + f"</td><td>#{_e(a.get('id'))}</td></tr>" for a in todo)
    return ("<table><tr><th>Severity</th><th>Where</th><th>Sensor</th><th>Worst reading</th>"
            "<th>Limit</th><th>Status</th><th>Anomaly</th></tr>" + rows + "</table>"
            "<p class=\"sub\">Take one in hand: <code>fleet anomalies ack ID --note "
            "'...'</code>; close it: <code>fleet anomalies resolve ID --note '...'</code>.</p>")


def _limit(a: Mapping[str, Any]) -> str:
    threshold = a.get("threshold")
    if not isinstance(threshold, int | float):
        return _e("robot's own finding" if str(a.get("rule")) == "finding" else "—")
    sign = {"above": "≥ ", "below": "< ", "rate": "change ≥ "}.get(str(a.get("rule")), "")
    return f"{_e(sign)}{threshold:.4g} {_e(a.get('unit') or '')}".rstrip()


def _anomaly_table(anomalies: Sequence[Mapping[str, Any]], facility: Facility) -> str:
    if not anomalies:
        return '<p class="ok">No anomaly was seen during this mission.</p>'
    rows = "".join(
        f"<tr><td>#{_e(a.get('id'))}</td><td>{_badge(a.get('severity'))}</td>"
        f"<td>{_e(a.get('status'))}</td><td>{_point(a, facility)}</td>"
        f"<td>{_e(a.get('sensor'))}</td><td>{_e(a.get('rule'))}</td>"
        f"<td class=\"num\">{_value(a)}</td><td class=\"num\">{_limit(a)}</td>"
        f"<td class=\"num\">{_e(a.get('count'))}</td><td>{_e(_when(a.get('first_seen')))}</td>"
        f"<td>{_e(_when(a.get('last_seen')))}</td>"
        f"<td>{_e(_who(a))}</td></tr>" for a in anomalies)
    return ("<table><tr><th>#</th><th>Severity</th><th>Status</th><th>Where</th>"
            "<th>Sensor</th><th>Rule</th><th>Worst</th><th>Limit</th><th>Times</th>"
            "<th>First seen</th><th>Last seen</th><th>Handled by</th></tr>" + rows + "</table>")


def _who(a: Mapping[str, Any]) -> str:
    parts = []
    if a.get("acknowledged_by"):
        parts.append(f"ack {a['acknowledged_by']} {_when(a.get('acknowledged_at'))}")
    if a.get("resolved_by"):
        note = f": {a['resolve_note']}" if a.get("resolve_note") else ""
        parts.append(f"resolved {a['resolved_by']} {_when(a.get('resolved_at'))}{note}")
    return "; ".join(parts) or "—"


def _readings_table(results: Sequence[Mapping[str, Any]],
                    observations: Sequence[Mapping[str, Any]], facility: Facility) -> str:
    if not results:
        return '<p class="sub">No result was stored for this mission.</p>'
    hot = {(o.get("result_id"), o.get("seq")) for o in observations}
    rows = []
    for r in sorted(results, key=lambda r: (str(r.get("point")), str(r.get("measured_at")))):
        cells = []
        for seq, reading in enumerate(r.get("readings") or []):
            value = reading.get("value")
            text = (f"{_e(reading.get('sensor'))} {value:.4g} {_e(reading.get('unit'))}"
                    if isinstance(value, int | float) else _e(reading.get("sensor")))
            cls = ' class="hot"' if (r.get("result_id"), seq) in hot else ""
            cells.append(f"<span{cls}>{text}</span>")
        rows.append(f"<tr><td>{_point(r, facility)}</td><td>{_e(r.get('serial'))}</td>"
                    f"<td>{_e(_when(r.get('measured_at')))}</td><td>{' · '.join(cells)}</td></tr>")
    return ("<table><tr><th>Inspection point</th><th>Robot</th><th>Measured</th>"
            "<th>Readings (abnormal ones highlighted)</th></tr>" + "".join(rows) + "</table>")


def _when(value: object) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM:SS UTC`` (or a dash)."""
    if not isinstance(value, str) or len(value) < 19:
        return "—"
    return f"{value[:10]} {value[11:19]} UTC"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)
