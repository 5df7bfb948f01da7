"""The scheduler on a real store (a SQLite file, and PostgreSQL when
FLEET_TEST_POSTGRES_URL is set) and a manual clock; missions are launched through a
recording stand-in for ``Manager.launch`` (the end-to-end runs are tests/e2e/test_schedules.py).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from fleet.clock import ManualClock
from fleet.errors import ScheduleError
from fleet.manager.core import Core, ManagerSettings
from fleet.manager.lifecycle import MissionStatus
from fleet.manager.missions import MissionRun
from fleet.manager.scheduler import Scheduler
from fleet.planning.mission import MissionSpec
from tests.store.conftest import db
from tests.store.factories import Database

__all__ = ["db"]

DATA = Path(__file__).resolve().parents[1] / "data"
MISSION = (DATA / "missions" / "tiny_patrol.yaml").read_text(encoding="utf-8")
MAP = {"name": "tiny.yaml", "suffix": ".yaml",
       "text": (DATA / "maps" / "tiny.yaml").read_text(encoding="utf-8")}
START = datetime(2027, 1, 4, 6, 0, tzinfo=UTC)


class Site:
    """A core (store, manual clock) and a scheduler whose launches are recorded."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.clock = ManualClock(date=START)
        self.store = db.open()
        self.core = Core(self.store, cast(Any, None), ManagerSettings(), self.clock)
        self.launched: list[MissionRun] = []
        self.scheduler = Scheduler(self.core, self.launch)

    def launch(self, name: str, spec: MissionSpec, document: str,
               map_doc: dict[str, str]) -> MissionRun:
        run = MissionRun(uuid.uuid4().hex, name, spec, document=document, map_doc=map_doc)
        self.store.add_mission(name, document, mission_id=run.id, status=run.status.value)
        self.core.missions[run.id] = run
        self.launched.append(run)
        return run

    def finish(self, run: MissionRun) -> None:
        with self.core.lock:
            self.core.set_status(run, MissionStatus.ABORTED, "done in the test")

    def at(self, **delta: float) -> None:
        """Move the clock to START + delta and let the scheduler decide."""
        target = START + timedelta(**delta)
        self.clock.advance((target - self.clock.now()).total_seconds())
        self.scheduler.tick()

    def kinds(self, schedule_id: int) -> list[str]:
        return [e.kind for e in reversed(self.store.schedule_events(schedule_id))]

    def add(self, **kwargs: Any) -> int:
        row = self.scheduler.add(document=MISSION, map_doc=MAP, mission_name="tiny",
                                 **kwargs)
        assert row.id is not None
        return row.id


@pytest.fixture
def site(db: Database) -> Iterator[Site]:
    s = Site(db)
    yield s
    s.store.close()


def test_runs_are_launched_at_their_time_and_recorded(site: Site) -> None:
    sid = site.add(every="20m", tz="Europe/Berlin")
    site.at(minutes=19, seconds=59)
    assert site.launched == []
    site.at(minutes=20)
    assert len(site.launched) == 1
    site.finish(site.launched[0])
    site.at(minutes=40)
    assert len(site.launched) == 2
    launched = [e for e in site.store.schedule_events(sid) if e.kind == "launched"]
    assert sorted(e.due for e in launched if e.due) == [START + timedelta(minutes=20),
                                                        START + timedelta(minutes=40)]
    assert {e.mission_id for e in launched} == {r.id for r in site.launched}
    assert site.kinds(sid) == ["added", "launched", "launched"]


def test_overlap_skip_records_the_run_skipped(site: Site) -> None:
    sid = site.add(every="20m", tz="UTC")
    site.at(minutes=20)
    site.at(minutes=40)  # the first run's mission is still going
    assert len(site.launched) == 1
    skipped = site.store.schedule_events(sid)[0]
    assert skipped.kind == "skipped" and skipped.due == START + timedelta(minutes=40)
    assert "previous run still going" in skipped.detail["reason"]
    site.finish(site.launched[0])
    site.at(minutes=60)
    assert len(site.launched) == 2


def test_overlap_queue_starts_one_waiting_run_when_the_previous_ends(site: Site) -> None:
    sid = site.add(every="20m", tz="UTC", overlap="queue")
    site.at(minutes=20)
    site.at(minutes=40)
    site.at(minutes=60)
    assert len(site.launched) == 1
    assert site.kinds(sid) == ["added", "launched", "queued", "skipped"]
    site.at(minutes=65)
    site.finish(site.launched[0])
    site.scheduler.tick()
    assert len(site.launched) == 2
    last = site.store.schedule_events(sid)[0]
    assert last.kind == "launched" and last.due == START + timedelta(minutes=40)
    assert last.detail["queued"] is True


def test_a_blackout_moves_the_run_to_the_end_of_the_window(site: Site) -> None:
    sid = site.add(cron="30 7 * * *", tz="Europe/Berlin", blackouts=("07:15-07:45",))
    site.at(minutes=30)  # 07:30 Berlin (UTC+1): inside the window
    assert site.launched == []
    site.at(minutes=45)
    assert len(site.launched) == 1
    moved, launched = reversed(site.store.schedule_events(sid)[:2])
    assert moved.kind == "moved" and launched.kind == "launched"
    assert moved.detail["to"] == (START + timedelta(minutes=45)).isoformat()


def test_pause_resume_remove_and_the_manager_keeps_nothing_bad(site: Site) -> None:
    sid = site.add(every="20m", tz="UTC")
    site.scheduler.pause(sid, by="ana")
    site.at(minutes=45)
    assert site.launched == []
    site.scheduler.resume(sid, by="ana")
    assert site.scheduler.upcoming(sid) == START + timedelta(minutes=60)
    site.at(minutes=60)
    assert len(site.launched) == 1
    site.scheduler.remove(sid, by="ana")
    site.at(minutes=200)
    assert len(site.launched) == 1
    assert site.kinds(sid) == ["added", "paused", "resumed", "launched", "removed"]
    with pytest.raises(ScheduleError, match="no schedule S"):
        site.scheduler.pause(sid)
    assert site.store.schedule(sid) is not None  # the history stays


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cron": "0 8 * * 8"}, "cron expression"),
    ({"cron": "0 8 * * *", "tz": "Europe/Atlantis"}, "unknown time zone"),
    ({"every": "1h", "blackouts": ("8-9",)}, "not a time range"),
    ({"every": "1h", "overlap": "wait"}, "--overlap must be one of skip, queue"),
])
def test_bad_schedules_store_nothing(site: Site, kwargs: dict[str, Any], message: str) -> None:
    kwargs.setdefault("tz", "UTC")
    with pytest.raises(ScheduleError, match=message):
        site.add(**kwargs)
    with pytest.raises(ScheduleError, match="does not load"):
        site.scheduler.add(document="name: x\ntasks: []\n", map_doc=MAP, mission_name="x",
                           every="1h", tz="UTC")
    assert site.store.schedules() == [] and site.store.schedule_events() == []


@pytest.mark.parametrize(("policy", "kinds", "launches"), [
    ("none", ["added", "missed", "missed"], 0),
    ("once", ["added", "launched"], 1),
])
def test_catch_up_after_a_manager_was_down(site: Site, policy: str, kinds: list[str],
                                           launches: int) -> None:
    sid = site.add(every="20m", tz="UTC", catch_up=policy)
    site.store.close()
    # a new manager on the same database, 50 minutes later: runs at 20 and 40 were missed
    later = Site(site.db)
    later.clock.advance(50 * 60)
    later.scheduler.restore()
    later.scheduler.tick()
    assert later.kinds(sid) == kinds
    assert len(later.launched) == launches
    if policy == "once":
        assert later.store.schedule_events(sid)[0].detail == {"catch_up": True, "missed": 2}
    assert later.scheduler.upcoming(sid) == START + timedelta(minutes=60)
    later.store.close()
    site.store = site.db.open()  # for the fixture's close


def test_ten_thousand_schedules_next_runs_in_under_a_second(site: Site) -> None:
    from fleet.recurrence import Recurrence

    rules = [Recurrence.parse(tz=("Europe/Berlin", "America/New_York", "Asia/Shanghai")[i % 3],
                              cron=f"{i % 60} {i % 24} * * *" if i % 2 else None,
                              every=None if i % 2 else f"{20 + i % 100}m", created=START)
             for i in range(10_000)]
    t0 = time.process_time()
    nexts = [r.due_after(START) for r in rules]
    spent = time.process_time() - t0
    assert all(n is not None and n > START for n in nexts)
    # a benchmark figure, not a timing test: docs/benchmarks.md quotes the command
    print(f"10,000 next runs: {spent:.3f} s CPU")


def test_the_scheduler_thread_wakes_for_the_next_run_and_for_a_stop(site: Site) -> None:
    site.add(every="1h", tz="UTC")
    thread = threading.Thread(target=site.scheduler.run, daemon=True)
    thread.start()
    try:
        site.clock.advance(60 * 60)
        deadline = time.monotonic() + 5
        while site.store.schedule_events()[0].kind != "launched" \
                and time.monotonic() < deadline:
            time.sleep(0.01)  # polling what the scheduler thread records
        assert len(site.launched) == 1
        assert site.store.schedule_events()[0].at == START + timedelta(hours=1)
    finally:
        site.core.stopping.set()
        site.scheduler.wake()
        thread.join(5)
    assert not thread.is_alive()


def test_a_queued_run_held_by_a_blackout_starts_at_the_window_end(site: Site) -> None:
    sid = site.add(every="20m", tz="UTC", overlap="queue", blackouts=("06:50-06:58",))
    site.at(minutes=20)
    site.at(minutes=40)  # queued behind the first run
    site.at(minutes=52)
    site.finish(site.launched[0])  # 06:52, inside the window: the queued run waits
    assert site.scheduler.tick() == START + timedelta(minutes=58)  # not the 07:00 run
    assert len(site.launched) == 1
    site.at(minutes=58)
    assert len(site.launched) == 2
    last = site.store.schedule_events(sid)[0]
    assert (last.kind, last.due, last.at) == ("launched", START + timedelta(minutes=40),
                                              START + timedelta(minutes=58))
