"""``fleet bench ingest``: how many inspection results per second the store commits.

The requirement is at least 5,000 results/s into SQLite with batched commits, anomaly
rules included. :func:`bench_ingest` measures :meth:`Store.record_batch` (and the rules,
on request) on synthetic results shaped as they arrive (wire JSON objects as
:func:`fleet.protocol.codec.decode_json` returns them, three readings each, a finding on
one in ten), each batch one transaction, on a fresh database per run. :func:`make_results`
builds such results (tests use it as a factory).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fleet.anomaly.log import AnomalyLog
from fleet.protocol.header import VERSION, utc_timestamp
from fleet.sensors import CH4, CO, FRESH_AIR_O2_VOL, O2, SENSORS
from fleet.store.database import Synchronous
from fleet.store.store import Store

_SENSORS = tuple((name, SENSORS[name].unit, base)
                 for name, base in ((CH4, 0.2), (CO, 5.0), (O2, FRESH_AIR_O2_VOL)))


def make_results(n: int, *, points: int = 50, robots: int = 5, seed: int = 0,
                 start: datetime | None = None, order_id: str = "order-1",
                 manufacturer: str = "acme") -> list[dict[str, Any]]:
    """``n`` distinct, schema-valid inspection result objects (wire JSON), one second apart.

    Results cycle over ``points`` inspection points (``P0``…) and ``robots`` robots
    (serials ``R0``…); readings are ch4, co and o2 with a little noise; every tenth result
    carries a finding. Result ids are fresh UUIDs (drawn from ``seed``, so reproducible).
    """
    rng = random.Random(seed)
    # each result an action of its own (a resultId's first 8 characters in its actionId),
    # also across runs on one database: distinct inspections, none a repeat of another
    t0 = start or datetime(2025, 1, 1, tzinfo=UTC)
    out: list[dict[str, Any]] = []
    for i in range(n):
        point = f"P{i % points}"
        rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        result: dict[str, Any] = {
            "headerId": i, "timestamp": utc_timestamp(t0 + timedelta(seconds=i)),
            "version": VERSION, "manufacturer": manufacturer,
            "serialNumber": f"R{i % robots}", "resultId": rid,
            "orderId": order_id, "actionId": f"inspect-{i}-{rid[:8]}",
            "inspectionPointId": point,
            "nodeId": f"N{i % points}",
            "agvPosition": {"x": rng.uniform(0, 500), "y": rng.uniform(0, 500),
                            "theta": 0.0, "mapId": "level-0", "positionInitialized": True},
            "readings": [{"sensor": s, "value": round(base * (1 + rng.gauss(0, 0.05)), 4),
                          "unit": unit} for s, unit, base in _SENSORS],
        }
        if i % 10 == 0:
            result["findings"] = [{"type": "gas", "severity": "INFO",
                                   "description": "methane above background",
                                   "confidence": 0.7}]
        out.append(result)
    return out


def bench_ingest(n: int = 20_000, batch: int = 500, *, url: str | None = None,
                 directory: str | Path | None = None, synchronous: Synchronous = "FULL",
                 repeats: int = 3, rules: bool = False) -> dict[str, Any]:
    """Ingest ``n`` results in batches of ``batch``, ``repeats`` times; the figures.

    Each run opens a fresh SQLite file in a temporary directory (inside ``directory`` when
    given; the disk matters) or, with ``url``, the given database (its results accumulate).
    Timed: :meth:`Store.record_batch` per batch and, with ``rules``, the anomaly rules on
    the batch's new results (:meth:`fleet.anomaly.log.AnomalyLog.observe`, no alert
    destination), as the manager's ingest thread runs them. Keys of the answer:
    ``results_per_s`` (the median over runs), ``runs_results_per_s``, ``cpu_results_per_s``
    (the same per second of this process's CPU time, which other jobs on a shared machine
    disturb less), ``batch_ms_median``
    and ``batch_ms_max`` (over every batch of every run), ``rules_ms_median`` (the rules'
    share of a batch, with ``rules``), plus the parameters.
    """
    if n < 1 or batch < 1 or repeats < 1:
        raise ValueError("n, batch and repeats must be at least 1")
    rates: list[float] = []
    cpu_rates: list[float] = []
    batch_ms: list[float] = []
    rules_ms: list[float] = []
    backend = "sqlite"
    for run in range(repeats):
        data = make_results(n, seed=run + 1)
        batches = [data[i:i + batch] for i in range(0, n, batch)]
        with tempfile.TemporaryDirectory(dir=directory) as tmp:
            store = Store.open(url, path=None if url else Path(tmp),
                               synchronous=synchronous)
            backend = store.engine.dialect.name
            log = AnomalyLog(store) if rules else None
            try:
                elapsed = 0.0
                cpu = time.process_time()
                for chunk in batches:
                    t = time.perf_counter()
                    recorded = store.record_batch(chunk)
                    if log is not None:
                        t_rules = time.perf_counter()
                        log.observe(recorded.new)
                        rules_ms.append((time.perf_counter() - t_rules) * 1000)
                    dt = time.perf_counter() - t
                    elapsed += dt
                    batch_ms.append(dt * 1000)
                cpu = time.process_time() - cpu
            finally:
                store.close()
        rates.append(n / elapsed)
        cpu_rates.append(n / cpu)
    return {
        "backend": backend, "synchronous": synchronous if backend == "sqlite" else None,
        "results": n, "batch": batch, "repeats": repeats,
        "readings_per_result": len(_SENSORS),
        "results_per_s": statistics.median(rates),
        "runs_results_per_s": rates,
        "cpu_results_per_s": statistics.median(cpu_rates),
        "batch_ms_median": statistics.median(batch_ms),
        "batch_ms_max": max(batch_ms),
        "rules": rules,
        "rules_ms_median": statistics.median(rules_ms) if rules_ms else None,
    }
