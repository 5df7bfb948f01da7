"""Clocks, the shared ticker, and configuration checks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fleet.agent import (
    AgentConfig,
    AgentConfigError,
    AgentError,
    Capabilities,
    RobotAgent,
    ScaledClock,
    SystemClock,
    Ticker,
)
from fleet.clock import ManualClock
from fleet.protocol.factsheet import Epl
from fleet.protocol.header import Header
from fleet.protocol.validation import reference_validator
from tests.agent.conftest import FakeBody


def test_a_scaled_clock_runs_faster_and_waits_shorter() -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    clock = ScaledClock(50.0, start=start)
    event = threading.Event()
    began = time.monotonic()
    assert clock.wait(event, 5.0) is False  # 5 clock seconds: 0.1 real seconds
    assert 0.08 <= time.monotonic() - began < 0.5
    assert clock.monotonic() >= 5.0
    assert (clock.now() - start).total_seconds() >= 5.0
    with pytest.raises(ValueError):
        ScaledClock(0)


def test_the_system_clock_is_real_time() -> None:
    clock = SystemClock()
    assert abs(clock.monotonic() - time.monotonic()) < 0.1
    assert clock.now().tzinfo is not None
    event = threading.Event()
    event.set()
    assert clock.wait(event, 10.0) is True


class Calls:
    """Tick callbacks' calls by name, with a condition notified on each."""

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = {}
        self.changed = threading.Condition()

    def record(self, name: str, now: float) -> None:
        with self.changed:
            self.calls.setdefault(name, []).append(now)
            self.changed.notify_all()

    def every(self, name: str, period: float) -> Callable[[float], float | None]:
        def tick(now: float) -> float | None:
            self.record(name, now)
            return now + period
        return tick

    def wait(self, **counts: int) -> None:
        """Until each named callback has been called (at least) that many times."""
        with self.changed:
            assert self.changed.wait_for(
                lambda: all(len(self.calls.get(n, ())) >= c for n, c in counts.items()),
                timeout=5), (counts, self.calls)


def test_the_ticker_calls_each_callback_when_due() -> None:
    clock = ManualClock()
    calls = Calls()
    with Ticker(clock) as ticker:
        ticker.add(calls.every("fast", 1.0))
        slow = ticker.add(calls.every("slow", 4.0))
        ticker.add(lambda now: calls.record("once", now))  # type: ignore[func-returns-value]
        calls.wait(fast=1, slow=1, once=1)
        for t in range(1, 9):
            clock.advance(1.0)
            calls.wait(fast=t + 1, slow=t // 4 + 1)
        ticker.remove(slow)
        for t in range(9, 13):
            clock.advance(1.0)
            calls.wait(fast=t + 1)
    assert calls.calls["fast"] == [float(t) for t in range(13)]
    assert calls.calls["slow"] == [0.0, 4.0, 8.0], "removed: never called again"
    assert calls.calls["once"] == [0.0]
    with pytest.raises(RuntimeError):
        ticker.add(lambda now: None)


def test_a_failing_callback_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    calls = Calls()

    def bad(now: float) -> float:
        calls.record("bad", now)
        raise RuntimeError("bug")

    with Ticker(clock) as ticker:
        ticker.add(bad)
        ticker.add(calls.every("good", 0.5))
        calls.wait(bad=1, good=1)
        for t in range(1, 5):
            clock.advance(0.5)
            calls.wait(good=t + 1)
        calls.wait(bad=3)
    assert calls.calls["good"] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert calls.calls["bad"] == [0.0, 1.0, 2.0], "called again after RETRY_AFTER_FAILURE"
    assert any("tick callback" in r.getMessage() for r in caplog.records)


def test_capabilities_and_config_are_checked() -> None:
    caps = Capabilities(("ch4",), epl="Gb")
    assert caps.epl == frozenset({Epl.GB})
    with pytest.raises(AgentConfigError, match="epl"):
        Capabilities(("ch4",), epl="Zone0")
    with pytest.raises(AgentConfigError, match="battery_wh"):
        Capabilities(("ch4",), battery_wh=0)
    with pytest.raises(AgentConfigError, match="sensors"):
        Capabilities(("",))
    with pytest.raises(AgentConfigError, match="serial number"):
        AgentConfig("acme", "r/1", caps)
    with pytest.raises(AgentConfigError, match="state_interval"):
        AgentConfig("acme", "r1", caps, state_interval=float("nan"))
    with pytest.raises(AgentConfigError, match="resend_max"):
        AgentConfig("acme", "r1", caps, resend_after=5, resend_max=1)
    config = AgentConfig("acme", "r1", caps, result_store="x.jsonl")  # type: ignore[arg-type]
    assert config.result_store == Path("x.jsonl")


def test_the_factsheet_is_valid_and_says_what_the_robot_has() -> None:
    caps = Capabilities(("ch4", "co"), epl=Epl.GA, battery_wh=900.0, speed_max=0.8)
    sheet = AgentConfig("acme", "r1", caps, state_interval=2.0).factsheet(
        Header("acme", "r1"), charging=True)
    obj = sheet.to_json()
    assert reference_validator("factsheet").is_valid(obj)
    assert reference_validator("factsheetInspection").is_valid(obj["inspection"])
    assert obj["inspection"]["epl"] == "Ga" and obj["physicalParameters"]["speedMax"] == 0.8
    assert obj["protocolLimits"]["timing"]["defaultStateInterval"] == 2.0
    assert sheet.supports("startCharging") and sheet.supports("stopPause")


def test_an_agent_needs_somewhere_to_connect() -> None:
    with pytest.raises(AgentError):
        RobotAgent(AgentConfig("acme", "r1", Capabilities(("ch4",))), FakeBody())
