"""``fleet bench dispatch`` on a tiny fleet: real processes, real Zenoh on loopback."""

from __future__ import annotations

from fleet.bench.dispatch import bench_dispatch


def test_every_state_sent_is_counted_and_every_order_seen() -> None:
    r = bench_dispatch(agents=3, rounds=2, states=600, robots=5, rate=400.0, seconds=1.0)
    assert r["samples"] == 6 and 0 < r["order_to_state_p50_ms"] <= r["order_to_state_max_ms"]
    # the agents are stopped before the ingestion runs: the manager counts exactly our states
    assert r["states_handled"] == r["states_sent"] == 600
    assert r["sustained_states_handled"] == 400
    # a paced publisher is never ahead of its offer, so the rate handled cannot exceed it much
    assert 0 < r["sustained_handled_per_s"] <= 400 * 400 / 399 + 1
