"""The inspection extension: the ``inspect`` action, results, and their acknowledgement.

- The manager puts an action ``inspect`` (blocking HARD) on an order node, with parameters
  ``inspectionPointId`` (string), ``sensors`` (list of strings) and ``durationSeconds``
  (number): :func:`inspect_action` builds it, :func:`read_inspect_action` reads it back.
- When the readings are taken the robot publishes an :class:`InspectionResult` on topic
  ``inspection``, with a ``resultId`` (UUID, :func:`new_result_id`) that is the idempotency
  key: the robot keeps the result and publishes it again, same ``resultId``, until it is
  acknowledged; the manager stores each ``resultId`` at most once.
- The manager answers on ``inspectionAck`` with an :class:`InspectionAck` listing the
  ``resultIds`` only after they are committed to its store, and the results it refuses
  (``rejected``: a :class:`Rejection` each, with a one-line reason) so that the robot stops
  resending them. :func:`result_reference` reads the ``resultId`` out of a refused message
  for that.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from fleet.errors import ProtocolError
from fleet.protocol.header import Header, JsonDict
from fleet.protocol.keys import Topic
from fleet.protocol.order import Action, ActionType, BlockingType
from fleet.protocol.state import AgvPosition
from fleet.protocol.validation import validate
from fleet.sensors import Severity

__all__ = ["Finding", "InspectParams", "InspectionAck", "InspectionResult", "Reading",
           "Severity", "inspect_action", "is_inspect", "new_result_id", "read_inspect_action"]


def new_result_id() -> str:
    """A fresh random ``resultId`` (UUID 4, canonical lower-case form)."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class InspectParams:
    """The parameters of an ``inspect`` action."""

    inspection_point_id: str
    sensors: tuple[str, ...]
    duration_seconds: float

    def __post_init__(self) -> None:
        if not isinstance(self.inspection_point_id, str) or not self.inspection_point_id:
            raise ProtocolError("inspect: inspectionPointId must be a non-empty string")
        if not all(isinstance(s, str) and s for s in self.sensors):
            raise ProtocolError("inspect: sensors must be a list of non-empty strings")
        d = self.duration_seconds
        if isinstance(d, bool) or not isinstance(d, int | float) or not math.isfinite(d) or d < 0:
            raise ProtocolError(f"inspect: durationSeconds must be a number >= 0, got {d!r}")


def inspect_action(action_id: str, params: InspectParams, *,
                   description: str | None = None,
                   power_off_level: float | None = None) -> Action:
    """The order-node action ``inspect`` (blocking HARD) carrying ``params``; with
    ``power_off_level``, also ``powerOffLevel``: the methane level (% CH4) at which a robot
    not rated to stay energised locks itself out there (docs/protocol.md)."""
    parameters: dict[str, Any] = {"inspectionPointId": params.inspection_point_id,
                                  "sensors": list(params.sensors),
                                  "durationSeconds": params.duration_seconds}
    if power_off_level is not None:
        parameters["powerOffLevel"] = power_off_level
    return Action(
        action_id=action_id, action_type=ActionType.INSPECT, blocking_type=BlockingType.HARD,
        parameters=parameters, description=description,
    )


def is_inspect(action: Action) -> bool:
    """True when ``action`` is an ``inspect`` action."""
    return action.action_type == ActionType.INSPECT


def read_inspect_action(action: Action) -> InspectParams:
    """The parameters of an ``inspect`` action; ProtocolError naming what is wrong."""
    if not is_inspect(action):
        raise ProtocolError(f"action {action.action_id!r} is {action.action_type!r}, not inspect")
    p = action.parameters
    missing = [k for k in ("inspectionPointId", "sensors", "durationSeconds") if k not in p]
    if missing:
        raise ProtocolError(f"inspect action {action.action_id!r} lacks {', '.join(missing)}")
    sensors = p["sensors"]
    if not isinstance(sensors, list):
        raise ProtocolError(f"inspect action {action.action_id!r}: sensors must be a list")
    try:
        return InspectParams(p["inspectionPointId"], tuple(sensors), p["durationSeconds"])
    except ProtocolError as exc:
        raise ProtocolError(f"action {action.action_id!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Reading:
    """One measured value: ``sensor`` (e.g. ``ch4``), ``value`` in ``unit`` (e.g. ``%vol``)."""

    sensor: str
    value: float
    unit: str

    def to_json(self) -> JsonDict:
        return {"sensor": self.sensor, "value": self.value, "unit": self.unit}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Reading:
        return cls(d["sensor"], d["value"], d["unit"])


@dataclass(frozen=True, slots=True)
class Finding:
    """What the robot's own analysis concluded; ``confidence`` is 0.0 to 1.0.

    ``severity`` is one of :class:`~fleet.sensors.Severity`'s with a wire form: INFO (worth
    recording), WARNING (needs attention) or CRITICAL (needs immediate action); ALARM is
    refused with a ProtocolError.
    """

    type: str
    severity: Severity
    description: str
    confidence: float

    def __post_init__(self) -> None:
        self.severity.to_wire()  # ProtocolError for a severity the wire does not carry

    def to_json(self) -> JsonDict:
        return {"type": self.type, "severity": self.severity.to_wire(),
                "description": self.description, "confidence": self.confidence}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Finding:
        return cls(d["type"], Severity.from_wire(d["severity"]), d["description"],
                   d["confidence"])


@dataclass(frozen=True, slots=True)
class InspectionResult:
    """One inspection result; ``result_id`` is its idempotency key."""

    TOPIC: ClassVar[Topic] = Topic.INSPECTION

    header: Header
    result_id: str
    order_id: str
    action_id: str
    inspection_point_id: str
    node_id: str
    agv_position: AgvPosition
    readings: tuple[Reading, ...]
    findings: tuple[Finding, ...] | None = None

    def reading(self, sensor: str) -> Reading | None:
        """The first reading of ``sensor``, or None."""
        return next((r for r in self.readings if r.sensor == sensor), None)

    def to_json(self) -> JsonDict:
        d = self.header.to_json()
        d.update({
            "resultId": self.result_id, "orderId": self.order_id, "actionId": self.action_id,
            "inspectionPointId": self.inspection_point_id, "nodeId": self.node_id,
            "agvPosition": self.agv_position.to_json(),
            "readings": [r.to_json() for r in self.readings],
        })
        if self.findings is not None:
            d["findings"] = [f.to_json() for f in self.findings]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> InspectionResult:
        """A result from its JSON object; ProtocolError when invalid."""
        validate(cls.TOPIC, d)
        findings = d.get("findings")
        return cls(
            header=Header.from_json(d), result_id=d["resultId"], order_id=d["orderId"],
            action_id=d["actionId"], inspection_point_id=d["inspectionPointId"],
            node_id=d["nodeId"], agv_position=AgvPosition.from_json(d["agvPosition"]),
            readings=tuple(Reading.from_json(r) for r in d["readings"]),
            findings=(tuple(Finding.from_json(f) for f in findings)
                      if findings is not None else None),
        )


REJECTED_ID_MAX = 256
"""Longest ``resultId`` a rejection may carry (schema ``maxLength``): a refused message's id
need not be a UUID, since a malformed id may be why it was refused, but it is bounded."""

REASON_MAX = 500
"""Longest reason a rejection may carry (schema ``maxLength``)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A result the manager refuses: the robot must stop resending ``result_id``.

    ``result_id`` is the id as the robot sent it (1 to :data:`REJECTED_ID_MAX` characters,
    not necessarily a UUID); ``reason`` one line for a human (1 to :data:`REASON_MAX`).
    """

    result_id: str
    reason: str

    def __post_init__(self) -> None:
        rid, reason = self.result_id, self.reason
        if not isinstance(rid, str) or not 1 <= len(rid) <= REJECTED_ID_MAX:
            raise ProtocolError(f"a rejected resultId is a string of 1 to {REJECTED_ID_MAX} "
                                f"characters, got {rid!r:.60}")
        if not isinstance(reason, str) or not 1 <= len(reason) <= REASON_MAX:
            raise ProtocolError(f"a rejection reason is a string of 1 to {REASON_MAX} "
                                f"characters, got {reason!r:.60}")

    @classmethod
    def of(cls, result_id: str, reason: str) -> Rejection:
        """A rejection whose ``reason`` is made to fit: whitespace (line breaks too)
        collapsed to single spaces, cut to :data:`REASON_MAX` characters, never empty.
        ProtocolError when ``result_id`` cannot be carried (see :func:`result_reference`)."""
        line = " ".join(str(reason).split()) or "rejected"
        if len(line) > REASON_MAX:
            line = line[:REASON_MAX - 3] + "..."
        return cls(result_id, line)

    def to_json(self) -> JsonDict:
        return {"resultId": self.result_id, "reason": self.reason}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Rejection:
        return cls(d["resultId"], d["reason"])


@dataclass(frozen=True, slots=True)
class InspectionAck:
    """The manager's answer about results: ``result_ids`` are committed and need no resend;
    ``rejected`` results will never be accepted as they are and must not be resent either.
    It carries at least one of the two."""

    TOPIC: ClassVar[Topic] = Topic.INSPECTION_ACK

    header: Header
    result_ids: tuple[str, ...]
    rejected: tuple[Rejection, ...] = ()

    def __post_init__(self) -> None:
        if not self.result_ids and not self.rejected:
            raise ProtocolError("an inspectionAck lists at least one resultId or rejection")

    @classmethod
    def of(cls, header: Header, result_ids: Sequence[str],
           rejected: Sequence[Rejection] = ()) -> InspectionAck:
        """An acknowledgement of ``result_ids`` and ``rejected`` results (duplicates dropped,
        order kept; a result rejected twice keeps its first reason)."""
        first: dict[str, Rejection] = {}
        for rejection in rejected:
            first.setdefault(rejection.result_id, rejection)
        return cls(header, tuple(dict.fromkeys(result_ids)), tuple(first.values()))

    def to_json(self) -> JsonDict:
        d = self.header.to_json()
        d["resultIds"] = list(self.result_ids)
        if self.rejected:
            d["rejected"] = [r.to_json() for r in self.rejected]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> InspectionAck:
        """An acknowledgement from its JSON object; ProtocolError when invalid."""
        validate(cls.TOPIC, d)
        return cls(Header.from_json(d), tuple(d["resultIds"]),
                   tuple(Rejection.from_json(r) for r in d.get("rejected", ())))


def result_reference(payload: bytes) -> str | None:
    """The ``resultId`` of an ``inspection`` message the manager refuses, to name it in a
    :class:`Rejection`; None when none can be read.

    The payload is parsed loosely (any JSON object will do; nothing else of it is checked):
    the id is returned when it is a string of 1 to :data:`REJECTED_ID_MAX` characters, and
    None when the payload is not a JSON object, or the id is missing, not a string, empty or
    longer. Never raises.
    """
    # codec imports this module (through messages), so its parser is imported here
    from fleet.protocol.codec import from_bytes

    try:
        obj = from_bytes(payload)
    except (ProtocolError, TypeError, ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    rid = obj.get("resultId")
    if isinstance(rid, str) and 1 <= len(rid) <= REJECTED_ID_MAX:
        return rid
    return None
