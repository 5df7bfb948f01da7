"""Clocks, the shared ticker, and configuration checks."""

from __future__ import annotations

import threading
import time
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
from fleet.protocol.factsheet import Epl
from fleet.protocol.header import Header
from fleet.protocol.validation import reference_validator
from tests.agent.conftest import FakeBody, wait_until


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


def test_the_ticker_calls_each_callback_when_due() -> None:
    calls: dict[str, list[float]] = {"fast": [], "slow": [], "once": []}

    def every(name: str, period: float) -> object:
        def tick(now: float) -> float | None:
            calls[name].append(now)
            return now + period
        return tick

    with Ticker() as ticker:
        ticker.add(every("fast", 0.05))  # type: ignore[arg-type]
        slow = ticker.add(every("slow", 0.2))  # type: ignore[arg-type]
        ticker.add(lambda now: calls["once"].append(now))  # type: ignore[arg-type, func-returns-value]
        time.sleep(0.5)
        ticker.remove(slow)
        slow_count = len(calls["slow"])
        time.sleep(0.3)
    assert len(calls["fast"]) >= 8
    assert 2 <= slow_count <= 4 and len(calls["slow"]) == slow_count
    assert len(calls["once"]) == 1
    with pytest.raises(RuntimeError):
        ticker.add(lambda now: None)


def test_a_failing_callback_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[float] = []

    def bad(now: float) -> float:
        raise RuntimeError("bug")

    def good(now: float) -> float:
        seen.append(now)
        return now + 0.02

    with Ticker() as ticker:
        ticker.add(bad)
        ticker.add(good)
        assert wait_until(lambda: len(seen) >= 5, timeout=2)
    assert any("tick callback" in r.getMessage() for r in caplog.records)


def test_capabilities_and_config_are_checked() -> None:
    caps = Capabilities(("ch4",), epl="Gb")
    assert caps.epl is Epl.GB
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
