"""A fake manager for the dashboard's tests: it publishes the live feed's messages
(docs/dashboard.md) on the in-memory network, as a test dictates, and answers the
snapshot, sites, trend and anomaly queries."""

from __future__ import annotations

import json
from typing import Any

from fleet.comms import Bus, MemoryNetwork
from fleet.comms.bus import Request
from fleet.dashboard.state import LISTS
from fleet.errors import FleetError
from fleet.manager.api import api_key

ITF = "uagv"


def robot(serial: str, *, activity: str = "working", x: float = 0.0, y: float = 0.0,
          **more: Any) -> dict[str, Any]:
    return {"manufacturer": "acme", "serial": serial, "status": "online",
            "activity": activity, "battery": 80.0, "charging": False, "x": x, "y": y,
            "level": "L0", "site": "mine", "node": "n1", "mission_id": None,
            "waiting": None, **more}


def anomaly(anomaly_id: int, *, severity: str = "warning") -> dict[str, Any]:
    return {"id": anomaly_id, "severity": severity, "status": "open", "rule": "max",
            "sensor": "h2s", "value": 12.0, "unit": "ppm", "point": "P1", "node": "n1",
            "x": 1.0, "y": 2.0, "level": "L0", "raised_at": "2026-01-01T00:00:00+00:00"}


SITES = [{"name": "mine", "kind": "mine", "levels": [{"id": "L0", "name": "Level 0"}],
          "nodes": [{"id": "n1", "x": 0, "y": 0, "level": "L0", "kind": "dock"},
                    {"id": "n2", "x": 10, "y": 0, "level": "L0", "kind": "point"}],
          "edges": [{"a": "n1", "b": "n2", "single_lane": True}]}]


class FakeManager:
    """Keeps the whole state the messages describe, so that snapshots match them."""

    def __init__(self, network: MemoryNetwork) -> None:
        self.network = network
        self.bus = Bus(network.transport())
        self.seq = 0
        self.robots: dict[str, dict[str, Any]] = {}
        self.anomalies: dict[int, dict[str, Any]] = {}
        self.missions: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, list[Any]] = {k: [] for k in LISTS}
        self.snapshots = 0
        self.actions: list[tuple[str, dict[str, Any]]] = []
        self.bus.serve(api_key(ITF, "live/snapshot"), self._snapshot)
        self.bus.serve(api_key(ITF, "sites"), lambda _r: SITES)
        self.bus.serve(api_key(ITF, "trend"), self._trend)
        self.bus.serve(api_key(ITF, "anomalies/ack"), self._change("ack"))
        self.bus.serve(api_key(ITF, "anomalies/resolve"), self._change("resolve"))

    def full(self) -> dict[str, Any]:
        return {"v": 1, "seq": self.seq, "at": "2026-01-01T08:00:00+00:00", "full": True,
                "robots": list(self.robots.values()), "gone": [],
                "missions": list(self.missions.values()),
                "anomalies": list(self.anomalies.values()), "anomalies_closed": [],
                **self.lists}

    def _snapshot(self, _request: Request) -> Any:
        self.snapshots += 1
        return self.full()

    def _trend(self, request: Request) -> Any:
        body = request.body
        if body["point"] != "P1":
            raise FleetError(f"no point {body['point']}")
        return {"point": "P1", "sensor": body["sensor"], "unit": "ppm",
                "readings": [["2026-01-01T07:00:00+00:00", 3.0]], "limits": {"max": 10}}

    def _change(self, verb: str) -> Any:
        def handler(request: Request) -> Any:
            body = request.body
            if body["id"] not in self.anomalies:
                raise FleetError(f"no anomaly {body['id']}")
            self.actions.append((verb, body))
            return {**self.anomalies[body["id"]], "status": "acknowledged"}
        return handler

    def publish(self, *, skip: int = 0, full: bool = False, **parts: Any) -> dict[str, Any]:
        """Publish the next message (``skip`` seq numbers lost on the way) with ``parts``,
        after applying them to the fake's own state."""
        self.seq += 1 + skip
        for r in parts.get("robots", []):
            self.robots[r["serial"]] = r
        for serial in parts.get("gone", []):
            self.robots.pop(serial, None)
        for a in parts.get("anomalies", []):
            self.anomalies[a["id"]] = a
        for anomaly_id in parts.get("anomalies_closed", []):
            self.anomalies.pop(anomaly_id, None)
        for m in parts.get("missions", []):
            self.missions[m["mission_id"]] = m
        for name in LISTS:
            if name in parts:
                self.lists[name] = parts[name]
        message = self.full() if full else {"v": 1, "seq": self.seq,
                                            "at": "2026-01-01T08:00:01+00:00", "full": False,
                                            **parts}
        self.bus.publish_raw(api_key(ITF, "live"), json.dumps(message).encode())
        self.network.drain()
        return message

    def event(self, serial: str | None, kind: str) -> None:
        self.bus.publish_raw(api_key(ITF, "live/events"), json.dumps(
            {"mission_id": "m1", "kind": kind, "robot": serial, "detail": {},
             "at": "2026-01-01T08:00:02+00:00"}).encode())
        self.network.drain()
