"""``fleet report``: a shift's report (``--since/--until``, ``--shift --tz``) through the
``report/shift`` API verb of a running manager on real Zenoh (loopback), a mission's report
still by its id, and every bad command line refused in one line with exit 1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.cli.report import parse_shift
from fleet.comms import Bus
from fleet.comms.config import client_config, free_port
from fleet.errors import FleetError, ScheduleError
from fleet.manager import Manager
from fleet.manager.api import api_key
from fleet.recurrence import zone
from tests.e2e.fleetkit import manager_on_port
from tests.manager.shift_day import fill

pytestmark = pytest.mark.timeout(120)

SECTIONS = ["Needs action", "Missions", "Anomalies during the shift", "availability",
            "Schedule runs", "Points not inspected as often as their targets ask",
            "Gas lockouts and closures during the shift"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Manager, str]]:
    """A manager whose store holds :func:`tests.manager.shift_day.fill`'s day."""
    with manager_on_port(tmp_path_factory.mktemp("shift")) as (manager, endpoint):
        fill(manager.store)
        yield manager, endpoint


def test_a_shift_in_local_time(served: tuple[Manager, str], tmp_path: Path) -> None:
    _, endpoint = served
    out = tmp_path / "shift.html"
    code, _, err = run("report", "--shift", "2026-12-03 08:00/8h", "--tz", "Europe/Berlin",
                       "-o", str(out), "--connect", endpoint)
    assert code == 0, err
    assert err.strip() == f"shift report (4 missions, 3 anomaly steps, 2 robots) written to {out}"
    page = out.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert section in page, section
    assert "2026-12-03 08:00:00 CET (07:00:00 UTC)" in page
    assert "no robot left" in page and "previous run still going" in page
    assert "fleet robots reset acme/r2" in page


def test_a_window_in_utc_gives_the_same_record(served: tuple[Manager, str],
                                               tmp_path: Path) -> None:
    _, endpoint = served
    out = tmp_path / "window.html"
    code, _, err = run("report", "--since", "2026-12-03T07:00Z", "--until",
                       "2026-12-03T16:00+01:00", "-o", str(out), "--connect", endpoint)
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert "2026-12-03 07:00:00 UTC" in page and "CET" not in page


def test_the_api_verb_answers_the_record(served: tuple[Manager, str]) -> None:
    _, endpoint = served
    with Bus.open(client_config([endpoint], timeout_ms=2000)) as bus:
        answer = bus.request(api_key("uagv", "report/shift"),
                             {"since": "2026-12-03T07:00:00Z", "until": "2026-12-03T15:00:00Z"},
                             timeout=20.0)
        assert [m["mission_id"] for m in answer["missions"]] == ["patrol", "carried", "failed",
                                                                  "running"]
        assert [e["kind"] for e in answer["schedule_events"]] == ["launched", "skipped",
                                                                   "missed"]
        assert {r["serial"] for r in answer["robots"]} == {"r1", "r2"}
        for body, says in (({"until": "2026-12-03T15:00:00Z"}, "needs since"),
                           ({"since": "today"}, "since must be an ISO 8601 time"),
                           ({"since": "2026-12-03T15:00:00Z", "until": "2026-12-03T07:00:00Z"},
                            "the window's end must come after its start"),
                           ({"since": "2026-10-01T00:00:00Z", "until": "2026-12-03T00:00:00Z"},
                            "at most 31 days")):
            with pytest.raises(FleetError, match=says):
                bus.request(api_key("uagv", "report/shift"), body, timeout=20.0)


def test_a_missions_report_still_goes_by_its_id(served: tuple[Manager, str],
                                               tmp_path: Path) -> None:
    _, endpoint = served
    out = tmp_path / "report.html"
    code, _, err = run("report", "carried", "-o", str(out), "--connect", endpoint)
    assert code == 0, err
    assert "Inspection report: carried" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "says"), [
    (["carried", "--shift", "2026-12-03 08:00/8h"],
     "give a MISSION_ID or a window (--since/--until or --shift), not both"),
    (["carried", "--since", "2026-12-03T07:00Z"], "not both"),
    (["carried", "--tz", "Europe/Berlin"], "--tz is for a shift report"),
    ([], "give a MISSION_ID, or a window"),
    (["--tz", "Europe/Berlin"], "give a MISSION_ID, or a window"),
    (["--shift", "2026-12-03 08:00/8h", "--tz", "Europe/Berlim"],
     "unknown time zone 'Europe/Berlim'"),
    (["--shift", "2026-12-03 08:00/8 hours"], "is not a duration"),
    (["--shift", "2026-12-03 08:00/0h"], "must be a positive duration"),
    (["--shift", "2026-12-03 08:00"], "is not 'LOCAL START/DURATION'"),
    (["--shift", "tomorrow/8h"], "is not a local date and time"),
    (["--shift", "2026-12-03T08:00+01:00/8h"], "write it without an offset"),
    (["--shift", "2026-12-03 08:00/40d"], "longer than 31 days"),
    (["--shift", "2026-12-03 08:00/8h", "--since", "2026-12-03T07:00Z"],
     "give --shift or --since/--until, not both"),
    (["--since", "2026-12-03T15:00Z", "--until", "2026-12-03T07:00Z"],
     "--since must come before --until"),
    (["--since", "2026-12-03T07:00Z", "--until", "2026-12-03T07:00Z"],
     "--since must come before --until"),
    (["--since", "2026-12-03 08:00"], "needs an offset"),
    (["--since", "yesterday"], "is not an ISO 8601 time"),
    (["--until", "2026-12-03T07:00Z"], "--until needs --since"),
    (["--since", "2026-12-03T07:00Z", "--map", "x.yaml"], "--map is for a mission's report"),
])
def test_bad_command_lines_are_one_line_exit_1(args: list[str], says: str) -> None:
    # refused before asking: the endpoint has no manager behind it
    code, out, err = run("report", *args, "--connect", f"tcp/127.0.0.1:{free_port()}")
    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], lines
    assert "Traceback" not in out + err


def test_a_shift_across_a_daylight_saving_change_lasts_its_hours() -> None:
    berlin = zone("Europe/Berlin")
    # the night the clocks go back (2027-10-31, 03:00 CEST -> 02:00 CET): 22:00 + 8h
    start, end = parse_shift("2027-10-30 22:00/8h", berlin)
    assert start == datetime(2027, 10, 30, 20, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 8 * 3600
    assert end.astimezone(berlin).strftime("%H:%M %Z") == "05:00 CET"
    # the night they jump forward (2027-03-28, 02:00 CET -> 03:00 CEST): 22:00 + 8h
    start, end = parse_shift("2027-03-27 22:00/8h", berlin)
    assert end.astimezone(berlin).strftime("%H:%M %Z") == "07:00 CEST"
    # a start inside the jump starts at its end; 7h30m is a duration too
    start, end = parse_shift("2027-03-28 02:30/7h30m", berlin)
    assert start == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 7.5 * 3600
    # a start that occurs twice starts at its first occurrence (CEST)
    start, _ = parse_shift("2027-10-31 02:30/12h", berlin)
    assert start == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_parse_shift_errors_are_schedule_errors() -> None:
    with pytest.raises(ScheduleError):
        parse_shift("2026-12-03 08:00/soon", zone("UTC"))
