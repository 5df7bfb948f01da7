"""World clocks: scaling of the simulated clock, and the manual clock tests step by hand."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from fleet.clock import ManualClock, ScaledClock


class FakeWall:
    """A wall clock the test moves, and a sleeper that records instead of sleeping."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def test_sim_clock_runs_speed_times_faster() -> None:
    wall = FakeWall()
    start = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    clock = ScaledClock(10.0, start=start, wall=wall, sleeper=wall.sleep)
    assert clock.monotonic() == 0.0
    wall.t += 1.5
    assert clock.monotonic() == pytest.approx(15.0)
    assert clock.now() == start + timedelta(seconds=15)
    clock.sleep(30.0)  # 30 world seconds are 3 real seconds
    assert wall.slept == [pytest.approx(3.0)]
    assert clock.monotonic() == pytest.approx(45.0)
    clock.sleep(0.0)
    clock.sleep(-1.0)
    assert len(wall.slept) == 1
    assert clock.to_wall(120.0) == pytest.approx(12.0)  # a 120 s manager timeout
    assert clock.to_world(2.0) == pytest.approx(20.0)


def test_sim_clock_naive_start_is_utc() -> None:
    clock = ScaledClock(2.0, start=datetime(2025, 1, 1))
    assert clock.now().tzinfo is not None


@pytest.mark.parametrize("speed", [0, -1.0, math.nan, math.inf, True, "2"])
def test_sim_clock_refuses_bad_speeds(speed: object) -> None:
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(speed)  # type: ignore[arg-type]


def test_sim_clock_wait_is_scaled() -> None:
    clock = ScaledClock(1000.0)
    event = threading.Event()
    began = time.monotonic()
    assert clock.wait(event, 50.0) is False  # 50 world seconds: 50 ms real
    assert time.monotonic() - began < 2.0
    event.set()
    assert clock.wait(event, 1e6) is True


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(5.0)
    assert clock.monotonic() == 5.0
    assert clock.advance(2.5) == 7.5
    assert clock.advance_to(7.0) == 7.5  # never backwards
    assert clock.advance_to(10.0) == 10.0
    assert clock.now() == datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=10)
    with pytest.raises(ValueError):
        clock.advance(-1.0)
    with pytest.raises(ValueError):
        clock.advance(math.nan)


def test_manual_clock_auto_advances_on_sleep_and_wait() -> None:
    clock = ManualClock(auto=True)
    clock.sleep(30.0)
    assert clock.monotonic() == 30.0
    event = threading.Event()
    assert clock.wait(event, 15.0) is False
    assert clock.monotonic() == 45.0
    event.set()
    assert clock.wait(event, 15.0) is True
    assert clock.monotonic() == 45.0  # a set event returns without advancing


def test_manual_clock_sleeper_blocks_until_advanced() -> None:
    clock = ManualClock()
    woke: list[float] = []

    def sleeper() -> None:
        clock.sleep(10.0)
        woke.append(clock.monotonic())

    thread = threading.Thread(target=sleeper)
    thread.start()
    time.sleep(0.05)
    clock.advance(9.0)
    time.sleep(0.05)
    assert woke == []  # one second short
    clock.advance(1.0)
    thread.join(2.0)
    assert woke == [10.0]


def test_manual_clock_wait_returns_when_the_event_is_set() -> None:
    clock = ManualClock()
    event = threading.Event()
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(clock.wait(event, 100.0)))
    thread.start()
    time.sleep(0.05)
    assert result == []
    event.set()
    thread.join(2.0)
    assert result == [True]
    assert clock.monotonic() == 0.0

    event.clear()
    thread = threading.Thread(target=lambda: result.append(clock.wait(event, 100.0)))
    thread.start()
    clock.advance(100.0)
    thread.join(2.0)
    assert result == [True, False]


@pytest.mark.parametrize("clock", [ScaledClock(3.0), ManualClock()], ids=["sim", "manual"])
def test_clocks_fit_the_agent_clock(clock: ScaledClock | ManualClock) -> None:
    """One clock object serves agents and bodies: it has the agent clock's methods."""
    agent_clock = pytest.importorskip("fleet.clock")
    for name in ("monotonic", "now", "wait"):
        assert hasattr(agent_clock.Clock, name)
        assert callable(getattr(clock, name))
    assert clock.now().tzinfo is not None
    assert isinstance(clock.monotonic(), float)
