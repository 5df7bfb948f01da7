"""Alerts: the webhook signature, and deliveries sent, retried and given up on, against a
real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fleet.anomaly.alerts import AlertSettings, alert_settings, sign, verify
from fleet.anomaly.limits import Severity
from fleet.anomaly.log import AnomalyLog
from fleet.clock import ManualClock
from fleet.errors import FleetError
from fleet.store import Store
from tests.anomaly.factories import ch4

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"correct horse battery staple"


class Receiver:
    """A webhook receiver on 127.0.0.1: answers with the scripted statuses (then 200),
    keeps every request with whether its signature verified."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({
                    "headers": dict(self.headers), "body": body, "path": self.path,
                    "genuine": verify(SECRET, body, self.headers["X-Fleet-Timestamp"],
                                      self.headers["X-Fleet-Signature"])})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    r = Receiver(list(getattr(request, "param", [])))
    yield r
    r.close()


def Clock() -> ManualClock:  # noqa: N802 - reads as the clock it makes
    return ManualClock(date=datetime.now(UTC))


def logged(store: Store, url: str, clock: ManualClock, **settings: Any) -> AnomalyLog:
    alerts = AlertSettings(webhooks=(url,), secret=SECRET, backoff_s=1.0, timeout_s=2.0,
                           **settings)
    log = AnomalyLog(store, alerts=alerts, clock=clock)
    log.observe(store.record_batch([ch4(1.8)]).new)
    return log


# ------------------------------------------------------------------ signature
def test_signature_verifies_and_rejects_tampering_and_replays() -> None:
    body = b'{"type":"anomaly.opened"}'
    now = 1_735_732_800
    signature = sign(SECRET, now, body)
    assert re.fullmatch(r"v1=[0-9a-f]{64}", signature)
    assert verify(SECRET, body, str(now), signature, now=now + 10)
    assert verify(SECRET, body, now, f"  {signature} ", now=now)
    assert not verify(SECRET, body + b" ", now, signature, now=now)
    assert not verify(b"wrong", body, now, signature, now=now)
    assert not verify(SECRET, body, now + 1, signature, now=now)
    assert not verify(SECRET, body, now, signature, now=now + 301)  # a replay
    assert not verify(SECRET, body, "yesterday", signature, now=now)


def test_the_documented_receiver_snippet_verifies_our_requests() -> None:
    doc = (ROOT / "docs" / "anomalies.md").read_text(encoding="utf-8")
    [snippet] = re.findall(r"<!-- verify-snippet -->\n```python\n(.*?)```", doc, re.S)
    scope: dict[str, Any] = {}
    exec(snippet, scope)  # the documented standalone function, as a receiver copies it
    body = b'{"hello": "world"}'
    now = int(datetime.now(UTC).timestamp())
    headers = {"X-Fleet-Timestamp": str(now), "X-Fleet-Signature": sign(SECRET, now, body)}
    assert scope["genuine"](SECRET, body, headers) is True
    assert scope["genuine"](SECRET, body + b"!", headers) is False
    old = {"X-Fleet-Timestamp": str(now - 3600),
           "X-Fleet-Signature": sign(SECRET, now - 3600, body)}
    assert scope["genuine"](SECRET, body, old) is False


# ------------------------------------------------------------------ deliveries
def test_a_webhook_gets_a_signed_alert(store: Store, receiver: Receiver) -> None:
    clock = Clock()
    log = logged(store, receiver.url, clock)
    assert log.dispatcher.run_once() == 1
    [request] = receiver.requests
    assert request["genuine"] and request["path"] == "/alerts"
    headers = request["headers"]
    assert headers["X-Fleet-Event"] == "anomaly.opened"
    assert headers["Content-Type"] == "application/json"
    body = json.loads(request["body"])
    assert body["delivery_id"] == int(headers["X-Fleet-Delivery"])
    assert body["anomaly"]["severity"] == "alarm" and body["anomaly"]["sensor"] == "ch4"
    [d] = store.deliveries()
    assert (d.status, d.attempts, d.http_status, d.delivered_at) == ("delivered", 1, 200,
                                                                    clock.now())


@pytest.mark.parametrize("receiver", [[500, 503]], indirect=True)
def test_failures_are_retried_with_back_off(store: Store, receiver: Receiver) -> None:
    clock = Clock()
    log = logged(store, receiver.url, clock)
    log.dispatcher.run_once()
    [d] = store.deliveries()
    assert (d.status, d.attempts, d.http_status) == ("pending", 1, 500)
    wait = (d.next_attempt_at - clock.now()).total_seconds()
    assert 1.0 <= wait <= 1.1
    assert log.dispatcher.run_once() == 0  # not due yet
    clock.advance(1.2)
    log.dispatcher.run_once()
    [d] = store.deliveries()
    assert (d.status, d.attempts) == ("pending", 2)
    assert 2.0 <= (d.next_attempt_at - clock.now()).total_seconds() <= 2.2  # doubled
    clock.advance(3)
    log.dispatcher.run_once()
    [d] = store.deliveries()
    assert (d.status, d.attempts, d.http_status) == ("delivered", 3, 200)
    ids = {r["headers"]["X-Fleet-Delivery"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1  # one delivery id: deduplicable
    assert all(r["genuine"] for r in receiver.requests)


@pytest.mark.parametrize("receiver", [[401]], indirect=True)
def test_a_refusal_is_final(store: Store, receiver: Receiver) -> None:
    log = logged(store, receiver.url, Clock())
    log.dispatcher.run_once()
    [d] = store.deliveries()
    assert (d.status, d.attempts, d.http_status) == ("failed", 1, 401)
    assert d.last_error is not None and "401" in d.last_error


def test_an_unreachable_webhook_is_given_up_after_max_attempts(store: Store) -> None:
    receiver = Receiver([])
    url = receiver.url
    receiver.close()  # nothing listens there any more
    clock = Clock()
    log = logged(store, url, clock, max_attempts=3)
    for _ in range(3):
        log.dispatcher.run_once()
        clock.advance(10)
    [d] = store.deliveries()
    assert (d.status, d.attempts, d.http_status) == ("failed", 3, None)
    assert d.last_error


def test_the_dispatcher_thread_delivers_on_its_own(store: Store, receiver: Receiver) -> None:
    log = logged(store, receiver.url, Clock())
    log.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while not receiver.requests and datetime.now(UTC) < deadline:
            threading.Event().wait(0.05)
    finally:
        log.stop()
    assert len(receiver.requests) == 1


# ------------------------------------------------------------------ settings
def test_settings_are_checked() -> None:
    with pytest.raises(FleetError, match="signing secret"):
        AlertSettings(webhooks=("https://example.invalid/x",))
    for bad in ("ftp://x", "http://", "https:///path", "127.0.0.1:80/x"):
        with pytest.raises(FleetError, match="http:// or https://"):
            AlertSettings(webhooks=(bad,), secret=b"s")
    settings = alert_settings(["http://127.0.0.1:1/a"], "HOOK_SECRET", "ALARM",
                              environ={"HOOK_SECRET": "s3cret"})
    assert (settings.secret, settings.min_severity) == (b"s3cret", Severity.ALARM)
    with pytest.raises(FleetError, match="environment variable HOOK_SECRET"):
        alert_settings(["http://127.0.0.1:1/a"], "HOOK_SECRET", "alarm", environ={})
    with pytest.raises(FleetError, match="alert-min-severity"):
        alert_settings([], None, "loud", environ={})
    assert "s3cret" not in repr(settings)
