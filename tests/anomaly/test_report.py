"""The HTML mission report: well-formed, self-contained, the map with routes and markers,
and nothing a note says can run in the reader's browser."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fleet.anomaly.record import MissionRecord
from fleet.anomaly.report import mission_facility, render_report
from fleet.errors import FleetError

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "maps" / "tiny.yaml"


class Tags(HTMLParser):
    """Collects tags, checks that every opened element is closed in order."""

    VOID: ClassVar[set[str]] = {"meta", "br", "img", "input", "link", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.seen: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.seen.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        self.seen.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def anomaly(**kw: Any) -> dict[str, Any]:
    base = {"id": 1, "inspection_point_id": "p1", "sensor": "ch4", "status": "open",
            "severity": "alarm", "rule": "above", "threshold": 1.5, "unit": "%vol",
            "peak": 1.8, "count": 2, "first_seen": "2025-03-01T08:00:00Z",
            "last_seen": "2025-03-01T08:10:00Z", "x": 40.0, "y": 0.0, "level": "L1"}
    return {**base, **kw}


DATA: dict[str, Any] = {
    "mission": {"mission_id": "a" * 32, "name": "Night round <b>", "status": "completed",
                "created_at": "2025-03-01T07:55:00Z", "updated_at": "2025-03-01T08:30:00Z",
                "inspections": {"done": 2, "total": 2}},
    "map": {"name": "tiny.yaml", "suffix": ".yaml", "text": TINY.read_text(encoding="utf-8")},
    "routes": {"R1": {"planned": ["dock", "a", "p1", "a", "dock"],
                      "driven": ["dock", "a", "p1"]}},
    "anomalies": [
        anomaly(),
        anomaly(id=2, inspection_point_id="p2", sensor="o2", severity="warning",
                rule="below", threshold=20.0, peak=19.8, status="acknowledged",
                acknowledged_by="ann", ack_note="<script>alert('x')</script>", level="L2",
                x=80.0, y=20.0),
        anomaly(id=3, inspection_point_id="p2", sensor="finding:crack", severity="info",
                rule="finding", threshold=None, unit=None, peak=0.7, status="resolved",
                resolved_by="bob", resolve_note="patched"),
    ],
    "observations": [{"anomaly_id": 1, "result_id": "r1", "seq": 0, "severity": "alarm",
                      "rule": "above", "value": 1.8, "measured_at": "2025-03-01T08:00:00Z"}],
    "results": [{"result_id": "r1", "point": "p1", "serial": "R1",
                 "measured_at": "2025-03-01T08:00:00Z",
                 "readings": [{"sensor": "ch4", "value": 1.8, "unit": "%vol"},
                              {"sensor": "o2", "value": 20.8, "unit": "%vol"}]}],
    "generated_at": "2025-03-01T09:00:00Z",
}
"""A ``report`` answer as the manager sends it."""
RECORD = MissionRecord.from_json(DATA)


def test_the_report_has_everything_a_supervisor_needs(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    render_report(RECORD, out, mission_facility(RECORD))
    page = out.read_text(encoding="utf-8")
    tags = Tags()
    tags.feed(page)
    tags.close()
    assert tags.stack == ["html"] or tags.stack == []
    assert "script" not in tags.seen  # nothing runs, not even from a note
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Night round &lt;b&gt;" in page
    text = " ".join(tags.text)
    for expected in ("Needs action", "Face 1", "1.8 %vol", "≥ 1.5 %vol", "ack", "patched",
                     "Readings per inspection point", "2/2"):
        assert expected in text, expected
    # needs action: the two unresolved ones, alarm first; the resolved one is only listed
    action = page[page.index("<h2>Needs action</h2>"):page.index("<h2>Map")]
    assert action.index("p1") < action.index("p2") and "finding:crack" not in action
    # the map: inline SVG with the driven route and a marker per anomaly
    assert page.count("<svg") == 1 and "<?xml" not in page
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "R1 (3 nodes" in svg  # the route driven, not the one planned
    assert "#1 ch4" in svg and "#2 o2" in svg
    assert "Anomaly: alarm" in svg and "Anomaly: warning" in svg
    assert '<span class="hot">ch4 1.8 %vol</span>' in page


def test_without_a_map_the_supervisor_is_told_to_give_one(tmp_path: Path) -> None:
    record = replace(RECORD, map=None)
    with pytest.raises(FleetError, match="--map FILE"):
        mission_facility(record)
    fac = mission_facility(record, map_file=TINY)
    render_report(record, tmp_path / "r.html", fac)
    assert (tmp_path / "r.html").stat().st_size > 10_000


def test_an_empty_mission_reports_calmly(tmp_path: Path) -> None:
    record = replace(RECORD, anomalies=(), results=(), observations=(), routes=())
    render_report(record, tmp_path / "r.html", mission_facility(record))
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Nothing: every anomaly of this mission is resolved." in page
    assert "No anomaly was seen during this mission." in page


def test_an_unwritable_report_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="cannot write"):
        render_report(RECORD, tmp_path / "missing" / "r.html", mission_facility(RECORD))


def _gas(**kw: Any) -> dict[str, Any]:
    """A lockout and a closure of the mission (open unless ``kw`` ends them)."""
    lockout = {"id": 4, "manufacturer": "acme", "serial": "R1", "node_id": "p1",
               "sensor": "ch4", "value": 1.62, "unit": "%vol", "level": 1.5,
               "locked_at": "2025-03-01T08:05:00Z"}
    closure = {"id": 7, "site": "Tiny test mine", "node_id": "p1", "nodes": ["a", "p1"],
               "area": "zone face-gas", "source": "robot acme/R1", "sensor": "ch4",
               "value": 1.62, "unit": "%vol", "restore": 1.0,
               "opened_at": "2025-03-01T08:05:00Z"}
    return {"lockouts": [{**lockout, **kw.get("lockout", {})}],
            "closures": [{**closure, **kw.get("closure", {})}]}


ENDED = {"lockout": {"reset_at": "2025-03-01T08:20:00Z", "reset_by": "ann",
                     "note": "reset at the face"},
         "closure": {"reopened_at": "2025-03-01T08:25:00Z", "reopened_by": "bob",
                     "note": "ventilated <i>"}}


@pytest.mark.parametrize(("ended", "in_action", "not_in_action", "on_map"), [
    ({}, ["fleet robots reset acme/R1 --note", "fleet closures reopen C-7 --note",
          "locked out", "zone face-gas (2 nodes)", "below 1 %vol inside reopens it"],
     [], ["C-7 open", "acme/R1 locked out", "Gas closure (open)", "Robot locked out"]),
    (ENDED, [], ["fleet robots reset", "fleet closures reopen"],
     ["C-7 reopened", "Gas closure (reopened)"]),
], ids=["open", "ended"])
def test_lockouts_and_closures_need_action_while_open_and_are_on_the_map(
        tmp_path: Path, ended: dict[str, Any], in_action: list[str],
        not_in_action: list[str], on_map: list[str]) -> None:
    record = MissionRecord.from_json({**DATA, **_gas(**ended)})
    out = tmp_path / "report.html"
    render_report(record, out, mission_facility(record))
    page = out.read_text(encoding="utf-8")
    tags = Tags()
    tags.feed(page)
    tags.close()
    action = page[page.index("<h2>Needs action</h2>"):page.index("<h2>Map")]
    for text in in_action:
        assert text in action, text
    for text in not_in_action:
        assert text not in action, text
    if in_action:  # open ones come before the anomalies
        assert action.index("fleet closures reopen") < action.index("Worst reading")
    svg = page[page.index("<svg"):page.index("</svg>")]
    for text in on_map:
        assert text in svg, text
    history = page[page.index("<h2>Gas closures and lockouts</h2>"):]
    assert "closure C-7" in history and "lockout #4" in history
    if ended:
        assert "reopened 2025-03-01 08:25:00 UTC by bob: ventilated &lt;i&gt;" in history
        assert "reset 2025-03-01 08:20:00 UTC by ann: reset at the face" in history
        assert "acme/R1 locked out" not in svg, "a reset robot is no longer marked"


def test_a_mission_without_gas_events_has_no_gas_section(tmp_path: Path) -> None:
    render_report(RECORD, tmp_path / "r.html", mission_facility(RECORD))
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Gas closures and lockouts" not in page and "fleet closures reopen" not in page
