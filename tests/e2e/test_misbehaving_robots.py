"""Robots that misbehave, through the whole system on real Zenoh (loopback, free ports,
scouting off).

- A robot that publishes a malformed inspection result is told why, on ``inspectionAck``
  (``rejected``), stops resending it, and a supervisor sees the refusal in
  ``fleet robots show``; the real ``fleet serve`` logs the reason once, not once per copy.
- A robot that follows its orders but skips ``inspect`` actions and sends a malformed
  result instead of a valid one never hangs a mission: the points it leaves behind are
  handed back (``inspection_left``) and inspected by another robot, each exactly once.

The misbehaving robot is :class:`PlainRobot`: raw zenoh sessions and JSON written by hand,
as docs/protocol.md describes a robot, nothing of ``fleet`` on its side.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import zenoh
from typer.testing import CliRunner

from fleet.cli.main import app
from fleet.comms.config import free_port, tcp_endpoint
from fleet.facility import load

from .fleetkit import ROOT, manager_on_port, robot, wait_for

CORRIDOR_MAP = ROOT / "tests" / "data" / "maps" / "corridor.yaml"
CORRIDOR_MISSION = ROOT / "tests" / "data" / "missions" / "corridor_patrol.yaml"
MANUFACTURER = "acme"
UNITS = {"ch4": "%vol", "o2": "%vol", "co": "ppm"}
FACTSHEET: dict[str, Any] = {
    "typeSpecification": {"seriesName": "plain", "agvKinematic": "DIFF",
                          "agvClass": "CARRIER", "maxLoadMass": 0,
                          "localizationTypes": ["NATURAL"], "navigationTypes": ["AUTONOMOUS"]},
    "physicalParameters": {"speedMin": 0, "speedMax": 1.0, "accelerationMax": 0.5,
                           "decelerationMax": 0.5, "heightMax": 1.0, "width": 0.6,
                           "length": 1.0},
    "protocolLimits": {"maxStringLens": {}, "maxArrayLens": {},
                       "timing": {"minOrderInterval": 1.0, "minStateInterval": 0.1}},
    "protocolFeatures": {"optionalParameters": [], "agvActions": [
        {"actionType": "inspect", "actionScopes": ["NODE"], "actionParameters": [
            {"key": "inspectionPointId", "valueDataType": "STRING"},
            {"key": "sensors", "valueDataType": "ARRAY"},
            {"key": "durationSeconds", "valueDataType": "NUMBER"}]},
        {"actionType": "factsheetRequest", "actionScopes": ["INSTANT"]},
        {"actionType": "cancelOrder", "actionScopes": ["INSTANT"]}]},
    "agvGeometry": {}, "loadSpecification": {},
    "inspection": {"sensors": ["ch4", "o2", "co"], "epl": "Gb", "batteryWh": 5000.0,
                   "whPerMetre": 0.05, "whPerSecond": 0.01, "chargeW": 500.0},
}

pytestmark = pytest.mark.timeout(90)

Policy = Callable[[int], str]
"""What a :class:`PlainRobot` does with its n-th inspect action (0-based): ``"run"``,
``"skip"`` or ``"malformed"``."""


def _stamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class PlainRobot:
    """A robot in plain zenoh and JSON (docs/protocol.md), with a chosen misbehaviour.

    It declares its liveliness token, says ONLINE, publishes its factsheet and a state (on
    every change and every half second), follows orders and order updates through the
    released base (one node per ``step`` seconds), and treats its n-th ``inspect`` action as
    ``policy(n)`` says: ``run`` it (readings, a valid result), ``skip`` it (left WAITING; the
    robot drives past), or run it and publish a ``malformed`` result (the first reading's
    value a string; the resultId readable). Results are resent every ``resend_every``
    seconds until acknowledged or rejected; a rejection's reason is logged once.

    Everything runs on one worker thread (zenoh calls back into a queue), so the counts
    below are exact: :meth:`sends_of` after a rejection was handled equals
    :attr:`sends_at_rejection` exactly when the robot sent nothing more.
    """

    def __init__(self, endpoint: str, serial: str, *, policy: Policy = lambda n: "run",
                 step: float = 0.2, dwell_scale: float = 0.1,
                 resend_every: float = 0.5) -> None:
        self.serial = serial
        self.policy = policy
        self.step, self.dwell_scale, self.resend_every = step, dwell_scale, resend_every
        self.base = f"uagv/v2/{MANUFACTURER}/{serial}"
        self.lock = threading.Lock()
        self.sends: list[str] = []
        """resultId of every inspection message published, in order."""
        self.rejections: list[tuple[str, str]] = []
        """Every (resultId, reason) received in ``rejected``, duplicates too."""
        self.sends_at_rejection: dict[str, int] = {}
        """resultId → how often it had been published when its first rejection arrived."""
        self.acked: set[str] = set()
        self.logged: list[str] = []
        """What the robot logged (a rejection's reason, once per result)."""
        self.skipped: list[str] = []
        self.malformed: dict[str, str] = {}
        """point → resultId of the malformed result sent for it."""
        self.ran: list[str] = []
        self.errors: list[str] = []
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._headers: dict[str, int] = {}
        self._unacked: dict[str, dict[str, Any]] = {}
        config = zenoh.Config()
        config.insert_json5("mode", '"client"')
        config.insert_json5("connect/endpoints", json.dumps([endpoint]))
        config.insert_json5("connect/timeout_ms", "5000")
        config.insert_json5("scouting/multicast/enabled", "false")
        config.insert_json5("transport/link/tx/lease", "1000")
        self.session = zenoh.open(config)
        self._subscribers = [self.session.declare_subscriber(f"{self.base}/{t}", self._receive)
                             for t in ("order", "instantActions", "inspectionAck")]
        self._token = self.session.liveliness().declare_token(f"{self.base}/alive")
        self._thread = threading.Thread(target=self._guarded, name=f"plain-{serial}",
                                        daemon=True)

    # -- the test's side -----------------------------------------------------------------
    def __enter__(self) -> PlainRobot:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.session.close()  # type: ignore[no-untyped-call]

    def publish(self, result: dict[str, Any], *, copies: int = 1) -> None:
        """Publish ``result`` (``copies`` times at once), then resend it until answered."""
        self._inbox.put(("publish", (result, copies)))

    def sends_of(self, result_id: str) -> int:
        with self.lock:
            return self.sends.count(result_id)

    def unacked(self) -> list[str]:
        with self.lock:
            return list(self._unacked)

    # -- the robot -----------------------------------------------------------------------
    def _receive(self, sample: zenoh.Sample) -> None:
        try:
            self._inbox.put((str(sample.key_expr).rsplit("/", 1)[1],
                             json.loads(sample.payload.to_bytes())))
        except ValueError as exc:
            self.errors.append(f"not JSON: {exc}")

    def _send(self, topic: str, body: dict[str, Any]) -> None:
        n = self._headers[topic] = self._headers.get(topic, -1) + 1
        message = {"headerId": n, "timestamp": _stamp(), "version": "2.1.0",
                   "manufacturer": MANUFACTURER, "serialNumber": self.serial, **body}
        self.session.put(f"{self.base}/{topic}", json.dumps(message),
                         encoding=zenoh.Encoding.APPLICATION_JSON)

    def _put_result(self, result: dict[str, Any]) -> None:
        self._send("inspection", result)
        with self.lock:
            self.sends.append(result["resultId"])

    def _guarded(self) -> None:
        try:
            self._run()
        except Exception as exc:  # a test helper thread: surface the failure to the test
            self.errors.append(f"{type(exc).__name__}: {exc}")
            raise

    def _run(self) -> None:
        order = {"orderId": "", "orderUpdateId": 0, "lastNodeId": "", "lastNodeSequenceId": 0}
        nodes: list[dict[str, Any]] = []
        edges: list[dict[str, Any]] = []
        todo: list[dict[str, Any]] = []
        actions: dict[str, dict[str, Any]] = {}
        running: tuple[dict[str, Any], dict[str, Any], float, str] | None = None
        last_node: dict[str, Any] = {}
        position = {"x": 0.0, "y": 0.0, "theta": 0.0, "mapId": "L1",
                    "positionInitialized": True}
        inspects = 0
        self._send("connection", {"connectionState": "ONLINE"})
        self._send("factsheet", FACTSHEET)
        changed, last_state, last_resend, next_move = True, 0.0, time.monotonic(), 0.0
        while not self._stop.is_set():
            try:
                topic, msg = self._inbox.get(timeout=0.02)
            except queue.Empty:
                topic, msg = "", None
            now = time.monotonic()
            if topic == "order":
                new = msg["orderId"] != order["orderId"]
                if new or msg["orderUpdateId"] > order["orderUpdateId"]:
                    order["orderId"], order["orderUpdateId"] = msg["orderId"], msg["orderUpdateId"]
                    done = -1 if new else order["lastNodeSequenceId"]
                    keep = -1 if new else msg["nodes"][0]["sequenceId"]
                    nodes = ([n for n in nodes if n["sequenceId"] < keep]
                             + [n for n in msg["nodes"] if n["sequenceId"] > done])
                    edges = ([e for e in edges if e["sequenceId"] < keep]
                             + [e for e in msg["edges"] if e["sequenceId"] > done])
                    if new:
                        actions = {}
                    for node in msg["nodes"]:
                        for a in node["actions"]:
                            actions.setdefault(a["actionId"], {
                                "actionId": a["actionId"], "actionType": a["actionType"],
                                "actionStatus": "WAITING"})
                    changed = True
            elif topic == "instantActions":
                for a in msg["actions"]:
                    status = "FINISHED"
                    if a["actionType"] == "factsheetRequest":
                        self._send("factsheet", FACTSHEET)
                    elif a["actionType"] == "cancelOrder":
                        for pending in [x for n in nodes for x in n["actions"]] + todo:
                            actions[pending["actionId"]]["actionStatus"] = "FAILED"
                        nodes, edges, todo = [], [], []
                    elif a["actionType"] != "stateRequest":
                        status = "FAILED"
                    actions[a["actionId"]] = {"actionId": a["actionId"],
                                              "actionType": a["actionType"],
                                              "actionStatus": status}
                    changed = True
            elif topic == "inspectionAck":
                with self.lock:
                    for rid in msg["resultIds"]:
                        self.acked.add(rid)
                        self._unacked.pop(rid, None)
                    for refused in msg.get("rejected", []):
                        rid, reason = refused["resultId"], refused["reason"]
                        self.rejections.append((rid, reason))
                        self.sends_at_rejection.setdefault(rid, self.sends.count(rid))
                        if self._unacked.pop(rid, None) is not None:
                            self.logged.append(f"manager rejected result {rid}: {reason}")
            elif topic == "publish":
                result, copies = msg
                with self.lock:
                    self._unacked[result["resultId"]] = result
                for _ in range(copies):
                    self._put_result(result)
            if running is None and todo:
                action = todo.pop(0)
                params = {p["key"]: p["value"] for p in action.get("actionParameters", [])}
                what = self.policy(inspects) if action["actionType"] == "inspect" else "fail"
                if action["actionType"] == "inspect":
                    inspects += 1
                if what == "skip":
                    self.skipped.append(params["inspectionPointId"])  # stays WAITING
                elif what == "fail":
                    actions[action["actionId"]].update(actionStatus="FAILED",
                                                       resultDescription="not supported")
                else:
                    end = now + float(params["durationSeconds"]) * self.dwell_scale
                    running = (action, params, end, what)
                    actions[action["actionId"]]["actionStatus"] = "RUNNING"
                changed = True
            if running is not None and now >= running[2]:
                action, params, _, what = running
                result = {"resultId": str(uuid.uuid4()), "orderId": order["orderId"],
                          "actionId": action["actionId"], "nodeId": last_node["nodeId"],
                          "inspectionPointId": params["inspectionPointId"],
                          "agvPosition": dict(position),
                          "readings": [{"sensor": s, "value": 0.3, "unit": UNITS.get(s, "")}
                                       for s in params["sensors"]]}
                if what == "malformed":
                    result["readings"][0]["value"] = "high"
                    self.malformed[params["inspectionPointId"]] = result["resultId"]
                else:
                    self.ran.append(params["inspectionPointId"])
                with self.lock:
                    self._unacked[result["resultId"]] = result
                self._put_result(result)
                actions[action["actionId"]]["actionStatus"] = "FINISHED"
                running, changed = None, True
            if (running is None and not todo and nodes and nodes[0]["released"]
                    and now >= next_move):
                last_node = nodes.pop(0)
                edges = [e for e in edges if e["sequenceId"] > last_node["sequenceId"]]
                order["lastNodeId"] = last_node["nodeId"]
                order["lastNodeSequenceId"] = last_node["sequenceId"]
                position.update({k: v for k, v in last_node.get("nodePosition", {}).items()
                                 if k in ("x", "y", "theta", "mapId")})
                todo = list(last_node["actions"])
                changed, next_move = True, now + self.step
            if changed or now - last_state >= 0.5:
                self._send("state", {
                    **order, "driving": False, "operatingMode": "AUTOMATIC", "errors": [],
                    "nodeStates": [{k: n[k] for k in ("nodeId", "sequenceId", "released")}
                                   for n in nodes],
                    "edgeStates": [{k: e[k] for k in ("edgeId", "sequenceId", "released")}
                                   for e in edges],
                    "actionStates": list(actions.values()), "agvPosition": position,
                    "batteryState": {"batteryCharge": 80.0, "charging": False},
                    "safetyState": {"eStop": "NONE", "fieldViolation": False}})
                changed, last_state = False, now
            if now - last_resend >= self.resend_every:
                with self.lock:
                    pending = list(self._unacked.values())
                for result in pending:
                    self._put_result(result)
                last_resend = now
        self._send("connection", {"connectionState": "OFFLINE"})
        time.sleep(0.05)  # let OFFLINE arrive before the token goes with the session


def malformed_result(serial: str, point: str = "c1") -> dict[str, Any]:
    """An inspection result whose first reading's value is a string (schema: a number);
    everything else, its resultId too, is as docs/protocol.md spells it."""
    return {"resultId": str(uuid.uuid4()), "orderId": "manual-1", "actionId": "inspect-1",
            "inspectionPointId": point, "nodeId": point,
            "agvPosition": {"x": 10.0, "y": 0.0, "theta": 0.0, "mapId": "L1",
                            "positionInitialized": True},
            "readings": [{"sensor": "ch4", "value": "high", "unit": "%vol"},
                         {"sensor": "o2", "value": 20.8, "unit": "%vol"}]}


def cli(endpoint: str, *args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--connect", endpoint, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def fleet(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m fleet ARGS`` in its own process, on this checkout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    return subprocess.run([sys.executable, "-m", "fleet", *args], cwd=cwd, env=env,
                          text=True, capture_output=True, timeout=30)


def known(endpoint: str, serial: str) -> bool:
    """Whether the manager lists ``serial`` online with its capabilities."""
    return any(r["serial"] == serial and r["status"] == "online" and r["sensors"]
               for r in cli(endpoint, "robots"))


def test_a_robot_is_told_what_was_wrong_with_its_result(tmp_path: Path) -> None:
    started = time.monotonic()
    endpoint = tcp_endpoint("127.0.0.1", free_port())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    log_path = tmp_path / "serve.log"
    with log_path.open("w", encoding="utf-8") as log_file:
        serve = subprocess.Popen(
            [sys.executable, "-m", "fleet", "serve", "--listen", endpoint, "--db",
             f"sqlite:///{tmp_path / 'fleet.db'}", "--robot-timeout", "2",
             "--plan-time-limit", "1"],
            cwd=tmp_path, env=env, text=True, stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        assert wait_for(lambda: CliRunner().invoke(
            app, ["robots", "--connect", endpoint, "--json"]).exit_code == 0, 20)
        with PlainRobot(endpoint, "told-1", resend_every=0.5) as bot:
            assert wait_for(lambda: known(endpoint, "told-1"), 10)
            result = malformed_result("told-1")
            rid = result["resultId"]
            # the first publication goes out three times (copies already on their way when
            # the answer comes: the manager refuses each, and says so each time)
            bot.publish(result, copies=3)
            assert wait_for(lambda: bool(bot.rejections), 10), bot.errors
            time.sleep(4 * bot.resend_every)  # four resend periods: nothing may follow
            assert not bot.errors, bot.errors

            ids = {r for r, _ in bot.rejections}
            assert ids == {rid}
            reasons = {reason for _, reason in bot.rejections}
            assert len(reasons) == 1
            reason = reasons.pop()
            assert reason.strip() and "\n" not in reason and len(reason) <= 500
            assert "readings[0].value" in reason, reason
            # no resend after the rejection, and the reason logged once
            assert bot.sends_of(rid) == bot.sends_at_rejection[rid] >= 3
            assert bot.unacked() == [] and rid not in bot.acked
            assert bot.logged == [f"manager rejected result {rid}: {reason}"]
            sent = bot.sends_of(rid)

            shown = fleet("robots", "show", f"{MANUFACTURER}/told-1", "--connect", endpoint,
                          "--json", cwd=tmp_path)
            assert shown.returncode == 0, shown.stderr
            record = json.loads(shown.stdout)
            assert record["last_rejected"]["topic"] == "inspection"
            assert record["last_rejected"]["reason"] == reason
            assert record["refused"] == sent  # every copy refused, each answered
            text = fleet("robots", "show", f"{MANUFACTURER}/told-1", "--connect", endpoint,
                         cwd=tmp_path)
            assert text.returncode == 0, text.stderr
            assert "last_rejected:" in text.stdout
            assert any(line.split() == ["topic", "inspection"]
                       for line in text.stdout.splitlines()), text.stdout
            assert reason in text.stdout
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=20)
        finally:
            if serve.poll() is None:
                serve.kill()
    assert serve.returncode == 0
    log = log_path.read_text(encoding="utf-8")
    assert log.count(reason) == 1, log
    line = next(x for x in log.splitlines() if reason in x)
    assert "WARNING" in line and f"{MANUFACTURER}/told-1" in line, line
    assert time.monotonic() - started < 40


def test_a_robot_that_skips_inspections_never_hangs_the_mission(tmp_path: Path) -> None:
    started = time.monotonic()
    fac = load(CORRIDOR_MAP)
    # the first two inspect actions skipped, the third answered with a malformed result,
    # the rest done properly
    misbehaviour = {0: "skip", 1: "skip", 2: "malformed"}
    with manager_on_port(tmp_path, result_grace=1.0) as (manager, endpoint), \
            PlainRobot(endpoint, "sloppy", policy=lambda n: misbehaviour.get(n, "run")) as bad:
        assert wait_for(lambda: known(endpoint, "sloppy"), 10)
        mid = cli(endpoint, "mission", "launch", str(CORRIDOR_MISSION))["mission_id"]

        def sloppy_has_all() -> bool:
            robots = cli(endpoint, "mission", "status", mid)["robots"]
            return [(r["serial"], r["inspections"]["total"]) for r in robots] == [("sloppy", 4)]

        assert wait_for(sloppy_has_all, 15)  # alone online: the whole round is its
        with robot(endpoint, "steady", fac=fac):
            assert wait_for(lambda: cli(endpoint, "mission", "status", mid)["status"]
                            in ("completed", "partially_completed", "failed", "aborted"), 40)
        status = cli(endpoint, "mission", "status", mid)
        events = manager.store.events(mid)
        results = manager.store.results(mid)
        assert not bad.errors, bad.errors

    story = [(e.kind, e.robot_serial, e.detail) for e in events]
    assert status["status"] == "completed", (status, story)
    assert status["inspections"]["done"] == status["inspections"]["total"] == 4
    points = {"c1", "c2", "c3", "c4"}
    # one stored result per point: nothing lost, nothing twice
    assert Counter(r.inspection_point_id for r in results) == dict.fromkeys(points, 1)
    # its first round: two skipped, one malformed, one done; free again after it (its
    # round closed), it may take some of what it left behind in a later one
    assert len(bad.skipped) == 2 and len(bad.malformed) == 1 and len(bad.ran) >= 1
    misbehaved = {*bad.skipped, *bad.malformed}
    left = [(e.robot_serial, e.detail) for e in events if e.kind == "inspection_left"]
    assert sorted(d["point"] for _, d in left) == sorted(misbehaved), story
    assert all(serial == "sloppy" and d["times"] == 1 for serial, d in left), story
    why = {d["point"]: d["why"] for _, d in left}
    for point in bad.skipped:
        assert "drove past it without running its inspect action (WAITING)" in why[point]
    (bad_point, bad_rid), = bad.malformed.items()
    assert "finished but no result was stored" in why[bad_point]
    # the malformed result was rejected, and not resent after that
    assert {r for r, _ in bad.rejections} == {bad_rid}
    assert bad.sends_of(bad_rid) == bad.sends_at_rejection[bad_rid]
    # the points left behind were inspected again (by either robot), the rest by the first
    assert set(status["done"]) == points
    assert status["done"][bad.ran[0]] == "sloppy" and bad.ran[0] not in misbehaved
    assert not [e for e in story if e[0] in ("dropped", "inspection_failed")], story
    assert time.monotonic() - started < 40


def test_a_lone_robot_that_skipped_inspections_is_sent_back_for_them(tmp_path: Path) -> None:
    # the only robot skips its first two inspect actions and still lists them WAITING once
    # its round is over: the manager closes that round, so the robot is free again and gets
    # the two points in a new order (a mission with nobody else must not wait for ever)
    started = time.monotonic()
    misbehaviour = {0: "skip", 1: "skip"}
    with manager_on_port(tmp_path, result_grace=1.0) as (manager, endpoint), \
            PlainRobot(endpoint, "alone", policy=lambda n: misbehaviour.get(n, "run")) as bad:
        assert wait_for(lambda: known(endpoint, "alone"), 10)
        mid = cli(endpoint, "mission", "launch", str(CORRIDOR_MISSION))["mission_id"]
        assert wait_for(lambda: cli(endpoint, "mission", "status", mid)["status"]
                        in ("completed", "partially_completed", "failed", "aborted"), 40)
        status = cli(endpoint, "mission", "status", mid)
        events = manager.store.events(mid)
        results = manager.store.results(mid)
        assert not bad.errors, bad.errors
    story = [(e.kind, e.robot_serial, e.detail) for e in events]
    assert status["status"] == "completed", (status, story)
    assert Counter(r.inspection_point_id for r in results) == dict.fromkeys(
        ("c1", "c2", "c3", "c4"), 1)
    left = sorted(e.detail["point"] for e in events if e.kind == "inspection_left")
    assert left == sorted(bad.skipped), story
    assert set(status["done"].values()) == {"alone"}
    assert len([e for e in events if e.kind == "dispatched"]) == 2, story
    assert time.monotonic() - started < 40
