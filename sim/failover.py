"""``fleet bench failover``: how long a site goes without a manager when the leader's host
dies, and whether any result is lost or stored twice (docs/operations.md, "Two managers").

One trial: a fresh PostgreSQL schema, two ``fleet serve`` processes meshed
(:class:`sim.managers.ManagerProcesses`), ``robots`` simulated robots listing both routers
(the leader's first, so every robot loses its router), the scenario's mission: by default
a generated mine with room for them all (:func:`sim.generated.generated_scenario`, a point
per robot; the sample mine's rooms hold 18 robots). Once a few
inspections are done the leader is SIGKILLed; the trial measures the time from the kill
until the standby answers as leader (``takeover_s``) and until a robot is sent an order
again (``first_order_s``), then runs the mission to its end and counts each inspection
point's stored results: points without one (``lost``, while the mission says completed)
and results beyond the first (``duplicated``).
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from fleet import samples
from fleet.comms import Bus, client_config
from fleet.errors import StoreError, UsageError
from fleet.protocol.keys import DEFAULT_INTERFACE, Topic, subscription_key
from fleet.store import Store
from fleet.store.database import plain
from sim.generated import generated_scenario
from sim.managers import ManagerProcesses
from sim.runner import RunOptions, SimRun
from sim.scenario import load_scenario

KILL_AFTER = 5
"""Inspections done before the leader is killed."""


def _schema(url: str) -> tuple[str, str]:
    """A fresh schema in the database at ``url``: its name and the URL that uses it."""
    address = make_url(url)
    if address.get_backend_name() != "postgresql":
        raise UsageError("fleet bench failover needs a PostgreSQL database (--db "
                         "postgresql+psycopg://...)")
    name = f"fleet_failover_{uuid.uuid4().hex[:10]}"
    engine = create_engine(address)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {name}")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot create a schema for the trial in "
                         f"{address.render_as_string()}: {plain(exc)}") from None
    finally:
        engine.dispose()
    scoped = address.update_query_dict({"options": f"-csearch_path={name}"})
    return name, scoped.render_as_string(hide_password=False)


def _drop(url: str, name: str) -> None:
    engine = create_engine(make_url(url))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        engine.dispose()


def trial(db: str, workdir: Path, *, robots: int, speed: float, scenario: str,
          timeout: float) -> dict[str, Any]:
    """One trial (module docstring): its figures."""
    name, url = _schema(db)
    try:
        Store.open(url).close()
        with ManagerProcesses(url, workdir, count=2, speed=speed,
                              extra=["--plan-time-limit", "1"]) as ms:
            leader, _ = ms.wait_leader(timeout=60)
            endpoints = (ms.endpoints[leader],
                         *(e for n, e in ms.endpoints.items() if n != leader))
            orders: list[float] = []
            lock = threading.Lock()
            if scenario == "generated":
                # room for every robot: docks for two each, a point per robot
                path = generated_scenario(workdir / "site", robots, points=robots)
            else:
                path = samples.resolve(Path(scenario))
            sc = load_scenario(path)
            with Bus.open(client_config(list(endpoints))) as watch:
                def on_order(_key: str, _payload: bytes) -> None:
                    with lock:
                        orders.append(time.monotonic())

                watch.subscribe_raw(subscription_key(DEFAULT_INTERFACE, Topic.ORDER), on_order)
                with SimRun(sc, RunOptions(speed=speed, robots=robots,
                                           connect=endpoints)) as run:
                    mid = run.mission_id
                    assert mid is not None
                    end = time.monotonic() + timeout
                    while run.ask("mission/status", {"mission_id": mid})[
                            "inspections"]["done"] < KILL_AFTER:
                        if time.monotonic() > end:
                            raise UsageError("the mission did no inspection in time")
                        time.sleep(0.1)
                    ms.kill(leader)
                    killed = time.monotonic()
                    _new, seen = ms.wait_leader(timeout=60, other_than=leader)
                    progress = run.run(timeout=max(1.0, end - time.monotonic()))
                    status = run.ask("mission/status", {"mission_id": mid})
            with lock:
                after = [t for t in orders if t > seen]
        with Store.open(url) as store:
            per_point = Counter(r.inspection_point_id for r in store.results(mid))
            lost_events = sum(1 for e in store.events(mid) if e.kind == "robot_lost"
                              and (e.detail or {}).get("remaining"))
        total = int(status["inspections"]["total"])
        return {"takeover_s": seen - killed,
                "first_order_s": (after[0] - killed) if after else None,
                "status": status["status"], "finished": progress.finished,
                "points": total, "stored_points": len(per_point),
                "lost": total - len(per_point) if status["status"] == "completed" else None,
                "duplicated": sum(n - 1 for n in per_point.values()),
                "robots_lost": lost_events, "wall_s": progress.wall_s}
    finally:
        _drop(db, name)


def benchmark_failover(db: str, workdir: Path, *, robots: int = 100, trials: int = 10,
                       speed: float = 25.0, scenario: str = "generated",
                       timeout: float = 600.0,
                       on_trial: Callable[[dict[str, Any]], None] = lambda _r: None
                       ) -> dict[str, Any]:
    """``trials`` trials (module docstring); the medians and worst of the times, the sums
    of lost and duplicated results, and every trial's figures."""
    runs = []
    for i in range(trials):
        runs.append(trial(db, workdir / f"trial-{i + 1}", robots=robots, speed=speed,
                          scenario=scenario, timeout=timeout))
        on_trial(runs[-1])
    takeover = [r["takeover_s"] for r in runs]
    first = [r["first_order_s"] for r in runs if r["first_order_s"] is not None]
    return {
        "robots": robots, "trials": trials, "speed": speed, "scenario": scenario,
        "takeover_median_s": statistics.median(takeover), "takeover_worst_s": max(takeover),
        "first_order_median_s": statistics.median(first) if first else None,
        "first_order_worst_s": max(first) if first else None,
        "completed": sum(1 for r in runs if r["status"] == "completed"),
        "lost": sum(r["lost"] or 0 for r in runs),
        "incomplete": sum(1 for r in runs if r["lost"] is None),
        "duplicated": sum(r["duplicated"] for r in runs),
        "robots_lost": sum(r["robots_lost"] for r in runs),
        "runs": runs,
    }
