"""The lifecycle, tick by tick: open, repeat, escalate, acknowledge, resolve, reopen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fleet.anomaly.lifecycle import (
    AlertEvent,
    Anomaly,
    AnomalyStatus,
    Sighting,
    acknowledge,
    observe,
    open_anomaly,
    resolve,
)
from fleet.anomaly.limits import DEFAULT_LIMITS
from fleet.anomaly.rules import evaluate
from fleet.errors import FleetError

T = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def seen(value: float, minutes: float, *, serial: str = "R1") -> Sighting:
    at = T + timedelta(minutes=minutes)
    verdict = evaluate(DEFAULT_LIMITS["ch4"], value, "%vol", at=at)
    assert verdict is not None
    return Sighting(verdict, "p1", f"r-{minutes}", 0, at, "m1", "acme", serial, 40.0, 0.0, "L1")


def test_the_whole_life_of_an_anomaly() -> None:
    a = open_anomaly(seen(1.1, 0))
    assert (a.status, a.severity, a.count, a.peak, a.rule) == ("open", "warning", 1, 1.1,
                                                              "above")
    assert a.first_seen == a.last_seen == a.opened_at == T
    assert a.history == [{"event": "opened", "at": "2025-03-01T08:00:00Z",
                          "severity": "warning"}]

    # a repeat counts, moves last_seen and the peak, raises nothing
    assert observe(a, seen(1.3, 10, serial="R2")) is None
    assert (a.count, a.peak, a.last_value, a.serial_number) == (2, 1.3, 1.3, "R2")
    assert a.last_seen == T + timedelta(minutes=10) and a.first_seen == T
    assert observe(a, seen(1.2, 20)) is None
    assert (a.peak, a.last_value) == (1.3, 1.2)

    # a higher severity escalates
    assert observe(a, seen(1.6, 30)) is AlertEvent.ESCALATED
    assert (a.severity, a.threshold, a.peak, a.count) == ("alarm", 1.5, 1.6, 4)

    acknowledge(a, by=" ann ", note="ventilation checked", at=T + timedelta(minutes=31))
    assert (a.status, a.acknowledged_by, a.ack_note) == ("acknowledged", "ann",
                                                          "ventilation checked")
    assert observe(a, seen(1.55, 40)) is None  # same severity: still acknowledged
    assert a.status == "acknowledged" and a.count == 5

    resolve(a, by="bob", note="fan restarted", at=T + timedelta(minutes=50))
    assert (a.status, a.resolved_by, a.resolve_note) == ("resolved", "bob", "fan restarted")

    # a late resend measured before the resolution is counted, not a comeback
    assert observe(a, seen(1.7, 45)) is None
    assert a.status == "resolved" and a.count == 6

    # it comes back: reopened, a new episode
    assert observe(a, seen(1.1, 60)) is AlertEvent.REOPENED
    assert (a.status, a.severity, a.count, a.peak, a.reopened) == ("open", "warning", 1, 1.1, 1)
    assert a.opened_at == T + timedelta(minutes=60) and a.first_seen == T
    assert a.acknowledged_by is None and a.resolved_by is None
    assert [h["event"] for h in a.history] == ["opened", "escalated", "acknowledged",
                                               "resolved", "reopened"]


def test_escalation_reopens_an_acknowledged_anomaly() -> None:
    a = open_anomaly(seen(1.1, 0))
    acknowledge(a, by="ann", note=None, at=T)
    assert observe(a, seen(1.6, 1)) is AlertEvent.ESCALATED
    assert a.status == AnomalyStatus.OPEN.value
    assert a.history[-1] == {"event": "escalated", "at": "2025-03-01T08:01:00Z",
                             "severity": "alarm", "previous": "warning"}


def test_an_earlier_reading_arriving_late_moves_first_seen_only() -> None:
    a = open_anomaly(seen(1.1, 10))
    assert observe(a, seen(1.2, 5)) is None
    assert a.first_seen == T + timedelta(minutes=5)
    assert a.last_seen == T + timedelta(minutes=10) and a.last_value == 1.1


@pytest.mark.parametrize(("steps", "message"), [
    (["ack", "ack"], "is already acknowledged by ann"),
    (["resolve", "ack"], "is resolved"),
    (["resolve", "resolve"], "is already resolved by ann"),
])
def test_refused_transitions(steps: list[str], message: str) -> None:
    a = open_anomaly(seen(1.1, 0))
    a.id = 7
    *first, last = steps
    for step in first:
        (acknowledge if step == "ack" else resolve)(a, by="ann", note=None, at=T)
    with pytest.raises(FleetError, match=f"anomaly 7 {message}"):
        (acknowledge if last == "ack" else resolve)(a, by="ann", note=None, at=T)


def test_someone_must_say_who() -> None:
    a = open_anomaly(seen(1.1, 0))
    with pytest.raises(FleetError, match="say who you are"):
        acknowledge(a, by="  ", note=None, at=T)


def test_an_anomaly_round_trips_through_its_column_values() -> None:
    a = open_anomaly(seen(1.1, 0))
    assert Anomaly.from_values({**a.values(), "unknown": 1}) == a
