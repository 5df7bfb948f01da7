"""``fleet bench schedules``: what many schedules cost the scheduler.

:func:`benchmark_schedules` makes ``count`` schedules of mixed kinds (cron expressions and
intervals in three zones, some with blackouts), then measures:

- **next runs**: the CPU time to compute every schedule's next run
  (:meth:`fleet.recurrence.Recurrence.runs`), ``repeats`` times (median, min, max);
- **restore**: a real scheduler (:class:`fleet.manager.scheduler.Scheduler`) loading them
  from a SQLite store, as a manager does at start-up;
- **idle CPU**: the scheduler's thread, on the real clock with nothing due for a year,
  over ``idle_s`` seconds: the CPU time that thread used (it should sleep until the next
  run, so about none).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from fleet.clock import SystemClock
from fleet.manager.core import Core, ManagerSettings
from fleet.manager.scheduler import Scheduler
from fleet.recurrence import Recurrence
from fleet.store import ScheduleRow, Store
from fleet.store.database import orm_session

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Shanghai")


def rules(count: int, created: datetime) -> list[Recurrence]:
    """``count`` schedules: odd ones cron (daily at varied times, weekdays, every 2 h), even
    ones intervals of 20 to 119 minutes; every tenth with a night blackout."""
    out = []
    for i in range(count):
        cron = (f"{i % 60} {i % 24} * * *", f"{i % 60} 8 * * 1-5", f"{i % 60} */2 * * *")[
            i % 3] if i % 2 else None
        out.append(Recurrence.parse(tz=ZONES[i % 3], cron=cron,
                                    every=None if cron else f"{20 + i % 100}m",
                                    blackouts=("22:00-05:00",) if i % 10 == 0 else (),
                                    created=created))
    return out


def benchmark_schedules(*, count: int = 10_000, repeats: int = 5,
                        idle_s: float = 5.0) -> dict[str, Any]:
    """Measure what ``count`` schedules cost (see the module docstring). Returns
    ``count``, ``next_median_s``, ``next_min_s``, ``next_max_s`` (CPU seconds for every
    next run), ``restore_s`` (wall seconds), ``idle_s`` and ``idle_cpu_s`` (the scheduler
    thread's CPU seconds over ``idle_s``)."""
    now = datetime.now(UTC)
    made = rules(count, now)
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        for r in made:
            r.runs(now, 1)
        times.append(time.process_time() - t0)
    with tempfile.TemporaryDirectory() as tmp, Store.open(None, path=Path(tmp) / "b.db") as store:
        with orm_session(store.engine, write=True) as session:
            session.add_all(_row(i, r, now) for i, r in enumerate(made))
        core = Core(store, cast(Any, None), ManagerSettings(), SystemClock())
        t0 = time.perf_counter()
        Scheduler(core, _no_launch).restore()
        restore_s = time.perf_counter() - t0
        with orm_session(store.engine, write=True) as session:
            session.query(ScheduleRow).delete()
            # one schedule, its run a year away at least: nothing is due while watched
            session.add(_row(0, Recurrence.parse(tz="UTC", cron="0 0 1 1 *", created=now),
                             now))
        idle = _idle_cpu(Scheduler(core, _no_launch), core, idle_s)
    return {"count": count, "repeats": repeats, "next_median_s": statistics.median(times),
            "next_min_s": min(times), "next_max_s": max(times), "restore_s": restore_s,
            "idle_s": idle_s, "idle_cpu_s": idle}


def _no_launch(*_: object) -> Any:
    raise AssertionError("nothing is due in this benchmark")


def _idle_cpu(scheduler: Scheduler, core: Core, seconds: float) -> float:
    """The CPU seconds ``scheduler``'s thread uses over ``seconds`` of real time."""
    scheduler.restore()
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    time.sleep(0.2)  # a benchmark: let the thread reach its wait before watching it
    assert thread.ident is not None
    cpu = time.pthread_getcpuclockid(thread.ident)
    t0 = time.clock_gettime(cpu)
    time.sleep(seconds)
    used = time.clock_gettime(cpu) - t0
    core.stopping.set()
    scheduler.wake()
    thread.join(5)
    return used


def _row(i: int, r: Recurrence, now: datetime) -> ScheduleRow:
    return ScheduleRow(name=f"bench {i}", mission_name="bench", document="", map_doc={},
                       cron=r.cron, every_s=r.every_s, anchor=r.anchor, tz=r.tz,
                       overlap="skip", catch_up="none",
                       blackouts=[str(b) for b in r.blackouts], created_at=now,
                       updated_at=now, checked_until=now)
