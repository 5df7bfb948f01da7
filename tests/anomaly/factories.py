"""Inspection results as a robot sends them (wire JSON), for the anomaly tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fleet.protocol.header import VERSION, utc_timestamp

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def result(point: str = "p1", *, at: float = 0.0, serial: str = "R1",
           readings: dict[str, tuple[float, str]] | None = None,
           findings: list[dict[str, Any]] | None = None, result_id: str | None = None,
           mission_id: str | None = None, x: float = 40.0, y: float = 0.0) -> dict[str, Any]:
    """One result at ``point``, measured ``at`` seconds after T0 (ms precision), of an
    action of its own (the ``actionId`` follows the ``resultId``: results with distinct ids
    are distinct inspections, not repeats of one)."""
    result_id = result_id or str(uuid.uuid4())
    body: dict[str, Any] = {
        "headerId": 0, "timestamp": utc_timestamp(T0 + timedelta(seconds=at)),
        "version": VERSION, "manufacturer": "acme", "serialNumber": serial,
        "resultId": result_id, "orderId": "order-1",
        "actionId": f"inspect-{point}-{result_id[:8]}", "inspectionPointId": point,
        "nodeId": point,
        "agvPosition": {"x": x, "y": y, "theta": 0.0, "mapId": "L1",
                        "positionInitialized": True},
        "readings": [{"sensor": s, "value": v, "unit": u}
                     for s, (v, u) in (readings or {"ch4": (0.2, "%vol")}).items()],
    }
    if findings is not None:
        body["findings"] = findings
    if mission_id is not None:
        body["missionId"] = mission_id
    return body


def ch4(value: float, point: str = "p1", *, at: float = 0.0, **kw: Any) -> dict[str, Any]:
    """A result with one methane reading in %vol."""
    return result(point, at=at, readings={"ch4": (value, "%vol")}, **kw)
