"""The mission report: one self-contained HTML page for a shift supervisor.

:func:`render_report` turns a :class:`~fleet.anomaly.record.MissionRecord` (a mission,
its routes, the anomalies seen during it, its results: what the manager's ``report`` API
verb answers) and the site map into a page with:
what needs action first (robots locked out by methane and gas closures still open, each
with the command that ends it, then unresolved anomalies, worst first), the map with the
routes the robots drove, the anomalies marked where they were found, each closure's nodes
and each locked-out robot where it stopped, the mission's lockouts and closures with who
ended them, every anomaly of the mission, and the readings per inspection point. The map
is inline SVG (from :func:`fleet.facility.render.render_facility`), so the file needs
nothing else to open; there is no script.
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from fleet.anomaly.record import (
    AnomalyRecord,
    ClosureRecord,
    LockoutRecord,
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

CLOSURE_COLOURS = {True: "#6a1b9a", False: "#b39ddb"}
"""Colour of a gas closure's nodes on the map: open, reopened."""
LOCKOUT_COLOUR = "#212121"
"""Colour of a locked-out robot on the map."""

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
    lockouts = sorted(record.lockouts, key=lambda r: (not r.open, r.id))
    closures = sorted(record.closures, key=lambda c: (not c.open, c.id))
    marks = [*gas_marks(closures, lockouts, facility), *anomaly_marks(anomalies, facility)]
    svg = _map_svg(facility, record.driven_routes(), marks,
                   title=f"{facility.name} — {mission.name}")
    gas = ", gas closures and locked-out robots" if lockouts or closures else ""
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
        _cards(mission, anomalies, record.results, lockouts, closures),
        "<h2>Needs action</h2>", _gas_actions(lockouts, closures, facility),
        _action_list(anomalies, facility),
        f"<h2>Map: routes driven and anomalies found{gas}</h2>",
        f'<div class="map">{svg}</div>',
        *(["<h2>Gas closures and lockouts</h2>", _gas_table(lockouts, closures, facility)]
          if gas else []),
        "<h2>Every anomaly seen during this mission</h2>", _anomaly_table(anomalies, facility),
        "<h2>Readings per inspection point</h2>",
        _readings_table(record.results, record.observations, facility),
        severity_legend()]
    write_page(out, parts)


def severity_legend(more: str = "") -> str:
    """The reports' closing paragraph: what each severity means, where limits come from."""
    return ('<p class="sub">Severity: info (worth recording) · warning (attention soon) · '
            "alarm (regulatory alarm level: act now) · critical (beyond the alarm level). "
            "Limits and their sources: docs/anomalies.md, or <code>fleet anomalies "
            f"limits</code>.{more}</p>")


def write_page(out: Path, parts: Sequence[str]) -> None:
    """Write an HTML page's ``parts`` (its body closed here) to ``out``; FleetError in one
    line when it cannot be written."""
    try:
        out.write_text("\n".join([*parts, "</body></html>"]), encoding="utf-8")
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


def gas_marks(closures: Sequence[ClosureRecord], lockouts: Sequence[LockoutRecord],
              facility: Facility) -> list[Mark]:
    """Map marks for gas closures (one per closed node, labelled at the node of the
    reading; open ones darker than reopened ones) and for locked-out robots (at the node
    where each stopped, open lockouts only); what is not on ``facility`` is left out."""
    marks: list[Mark] = []
    for c in closures:
        state = "open" if c.open else "reopened"
        for n in dict.fromkeys((*c.nodes, c.node_id)):
            node = facility.nodes.get(n)
            if node is not None:
                marks.append(Mark(node.x, node.y, node.level,
                                  f"C-{c.id} {state}" if n == c.node_id else "",
                                  CLOSURE_COLOURS[c.open], f"Gas closure ({state})"))
    for r in lockouts:
        node = facility.nodes.get(r.node_id)
        if node is not None and r.open:
            marks.append(Mark(node.x, node.y, node.level,
                              f"{r.manufacturer}/{r.serial} locked out", LOCKOUT_COLOUR,
                              "Robot locked out"))
    return marks


def _map_svg(facility: Facility, routes: Mapping[str, Sequence[str]],
             marks: Sequence[Mark], *, title: str) -> str:
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
           results: Sequence[ResultRecord], lockouts: Sequence[LockoutRecord],
           closures: Sequence[ClosureRecord]) -> str:
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
    for label, n in (("Robots locked out", sum(r.open for r in lockouts)),
                     ("Gas closures open", sum(c.open for c in closures))):
        if n:
            cards.append((label, str(n)))
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


def _gas_actions(lockouts: Sequence[LockoutRecord], closures: Sequence[ClosureRecord],
                 facility: Facility) -> str:
    """The open lockouts and closures, each with what a supervisor must do to end it."""
    rows = [
        f'<tr><td><span class="badge" style="background:{LOCKOUT_COLOUR}">locked out</span>'
        f"</td><td>{_point(r.node_id, facility)}</td><td>robot "
        f"<b>{_e(r.manufacturer)}/{_e(r.serial)}</b> read {_lockout_reading(r)} and powered "
        f"off; out of service since {_e(_when(r.locked_at))}</td><td>Make the place safe and "
        f"reset the robot there, then <code>fleet robots reset {_e(r.manufacturer)}/"
        f"{_e(r.serial)} --note '...'</code></td></tr>" for r in lockouts if r.open]
    rows += [
        f'<tr><td><span class="badge" style="background:{CLOSURE_COLOURS[True]}">closed'
        f"</span></td><td>{_point(c.node_id, facility)}</td><td>closure <b>C-{_e(c.id)}</b>: "
        f"{_e(c.area)} ({len(c.nodes)} nodes) closed to unrated robots since "
        f"{_e(_when(c.opened_at))}; {_e(c.source)} read {_closure_reading(c)}</td>"
        f"<td>Ventilate and measure; once it is safe <code>fleet closures reopen C-{_e(c.id)}"
        f" --note '...'</code>" + (f" (a reading below {c.restore:g} {_e(c.unit)} inside "
                                    "reopens it too)" if c.restore is not None else "")
        + "</td></tr>" for c in closures if c.open]
    if not rows:
        return ""
    return ("<table><tr><th>Gas safety</th><th>Where</th><th>What</th><th>To end it</th>"
            "</tr>" + "".join(rows) + "</table>")


def _gas_table(lockouts: Sequence[LockoutRecord], closures: Sequence[ClosureRecord],
               facility: Facility) -> str:
    """Every lockout and closure of the mission: open ones first, then who ended each."""
    return gas_table(lockouts, closures, where=lambda node, _site: _point(node, facility),
                     when=lambda at: _e(_when(at)))


def gas_table(lockouts: Sequence[LockoutRecord], closures: Sequence[ClosureRecord], *,
              where: Callable[[str, str], str], when: Callable[[datetime | None], str],
              when_class: str = "") -> str:
    """The table of lockouts and closures (the mission report's and the shift report's):
    ``where(node, site)`` and ``when(instant)`` give the cells' HTML."""
    td = f'<td class="{when_class}">' if when_class else "<td>"
    rows = [
        f"<tr><td>lockout #{_e(r.id)}</td><td>{where(r.node_id, '')}</td>"
        f"<td>robot {_e(r.manufacturer)}/{_e(r.serial)}: {_lockout_reading(r)}</td>"
        f"{td}{when(r.locked_at)}</td><td>"
        + ("open: needs a reset" if r.open else
           f"reset {when(r.reset_at)} by {_e(r.reset_by)}: {_e(r.note or '')}")
        + "</td></tr>" for r in lockouts]
    rows += [
        f"<tr><td>closure C-{_e(c.id)}</td><td>{where(c.node_id, c.site)}</td>"
        f"<td>{_e(c.area)} ({len(c.nodes)} nodes): {_e(c.source)} read "
        f"{_closure_reading(c)}</td>{td}{when(c.opened_at)}</td><td>"
        + ("open: closed to unrated robots" if c.open else
           f"reopened {when(c.reopened_at)} by {_e(c.reopened_by)}: {_e(c.note or '')}")
        + "</td></tr>" for c in closures]
    return ("<table><tr><th>What</th><th>Where</th><th>Reading</th><th>Since</th>"
            "<th>Status</th></tr>" + "".join(rows) + "</table>")


def _lockout_reading(r: LockoutRecord) -> str:
    level = f" (power-off level {r.level:g})" if r.level is not None else ""
    return _e(f"{r.sensor} {r.value:g} {r.unit}{level}")


def _closure_reading(c: ClosureRecord) -> str:
    return _e(f"{c.sensor} {c.value:g} {c.unit}")


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
