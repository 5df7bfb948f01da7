"""``fleet closures list`` and ``fleet closures reopen`` against a running manager on real
Zenoh (loopback), and their errors in one line each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.comms.config import free_port
from fleet.facility import load
from fleet.manager import Manager
from tests.e2e.fleetkit import TINY_MAP, manager_on_port

pytestmark = pytest.mark.timeout(120)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def closed(tmp_path: Path) -> Iterator[tuple[Manager, str]]:
    """A manager whose fixed sensor at p1 (tiny map, zone face-gas) read 1.62 %vol ch4:
    closure C-1 is open."""
    with manager_on_port(tmp_path) as (manager, endpoint):
        manager.closures.add_site(load(TINY_MAP))
        levels = manager.anomalies.limits_for(None).interlock("p1", "ch4")
        assert manager.closures.observe("p1", "sensor CH4-1", "ch4", 1.62, "%vol", levels)
        yield manager, endpoint


def test_list_reopen_and_history(closed: tuple[Manager, str]) -> None:
    manager, endpoint = closed
    code, out, err = run("closures", "list", "--connect", endpoint)
    assert code == 0, err
    header, line = out.splitlines()
    assert header.split() == ["closure", "site", "area", "nodes", "reading", "at", "source",
                              "opened", "status"]
    for part in ("C-1", "Tiny test mine", "zone face-gas", "ch4 1.62 %vol", "p1",
                 "sensor CH4-1"):
        assert part in line, part
    assert line.endswith("open")
    code, out, _ = run("closures", "list", "--json", "--connect", endpoint)
    [listed] = json.loads(out)
    assert (listed["id"], listed["open"], listed["nodes"]) == (1, True, ["p1"])

    code, out, err = run("closures", "reopen", "C-1", "--note", "ventilated, 0.3 % measured",
                         "--by", "ann", "--connect", endpoint)
    assert code == 0, err
    assert out.strip() == "C-1 of Tiny test mine (zone face-gas) reopened by ann"
    assert manager.closures.open() == []
    assert run("closures", "list", "--connect", endpoint)[1].strip() == "no open closure"
    code, out, _ = run("closures", "list", "--all", "--connect", endpoint)
    assert "reopened" in out and "by ann: ventilated, 0.3 % measured" in out
    # its alarm is resolved, by the same supervisor
    [alarm] = [a for a in manager.store.anomalies() if a.rule == "closure"]
    assert (alarm.status, alarm.resolved_by) == ("resolved", "ann")

    code, out, err = run("closures", "reopen", "1", "--note", "again", "--by", "ann",
                         "--connect", endpoint)
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith("error: closure C-1 was reopened already, at ")
    assert line.endswith(" UTC by ann")


@pytest.mark.parametrize(("args", "code", "says"), [
    (["reopen", "C-1", "--note", " "], 2, "say why the area is safe again"),
    (["reopen", "first", "--note", "x"], 2, "a closure id is a number like 3 or C-3"),
    (["reopen", "C-1"], 2, "Missing option '--note'"),
])
def test_bad_command_lines_are_refused_before_asking(args: list[str], code: int,
                                                     says: str) -> None:
    result = CliRunner().invoke(app, ["closures", *args, "--connect",
                                      f"tcp/127.0.0.1:{free_port()}"])
    assert result.exit_code == code
    assert says in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args", [["list"], ["reopen", "C-1", "--note", "x", "--by", "ann"]])
def test_no_manager_is_exit_2_in_one_line(args: list[str]) -> None:
    code, _, err = run("closures", *args, "--connect", f"tcp/127.0.0.1:{free_port()}")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no "), lines


def test_manager_that_answers_but_knows_no_closure(tmp_path: Path) -> None:
    with manager_on_port(tmp_path) as (_manager, endpoint):
        assert run("closures", "list", "--all", "--connect", endpoint)[1].strip() == \
            "no closure"
        code, _, err = run("closures", "reopen", "C-5", "--note", "x", "--by", "ann",
                           "--connect", endpoint)
        assert code == 1
        assert err.strip() == ("error: no closure C-5 (`fleet closures list` shows the open "
                               "ones)")
