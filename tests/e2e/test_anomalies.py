"""Anomalies through the whole system: plain Zenoh clients (as docs/protocol.md describes
them) send inspection results to a running manager; the CLI lists, acknowledges, resolves
and exports; alerts arrive on Zenoh and on a signed webhook; a mission's report is written.
Exactly once under message loss with duplicates, and across a manager killed with SIGKILL.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import zenoh
from typer.testing import CliRunner

from fleet.anomaly.alerts import AlertSettings, verify
from fleet.cli.main import app
from fleet.comms.config import free_port
from fleet.store import Store

from .fleetkit import ROOT, TINY_MISSION, capabilities, manager_on_port, robot, wait_for

pytestmark = pytest.mark.timeout(180)


def cli(endpoint: str, *args: str, json_out: bool = True) -> Any:
    result = CliRunner().invoke(app, [*args, "--connect", endpoint,
                                      *(["--json"] if json_out else [])])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if json_out else result.stdout


def inspection(serial: str, point: str, ch4: float, *, result_id: str | None = None,
               n: int = 0) -> dict[str, Any]:
    """An inspection result as docs/protocol.md spells it."""
    now = datetime.now(UTC)
    return {"headerId": n, "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{now.microsecond // 1000:03d}Z", "version": "2.1.0", "manufacturer": "acme",
            "serialNumber": serial, "resultId": result_id or str(uuid.uuid4()),
            "orderId": "manual-1", "actionId": f"inspect-{n}", "inspectionPointId": point,
            "nodeId": point,
            "agvPosition": {"x": 10.0 + n, "y": 2.5, "theta": 0.0, "mapId": "L1",
                            "positionInitialized": True},
            "readings": [{"sensor": "ch4", "value": ch4, "unit": "%vol"},
                         {"sensor": "o2", "value": 20.8, "unit": "%vol"}]}


class PlainClient:
    """A robot's result path in plain zenoh and json: publish results, resend those not
    acknowledged; with ``loss`` a share of what goes out and of the acks coming back is
    lost, and with ``duplicates`` a share of what goes out is sent twice."""

    def __init__(self, endpoint: str, serial: str, *, loss: float = 0.0,
                 duplicates: float = 0.0, seed: int = 0) -> None:
        config = zenoh.Config()
        config.insert_json5("mode", '"client"')
        config.insert_json5("connect/endpoints", json.dumps([endpoint]))
        config.insert_json5("connect/timeout_ms", "5000")
        config.insert_json5("scouting/multicast/enabled", "false")
        self.serial, self.loss, self.duplicates = serial, loss, duplicates
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.unacked: dict[str, dict[str, Any]] = {}
        self.acked: set[str] = set()
        self.alerts: list[dict[str, Any]] = []
        self.sent = 0
        self.session = zenoh.open(config)
        base = f"uagv/v2/acme/{serial}"
        self.key = f"{base}/inspection"
        self.session.declare_subscriber(f"{base}/inspectionAck", self._on_ack)
        self.session.declare_subscriber("uagv/manager/alerts", self._on_alert)

    def _on_ack(self, sample: zenoh.Sample) -> None:
        with self.lock:
            if self.rng.random() < self.loss:
                return  # the acknowledgement is lost on the way
            for rid in json.loads(sample.payload.to_bytes())["resultIds"]:
                self.acked.add(rid)
                self.unacked.pop(rid, None)

    def _on_alert(self, sample: zenoh.Sample) -> None:
        self.alerts.append(json.loads(sample.payload.to_bytes()))

    def send(self, result: dict[str, Any]) -> None:
        with self.lock:
            self.unacked[result["resultId"]] = result
        self._put(result)

    def _put(self, result: dict[str, Any]) -> None:
        with self.lock:
            lost = self.rng.random() < self.loss
            twice = self.rng.random() < self.duplicates
        for _ in range(0 if lost else 2 if twice else 1):
            self.session.put(self.key, json.dumps(result),
                             encoding=zenoh.Encoding.APPLICATION_JSON)
            self.sent += 1

    def resend(self) -> int:
        """Publish every unacknowledged result again; how many there were."""
        with self.lock:
            pending = list(self.unacked.values())
        for result in pending:
            self._put(result)
        return len(pending)

    def settle(self, timeout: float = 60.0, every: float = 0.3) -> bool:
        """Resend until everything is acknowledged."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.resend() == 0:
                return True
            time.sleep(every)
        return not self.unacked

    def close(self) -> None:
        self.session.close()  # type: ignore[no-untyped-call]


@contextmanager
def plain_client(endpoint: str, serial: str, **kw: Any) -> Iterator[PlainClient]:
    client = PlainClient(endpoint, serial, **kw)
    time.sleep(0.3)  # let the subscriptions reach the router
    try:
        yield client
    finally:
        client.close()


def test_acceptance_one_alarm_sent_five_times_is_one_open_alarm(tmp_path: Path) -> None:
    with manager_on_port(tmp_path) as (manager, endpoint), \
            plain_client(endpoint, "plain-1") as client:
        result = inspection("plain-1", "ip1", 1.8)
        for _ in range(5):
            client.send(result)
            time.sleep(0.05)
        assert wait_for(lambda: result["resultId"] in client.acked, 10)
        assert wait_for(lambda: len(client.alerts) >= 1, 10)
        time.sleep(0.5)  # time for anything wrong (a second anomaly, a second alert)
        anomalies = cli(endpoint, "anomalies", "list")
        assert len(anomalies) == 1
        [a] = anomalies
        assert (a["status"], a["severity"], a["sensor"], a["inspection_point_id"]) == (
            "open", "alarm", "ch4", "ip1")
        assert (a["count"], a["peak"], a["threshold"]) == (1, 1.8, 1.5)
        assert manager.store.count_results() == 1
        [alert] = client.alerts
        assert alert["type"] == "anomaly.opened" and alert["anomaly"]["id"] == a["id"]

        # the supervisor's side: filters, ack, resolve, show
        assert cli(endpoint, "anomalies", "list", "--open", "--severity", "alarm",
                   "--since", "1h") == anomalies
        assert cli(endpoint, "anomalies", "list", "--severity", "critical") == []
        acked = cli(endpoint, "anomalies", "ack", str(a["id"]), "--note", "evacuating",
                    "--by", "shift-lead")
        assert (acked["status"], acked["acknowledged_by"]) == ("acknowledged", "shift-lead")
        resolved = cli(endpoint, "anomalies", "resolve", str(a["id"]), "--note",
                       "ventilation restored", "--by", "shift-lead")
        assert resolved["status"] == "resolved"
        assert cli(endpoint, "anomalies", "list", "--open") == []
        shown = cli(endpoint, "anomalies", "show", str(a["id"]))
        assert [h["event"] for h in shown["anomaly"]["history"]] == [
            "opened", "acknowledged", "resolved"]
        assert [o["result_id"] for o in shown["observations"]] == [result["resultId"]]
        assert [(d["channel"], d["status"]) for d in shown["deliveries"]] == [
            ("zenoh", "delivered")]
        bad = CliRunner().invoke(app, ["anomalies", "ack", str(a["id"]), "--by", "x",
                                       "--connect", endpoint])
        assert bad.exit_code == 1 and bad.stderr.strip() == \
            f"error: anomaly {a['id']} is resolved"

        # exports that standard tools read
        out_csv, out_geo = tmp_path / "a.csv", tmp_path / "a.geojson"
        cli(endpoint, "anomalies", "export", "--format", "csv", "-o", str(out_csv),
            json_out=False)
        cli(endpoint, "anomalies", "export", "--format", "geojson", "-o", str(out_geo),
            json_out=False)
        [row] = csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"), newline=""))
        assert (row["severity"], row["resolve_note"]) == ("alarm", "ventilation restored")
        geo = json.loads(out_geo.read_text(encoding="utf-8"))
        assert geo["type"] == "FeatureCollection"
        assert geo["features"][0]["geometry"] == {"type": "Point", "coordinates": [10.0, 2.5]}


def test_a_mission_report_with_the_route_and_the_anomalies(tmp_path: Path) -> None:
    # rated Ma as well: it stays energised at 1.6 % CH4 (a Gb robot would lock itself out
    # at its power-off level, 1.5 %, and the mission would wait for a person's reset)
    with manager_on_port(tmp_path) as (_manager, endpoint), \
            robot(endpoint, "R1", caps=capabilities(epl=["Ma", "Gb"])) as r1:
        r1.body.readings["ch4"] = 1.6  # type: ignore[attr-defined]  # a GraphBody
        assert wait_for(lambda: any(r["sensors"] for r in cli(endpoint, "robots")))
        mid = cli(endpoint, "mission", "launch", str(TINY_MISSION))["mission_id"]
        assert wait_for(lambda: cli(endpoint, "mission", "status", mid)["status"]
                        == "completed", 60)
        assert wait_for(lambda: len(cli(endpoint, "anomalies", "list", "--mission",
                                        mid[:8])) == 4, 10)
        anomalies = cli(endpoint, "anomalies", "list", "--mission", mid)
        # 1.6 % is past the power-off level at both points: each reading closed the area
        # round it, an alarm of its own (docs/gas-safety.md, "Gas closures")
        assert sorted(a["sensor"] for a in anomalies) == ["ch4", "ch4", "closure:1",
                                                          "closure:2"]
        # p1 lies in the map's zone face-gas, p2 on level L2: placed at the map's nodes
        places = {a["inspection_point_id"]: (a["x"], a["y"], a["level"]) for a in anomalies}
        assert places == {"p1": (40.0, 0.0, "L1"), "p2": (80.0, 20.0, "L2")}
        out = tmp_path / "report.html"
        result = CliRunner().invoke(app, ["report", mid[:8], "-o", str(out), "--connect",
                                          endpoint])
        assert result.exit_code == 0, result.output
        page = out.read_text(encoding="utf-8")
        assert "<svg" in page and "R1 (" in page
        assert page.count("Anomaly: alarm") >= 1 and "ch4 1.6 %" in page
        for a in anomalies:
            assert f"#{a['id']} {a['sensor']}" in page
        action = page[page.index("<h2>Needs action</h2>"):page.index("<h2>Map")]
        assert "fleet closures reopen C-1 --note" in action
        assert "fleet closures reopen C-2 --note" in action


class Webhook:
    def __init__(self, secret: bytes) -> None:
        self.requests: list[tuple[bool, dict[str, Any]]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append((verify(secret, body, self.headers["X-Fleet-Timestamp"],
                                             self.headers["X-Fleet-Signature"]),
                                      json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fleet"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_new_and_escalated_anomalies_reach_a_signed_webhook(tmp_path: Path) -> None:
    hook = Webhook(b"hook-secret")
    try:
        with manager_on_port(tmp_path) as (manager, endpoint), \
                plain_client(endpoint, "plain-2") as client:
            manager.anomalies.configure_alerts(AlertSettings(
                webhooks=(hook.url,), secret=b"hook-secret"))
            client.send(inspection("plain-2", "ip7", 1.1, n=1))  # warning: opened
            assert wait_for(lambda: len(hook.requests) == 1, 15)
            client.send(inspection("plain-2", "ip7", 0.9, n=2))  # info: nothing new
            client.send(inspection("plain-2", "ip7", 2.0, n=3))  # alarm: escalated
            assert wait_for(lambda: len(hook.requests) == 2, 15)
            assert client.settle(10)
    finally:
        hook.close()
    assert [genuine for genuine, _ in hook.requests] == [True, True]
    assert [(b["event"], b["anomaly"]["severity"]) for _, b in hook.requests] == [
        ("opened", "warning"), ("escalated", "alarm")]


def _abnormal(i: int) -> bool:
    return i % 3 == 0


def test_exactly_once_under_20_percent_loss_with_duplicates(tmp_path: Path) -> None:
    n, points = 150, 10
    with manager_on_port(tmp_path) as (manager, endpoint), \
            plain_client(endpoint, "lossy", loss=0.2, duplicates=0.2, seed=7) as client:
        results = [inspection("lossy", f"ip{i % points}", 1.8 if _abnormal(i) else 0.3,
                              n=i) for i in range(n)]
        for r in results:
            client.send(r)
            time.sleep(0.002)
        assert client.settle(90), f"{len(client.unacked)} never acknowledged"
        store = manager.store
        assert client.sent > n  # resends and duplicates happened
        assert store.count_results() == n
        assert store.stored([r["resultId"] for r in results]) == {r["resultId"]
                                                                 for r in results}
        assert wait_for(lambda: store.count_unchecked() == 0, 10)
        anomalies = {a.inspection_point_id: a for a in store.anomalies()}
        expected = {f"ip{p}": sum(1 for i in range(n) if i % points == p and _abnormal(i))
                    for p in range(points)}
        assert {p: a.count for p, a in anomalies.items()} == expected
        assert len(store.observations()) == sum(expected.values())
        assert sorted(d.anomaly_id for d in store.deliveries()) == sorted(
            a.id for a in anomalies.values())  # one alert each


def _serve(endpoint: str, db: Path, hook: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fleet", "serve", "--listen", endpoint, "--db",
         f"sqlite:///{db}", "--webhook", hook, "--webhook-secret-env", "E2E_HOOK_SECRET"],
        cwd=ROOT, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "E2E_HOOK_SECRET": "kill-drill"})


def test_manager_killed_mid_stream_every_result_stored_and_counted_once(
        tmp_path: Path) -> None:
    endpoint = f"tcp/127.0.0.1:{free_port()}"
    db = tmp_path / "fleet.db"
    n, points = 240, 8
    hook = Webhook(b"kill-drill")
    server = _serve(endpoint, db, hook.url)
    try:
        assert wait_for(lambda: _answers(endpoint), 30)
        with plain_client(endpoint, "steady") as client:
            results = [inspection("steady", f"ip{i % points}", 1.8 if _abnormal(i) else 0.3,
                                  n=i) for i in range(n)]
            for r in results[:n // 4]:
                client.send(r)
            assert wait_for(lambda: len(client.acked) >= 20, 20)
            for r in results[n // 4:n // 2]:
                client.send(r)
            server.send_signal(signal.SIGKILL)  # mid-stream: some stored, some in flight
            server.wait(10)
            with Store.open(f"sqlite:///{db}") as store:
                assert 20 <= store.count_results() <= n // 2
            for r in results[n // 2:]:
                client.send(r)  # into the void: nothing listens
            server = _serve(endpoint, db, hook.url)
            assert wait_for(lambda: _answers(endpoint), 30)
            assert client.settle(90, every=0.3), f"{len(client.unacked)} never acknowledged"
            assert wait_for(lambda: _unchecked(db) == 0, 20)
            # every point's alert reaches the webhook, through the kill (the outbox)
            assert wait_for(lambda: len({b["anomaly"]["inspection_point_id"]
                                         for _, b in hook.requests}) == points, 20)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
        hook.close()
    assert all(genuine for genuine, _ in hook.requests)
    with Store.open(f"sqlite:///{db}") as store:
        assert store.count_results() == n
        assert store.count_unchecked() == 0
        expected = {f"ip{p}": sum(1 for i in range(n) if i % points == p and _abnormal(i))
                    for p in range(points)}
        assert {a.inspection_point_id: a.count for a in store.anomalies()} == expected
        assert len(store.observations()) == sum(expected.values())
        webhook = [d for d in store.deliveries() if d.channel == "webhook"]
        assert len(webhook) == points and all(d.status == "delivered" for d in webhook)


def _answers(endpoint: str) -> bool:
    result = CliRunner().invoke(app, ["robots", "--connect", endpoint, "--json"])
    return result.exit_code == 0


def _unchecked(db: Path) -> int:
    with Store.open(f"sqlite:///{db}") as store:
        return store.count_unchecked()
