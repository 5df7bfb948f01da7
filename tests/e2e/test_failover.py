"""Drills: managers that survive their host (docs/operations.md, "Two managers"). Three
``fleet serve`` processes on a real PostgreSQL (reached through a TCP forwarder the drill
can cut), their routers meshed, twenty simulated robots listing every router, the coal
mine's gas patrol. In one run, one after the other:

1. the leader SIGKILLed: a standby leads within 5 s;
2. the next leader frozen (SIGSTOP) past its lease, then woken (SIGCONT): another has
   taken over, and no order of the frozen one is seen after the new leader's first;
3. the database cut for 10 s: no order goes out while it is away (once the lease has run
   out), nobody leads twice, and work resumes when it returns.

Then the mission completes, every inspection point's result is stored exactly once,
every result acknowledged is stored, and no robot was declared lost.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zenoh
from sqlalchemy import make_url

from fleet import samples
from fleet.comms.config import client_config
from fleet.errors import FleetError
from fleet.store import Store
from sim.managers import ManagerProcesses
from sim.runner import RunOptions, SimRun
from sim.scenario import load_scenario

from .tcp_proxy import TcpProxy

pytestmark = [pytest.mark.drill, pytest.mark.timeout(420)]

SPEED = 50.0
LEASE_S = 3.0


@dataclass
class Capture:
    """Every order and inspectionAck on the routers, with the sending leader's name (the
    Zenoh attachment) and when it was seen."""

    orders: list[tuple[float, str | None, str]] = field(default_factory=list)
    acks: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_order(self, sample: zenoh.Sample) -> None:
        who = None
        if sample.attachment is not None:
            who = json.loads(sample.attachment.to_bytes())["manager"]
        with self.lock:
            self.orders.append((time.monotonic(), who, str(sample.key_expr)))

    def on_ack(self, sample: zenoh.Sample) -> None:
        ids = json.loads(sample.payload.to_bytes()).get("resultIds", [])
        with self.lock:
            self.acks.extend(ids)

    def by(self, name: str) -> list[float]:
        with self.lock:
            return [t for t, who, _ in self.orders if who == name]

    def between(self, start: float, end: float) -> list[tuple[float, str | None, str]]:
        with self.lock:
            return [o for o in self.orders if start <= o[0] <= end]


@pytest.fixture
def database(pg_url: str) -> Iterator[tuple[str, TcpProxy]]:
    """The test's schema, and its URL through a forwarder the drill can cut."""
    Store.open(pg_url).close()  # migrated once, before the managers race to it
    url = make_url(pg_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        yield url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False), proxy
    finally:
        proxy.close()


def _wait(what: str, check: object, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_kill_freeze_and_database_cut_the_mission_completes_exactly_once(
        database: tuple[str, TcpProxy], pg_url: str, tmp_path: Path) -> None:
    url, proxy = database
    with ManagerProcesses(url, tmp_path / "managers", count=3, speed=SPEED, lease_s=LEASE_S,
                          extra=["--plan-time-limit", "1"]) as ms:
        first, _ = ms.wait_leader(timeout=30)
        capture = Capture()
        session = zenoh.open(client_config(ms.all_endpoints))
        subs = [session.declare_subscriber("uagv/v2/*/*/order", capture.on_order),
                session.declare_subscriber("uagv/v2/*/*/inspectionAck", capture.on_ack)]
        leaders_seen: list[list[str]] = []
        watching = threading.Event()

        def watch() -> None:
            while not watching.wait(0.2):
                leaders_seen.append(ms.leaders())

        watcher = threading.Thread(target=watch, daemon=True)
        # robots list every router, the leader's first: all of them lose it in drill 1
        endpoints = (ms.endpoints[first],
                     *(e for n, e in ms.endpoints.items() if n != first))
        scenario = load_scenario(samples.path("coal-mine-baseline"))
        try:
            with SimRun(scenario, RunOptions(speed=SPEED, robots=20,
                                             connect=endpoints)) as run:
                assert run.mission_id is not None
                mid = run.mission_id
                watcher.start()

                def done() -> int:
                    try:
                        return int(run.ask("mission/status", {"mission_id": mid})
                                   ["inspections"]["done"])
                    except FleetError:  # a takeover under way: nobody answers for seconds
                        return -1

                _wait("the first inspections", lambda: done() >= 5, 60)
                # 1. the leader killed
                ms.kill(first)
                killed = time.monotonic()
                second, seen = ms.wait_leader(timeout=15, other_than=first)
                assert seen - killed <= 5.0, f"{second} led {seen - killed:.1f} s after the kill"

                # 2. the next leader frozen past its lease, then woken
                at = done()
                _wait("more inspections", lambda: done() >= at + 2, 60)
                ms.signal(second, signal.SIGSTOP)
                frozen = time.monotonic()
                third, _ = ms.wait_leader(timeout=15, other_than=second)
                time.sleep(1.0)
                ms.signal(second, signal.SIGCONT)
                _wait(f"{third}'s first order", lambda: capture.by(third), 30)
                took = min(capture.by(third))
                late = [t - frozen for t in capture.by(second) if t >= took]
                assert late == [], f"{second} sent orders after {third} took over: {late}"

                # 3. the database away for 10 s
                at = done()
                _wait("more inspections", lambda: done() >= at + 2, 60)
                proxy.cut()
                cut = time.monotonic()
                time.sleep(10.0)
                proxy.restore()
                restored = time.monotonic()
                quiet = capture.between(cut + LEASE_S, restored)
                assert quiet == [], f"orders while the database was away: {quiet[:3]}"
                ms.wait_leader(timeout=30)

                progress = run.run(timeout=240)
                if not progress.finished:  # for the post-mortem: events and robots
                    with Store.open(pg_url) as store, (tmp_path / "events.txt").open("w") as f:
                        for e in store.events(mid):
                            f.write(f"{e.at} {e.kind} {e.robot_serial} {e.detail}\n")
                        f.write(json.dumps(run.ask("robots"), default=str))
                assert progress.finished, progress
                status = run.ask("mission/status", {"mission_id": mid})
        finally:
            watching.set()
            for sub in subs:
                sub.undeclare()
            session.close()
        assert status["status"] == "completed", status
        assert max(len(seen) for seen in leaders_seen) <= 1, \
            [s for s in leaders_seen if len(s) > 1][:3]
        with Store.open(pg_url) as store:
            results = store.results(mid)
            per_point = Counter(r.inspection_point_id for r in results)
            assert len(per_point) == status["inspections"]["total"] == 29
            assert set(per_point.values()) == {1}, per_point.most_common(3)
            stored = store.stored(sorted(set(capture.acks)))
            assert stored == set(capture.acks)  # nothing acknowledged that is not stored
            events = store.events(mid)
        over = next(e.at for e in events
                    if e.kind == "status" and (e.detail or {}).get("to") == "completed")
        lost = [(e.robot_serial, e.detail) for e in events
                if e.kind == "robot_lost" and e.at <= over]  # not the run's teardown
        assert lost == [], lost
        takeovers = [e.detail for e in events if e.kind == "manager_takeover"]
        assert [d["manager"] for d in takeovers][:2] == [second, third], takeovers
