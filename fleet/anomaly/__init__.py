"""Anomaly detection on inspection results: limits, rules, lifecycle, alerts, exports.

- :mod:`~fleet.anomaly.limits`: :class:`Severity`, the default limits per sensor with the
  regulation each comes from (:data:`DEFAULT_LIMITS`), overrides per site, zone and point
  from map and mission files, and the :class:`LimitBook` that combines them, interlock
  levels included (:func:`interlock_at`; docs/gas-safety.md).
- :mod:`~fleet.anomaly.fixed_sensors`: the site's fixed-sensor readings through the rules,
  and the :class:`~fleet.anomaly.fixed_sensors.InterlockCheck` of each.
- :mod:`~fleet.anomaly.rules`: :func:`evaluate` (thresholds and rate of change) and
  :func:`finding_verdict` (a robot's own finding, kept as it came) → :class:`Verdict`.
- :mod:`~fleet.anomaly.lifecycle`: open → acknowledged → resolved, repeats, escalation
  and reopening, decided in one place.
- :mod:`~fleet.anomaly.log`: :class:`~fleet.anomaly.log.AnomalyLog`, what the manager
  calls after each committed batch of results; exactly once per result.
- :mod:`~fleet.anomaly.alerts`: Zenoh and signed webhook alerts, sent and retried from an
  outbox in the store.
- :mod:`~fleet.anomaly.export` and :mod:`~fleet.anomaly.report`: JSON, CSV, GeoJSON, and
  the HTML mission report.

This package's ``__init__`` imports only the pure modules (no database, no network), so
mission loading can check limits cheaply. docs/anomalies.md is the user's guide.
"""

from fleet.anomaly.limits import (
    DEFAULT_LIMITS,
    LimitBook,
    LimitOverrides,
    RateLimit,
    SensorLimits,
    Severity,
    interlock_at,
    read_overrides,
)
from fleet.anomaly.rules import Verdict, evaluate, finding_verdict

__all__ = [
    "DEFAULT_LIMITS",
    "LimitBook",
    "LimitOverrides",
    "RateLimit",
    "SensorLimits",
    "Severity",
    "Verdict",
    "evaluate",
    "finding_verdict",
    "interlock_at",
    "read_overrides",
]
