"""Scale (slow, run with ``-m slow``): a thousand simulated robots at 1 Hz beside the
manager, a hundred keeping to 20 times real time, and a thousand physical robots under
traffic control on a generated mine with room for them (``fleet bench sim``)."""

from __future__ import annotations

import pytest

from sim.bench import bench_sim

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_a_hundred_robots_keep_to_twenty_times_real_time() -> None:
    r = bench_sim(robots=100, minutes=5.0, speed=20.0)
    assert r["effective_speed"] == pytest.approx(20.0, rel=0.05)
    assert r["world_s"] / r["wall_s"] == pytest.approx(20.0, rel=0.05)
    assert r["robots_lost"] == 0
    assert r["steady_states_per_s"] >= 0.9 * r["nominal_states_per_s"]


def test_a_thousand_robots_at_one_state_a_second() -> None:
    r = bench_sim(robots=1000, minutes=3.0, speed=1.0)
    assert r["robots_lost"] == 0
    assert r["robots_dispatched"] >= 300
    assert r["steady_states_per_s"] >= 0.9 * r["nominal_states_per_s"]
    assert r["dispatch_samples"] > 0


def test_a_thousand_physical_robots_under_traffic_control() -> None:
    r = bench_sim(robots=1000, minutes=3.0, speed=1.0, generated=True)
    assert r["ghosts"] is False and r["robots_lost"] == 0
    assert r["effective_speed"] == pytest.approx(1.0, rel=0.05)
    assert r["decision_samples"] > 0
    assert (r["standoffs"], r["deadlocks"]) == (0, 0)
