"""Schedules end to end at 60x: a manager on a scaled clock (the simulator's world time),
a robot agent driving 60 times faster than real, missions launched by the scheduler
within one world second of their time, a long run making the next one skipped, and a
manager stopped across two due times and restarted (catch-up once / none).

The acceptance run of docs/schedules.md (every 20 world minutes for two world hours) is
``test_every_20_minutes_for_two_hours`` (slow: two real minutes); the default suite runs
the same path with a 3-minute interval."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleet.clock import ScaledClock
from fleet.manager import Manager
from fleet.store import ScheduleEventRow

from .fleetkit import TINY_MAP, manager_on_port, robot

pytestmark = pytest.mark.timeout(300)

SPEED = 60.0
WORLD = datetime(2027, 1, 4, 6, 0, tzinfo=UTC)


def missions(tmp: Path) -> tuple[Path, Path]:
    """A short round (p1 and back: about 90 world seconds) and a long one (p1 with a
    20-minute reading)."""
    shutil.copytree(TINY_MAP.parent, tmp / "maps")
    (tmp / "missions").mkdir()
    short, long = tmp / "missions" / "short.yaml", tmp / "missions" / "long.yaml"
    for path, dwell in ((short, 1), (long, 1200)):
        path.write_text(f"name: {path.stem}\nmap: ../maps/tiny.yaml\nobjective: makespan\n"
                        f"tasks:\n  - points: [p1]\n    sensors: [ch4]\n    dwell_s: {dwell}\n")
    return short, long


def add(manager: Manager, mission: Path, **kwargs: object) -> int:
    from tests.manager.test_scheduler import MAP

    row = manager.scheduler.add(document=mission.read_text(), map_doc=MAP,
                                mission_name=mission.stem, **kwargs)  # type: ignore[arg-type]
    assert row.id is not None
    return row.id


def events(manager: Manager, sid: int, kind: str) -> list[ScheduleEventRow]:
    return [e for e in reversed(manager.store.schedule_events(sid)) if e.kind == kind]


def until_world(clock: ScaledClock, moment: datetime) -> None:
    """Sleep (real time) until the world clock reads ``moment``."""
    time.sleep(max(0.0, (moment - clock.now()).total_seconds() / SPEED))


def check_on_time(manager: Manager, launched: list[ScheduleEventRow]) -> None:
    """Each run launched within one world second of its time, and its mission ran."""
    for e in launched:
        assert e.due is not None and e.mission_id is not None
        assert timedelta(0) <= e.at - e.due <= timedelta(seconds=1), (e.due, e.at)
        assert manager.store.mission(e.mission_id) is not None


def run_for(tmp: Path, every: str, runs: int) -> None:
    short, _ = missions(tmp)
    clock = ScaledClock(SPEED, start=WORLD)
    with manager_on_port(tmp, clock=clock, plan_time_limit=0.2) as (manager, endpoint), \
            robot(endpoint, "R1", speedup=SPEED):
        first = WORLD + timedelta(minutes=1)
        sid = add(manager, short, every=every, tz="Europe/Berlin", start=first.isoformat())
        interval = manager.scheduler.next_runs(sid, 2)[1][0] - first
        until_world(clock, first + interval * (runs - 1) + timedelta(seconds=30))
        launched = events(manager, sid, "launched")
        assert [e.due for e in launched] == [first + interval * i for i in range(runs)]
        check_on_time(manager, launched)
        assert events(manager, sid, "skipped") == []


def test_every_3_minutes_launches_each_run_on_time(tmp_path: Path) -> None:
    run_for(tmp_path, "3m", 4)


@pytest.mark.slow
def test_every_20_minutes_for_two_hours(tmp_path: Path) -> None:
    run_for(tmp_path, "20m", 6)


def test_a_run_longer_than_the_interval_makes_the_next_skipped(tmp_path: Path) -> None:
    _, long = missions(tmp_path)
    clock = ScaledClock(SPEED, start=WORLD)
    with manager_on_port(tmp_path, clock=clock, plan_time_limit=0.2) as (manager, endpoint), \
            robot(endpoint, "R1", speedup=SPEED):
        first = WORLD + timedelta(minutes=1)
        sid = add(manager, long, every="3m", tz="UTC", start=first.isoformat())
        until_world(clock, first + timedelta(minutes=6, seconds=10))
        launched, skipped = events(manager, sid, "launched"), events(manager, sid, "skipped")
        assert [e.due for e in launched] == [first]
        check_on_time(manager, launched)
        assert [e.due for e in skipped] == [first + timedelta(minutes=3),
                                            first + timedelta(minutes=6)]
        for e in skipped:
            assert e.detail["reason"] == ("previous run still going (mission "
                                          f"{launched[0].mission_id[:8]})")  # type: ignore[index]


@pytest.mark.parametrize(("policy", "launched", "missed"), [("once", 1, 0), ("none", 0, 2)])
def test_a_manager_down_across_two_runs(tmp_path: Path, policy: str, launched: int,
                                        missed: int) -> None:
    short, _ = missions(tmp_path)
    origin = time.monotonic()
    clock = ScaledClock(SPEED, start=WORLD, origin=origin)
    with manager_on_port(tmp_path, clock=clock) as (manager, _):
        sid = add(manager, short, every="2m", tz="UTC", catch_up=policy,
                  start=WORLD.isoformat())
    # down from about 0:10 to 4:30 (world): the runs due at 2:00 and 4:00 fall in between
    until_world(clock, WORLD + timedelta(minutes=4, seconds=30))
    later = ScaledClock(SPEED, start=WORLD, origin=origin)  # the same world, restarted
    with manager_on_port(tmp_path, clock=later) as (manager, _):
        assert [s.id for s in manager.store.schedules()] == [sid]  # survived the restart
        assert len(events(manager, sid, "launched")) == launched
        assert len(events(manager, sid, "missed")) == missed
        if launched:
            [caught] = events(manager, sid, "launched")
            assert caught.detail == {"catch_up": True, "missed": 2}
            assert caught.due == WORLD + timedelta(minutes=4)
        else:
            assert [e.due for e in events(manager, sid, "missed")] == [
                WORLD + timedelta(minutes=2), WORLD + timedelta(minutes=4)]
        assert manager.scheduler.upcoming(sid) == WORLD + timedelta(minutes=6)
