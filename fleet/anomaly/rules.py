"""Rule evaluation: one reading (or one robot finding) in, a :class:`Verdict` or None out.

Pure functions of their arguments, no I/O: :func:`evaluate` applies a sensor's
:class:`~fleet.anomaly.limits.SensorLimits` (thresholds on both sides and the
rate-of-change rule) to a reading, :func:`finding_verdict` keeps a robot's own finding as
it came. :func:`worse` decides which of two verdicts is the more serious one; the anomaly
log uses it for the peak of an anomaly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet.errors import ProtocolError
from fleet.sensors import ABOVE, BELOW, RATE, SensorLimits, Severity, convert

FINDING = "finding"
"""Rule name of a finding reported by the robot itself."""
FINDING_PREFIX = "finding:"
"""An anomaly about a robot's finding of type T has the sensor ``finding:T``."""
LOCKOUT = "lockout"
"""Rule name of a robot's methane lockout (docs/gas-safety.md): the anomaly's sensor is
``lockout:SERIAL``, its point the node, ``detail`` names robot, sensor and reading."""
CLOSURE = "closure"
"""Rule name of a gas closure (docs/gas-safety.md): sensor ``closure:ID``."""
TAKEOVER = "takeover"
"""Rule name of a manager taking the lead of a site from another (docs/operations.md,
"Two managers"): sensor ``takeover:INTERFACE``, point ``-``, ``detail`` names both
managers and the epochs."""
REFUSED = "refused"
"""Rule name of a robot the manager cannot drive (a ROS 2 robot of another distribution,
without Nav2, or out of reach: docs/ros2.md): sensor ``refused:SERIAL``, its point the
robot's dock (or ``-``), ``detail`` names the robot and the reason."""



@dataclass(frozen=True, slots=True)
class Verdict:
    """What a rule made of one reading or finding.

    ``sensor`` is the anomaly's sensor key (the lower-case sensor name, or ``finding:T``);
    ``rule`` is ``above``, ``below``, ``rate`` or ``finding``; ``threshold`` the value the
    reading crossed (for ``rate``, the rise that was reached); ``value`` the reading in
    ``unit`` (the limit's unit; for ``rate``, the reading itself, not the rise; for a
    finding, its confidence); ``excess`` how far past the threshold, >= 0, in the same
    unit (the rise beyond the rate's for ``rate``). ``detail`` is JSON-ready context.
    """

    sensor: str
    severity: Severity
    rule: str
    threshold: float | None
    value: float | None
    unit: str | None
    excess: float = 0.0
    detail: Mapping[str, Any] | None = None

    def describe(self) -> str:
        """One line for people, e.g. ``ch4 1.8 %vol ≥ 1.5 (alarm)``."""
        if self.rule == FINDING:
            text = (self.detail or {}).get("description") or ""
            return f"robot finding {self.sensor[len(FINDING_PREFIX):]}: {text} " \
                   f"({self.severity.value})".replace(":  (", ": (")
        if self.rule in (LOCKOUT, CLOSURE, REFUSED):
            return str((self.detail or {}).get("description") or self.sensor)
        if self.rule == RATE:
            d = self.detail or {}
            return (f"{self.sensor} {_num(self.value)} {self.unit}, "
                    f"{'up' if (self.threshold or 0) > 0 else 'down'} "
                    f"{_num(abs(d.get('change', 0.0)))} in {_num(d.get('within_s', 0.0))} s "
                    f"({self.severity.value})")
        sign = "≥" if self.rule == ABOVE else "<"
        return (f"{self.sensor} {_num(self.value)} {self.unit} {sign} {_num(self.threshold)} "
                f"({self.severity.value})")


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:.6g}"


Previous = tuple[datetime, float, str]
"""The previous reading of a sensor at a point: (measured at, value, unit)."""


def evaluate(limits: SensorLimits, value: float, unit: str, *, at: datetime,
             previous: Previous | None = None) -> Verdict | None:
    """The worst verdict of ``limits`` on a reading of ``value`` ``unit`` taken ``at``.

    ``previous`` feeds the rate-of-change rule (ignored when it is not strictly earlier
    than ``at``, older than the rule's window, or in a unit that does not convert). None
    when the reading breaks no rule, is not a finite number, or is in a unit that does not
    convert to the limit's.
    """
    if not math.isfinite(value):
        return None
    v = value if unit == limits.unit else convert(value, unit, limits.unit)
    if v is None:
        return None
    low, high = limits.quiet
    best = _level(limits, v) if (v >= high or v < low) else None
    rate = limits.rate
    if rate is not None and previous is not None:
        then, before, before_unit = previous
        p = before if before_unit == limits.unit else convert(before, before_unit, limits.unit)
        # the cheap test first: most readings move far less than the rule's rise
        change = v - p if p is not None and math.isfinite(p) else 0.0
        reached = change >= rate.rise if rate.rise > 0 else change <= rate.rise
        elapsed = (at - then).total_seconds() if reached else 0.0
        if reached and 0 < elapsed <= rate.within_s:
            verdict = Verdict(
                limits.sensor, rate.severity, RATE, rate.rise, v, limits.unit,
                abs(change) - abs(rate.rise),
                {"previous": p, "previous_at": _iso(then), "change": change,
                 "within_s": elapsed})
            best = verdict if best is None or worse(verdict, best) else best
    return best


def _level(limits: SensorLimits, v: float) -> Verdict | None:
    best: Verdict | None = None
    for severity, threshold in limits.above.items():
        if v >= threshold and (best is None or severity.rank > best.severity.rank):
            best = Verdict(limits.sensor, severity, ABOVE, threshold, v, limits.unit,
                           v - threshold)
    for severity, threshold in limits.below.items():
        if v < threshold and (best is None or severity.rank > best.severity.rank):
            best = Verdict(limits.sensor, severity, BELOW, threshold, v, limits.unit,
                           threshold - v)
    return best


def finding_verdict(finding: Mapping[str, Any]) -> Verdict | None:
    """A robot's finding (its JSON object) as a verdict, kept as it came: severity INFO,
    WARNING or CRITICAL becomes info, warning or critical; its type names the anomaly's
    sensor ``finding:<type>``. None when the finding has no usable type."""
    kind = finding.get("type")
    if not isinstance(kind, str) or not kind.strip():
        return None
    try:
        severity = Severity.from_wire(str(finding.get("severity", "")).upper())
    except ProtocolError:
        severity = Severity.WARNING  # a robot's unknown word: worth a look, not an alarm
    confidence = finding.get("confidence")
    value = (float(confidence) if isinstance(confidence, int | float)
             and not isinstance(confidence, bool) and math.isfinite(confidence) else None)
    description = finding.get("description")
    return Verdict(FINDING_PREFIX + kind.strip(), severity, FINDING, None, value, None,
                   value or 0.0,
                   {"description": description if isinstance(description, str) else None,
                    "confidence": value, "robot_severity": finding.get("severity")})


def worse(a: Verdict, b: Verdict) -> bool:
    """Whether ``a`` is more serious than ``b``: a higher severity, or the same severity
    further past the threshold under the same rule."""
    if a.severity.rank != b.severity.rank:
        return a.severity.rank > b.severity.rank
    return a.rule == b.rule and a.excess > b.excess


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


__all__ = ["ABOVE", "BELOW", "FINDING", "FINDING_PREFIX", "RATE", "Previous", "Verdict",
           "evaluate", "finding_verdict", "worse"]
