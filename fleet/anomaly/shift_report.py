"""The shift report: one self-contained HTML page a shift supervisor hands over.

:func:`render_shift` turns a :class:`~fleet.anomaly.shift.ShiftRecord` (what the manager's
``report/shift`` API verb answers for a window) into a page with: what needs action
(robots locked out, gas closures still open, unresolved anomalies, each with the command
that ends it), every mission of the window with its outcome, the anomalies opened,
escalated, acknowledged and resolved in it, the robots' availability (a timeline drawn as
inline SVG, and the hours of each state, with what each figure is built from), the
schedule runs launched, skipped, queued, moved, missed or failed, the points not inspected
as often as their revisit targets ask, and the lockouts and closures of the window. Times
are shown in the zone the reader chose and in UTC. There is no script and nothing to
fetch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from fleet.anomaly.record import AnomalyRecord, ClosureRecord, LockoutRecord
from fleet.anomaly.report import (
    _STATUS_TEXT,
    _STYLE,
    CLOSURE_COLOURS,
    LOCKOUT_COLOUR,
    _badge,
    _closure_reading,
    _e,
    _limit,
    _lockout_reading,
    _value,
    _worst_first,
    gas_table,
    severity_legend,
    write_page,
)
from fleet.anomaly.shift import (
    BUSY,
    CHARGING,
    LOCKED_OUT,
    LOST,
    OverduePoint,
    ScheduleRun,
    ShiftMission,
    ShiftRecord,
)
from fleet.anomaly.timeline import (
    IDLE_COLOUR,
    STATE_COLOURS,
    STATE_NAMES,
    Times,
    duration,
    timeline,
)

RUN_KINDS = ("launched", "queued", "moved", "skipped", "missed", "failed")
"""Schedule events about a run (the others are changes to a schedule)."""
_BAD_RUNS = {"skipped", "missed", "failed"}
_BAD_MISSIONS = {"failed", "aborted", "partially_completed"}

_BAD_ROW = ' class="bad"'

_EXTRA_STYLE = """
.bad{background:#ffebee} .warn{background:#fff8e1} .legend span{display:inline-block;
width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.timeline{max-width:100%;height:auto} td.when{white-space:nowrap}
"""


def render_shift(record: ShiftRecord, out: Path, *, tz: tzinfo = UTC,
                 title: str | None = None) -> None:
    """Write the shift report of ``record`` to ``out``, times in ``tz`` and UTC;
    ``title`` names the window (default: its start and end). FleetError when the file
    cannot be written."""
    t = Times(tz)
    heading = title or f"{t.local(record.since)} – {t.local(record.until)}"
    anomalies = sorted(record.anomalies, key=_worst_first)
    lockouts = sorted(record.lockouts, key=lambda r: (not r.open, r.id))
    closures = sorted(record.closures, key=lambda c: (not c.open, c.id))
    sub = (f"From {_e(t.both(record.since))} to {_e(t.both(record.until))} · "
           f"report made {_e(t.both(record.generated_at))}")
    if record.covered_until < record.until:
        sub += (" · <b>the shift is not over</b>: figures run to "
                f"{_e(t.local(record.covered_until))}")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Shift report: {_e(heading)}</title>",
        f"<style>{_STYLE}{_EXTRA_STYLE}</style></head><body>",
        f"<h1>Shift report: {_e(heading)}</h1>", f'<div class="sub">{sub}</div>',
        _cards(record, anomalies, lockouts, closures),
        "<h2>Needs action</h2>", _needs_action(anomalies, lockouts, closures, t),
        "<h2>Missions</h2>", _missions(record, t),
        "<h2>Anomalies during the shift</h2>", _steps(record, t),
        "<h2>Robots' availability</h2>", _availability(record, t),
        "<h2>Schedule runs</h2>", _schedule(record, t),
        "<h2>Points not inspected as often as their targets ask</h2>", _overdue(record, t),
        "<h2>Gas lockouts and closures during the shift</h2>", _gas(lockouts, closures, t),
        *(["<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in record.notes)
           + "</ul>"] if record.notes else []),
        severity_legend(" A mission's own report: <code>fleet report MISSION_ID</code>.")]
    write_page(out, parts)


# ------------------------------------------------------------------ summary
def _cards(record: ShiftRecord, anomalies: Sequence[AnomalyRecord],
           lockouts: Sequence[LockoutRecord], closures: Sequence[ClosureRecord]) -> str:
    missions = record.missions
    runs = run_counts(record.schedule_events)
    cards = [("Missions", str(len(missions))),
             ("Completed", str(sum(m.status == "completed" for m in missions))),
             ("Failed or aborted", str(sum(m.status in ("failed", "aborted")
                                           for m in missions))),
             ("Anomalies opened", str(sum(s.event in ("opened", "reopened")
                                          for s in record.steps))),
             ("Resolved", str(sum(s.event == "resolved" for s in record.steps))),
             ("Not resolved now", str(sum(a.status != "resolved" for a in anomalies)))]
    for label, n in (("Robots locked out", sum(r.open for r in lockouts)),
                     ("Gas closures open", sum(c.open for c in closures)),
                     ("Schedule runs launched", runs["launched"]),
                     ("Runs skipped, missed or failed", sum(runs[k] for k in _BAD_RUNS)),
                     ("Points overdue", len(record.overdue))):
        if n:
            cards.append((label, str(n)))
    return '<div class="cards">' + "".join(
        f'<div class="card">{_e(label)}<b>{_e(value)}</b></div>' for label, value in cards
    ) + "</div>"


# ------------------------------------------------------------------ needs action
def _needs_action(anomalies: Sequence[AnomalyRecord], lockouts: Sequence[LockoutRecord],
                  closures: Sequence[ClosureRecord], t: Times) -> str:
    rows = [
        f'<tr><td><span class="badge" style="background:{LOCKOUT_COLOUR}">locked out</span>'
        f"</td><td>{_e(r.node_id)}</td><td>robot <b>{_e(r.manufacturer)}/{_e(r.serial)}</b>"
        f" read {_lockout_reading(r)} and powered off; out of service since "
        f"{_e(t.both(r.locked_at))}</td><td>Make the place safe and reset the robot there, "
        f"then <code>fleet robots reset {_e(r.manufacturer)}/{_e(r.serial)} --note "
        "'...'</code></td></tr>" for r in lockouts if r.open]
    rows += [
        f'<tr><td><span class="badge" style="background:{CLOSURE_COLOURS[True]}">closed'
        f"</span></td><td>{_e(c.node_id)}</td><td>closure <b>C-{_e(c.id)}</b> of "
        f"{_e(c.site)}: {_e(c.area)} ({len(c.nodes)} nodes) closed to unrated robots since "
        f"{_e(t.both(c.opened_at))}; {_e(c.source)} read {_closure_reading(c)}</td>"
        f"<td>Ventilate and measure; once it is safe <code>fleet closures reopen C-{_e(c.id)}"
        " --note '...'</code></td></tr>" for c in closures if c.open]
    gas = ("<table><tr><th>Gas safety</th><th>Where</th><th>What</th><th>To end it</th>"
           "</tr>" + "".join(rows) + "</table>") if rows else ""
    todo = [a for a in anomalies if a.status != "resolved"]
    if not todo:
        return gas + '<p class="ok">No anomaly is left unresolved.</p>'
    body = "".join(
        f"<tr><td>{_badge(a.severity)}</td><td>{_e(a.inspection_point_id)}</td>"
        f"<td>{_e(a.sensor)}</td><td class=\"num\">{_value(a)}</td>"
        f"<td class=\"num\">{_limit(a)}</td><td class=\"when\">{_e(t.both(a.opened_at))}</td>"
        f"<td>{_e(_STATUS_TEXT.get(a.status, a.status))}"
        + (f"<br>by {_e(a.acknowledged_by)} {_e(t.local(a.acknowledged_at))}"
           + (f": {_e(a.ack_note)}" if a.ack_note else "") if a.acknowledged_by else "")
        + f"</td><td>#{_e(a.id)}</td></tr>" for a in todo)
    return (gas + "<table><tr><th>Severity</th><th>Where</th><th>Sensor</th>"
            "<th>Worst reading</th><th>Limit</th><th>Open since</th><th>Status</th>"
            "<th>Anomaly</th></tr>" + body + "</table><p class=\"sub\">Unresolved as of the "
            "report's time, worst first. Take one in hand: <code>fleet anomalies ack ID "
            "--note '...'</code>; close it: <code>fleet anomalies resolve ID --note "
            "'...'</code>.</p>")


# ------------------------------------------------------------------ missions
def _missions(record: ShiftRecord, t: Times) -> str:
    if not record.missions:
        return '<p class="sub">No mission was created or running during the shift.</p>'
    rows = []
    for m in record.missions:
        cls = (' class="bad"' if m.status in _BAD_MISSIONS
               else ' class="warn"' if m.ended_at is None else "")
        rows.append(
            f"<tr{cls}><td><b>{_e(m.name)}</b><br><code>{_e(m.mission_id[:8])}</code>"
            + (" · continuous" if m.continuous else "") + "</td>"
            f"<td>{_schedule_of(m)}</td><td class=\"when\">{_e(t.both(m.created_at))}"
            + ("<br>(before the shift)" if m.created_at and m.created_at < record.since
               else "") + f"</td><td class=\"when\">{_ended(m, record, t)}</td>"
            f"<td><b>{_e(m.status)}</b>" + (f"<br>{_e(m.reason)}" if m.reason else "")
            + f"</td><td class=\"num\">{_inspections(m)}</td>"
            f"<td class=\"num\">{_e(m.results)}</td><td>{_e(', '.join(m.robots) or '—')}"
            "</td></tr>")
    return ("<table><tr><th>Mission</th><th>Schedule</th><th>Launched</th><th>Ended</th>"
            "<th>Status</th><th>Inspections done/total</th><th>Results in the shift</th>"
            "<th>Robots</th></tr>" + "".join(rows) + "</table>"
            '<p class="sub">Every mission created during the shift or running during it. '
            "Status, reason and inspection counts are as of the report's time; the counts "
            "are the mission's points (failed: a robot could not inspect it; dropped: given "
            "up after repeated hand-overs).</p>")


def _schedule_of(m: ShiftMission) -> str:
    if m.schedule_id is None:
        return "—"
    return _e(f"#{m.schedule_id}" + (f" {m.schedule_name}" if m.schedule_name else ""))


def _ended(m: ShiftMission, record: ShiftRecord, t: Times) -> str:
    if m.ended_at is None:
        return "still running"
    text = _e(t.both(m.ended_at))
    return text + ("<br>(after the shift)" if m.ended_at >= record.until else "")


def _inspections(m: ShiftMission) -> str:
    c = m.inspections
    if c is None:
        return "—"
    extra = [f"{n} {what}" for n, what in ((c.failed, "failed"), (c.dropped, "dropped"),
                                           (c.waiting, "waiting")) if n]
    return f"{c.done}/{c.total}" + (f" ({_e(', '.join(extra))})" if extra else "")


# ------------------------------------------------------------------ anomalies
def _steps(record: ShiftRecord, t: Times) -> str:
    if not record.steps:
        return '<p class="ok">No anomaly was opened, acknowledged or resolved.</p>'
    by_id = {a.id: a for a in record.anomalies}
    rows = []
    for s in record.steps:
        a = by_id.get(s.anomaly_id)
        severity = s.severity or (a.severity if a is not None else "")
        rows.append(
            f"<tr><td class=\"when\">{_e(t.both(s.at))}</td><td>#{_e(s.anomaly_id)}</td>"
            f"<td>{_e(s.event)}</td><td>{_badge(severity) if severity else '—'}</td>"
            f"<td>{_e(a.inspection_point_id if a else '')}</td>"
            f"<td>{_e(a.sensor if a else '')}</td><td>{_e(s.by or '—')}</td>"
            f"<td>{_e(s.note or '')}</td></tr>")
    counts = {e: sum(s.event == e for s in record.steps)
              for e in ("opened", "reopened", "escalated", "acknowledged", "resolved")}
    summary = ", ".join(f"{n} {e}" for e, n in counts.items() if n)
    return (f"<p>{_e(summary)}.</p><table><tr><th>When</th><th>Anomaly</th><th>What</th>"
            "<th>Severity</th><th>Where</th><th>Sensor</th><th>Who</th><th>Note</th></tr>"
            + "".join(rows) + "</table><p class=\"sub\">Opened, reopened and escalated are "
            "the times of the readings that did it; acknowledged and resolved the times "
            "people recorded them.</p>")


# ------------------------------------------------------------------ availability
def _availability(record: ShiftRecord, t: Times) -> str:
    start, end = record.since, record.covered_until
    if not record.robots:
        return '<p class="sub">No robot was known or recorded during the shift.</p>'
    if end <= start:
        return '<p class="sub">The shift has not started yet.</p>'
    total = (end - start).total_seconds()
    rows = []
    for r in record.robots:
        out = r.lost_s + r.locked_out_s
        unknown = any(s.open_ended and s.state == LOST for s in r.spans)
        name = f"{r.manufacturer}/{r.serial}" if r.manufacturer else r.serial
        rows.append(
            f"<tr{_BAD_ROW if out else ''}><td>{_e(name)}</td>"
            + "".join(f"<td class=\"num\">{duration(v) if v else '—'}</td>" for v in
                      (r.busy_s, r.charging_s, r.lost_s, r.locked_out_s, r.idle_s))
            + f"<td class=\"num\">{100 * out / total:.0f} %"
            + (" (no return recorded)" if unknown else "") + "</td></tr>")
    legend = "".join(f'<span style="background:{STATE_COLOURS[s]}"></span>{STATE_NAMES[s]}'
                     for s in (BUSY, CHARGING, LOST, LOCKED_OUT))
    return (timeline(record.robots, start, end, t)
            + f'<div class="legend sub"><span style="background:{IDLE_COLOUR}"></span>'
            f"idle{legend}</div>"
            "<table><tr><th>Robot</th><th>Busy</th><th>Charging</th><th>Lost</th>"
            "<th>Locked out</th><th>Idle</th><th>Out of service (lost or locked out)</th>"
            "</tr>" + "".join(rows)
            + f"</table><p class=\"sub\">Over {duration(total)} from "
            f"{_e(t.local(start))} to {_e(t.local(end))}; each second counts once, the first "
            "that holds of locked out, lost, charging, busy, else idle. Built from what the "
            "manager stores:</p><ul class=\"sub\">"
            "<li><b>busy</b>: on a mission's round (driving, inspecting, waiting in traffic, "
            "going home), from the mission event <code>dispatched</code> to "
            "<code>robot_finished</code>, or to the robot's loss, lockout or refused order, "
            "or its mission's end;</li>"
            "<li><b>charging</b>: at a charging stop of a round, from <code>charging</code> "
            "to <code>charged</code> or <code>charging_ended</code>; charging between "
            "missions is not recorded and counts as idle;</li>"
            "<li><b>lost</b>: from <code>robot_lost</code> to <code>robot_back</code>, "
            "<code>robot_cleared</code> or the robot's next round; a loss is recorded only "
            "while the robot had a round, and a spell with no recorded end (its mission had "
            "ended when it came back) runs to the end, marked <i>no return recorded</i>;</li>"
            "<li><b>locked out</b>: from the methane lockout to its reset (table "
            "<code>lockouts</code>);</li>"
            "<li><b>idle</b>: the rest. The store does not record a robot's presence outside "
            "missions, so a robot switched off between missions counts as idle; the robots "
            "listed are those the manager knows now and those named by the window's records."
            "</li></ul>")


# ------------------------------------------------------------------ schedules
def _schedule(record: ShiftRecord, t: Times) -> str:
    runs = [r for r in record.schedule_events if r.kind in RUN_KINDS]
    changes = [r for r in record.schedule_events if r.kind not in RUN_KINDS]
    statuses = {m.mission_id: m.status for m in record.missions}
    if not runs:
        text = '<p class="sub">No schedule run was due during the shift.</p>'
    else:
        rows = "".join(
            f"<tr{_BAD_ROW if r.kind in _BAD_RUNS else ''}>"
            f"<td class=\"when\">{_e(t.both(r.due)) if r.due else 'several'}</td>"
            f"<td>{_schedule_name(r)}</td>"
            f"<td><b>{_e(r.kind)}</b></td><td>{_run_mission(r, statuses)}</td>"
            f"<td class=\"when\">{_e(t.both(r.at))}</td><td>{_e(_detail(r, t))}</td></tr>"
            for r in runs)
        counts = ", ".join(f"{n} {k}" for k, n in run_counts(runs).items() if n)
        text = (f"<p>{_e(counts)}.</p><table><tr><th>Due</th><th>Schedule</th><th>What</th>"
                "<th>Mission</th><th>Recorded</th><th>Why</th></tr>" + rows + "</table>"
                '<p class="sub">What the scheduler decided at each due time (table '
                "<code>schedule_events</code>): launched, queued behind a run still going, "
                "moved out of a blackout window, skipped (the previous run still going), "
                "missed (the manager was down), failed (the launch was refused). The "
                "mission's status is as of the report's time.</p>")
    if changes:
        text += ("<p>Changes to schedules during the shift:</p><ul>" + "".join(
            f"<li>{_e(t.both(r.at))}: {_schedule_name(r)} {_e(r.kind)}"
            + (f" ({_e(_detail(r, t))})" if _detail(r, t) else "") + "</li>"
            for r in changes)
            + "</ul>")
    return text


def _schedule_name(r: ScheduleRun) -> str:
    name = f"#{r.schedule_id}" + (f" {r.schedule_name}" if r.schedule_name else "")
    return _e(name) + (f' <span class="sub">({_e(r.tz)})</span>' if r.tz else "")


def _run_mission(r: ScheduleRun, statuses: dict[str, str]) -> str:
    if not r.mission_id:
        return "—"
    status = statuses.get(r.mission_id)
    return f"<code>{_e(r.mission_id[:8])}</code>" + (f" {_e(status)}" if status else "")


def _detail(r: ScheduleRun, t: Times) -> str:
    """What the scheduler recorded with the event, in words (the keys of
    :mod:`fleet.manager.scheduler`'s details; others as they are)."""
    d = r.detail if isinstance(r.detail, dict) else {}
    parts = [r.reason] if r.reason else []
    if r.kind == "moved" and d.get("to"):
        try:
            to = t.both(datetime.fromisoformat(str(d["to"]).replace("Z", "+00:00")))
        except ValueError:
            to = str(d["to"])
        blackouts = ", ".join(str(b) for b in d.get("blackouts") or ())
        parts.append(f"starts at {to}" + (f" (blackout {blackouts})" if blackouts else ""))
    if isinstance(d.get("late_s"), int | float):
        parts.append(f"{d['late_s']:g} s after its time")
    if d.get("catch_up"):
        parts.append(f"catch-up run for {d.get('missed', '?')} missed")
    if d.get("queued"):
        parts.append("had waited for the previous run")
    if d.get("more"):
        parts.append(f"and {d['more']} more not listed")
    if d.get("by"):
        parts.append(f"by {d['by']}")
    known = {"reason", "error", "why", "to", "blackouts", "late_s", "catch_up", "missed",
             "queued", "more", "by"}
    parts += [f"{k}: {v}" for k, v in d.items() if k not in known]
    if not parts and r.detail is not None and not d:
        parts.append(str(r.detail))
    return "; ".join(parts)


def run_counts(runs: Sequence[ScheduleRun]) -> dict[str, int]:
    """Runs per kind of decision; a ``missed`` event that counts ``more`` runs it did not
    list stands for them too."""
    out = dict.fromkeys(RUN_KINDS, 0)
    for r in runs:
        if r.kind in out:
            more = r.detail.get("more") if isinstance(r.detail, dict) else None
            out[r.kind] += 1 + (more if isinstance(more, int) and r.due is None else 0)
    return out


# ------------------------------------------------------------------ revisit targets
def _overdue(record: ShiftRecord, t: Times) -> str:
    if record.patrols == 0:
        return ('<p class="sub">No mission of the shift has revisit targets (a continuous '
                "patrol's <code>revisit:</code> per task).</p>")
    if not record.overdue:
        return (f'<p class="ok">Every point of the {record.patrols} mission(s) with revisit '
                "targets was inspected at least as often as its target asks.</p>")
    rows = "".join(_overdue_row(p, t) for p in record.overdue)
    return ("<table><tr><th>Mission</th><th>Point</th><th>Target</th><th>Longest wait</th>"
            "<th>From</th><th>To</th><th>Waits over target</th><th>Inspections in the "
            "shift</th></tr>" + rows + "</table><p class=\"sub\">A wait is the time between "
            "two consecutive inspection results of the point (the first from its last "
            "result before the shift, or from the mission's start), and the time since its "
            "last one up to the end of the shift, of the report, or of the mission.</p>")


def _overdue_row(p: OverduePoint, t: Times) -> str:
    begin = ("mission start " if p.since_start else "") + t.both(p.worst_from)
    finish = f"not inspected since (to {t.local(p.worst_to)})" if p.open else \
        t.both(p.worst_to)
    return (f"<tr{_BAD_ROW if p.open else ''}><td>{_e(p.mission_name)} "
            f"<code>{_e(p.mission_id[:8])}</code></td><td>{_e(p.point)}</td>"
            f"<td class=\"num\">{duration(p.target_s)}</td>"
            f"<td class=\"num\"><b>{duration(p.worst_gap_s)}</b></td>"
            f"<td class=\"when\">{_e(begin)}</td><td class=\"when\">{_e(finish)}</td>"
            f"<td class=\"num\">{_e(p.gaps_over)}</td>"
            f"<td class=\"num\">{_e(p.inspections)}</td></tr>")


# ------------------------------------------------------------------ gas
def _gas(lockouts: Sequence[LockoutRecord], closures: Sequence[ClosureRecord],
         t: Times) -> str:
    if not lockouts and not closures:
        return '<p class="ok">No robot was locked out and no area was closed.</p>'
    return gas_table(lockouts, closures, when=lambda at: _e(t.both(at)), when_class="when",
                     where=lambda node, site: _e(node) + (f" ({_e(site)})" if site else ""))
