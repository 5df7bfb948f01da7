"""Rule evaluation: thresholds on both sides, rate of change, robot findings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.anomaly.limits import DEFAULT_LIMITS, RateLimit, SensorLimits, Severity
from fleet.anomaly.rules import Verdict, evaluate, finding_verdict, worse

T = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
CH4, O2, CO = DEFAULT_LIMITS["ch4"], DEFAULT_LIMITS["o2"], DEFAULT_LIMITS["co"]


def severity(limits: SensorLimits, value: float, unit: str = "%vol") -> Severity | None:
    v = evaluate(limits, value, unit, at=T)
    return v.severity if v else None


@pytest.mark.parametrize(("value", "expected"), [
    (0.2, None), (0.7499, None), (0.75, Severity.INFO), (0.99, Severity.INFO),
    (1.0, Severity.WARNING), (1.49, Severity.WARNING), (1.5, Severity.ALARM),
    (4.0, Severity.ALARM)])
def test_methane_reaching_a_level_has_its_severity(value: float,
                                                   expected: Severity | None) -> None:
    assert severity(CH4, value) is expected


@pytest.mark.parametrize(("value", "expected"), [
    (20.9, None), (20.0, None), (19.99, Severity.WARNING), (19.5, Severity.WARNING),
    (19.49, Severity.ALARM), (23.49, None), (23.5, Severity.ALARM)])
def test_oxygen_both_sides(value: float, expected: Severity | None) -> None:
    assert severity(O2, value) is expected


def test_verdict_says_rule_threshold_and_excess() -> None:
    v = evaluate(CH4, 1.8, "%vol", at=T)
    assert v is not None
    assert (v.sensor, v.rule, v.threshold, v.unit) == ("ch4", "above", 1.5, "%vol")
    assert v.excess == pytest.approx(0.3)
    assert v.describe() == "ch4 1.8 %vol ≥ 1.5 (alarm)"
    low = evaluate(O2, 18.0, "%", at=T)
    assert low is not None and (low.rule, low.threshold) == ("below", 19.5)
    assert low.excess == pytest.approx(1.5)


def test_units_convert_or_the_reading_is_not_compared() -> None:
    assert severity(CO, 30, "ppm") is Severity.ALARM
    assert severity(CO, 0.003, "%vol") is Severity.ALARM  # 30 ppm
    assert severity(CH4, 16_000, "ppm") is Severity.ALARM
    assert severity(CH4, 90.0, "%LEL") is None
    assert severity(CH4, float("nan")) is None
    assert severity(CH4, float("inf")) is None


def test_rate_of_change_between_visits() -> None:
    before = (T - timedelta(minutes=30), 0.1, "%vol")
    rise = evaluate(CH4, 0.7, "%vol", at=T, previous=before)  # below every level
    assert rise is not None and (rise.rule, rise.severity) == ("rate", Severity.WARNING)
    assert rise.detail is not None and rise.detail["change"] == pytest.approx(0.6)
    assert "up 0.6 in 1800 s" in rise.describe()
    # a smaller rise, an old previous reading, or one not before this one: nothing
    assert evaluate(CH4, 0.5, "%vol", at=T, previous=before) is None
    assert evaluate(CH4, 0.7, "%vol", at=T, previous=(T - timedelta(hours=2), 0.1, "%vol")) \
        is None
    assert evaluate(CH4, 0.7, "%vol", at=T, previous=(T, 0.1, "%vol")) is None
    assert evaluate(CH4, 0.7, "%vol", at=T, previous=(T + timedelta(1), 0.1, "%vol")) is None
    # previous in ppm converts; in a foreign unit it is ignored
    minute = T - timedelta(seconds=60)
    assert evaluate(CH4, 0.7, "%vol", at=T, previous=(minute, 1000.0, "ppm"))
    assert evaluate(CH4, 0.7, "%vol", at=T, previous=(minute, 0.1, "%LEL")) is None


def test_a_fall_of_oxygen_and_the_worst_rule_wins() -> None:
    fall = evaluate(O2, 20.5, "%vol", at=T, previous=(T - timedelta(minutes=10), 20.9, "%vol"))
    assert fall is None  # a fall of 0.4 only
    fall = evaluate(O2, 19.7, "%vol", at=T, previous=(T - timedelta(minutes=10), 20.9, "%vol"))
    assert fall is not None and fall.severity is Severity.WARNING
    # 19.0 is an alarm by level: the level beats the rate's warning
    both = evaluate(O2, 19.0, "%vol", at=T, previous=(T - timedelta(minutes=10), 20.9, "%vol"))
    assert both is not None and (both.rule, both.severity) == ("below", Severity.ALARM)
    custom = SensorLimits("x", "dB", rate=RateLimit(10, 60, Severity.CRITICAL))
    loud = evaluate(custom, 80, "dB", at=T, previous=(T - timedelta(seconds=30), 60, "dB"))
    assert loud is not None and loud.severity is Severity.CRITICAL


@pytest.mark.parametrize(("robot", "ours"), [("INFO", Severity.INFO),
                                             ("WARNING", Severity.WARNING),
                                             ("CRITICAL", Severity.CRITICAL)])
def test_robot_findings_are_kept_as_they_come(robot: str, ours: Severity) -> None:
    v = finding_verdict({"type": "gasLeak", "severity": robot, "description": "hiss",
                         "confidence": 0.9})
    assert v is not None
    assert (v.sensor, v.severity, v.rule, v.value) == ("finding:gasLeak", ours, "finding", 0.9)
    assert v.detail == {"description": "hiss", "confidence": 0.9, "robot_severity": robot}
    assert "robot finding gasLeak: hiss" in v.describe()


def test_odd_findings() -> None:
    assert finding_verdict({"severity": "INFO"}) is None
    assert finding_verdict({"type": "  "}) is None
    v = finding_verdict({"type": "crack", "severity": "weird", "confidence": True})
    assert v is not None and v.severity is Severity.WARNING and v.value is None


def test_worse() -> None:
    a = Verdict("ch4", Severity.ALARM, "above", 1.5, 1.6, "%vol", 0.1)
    b = Verdict("ch4", Severity.ALARM, "above", 1.5, 2.0, "%vol", 0.5)
    w = Verdict("ch4", Severity.WARNING, "above", 1.0, 1.4, "%vol", 0.4)
    assert worse(b, a) and not worse(a, b) and worse(a, w) and not worse(w, a)
    r = Verdict("ch4", Severity.ALARM, "rate", 0.5, 1.6, "%vol", 9.0)
    assert not worse(r, a) and not worse(a, r)  # different rules at one severity: a tie


@given(st.floats(0, 100), st.floats(0, 100))
def test_more_methane_is_never_less_severe(a: float, b: float) -> None:
    low, high = sorted((a, b))
    rank = [(-1 if v is None else v.severity.rank)
            for v in (evaluate(CH4, low, "%vol", at=T), evaluate(CH4, high, "%vol", at=T))]
    assert rank[0] <= rank[1]
