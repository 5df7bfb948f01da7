"""``fleet schedule`` against a running manager on real Zenoh (loopback): every subcommand,
``next`` across daylight-saving changes (expected instants computed here with zoneinfo),
and bad input as one line with exit code 1 and nothing stored."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.manager import Manager
from tests.e2e.fleetkit import TINY_MISSION, manager_on_port

pytestmark = pytest.mark.timeout(120)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Manager, str]]:
    with manager_on_port(tmp_path_factory.mktemp("schedules")) as (manager, endpoint):
        yield manager, endpoint


def add(endpoint: str, *args: str) -> dict[str, object]:
    code, out, err = run("schedule", "add", str(TINY_MISSION), *args, "--by", "ann",
                         "--json", "--connect", endpoint)
    assert code == 0, err
    answer: dict[str, object] = json.loads(out)
    return answer


def next_runs(endpoint: str, schedule: object, count: int) -> list[dict[str, object]]:
    code, out, err = run("schedule", "next", str(schedule), "--count", str(count), "--json",
                         "--connect", endpoint)
    assert code == 0, err
    runs: list[dict[str, object]] = json.loads(out)["runs"]
    return runs


def instants(runs: list[dict[str, object]]) -> list[datetime]:
    return [datetime.fromisoformat(str(r["start"])) for r in runs]


def test_berlin_across_both_changes_of_2027(served: tuple[Manager, str]) -> None:
    _, endpoint = served
    berlin = ZoneInfo("Europe/Berlin")
    s = add(endpoint, "--cron", "30 2 * * *", "--tz", "Europe/Berlin",
            "--start", "2027-03-26T00:00+01:00", "--until", "2027-11-02T00:00+01:00")
    runs = instants(next_runs(endpoint, s["id"], 1000))
    by_day = {r.astimezone(berlin).date(): r for r in runs}
    assert len(by_day) == len(runs)  # never twice on a day
    spring = datetime(2027, 3, 28).date()
    assert by_day[spring] == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert by_day[spring].astimezone(berlin).strftime("%H:%M") == "03:00"
    autumn = datetime(2027, 10, 31).date()
    # (an ambiguous local time never compares equal across zones: PEP 495; compare in UTC)
    assert by_day[autumn] == datetime(2027, 10, 31, 2, 30, tzinfo=berlin, fold=0).astimezone(UTC)
    assert by_day[autumn].astimezone(UTC).strftime("%H:%M") == "00:30"  # CEST, not CET
    for day, r in by_day.items():  # every other day at 02:30 local
        if day not in (spring,):
            assert r.astimezone(berlin).strftime("%H:%M") == "02:30"
    # the human form shows both zones
    code, out, _ = run("schedule", "next", str(s["id"]), "--count", "3", "--connect", endpoint)
    assert code == 0 and "local (Europe/Berlin)" in out and "+02:00" in out


def test_new_york_weekdays_across_both_changes_of_2027(served: tuple[Manager, str]) -> None:
    _, endpoint = served
    ny = ZoneInfo("America/New_York")
    s = add(endpoint, "--cron", "0 8 * * 1-5", "--tz", "America/New_York",
            "--start", "2027-03-08T00:00-05:00")
    runs = instants(next_runs(endpoint, s["id"], 200))
    expected, day = [], datetime(2027, 3, 8)
    while len(expected) < 200:
        if day.weekday() < 5:
            expected.append(day.replace(hour=8, tzinfo=ny).astimezone(UTC))
        day += timedelta(days=1)
    assert runs == expected
    assert datetime(2027, 3, 15, 12, tzinfo=UTC) in runs  # EDT: 12:00 UTC
    assert datetime(2027, 11, 8, 13, tzinfo=UTC) in runs  # EST: 13:00 UTC


def test_shanghai_is_midnight_and_eight_utc(served: tuple[Manager, str]) -> None:
    _, endpoint = served
    s = add(endpoint, "--cron", "0 8,16 * * *", "--tz", "Asia/Shanghai")
    runs = instants(next_runs(endpoint, s["id"], 30))
    assert {(r.hour, r.minute) for r in runs} == {(0, 0), (8, 0)}
    assert all(b - a == timedelta(hours=8 if a.hour == 0 else 16)
               for a, b in itertools.pairwise(runs))


def test_list_show_pause_resume_update_remove(served: tuple[Manager, str],
                                              tmp_path: Path) -> None:
    manager, endpoint = served
    own = tmp_path / "missions" / "tiny.yaml"
    own.parent.mkdir()
    shutil.copytree(TINY_MISSION.parents[1] / "maps", tmp_path / "maps")
    shutil.copy(TINY_MISSION, own)
    s = add(endpoint, "--every", "2h", "--tz", "UTC", "--name", "belt roadway",
            "--overlap", "queue", "--catch-up", "once", "--blackout", "12:00-13:00")
    sid = f"S{s['id']}"
    assert (s["name"], s["overlap"], s["catch_up"], s["status"]) == (
        "belt roadway", "queue", "once", "active")
    code, out, _ = run("schedule", "list", "--connect", endpoint)
    assert code == 0 and sid in out and "every 2h (UTC), blackout 12:00-13:00" in out
    assert run("schedule", "pause", sid, "--by", "ann", "--connect", endpoint)[1].startswith(
        f"{sid} paused")
    assert run("schedule", "resume", sid, "--by", "ann", "--connect", endpoint)[0] == 0
    own.write_text(own.read_text().replace("dwell_s: 20", "dwell_s: 25"))
    assert run("schedule", "update", sid, str(own), "--by", "bo", "--connect", endpoint)[0] == 0
    stored = manager.store.schedule(int(str(s["id"])))
    assert stored is not None and "dwell_s: 25" in stored.document
    code, out, _ = run("schedule", "show", sid, "--json", "--connect", endpoint)
    kinds = [e["kind"] for e in json.loads(out)["events"]]
    assert kinds == ["updated", "resumed", "paused", "added"]
    assert run("schedule", "remove", sid, "--by", "ann", "--connect", endpoint)[0] == 0
    code, _, err = run("schedule", "show", sid, "--connect", endpoint)
    assert code == 1 and err.strip() == f"error: no schedule {sid}"


@pytest.mark.parametrize(("args", "message"), [
    (["--cron", "0 25 * * *", "--tz", "UTC"], "cron expression '0 25 * * *': Bad hour"),
    (["--cron", "0 8 * * *", "--tz", "Europe/Narnia"], "unknown time zone 'Europe/Narnia'"),
    (["--every", "1h", "--tz", "UTC", "--blackout", "night"],
     "blackout 'night' is not a time range HH:MM-HH:MM"),
    (["--every", "1h", "--tz", "UTC", "--overlap", "both"], "--overlap must be one of"),
    (["--every", "1h", "--tz", "UTC", "--start", "2027-01-01 08:00"], "needs an offset"),
    (["--tz", "UTC"], "give either --cron EXPR or --every DURATION"),
])
def test_bad_arguments_are_one_line_exit_1_and_store_nothing(
        served: tuple[Manager, str], args: list[str], message: str) -> None:
    manager, endpoint = served
    before = len(manager.store.schedules(removed=True))
    code, out, err = run("schedule", "add", str(TINY_MISSION), *args, "--connect", endpoint)
    assert code == 1, (out, err)
    assert err.strip() == f"error: {message}" or (message in err and err.count("\n") == 1)
    assert len(manager.store.schedules(removed=True)) == before


def test_a_mission_file_that_does_not_load(served: tuple[Manager, str], tmp_path: Path) -> None:
    manager, endpoint = served
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nmap: nowhere.yaml\ntasks: []\n")
    before = len(manager.store.schedules(removed=True))
    code, _, err = run("schedule", "add", str(bad), "--every", "1h", "--tz", "UTC",
                       "--connect", endpoint)
    assert code == 1 and "nowhere.yaml" in err and "Traceback" not in err
    assert len(manager.store.schedules(removed=True)) == before


def test_an_unreachable_manager(tmp_path: Path) -> None:
    from fleet.comms.config import free_port

    code, _, err = run("schedule", "list", "--connect", f"tcp/127.0.0.1:{free_port()}")
    assert code == 2 and err.count("\n") == 1 and "reachable" in err
