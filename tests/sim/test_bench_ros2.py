"""``fleet bench ros2`` on three simulated Nav2 robots for a few seconds: every figure is
there and they agree with each other and with the robots' rates (sim.bench_ros2)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fleet.cli.main import app
from sim.bench_ros2 import BATTERY_HZ, POSE_HZ, READ_TOPICS, SENSOR_HZ, bench_ros2

pytestmark = pytest.mark.timeout(180)

ROBOTS = 3
SECONDS = 4.0


def test_three_robots_figures_are_present_and_consistent() -> None:
    r = bench_ros2(robots=ROBOTS, seconds=SECONDS, profile="rmw_zenoh", probes=ROBOTS)
    assert r["robots"] == ROBOTS and r["robots_lost"] == 0
    assert r["wall_s"] >= SECONDS
    # the manager keeps up with three robots: every sample and state counted on arrival
    sent, got = r["samples_sent_by_topic"], r["samples_received_by_topic"]
    assert set(sent) == set(got) == set(READ_TOPICS)
    assert r["samples_keep_up"] is True and sent == got
    assert r["samples_sent"] == sum(sent.values()) == r["samples_received"]
    assert r["states_keep_up"] is True and r["states_sent"] == r["states_handled"] > 0
    # the robots published at their rates over the measured window (a period either side)
    for topic, hz in zip(READ_TOPICS, (POSE_HZ, BATTERY_HZ, SENSOR_HZ), strict=True):
        expected = ROBOTS * hz * r["wall_s"]
        assert abs(sent[topic] - expected) <= ROBOTS * (hz + 2), (topic, sent[topic], expected)
    # every probe reached its robot as a NavigateToPose goal, after the order was sent
    assert r["probes_sent"] >= 1
    assert r["probes_without_goal"] == 0
    assert r["order_to_goal_samples"] == r["probes_sent"] == r["order_to_state_samples"]
    assert 0 <= r["order_to_goal_p50_ms"] <= r["order_to_goal_p99_ms"] \
        <= r["order_to_goal_max_ms"] < 5000
    # CPU: both processes did something, per robot is the total shared out
    for who in ("manager", "robots"):
        assert r[f"{who}_cpu_s"] > 0
        assert r[f"{who}_cpu_pct_per_robot"] == pytest.approx(
            r[f"{who}_cpu_pct"] / ROBOTS, abs=0.1)


def test_the_command_prints_json() -> None:
    """The other profile (behind zenoh-bridge-ros2dds), through the command."""
    out = CliRunner().invoke(app, ["bench", "ros2", "--robots", "2", "--seconds", "2",
                                   "--probes", "1", "--profile", "ros2dds", "--json"])
    assert out.exit_code == 0, out.output
    r = json.loads(out.output)
    assert r["robots"] == 2 and r["robots_lost"] == 0
    assert r["samples_keep_up"] is True and r["states_keep_up"] is True
    assert r["probes_without_goal"] == 0 and "order_to_goal_p99_ms" in r
