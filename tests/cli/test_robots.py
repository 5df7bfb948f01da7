"""``fleet robots``, ``fleet robots show`` and ``fleet mission list`` on a manager's
answers (the query is replaced: what is tested is what the CLI prints)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from fleet.cli import mission, robots
from fleet.cli.main import app
from fleet.cli.tables import table_lines

LONG_SERIAL = "S" * 40
LONG_MISSION = "Longwall gas patrol of the district return airways and the face " [:60]


def _robot(serial: str, **fields: Any) -> dict[str, Any]:
    return {"manufacturer": "acme", "serial": serial, "status": "online", "battery": 87.0,
            "last_node": "", "order_id": "", "mission_id": None, "busy": False,
            "sensors": ["ch4", "co"], "epl": "Gb", "errors": [], "dock": "pb-dock",
            **fields}


ROBOTS = [_robot("CR-01", last_node="face-10", mission_id="m-1"),
          _robot(LONG_SERIAL, battery=None, dock=None),
          _robot("RI-02", last_rejected={"message": "order 7", "reason": "unreachable",
                                         "at": "2025-01-01T00:00:00Z"})]


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> None:
    def ask(connect: object, interface: object, verb: str, *args: Any, **kw: Any) -> Any:
        if verb == "robots":
            return ROBOTS
        if verb == "mission/list":
            return [{"mission_id": "m-1", "status": "running", "name": LONG_MISSION,
                     "inspections": {"done": 3, "total": 29}},
                    {"mission_id": "m-2", "status": "completed", "name": "Short",
                     "inspections": None}]
        raise AssertionError(verb)

    monkeypatch.setattr(robots, "ask", ask)
    monkeypatch.setattr(mission, "ask", ask)
    monkeypatch.setattr(robots, "leader_line", lambda *_a: None)  # a single manager


def _columns_aligned(lines: list[str], headers: list[str]) -> None:
    found = {m.group(): m.start() for m in re.finditer(r"\S+", lines[0])}
    starts = [found[h] for h in headers]
    for line in lines[1:]:
        for start in starts:
            if len(line) <= start:
                continue  # an empty last cell
            # every column starts where its header does, after a gap
            assert line[start - 2:start] == "  " and line[start] != " ", (line, start)


@pytest.mark.usefixtures("answers")
def test_robots_keep_their_columns_for_a_40_character_serial() -> None:
    result = CliRunner().invoke(app, ["robots"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    _columns_aligned(lines, ["status", "at", "mission"])
    assert f"acme/{LONG_SERIAL}" in lines[2]


@pytest.mark.usefixtures("answers")
def test_a_robot_that_has_not_moved_is_at_its_dock() -> None:
    lines = CliRunner().invoke(app, ["robots"]).stdout.splitlines()
    at = lines[0].index(" at ") + 1
    assert lines[1][at:].startswith("face-10")
    assert lines[2][at:].startswith("-")
    assert lines[3][at:].startswith("pb-dock (dock)")


@pytest.mark.usefixtures("answers")
def test_mission_list_keeps_its_columns_for_a_60_character_name() -> None:
    result = CliRunner().invoke(app, ["mission", "list"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].endswith(LONG_MISSION) and lines[2].endswith("Short")
    _columns_aligned(lines, ["status", "name"])
    done_ends = lines[0].index("done") + 4
    assert lines[1].index("3/29") + 4 == lines[2].index("  -  ") + 3 == done_ends


@pytest.mark.usefixtures("answers")
def test_show_prints_every_field_of_the_record_nested_ones_indented() -> None:
    result = CliRunner().invoke(app, ["robots", "show", "acme/RI-02"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for key in ROBOTS[2]:
        assert any(line.split()[0].rstrip(":") == key for line in out.splitlines()), key
    assert "  reason" in out and "unreachable" in out
    assert "sensors" in out and "ch4, co" in out


@pytest.mark.usefixtures("answers")
def test_show_json_is_the_record() -> None:
    result = CliRunner().invoke(app, ["robots", "show", "acme/CR-01", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ROBOTS[0]


@pytest.mark.usefixtures("answers")
@pytest.mark.parametrize("name", ["acme/XX-99", "other/CR-01"])
def test_show_an_unknown_robot_is_one_line_and_exit_1(name: str) -> None:
    result = CliRunner().invoke(app, ["robots", "show", name])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: the manager knows no robot {name!r}; `fleet robots` lists them"]


def test_table_lines_pad_to_the_widest_cell() -> None:
    assert table_lines(("a", "n"), [("x" * 5, "1"), ("y", "22")], right=("n",)) == [
        "a       n", "xxxxx   1", "y      22"]


def test_reset_sends_who_and_the_note_and_says_what_follows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, Any]] = []

    def ask(connect: object, interface: object, verb: str, body: Any = None,
            **kw: Any) -> Any:
        sent.append((verb, body))
        return {"robot": "acme/CR-01", "lockouts": [1], "missions": [],
                "status": "locked_out"}

    monkeypatch.setattr(robots, "ask", ask)
    result = CliRunner().invoke(app, ["robots", "reset", "acme/CR-01", "--note",
                                      "reset at tg-12", "--by", "ann"])
    assert result.exit_code == 0, result.output
    assert sent == [("robots/reset", {"manufacturer": "acme", "serial": "CR-01", "by": "ann",
                                      "note": "reset at tg-12"})]
    assert result.stdout.strip() == (
        "acme/CR-01: reset recorded; back in service once it no longer reports the lockout")


def test_reset_refused_by_the_manager_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from fleet.errors import FleetError

    def ask(*args: Any, **kw: Any) -> Any:
        raise FleetError("robot acme/CR-01 is not locked out (it is online)")

    monkeypatch.setattr(robots, "ask", ask)
    result = CliRunner().invoke(app, ["robots", "reset", "acme/CR-01", "--note", "x"])
    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == [
        "error: robot acme/CR-01 is not locked out (it is online)"]
    blank = CliRunner().invoke(app, ["robots", "reset", "acme/CR-01", "--note", " "])
    assert blank.exit_code == 2 and "Traceback" not in blank.output
