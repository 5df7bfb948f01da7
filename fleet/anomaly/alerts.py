"""Alerts: signed webhook requests, and the dispatcher that sends and retries deliveries.

An alert is raised in the same transaction as the anomaly change behind it, as one
:class:`~fleet.store.AlertDeliveryRow` per destination (an outbox): a crash after the
commit loses nothing, the dispatcher sends what is pending when it starts again. The
destinations are the manager's Zenoh key ``{interface}/manager/alerts`` and, when
configured, webhooks.

A webhook request is a ``POST`` of the alert's JSON with these headers::

    Content-Type: application/json
    X-Fleet-Event: anomaly.opened            (or anomaly.escalated, anomaly.reopened)
    X-Fleet-Delivery: 42                     (the same on every retry: deduplicate on it)
    X-Fleet-Timestamp: 1735732800            (Unix seconds when this attempt was signed)
    X-Fleet-Signature: v1=<hex>              (HMAC-SHA256 of "<timestamp>." + body)

:func:`sign` and :func:`verify` implement the scheme; a receiver rejects a request whose
timestamp is more than five minutes away from its clock (a replay) or whose signature does
not match. Any 2xx answer is a delivery; a network error, a timeout, 408, 429 and 5xx are
tried again with exponential back-off; any other answer means the receiver refuses the
alert for good (``failed``). Redirects are not followed and no proxy is used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fleet.clock import Clock, SystemClock
from fleet.errors import FleetError
from fleet.sensors import Severity
from fleet.store import AlertDeliveryRow, Store
from fleet.store.anomalies import DELIVERY_DELIVERED, DELIVERY_FAILED, DELIVERY_PENDING

log = logging.getLogger(__name__)

ZENOH = "zenoh"
"""Channel of deliveries published on the manager's alert key."""
WEBHOOK = "webhook"
"""Channel of deliveries POSTed to a webhook URL."""

SIGNATURE_VERSION = "v1"
IDLE_S = 5.0
"""Real seconds the dispatcher waits for work when no delivery is due."""
TOLERANCE_S = 300.0
"""How far a request's timestamp may be from the receiver's clock (:func:`verify`)."""


def alerts_key(interface: str) -> str:
    """The Zenoh key alerts are published on: ``{interface}/manager/alerts``."""
    return f"{interface}/manager/alerts"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Fleet-Signature`` value of ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify(secret: bytes, body: bytes, timestamp: str | int, signature: str, *,
           now: float | None = None, tolerance_s: float = TOLERANCE_S) -> bool:
    """Whether a webhook request is genuine and fresh: the signature matches ``body`` and
    ``timestamp``, and the timestamp is within ``tolerance_s`` of ``now`` (default: the
    clock). What a receiver runs (docs/anomalies.md shows a standalone version)."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature.strip())


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go and how hard the dispatcher tries.

    ``webhooks`` are URLs (http or https) signed with ``secret``, which is required when
    there are webhooks. ``min_severity``: anomalies below it raise no alert (they are still
    logged). A delivery is tried ``max_attempts`` times at most, waiting ``backoff_s``,
    then twice as long each time, up to ``backoff_max_s`` (plus up to 10 % jitter), each
    request waiting ``timeout_s`` for an answer.
    """

    webhooks: tuple[str, ...] = ()
    secret: bytes | None = field(default=None, repr=False)
    min_severity: Severity = Severity.WARNING
    max_attempts: int = 8
    backoff_s: float = 2.0
    backoff_max_s: float = 300.0
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        for url in self.webhooks:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FleetError(f"a webhook is an http:// or https:// URL, not {url!r}")
        if self.webhooks and not self.secret:
            raise FleetError("webhooks need a signing secret (--webhook-secret-env NAME, "
                             "naming a set environment variable)")
        if self.max_attempts < 1 or self.backoff_s <= 0 or self.timeout_s <= 0:
            raise FleetError("max_attempts must be >= 1 and backoff_s, timeout_s > 0")

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (jitter included)."""
        base = min(self.backoff_max_s, self.backoff_s * 2.0 ** max(0, attempts - 1))
        return float(base * (1.0 + 0.1 * random.random()))


def alert_settings(webhooks: Sequence[str], secret_env: str | None, min_severity: str, *,
                   environ: Mapping[str, str] | None = None) -> AlertSettings:
    """The settings ``fleet serve`` builds from its options: the secret is read from the
    environment variable named ``secret_env`` (never from the command line, where other
    users of the machine could read it). FleetError naming the problem."""
    env = os.environ if environ is None else environ
    secret: bytes | None = None
    if secret_env is not None:
        value = env.get(secret_env)
        if not value:
            raise FleetError(f"environment variable {secret_env} (--webhook-secret-env) is "
                             "not set or empty")
        secret = value.encode("utf-8")
    try:
        severity = Severity.parse(min_severity)
    except ValueError as exc:
        raise FleetError(f"--alert-min-severity: {exc}") from None
    return AlertSettings(tuple(webhooks), secret, severity)


Publish = Callable[[str, bytes], object]
"""Publishes bytes on a Zenoh key (the manager passes ``Bus.publish_raw``)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx answer surfaces as an HTTPError: the alert is not delivered


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: ``ok``; ``retry`` when a later attempt may succeed."""

    ok: bool
    retry: bool = False
    http_status: int | None = None
    error: str | None = None


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> Outcome:
    """POST ``body`` to ``url``; how it went (never raises for network trouble)."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
        retry = status in (408, 429) or status >= 500
        return Outcome(False, retry, status, f"HTTP {status} {exc.reason}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return Outcome(False, True, None, f"{type(exc).__name__}: {reason}")
    if 200 <= status < 300:
        return Outcome(True, http_status=status)
    return Outcome(False, status >= 500, status, f"HTTP {status}")


class AlertDispatcher:
    """Sends pending deliveries from the store, retrying with back-off, on its own thread.

    :meth:`run_once` sends what is due and returns (tests call it directly); :meth:`start`
    runs it in a loop that sleeps until the next delivery is due or :meth:`wake` is called.
    """

    def __init__(self, store: Store, settings: AlertSettings, *,
                 publish: Publish | None = None,
                 clock: Clock | None = None) -> None:
        self.store = store
        self.settings = settings
        self.publish = publish
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the sending thread (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="alert-dispatcher",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread; what is still pending stays pending for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Look for due deliveries now (called after new ones are committed)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.run_once()
                due = self.store.next_delivery_at()
            except FleetError as exc:  # the database is away: try again shortly
                log.error("alert dispatcher: %s", exc)
                sent, due = 0, None
            if sent:
                continue
            # look at least every 5 real seconds (a fast world must not poll the store
            # many times a second), sooner when a delivery is due
            idle = self.clock.to_world(IDLE_S)
            wait = idle if due is None else (due - self.clock.now()).total_seconds()
            self.clock.wait(self._wake, min(idle, max(0.01, wait)))
            self._wake.clear()

    def run_once(self) -> int:
        """Attempt every delivery due now; how many were attempted."""
        self._wake.clear()
        due = self.store.due_deliveries(self.clock.now())
        for row in due:
            if self._stop.is_set():
                break
            self._attempt(row)
        return len(due)

    def _attempt(self, row: AlertDeliveryRow) -> None:
        assert row.id is not None
        body = json.dumps({**(row.payload or {}), "delivery_id": row.id},
                          separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if row.channel == ZENOH:
            outcome = self._publish(row.target, body)
        elif row.channel == WEBHOOK:
            outcome = self._post(row, body)
        else:
            outcome = Outcome(False, False, None, f"unknown channel {row.channel!r}")
        now = self.clock.now()
        attempts = row.attempts + 1
        if outcome.ok:
            status, next_at = DELIVERY_DELIVERED, None
        elif outcome.retry and attempts < self.settings.max_attempts:
            status = DELIVERY_PENDING
            next_at = now + timedelta(seconds=self.settings.backoff(attempts))
        else:
            status, next_at = DELIVERY_FAILED, None
        if not outcome.ok:
            log.warning("alert %s to %s: attempt %d failed (%s)%s", row.id, row.target,
                        attempts, outcome.error, "; will retry" if next_at else "; gave up")
        self.store.record_delivery(row.id, status=status, at=now, next_attempt_at=next_at,
                                   http_status=outcome.http_status, error=outcome.error)

    def _publish(self, key: str, body: bytes) -> Outcome:
        if self.publish is None:
            return Outcome(False, False, None, "no Zenoh session to publish on")
        try:
            self.publish(key, body)
        except FleetError as exc:
            return Outcome(False, True, None, str(exc) or type(exc).__name__)
        return Outcome(True)

    def _post(self, row: AlertDeliveryRow, body: bytes) -> Outcome:
        secret = self.settings.secret
        if secret is None:  # the webhook was configured by an earlier run, not this one
            return Outcome(False, False, None, "no signing secret configured now")
        stamp = int(self.clock.now().timestamp())
        headers = {"X-Fleet-Event": f"anomaly.{row.event}", "X-Fleet-Delivery": str(row.id),
                   "X-Fleet-Timestamp": str(stamp),
                   "X-Fleet-Signature": sign(secret, stamp, body)}
        return post(row.target, body, headers, timeout=self.settings.timeout_s)
