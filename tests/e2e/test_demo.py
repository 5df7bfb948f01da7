"""``fleet demo``, the README's first command, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _fleet(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleet", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=400)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_demo_finds_the_leak_and_the_lost_robots_work_is_finished(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    run = _fleet("demo", "--json", "-o", str(out), cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    summary = json.loads(run.stdout)

    assert summary["status"] == "completed"
    assert summary["inspections"]["done"] == summary["inspections"]["total"] == 29
    assert summary["results"] >= 29
    # one robot died; every inspection it left was finished, and by other robots
    assert len(summary["lost"]) == 1
    lost = summary["lost"][0]
    assert lost["unfinished"] and set(lost["finished_by"]) == set(lost["unfinished"])
    assert lost["serial"] not in set(lost["finished_by"].values())
    # the seeded methane leak at face-10: found there, and nowhere it cannot reach
    (leak,) = [s for s in summary["sources"] if s["sensor"] == "ch4"]
    assert leak["ok"] and leak["strongest"] == "face-10" and leak["peak"] >= 1.5
    assert "face-10" in leak["found"]
    assert summary["problems"] == []
    # the interlock: the Mb robot that read 1.5 % or more at the face locked itself out
    # there, the area round it closed, a fixed sensor reopened it once the leak was sealed,
    # people reset the robot; no robot but the Ma one was inside while it was closed (from
    # the states the robots published), and every face point was finished
    interlock = summary["interlock"]
    (lockout,) = interlock["lockouts"]
    assert lockout["node"] == "face-10" and lockout["reset"]
    assert lockout["serial"] in interlock["unrated"] and "IS-01" not in interlock["unrated"]
    (closure,) = interlock["closures"]
    assert closure["node"] == "face-10" and closure["reopened_by"].startswith("sensor T0")
    assert interlock["intrusions"] == [] and interlock["no_unrated_robot_inside_a_closure"]
    assert {"face-lc", "face-05", "face-10", "tg-uc"} <= set(interlock["face"])
    # the live progress went to stderr, naming the takeover, the alarm and the interlock
    assert "takes over" in run.stderr and "ALARM ch4" in run.stderr
    assert "locked out at face-10" in run.stderr and "C-1 closes" in run.stderr

    report = Path(summary["files"]["report"])
    page = _Tags()
    page.feed(report.read_text(encoding="utf-8"))
    assert "svg" in page.tags and "table" in page.tags
    assert "face-10" in "".join(page.text)
    picture = Path(summary["files"]["picture"]).read_bytes()
    assert picture.startswith(b"\x89PNG")
    assert json.loads(Path(summary["files"]["summary"]).read_text()) == summary


def test_an_unknown_site_is_one_line_and_exit_2(tmp_path: Path) -> None:
    run = _fleet("demo", "--site", "moon", cwd=tmp_path)
    assert run.returncode == 2
    assert "moon" in run.stderr and "Traceback" not in run.stderr


def test_a_dashboard_address_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """``fleet demo --dashboard`` takes its address before anything starts."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = _fleet("demo", "--dashboard", "--http", f"127.0.0.1:{port}", cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert f"cannot serve the dashboard on 127.0.0.1:{port}" in run.stderr
    assert "Traceback" not in run.stderr
    far = _fleet("demo", "--dashboard", "--http", "10.1.2.3:8080", cwd=tmp_path)
    assert far.returncode == 2 and "only over TLS" in far.stderr
