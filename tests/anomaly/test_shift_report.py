"""The HTML shift report: well-formed, self-contained, every section there, times in the
reader's zone and UTC, and nothing a note says can run in the reader's browser."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from fleet.anomaly.shift import ShiftRecord
from fleet.anomaly.shift_report import render_shift
from fleet.errors import FleetError, ProtocolError
from fleet.recurrence import zone

from .test_report import Tags

SECTIONS = ["Needs action", "Missions", "Anomalies during the shift", "Robots' availability",
            "Schedule runs", "Points not inspected as often as their targets ask",
            "Gas lockouts and closures during the shift"]


def anomaly(**kw: Any) -> dict[str, Any]:
    base = {"id": 1, "inspection_point_id": "p1", "sensor": "ch4", "status": "open",
            "severity": "alarm", "rule": "above", "threshold": 1.0, "unit": "%vol",
            "peak": 1.3, "count": 2, "first_seen": "2026-12-03T07:30:00Z",
            "opened_at": "2026-12-03T07:30:00Z", "last_seen": "2026-12-03T08:00:00Z"}
    return {**base, **kw}


DATA: dict[str, Any] = {
    "since": "2026-12-03T07:00:00Z", "until": "2026-12-03T15:00:00Z",
    "generated_at": "2026-12-03T15:10:00Z",
    "missions": [
        {"mission_id": "a" * 32, "name": "Face patrol <b>", "status": "completed",
         "created_at": "2026-12-03T06:00:00Z", "ended_at": "2026-12-03T08:00:00Z",
         "inspections": {"done": 2, "total": 2}, "results": 4, "robots": ["r1"]},
        {"mission_id": "b" * 32, "name": "Belt round", "status": "failed",
         "reason": "no robot left", "created_at": "2026-12-03T09:00:00Z",
         "ended_at": "2026-12-03T10:00:00Z", "inspections": {"done": 1, "total": 3,
                                                             "dropped": 2},
         "schedule_id": 4, "schedule_name": "belt every 2h", "robots": ["r2"]},
    ],
    "anomalies": [
        anomaly(status="acknowledged", acknowledged_by="ann",
                acknowledged_at="2026-12-03T08:10:00Z",
                ack_note="<script>alert('x')</script>"),
        anomaly(id=2, inspection_point_id="p2", sensor="o2", severity="warning",
                rule="below", threshold=19.5, peak=19.0, status="resolved",
                resolved_by="bob", resolved_at="2026-12-03T11:00:00Z"),
    ],
    "steps": [
        {"anomaly_id": 1, "event": "acknowledged", "at": "2026-12-03T08:10:00Z",
         "by": "ann", "note": "<script>alert('x')</script>"},
        {"anomaly_id": 2, "event": "opened", "at": "2026-12-03T10:00:00Z",
         "severity": "warning"},
        {"anomaly_id": 2, "event": "resolved", "at": "2026-12-03T11:00:00Z", "by": "bob"},
    ],
    "lockouts": [{"id": 3, "manufacturer": "acme", "serial": "r2", "node_id": "p1",
                  "sensor": "ch4", "value": 1.7, "unit": "%vol", "level": 1.5,
                  "locked_at": "2026-12-03T14:00:00Z"}],
    "closures": [{"id": 2, "site": "Tiny test mine", "node_id": "p1", "area": "zone face-gas",
                  "source": "robot acme/r2", "sensor": "ch4", "value": 1.7, "unit": "%vol",
                  "opened_at": "2026-12-03T14:00:00Z", "nodes": ["p1"], "restore": 1.0}],
    "robots": [
        {"serial": "r1", "manufacturer": "acme", "busy_s": 3600, "idle_s": 25200,
         "spans": [{"state": "busy", "start": "2026-12-03T07:00:00Z",
                    "end": "2026-12-03T08:00:00Z"}]},
        {"serial": "r2", "manufacturer": "acme", "busy_s": 1800, "lost_s": 1800,
         "locked_out_s": 3600, "idle_s": 21600,
         "spans": [{"state": "busy", "start": "2026-12-03T09:00:00Z",
                    "end": "2026-12-03T09:30:00Z"},
                   {"state": "lost", "start": "2026-12-03T09:30:00Z",
                    "end": "2026-12-03T10:00:00Z"},
                   {"state": "locked_out", "start": "2026-12-03T14:00:00Z",
                    "end": "2026-12-03T15:00:00Z", "open_ended": True}]},
    ],
    "schedule_events": [
        {"id": 6, "schedule_id": 4, "kind": "moved", "at": "2026-12-03T09:00:00Z",
         "due": "2026-12-03T08:30:00Z", "schedule_name": "belt every 2h",
         "detail": {"to": "2026-12-03T09:00:00+00:00", "blackouts": ["09:00-10:00"]}},
        {"id": 7, "schedule_id": 4, "kind": "launched", "at": "2026-12-03T09:00:00Z",
         "due": "2026-12-03T08:30:00Z", "mission_id": "b" * 32,
         "schedule_name": "belt every 2h", "tz": "Europe/Berlin", "detail": {"late_s": 0.4}},
        {"id": 8, "schedule_id": 4, "kind": "skipped", "at": "2026-12-03T11:00:00Z",
         "due": "2026-12-03T11:00:00Z", "schedule_name": "belt every 2h",
         "detail": {"reason": "previous run still going"}},
        {"id": 9, "schedule_id": 4, "kind": "missed", "at": "2026-12-03T13:05:00Z",
         "due": "2026-12-03T13:00:00Z", "detail": {"reason": "the manager was down"}},
        {"id": 11, "schedule_id": 4, "kind": "missed", "at": "2026-12-03T13:05:00Z",
         "detail": {"reason": "the manager was down", "more": 2}},
        {"id": 10, "schedule_id": 4, "kind": "paused", "at": "2026-12-03T13:30:00Z",
         "detail": {"by": "ann"}},
    ],
    "overdue": [{"mission_id": "c" * 32, "mission_name": "Gas patrol", "point": "p7",
                 "target_s": 1800, "worst_gap_s": 5400,
                 "worst_from": "2026-12-03T08:00:00Z", "worst_to": "2026-12-03T09:30:00Z",
                 "gaps_over": 2, "inspections": 14}],
    "patrols": 1,
    "notes": ["mission Old (dddddddd): its stored document no longer loads"],
}


def render(tmp_path: Path, data: dict[str, Any] | None = None, tz: str = "Europe/Berlin",
           title: str | None = "2026-12-03 08:00/8h (Europe/Berlin)") -> str:
    record = ShiftRecord.from_json(copy.deepcopy(data or DATA))
    out = tmp_path / "shift.html"
    render_shift(record, out, tz=zone(tz), title=title)
    return out.read_text(encoding="utf-8")


def test_a_well_formed_page_with_every_section(tmp_path: Path) -> None:
    page = render(tmp_path)
    tags = Tags()
    tags.feed(page)
    tags.close()
    assert tags.stack == []
    assert "script" not in tags.seen and "img" not in tags.seen and "link" not in tags.seen
    assert "&lt;script&gt;" in page  # the note, escaped
    assert "Face patrol &lt;b&gt;" in page
    for section in SECTIONS:
        assert f"<h2>{section.replace(chr(39), '&#x27;')}</h2>" in page or \
            f"<h2>{section}</h2>" in page, section
    assert page.index("Needs action") < page.index("<h2>Missions")
    assert "<svg" in page and "Notes" in page


def test_times_are_in_the_zone_and_in_utc(tmp_path: Path) -> None:
    page = render(tmp_path)
    assert "2026-12-03 08:00:00 CET (07:00:00 UTC)" in page
    assert "2026-12-03 16:00:00 CET (15:00:00 UTC)" in page
    utc = render(tmp_path, tz="UTC", title=None)
    assert "2026-12-03 07:00:00 UTC" in utc and "CET" not in utc


def test_needs_action_lists_lockouts_closures_and_unresolved_anomalies(tmp_path: Path
                                                                       ) -> None:
    page = render(tmp_path)
    action = page[page.index("<h2>Needs action"):page.index("<h2>Missions")]
    assert "fleet robots reset acme/r2" in action
    assert "fleet closures reopen C-2" in action
    assert "<td>#1</td>" in action and "<td>#2</td>" not in action  # resolved: not there
    assert "by ann" in action


def test_missions_anomalies_schedules_and_overdue_points(tmp_path: Path) -> None:
    page = render(tmp_path)
    missions = page[page.index("<h2>Missions"):page.index("<h2>Anomalies during")]
    assert "no robot left" in missions and "1/3 (2 dropped)" in missions
    assert "#4 belt every 2h" in missions and "(before the shift)" in missions
    steps = page[page.index("<h2>Anomalies during"):page.index("<h2>Robots")]
    assert "1 opened, 1 acknowledged, 1 resolved." in steps
    runs = page[page.index("<h2>Schedule runs"):page.index("<h2>Points not")]
    assert "1 launched, 1 moved, 1 skipped, 4 missed." in runs
    assert "previous run still going" in runs and "the manager was down" in runs
    assert "starts at 2026-12-03 10:00:00 CET (09:00:00 UTC) (blackout 09:00-10:00)" in runs
    assert "0.4 s after its time" in runs and "and 2 more not listed" in runs
    assert "Changes to schedules" in runs and "paused (by ann)" in runs
    assert "Runs skipped, missed or failed<b>5</b>" in page
    overdue = page[page.index("<h2>Points not"):page.index("<h2>Gas lockouts")]
    assert "p7" in overdue and "1h 30m" in overdue and "30m" in overdue


def test_availability_says_what_each_figure_is_built_from(tmp_path: Path) -> None:
    page = render(tmp_path)
    part = page[page.index("<h2>Robots"):page.index("<h2>Schedule runs")]
    for word in ("dispatched", "robot_finished", "robot_lost", "robot_back", "charging",
                 "lockouts", "idle"):
        assert word in part, word
    assert "acme/r2" in part and "19 %" in part  # (lost 30m + locked out 1h) of 8h


def test_a_shift_not_over_says_so(tmp_path: Path) -> None:
    data = {**DATA, "generated_at": "2026-12-03T11:00:00Z"}
    page = render(tmp_path, data)
    assert "the shift is not over" in page and "figures run to" in page


def test_empty_sections_say_so(tmp_path: Path) -> None:
    data = {"since": DATA["since"], "until": DATA["until"],
            "generated_at": DATA["generated_at"]}
    page = render(tmp_path, data)
    assert "No mission was created or running during the shift." in page
    assert "No anomaly is left unresolved." in page
    assert "No schedule run was due during the shift." in page
    assert "No mission of the shift has revisit targets" in page
    assert "No robot was locked out and no area was closed." in page


def test_an_unwritable_file_is_one_line(tmp_path: Path) -> None:
    record = ShiftRecord.from_json(copy.deepcopy(DATA))
    with pytest.raises(FleetError, match="cannot write"):
        render_shift(record, tmp_path / "missing" / "shift.html")


@pytest.mark.parametrize(("data", "says"), [
    ([], "the answer must be an object"),
    ({"since": "2026-12-03T07:00:00Z"}, "until is missing"),
    ({**DATA, "robots": [{"serial": "r1", "busy_s": "lots"}]}, "robots[0].busy_s"),
])
def test_a_malformed_answer_is_one_line(data: Any, says: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        ShiftRecord.from_json(data)
    assert says in str(caught.value) and "\n" not in str(caught.value)
