"""Inspection results on their way into the store, and as they come back out.

:func:`result_rows` turns a batch of results — :class:`~fleet.protocol.inspection.InspectionResult`
models, or their wire JSON objects as :func:`fleet.protocol.codec.decode_json` returns
them — into plain row dicts for one bulk insert per table (the fast path: no ORM object per
row). :class:`StoredResult` is a result read back, with its readings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fleet.errors import StoreError
from fleet.protocol.header import parse_timestamp
from fleet.protocol.inspection import InspectionResult, Reading

ResultLike = InspectionResult | Mapping[str, Any]
"""What :meth:`fleet.store.Store.record_results` accepts: a model or its wire JSON object."""

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredResult:
    """An inspection result as stored: the message's fields plus ``mission_id`` and times.

    ``measured_at`` is the message's header timestamp and ``received_at`` when the store
    took it, both aware UTC. ``position`` is the ``agvPosition`` JSON object and
    ``findings`` the ``findings`` list (None when the robot sent none). ``repeat_of`` is
    None for an inspection, and for a repeat the inspection it repeats
    (:mod:`fleet.store.repeats`).
    """

    result_id: str
    mission_id: str | None
    order_id: str
    action_id: str
    manufacturer: str
    serial_number: str
    inspection_point_id: str
    node_id: str
    measured_at: datetime
    received_at: datetime
    position: dict[str, Any]
    findings: list[dict[str, Any]] | None
    readings: tuple[Reading, ...]
    repeat_of: str | None = None

    def reading(self, sensor: str) -> Reading | None:
        """The first reading of ``sensor``, or None."""
        return next((r for r in self.readings if r.sensor == sensor), None)


def result_rows(
    results: Iterable[ResultLike],
    *,
    received_at: datetime,
    order_missions: Mapping[str, str | None] | None = None,
) -> tuple[list[Row], list[Row]]:
    """The ``inspection_results`` rows and ``readings`` rows of a batch, duplicates dropped.

    A result id that appears more than once in the batch keeps its first occurrence. The
    mission of a result is its ``missionId`` key (JSON objects only), else
    ``order_missions[orderId]``, else None. StoreError, naming the result, when an item
    lacks a field or has one of the wrong type; nothing is written then.
    """
    missions = order_missions or {}
    # Naive UTC from here on: UtcDateTime takes naive as UTC and so skips a conversion per
    # bound value (four per result: two on the result, one per reading).
    received = _naive_utc(received_at)
    rows: list[Row] = []
    readings: list[Row] = []
    seen: set[str] = set()
    for item in results:
        try:
            if isinstance(item, InspectionResult):
                row, values = _from_model(item)
            elif isinstance(item, Mapping):
                row, values = _from_json(item)
            else:
                raise StoreError(f"not an inspection result: {type(item).__name__}")
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            rid = item.get("resultId") if isinstance(item, Mapping) else None
            raise StoreError(f"inspection result {rid or '(without resultId)'}: "
                             f"{_what(exc)}") from None
        rid = row["result_id"]
        if rid in seen:
            continue
        seen.add(rid)
        rows.append(row)
        if row["mission_id"] is None:
            row["mission_id"] = missions.get(row["order_id"])
        row["received_at"] = received
        point, at = row["inspection_point_id"], row["measured_at"]
        readings.extend(
            {"result_id": rid, "seq": seq, "sensor": sensor, "value": value, "unit": unit,
             "inspection_point_id": point, "measured_at": at}
            for seq, (sensor, value, unit) in enumerate(values))
    return rows, readings


def _naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _what(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc) or type(exc).__name__


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def _from_json(d: Mapping[str, Any]) -> tuple[Row, list[tuple[str, float, str]]]:
    findings = d.get("findings")
    position = d["agvPosition"]
    if not isinstance(position, Mapping):
        raise ValueError("agvPosition must be an object")
    mission = d.get("missionId")
    row: Row = {
        "result_id": _text(d["resultId"], "resultId"),
        "mission_id": _text(mission, "missionId") if mission is not None else None,
        "order_id": _text(d["orderId"], "orderId"),
        "action_id": _text(d["actionId"], "actionId"),
        "manufacturer": _text(d["manufacturer"], "manufacturer"),
        "serial_number": _text(d["serialNumber"], "serialNumber"),
        "inspection_point_id": _text(d["inspectionPointId"], "inspectionPointId"),
        "node_id": _text(d["nodeId"], "nodeId"),
        "measured_at": _naive_utc(parse_timestamp(d["timestamp"])),
        "position": dict(position),
        "findings": [dict(f) for f in findings] if findings is not None else None,
    }
    values = [(_text(r["sensor"], "sensor"), _number(r["value"], "value"),
               _text(r["unit"], "unit")) for r in d["readings"]]
    return row, values


def _from_model(r: InspectionResult) -> tuple[Row, list[tuple[str, float, str]]]:
    row: Row = {
        "result_id": _text(r.result_id, "resultId"),
        "mission_id": None,
        "order_id": r.order_id,
        "action_id": r.action_id,
        "manufacturer": r.header.manufacturer,
        "serial_number": r.header.serial_number,
        "inspection_point_id": r.inspection_point_id,
        "node_id": r.node_id,
        "measured_at": _naive_utc(parse_timestamp(r.header.timestamp)),
        "position": r.agv_position.to_json(),
        "findings": [f.to_json() for f in r.findings] if r.findings is not None else None,
    }
    values = [(x.sensor, _number(x.value, "value"), x.unit) for x in r.readings]
    return row, values
