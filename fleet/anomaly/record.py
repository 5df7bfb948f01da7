"""The mission record: what a mission's report is made of, as typed values.

The manager builds a :class:`MissionRecord` (:meth:`fleet.manager.queries.Queries.report`)
and answers the ``report`` API verb with :meth:`MissionRecord.to_json`; ``fleet report``
turns the answer back with :meth:`MissionRecord.from_json` and renders it
(:func:`fleet.anomaly.report.render_report`). The JSON shape is the one the API has
always answered (docs/anomalies.md), so older and newer CLIs and managers understand
each other::

    {"mission": {"mission_id", "name", "status", "reason", "created_at", "updated_at",
                 "inspections": {"done", "total", "failed", "dropped", "waiting"} | null},
     "map": {"name", "suffix", "text"} | null,
     "routes": {serial: {"manufacturer", "planned": [node, ...], "driven": [node, ...]}},
     "anomalies": [anomaly, ...], "observations": [observation, ...],
     "results": [{"result_id", "point", "serial", "measured_at",
                  "readings": [{"sensor", "value", "unit"}, ...]}, ...],
     "lockouts": [{"id", "manufacturer", "serial", "node_id", "sensor", "value", "unit",
                   "level", "locked_at", "reset_at", "reset_by", "note"}, ...],
     "closures": [{"id", "site", "node_id", "nodes", "area", "source", "sensor", "value",
                   "unit", "restore", "opened_at", "reopened_at", "reopened_by",
                   "note"}, ...],
     "generated_at": time}

``lockouts`` and ``closures`` (docs/gas-safety.md) came later: an older manager's answer
has neither, and is read as a mission without any.

Times are ISO 8601 (UTC with ``Z`` when written here; one without a zone is read as UTC).
Reading is lenient where it costs nothing: unknown keys are ignored and keys with a
default may be missing; a value of the wrong type, or a missing required key, is a
:class:`~fleet.errors.ProtocolError` naming where it is, in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from fleet.errors import ProtocolError
from fleet.protocol.inspection import Reading


@dataclass(frozen=True, slots=True)
class InspectionCounts:
    """A live mission's inspection points by state (the ``fleet mission status`` counts)."""

    done: int
    total: int
    failed: int = 0
    dropped: int = 0
    waiting: int = 0


@dataclass(frozen=True, slots=True)
class MissionSummary:
    """The mission itself: ``status`` is a :class:`fleet.manager.lifecycle.MissionStatus`
    value, ``reason`` why it failed or stopped (None when nothing went wrong);
    ``inspections`` only while the manager runs the mission (None once it is finished)."""

    mission_id: str
    name: str
    status: str
    reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    inspections: InspectionCounts | None = None


@dataclass(frozen=True, slots=True)
class MapDocument:
    """The site map the mission was launched with, as its file: ``suffix`` says the
    format (``.yaml``, ``.geojson``...)."""

    text: str
    name: str = "map"
    suffix: str = ".yaml"


@dataclass(frozen=True, slots=True)
class RouteRecord:
    """One robot's route: the node ids it was ``planned`` to visit (its current
    assignment) and those it has ``driven`` (every assignment of this mission, up to the
    last node it reported reaching)."""

    serial: str
    manufacturer: str | None = None
    planned: tuple[str, ...] = ()
    driven: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One stored inspection result: at inspection point ``point``, by robot ``serial``."""

    result_id: str
    point: str
    serial: str
    measured_at: datetime
    readings: tuple[Reading, ...] = ()


@dataclass(frozen=True, slots=True)
class AnomalyRecord:
    """An anomaly as the API answers it (:func:`fleet.anomaly.export.anomaly_json`; the
    columns are documented on :class:`fleet.store.AnomalyRow`). ``severity``, ``status``
    and ``rule`` stay text: a newer manager may know values this reader does not."""

    id: int
    inspection_point_id: str
    sensor: str
    status: str
    severity: str
    rule: str
    first_seen: datetime
    last_seen: datetime
    opened_at: datetime | None = None
    threshold: float | None = None
    unit: str | None = None
    peak: float | None = None
    peak_at: datetime | None = None
    peak_result_id: str | None = None
    last_value: float | None = None
    count: int = 0
    reopened: int = 0
    mission_id: str | None = None
    manufacturer: str | None = None
    serial_number: str | None = None
    x: float | None = None
    y: float | None = None
    level: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    ack_note: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolve_note: str | None = None
    detail: Any = None
    history: Any = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> AnomalyRecord:
        """From a stored row's column values (extra keys are ignored; no checks)."""
        return cls(**{f: values[f] for f in _names(cls) if f in values})


@dataclass(frozen=True, slots=True)
class ObservationRecord:
    """One reading (``seq`` of result ``result_id``; None for a robot's finding), or one
    fixed-sensor reading (``sensor_reading_id``, no result), that counted towards anomaly
    ``anomaly_id``, with the verdict the rules gave it."""

    anomaly_id: int
    result_id: str | None
    severity: str
    rule: str
    measured_at: datetime
    id: int | None = None
    seq: int | None = None
    threshold: float | None = None
    value: float | None = None
    unit: str | None = None
    mission_id: str | None = None
    sensor_reading_id: int | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> ObservationRecord:
        """From a stored row's column values (extra keys are ignored; no checks)."""
        return cls(**{f: values[f] for f in _names(cls) if f in values})


@dataclass(frozen=True, slots=True)
class LockoutRecord:
    """A robot's methane lockout (the columns of :class:`fleet.store.LockoutRow`): robot
    ``manufacturer``/``serial`` read ``value`` ``unit`` of ``sensor`` at ``node_id``, at or
    above the power-off level ``level``; open (it needs a reset) while ``reset_at`` is
    None."""

    id: int
    manufacturer: str
    serial: str
    node_id: str
    sensor: str
    value: float
    unit: str
    locked_at: datetime
    level: float | None = None
    reset_at: datetime | None = None
    reset_by: str | None = None
    note: str | None = None

    @property
    def open(self) -> bool:
        """Not reset yet: the robot is out of service until a supervisor records one."""
        return self.reset_at is None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> LockoutRecord:
        """From a stored row's column values (extra keys are ignored; no checks)."""
        return cls(**{f: values[f] for f in _names(cls) if f in values})


@dataclass(frozen=True, slots=True)
class ClosureRecord:
    """A gas closure (the columns of :class:`fleet.store.ClosureRow`): ``nodes`` of site
    ``site`` closed to unrated robots because ``source`` read ``value`` ``unit`` of
    ``sensor`` at ``node_id``; ``area`` says how the nodes were chosen. Open while
    ``reopened_at`` is None."""

    id: int
    site: str
    node_id: str
    area: str
    source: str
    sensor: str
    value: float
    unit: str
    opened_at: datetime
    nodes: tuple[str, ...] = ()
    restore: float | None = None
    reopened_at: datetime | None = None
    reopened_by: str | None = None
    note: str | None = None

    @property
    def open(self) -> bool:
        """Not reopened yet."""
        return self.reopened_at is None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> ClosureRecord:
        """From a stored row's column values (extra keys are ignored; no checks)."""
        found = {f: values[f] for f in _names(cls) if f in values}
        found["nodes"] = tuple(str(n) for n in found.get("nodes") or ())
        return cls(**found)


@dataclass(frozen=True, slots=True)
class MissionRecord:
    """Everything a mission's report shows (see the module docstring for the JSON)."""

    mission: MissionSummary
    generated_at: datetime
    map: MapDocument | None = None
    routes: tuple[RouteRecord, ...] = ()
    anomalies: tuple[AnomalyRecord, ...] = ()
    observations: tuple[ObservationRecord, ...] = ()
    results: tuple[ResultRecord, ...] = ()
    lockouts: tuple[LockoutRecord, ...] = ()
    """Lockouts of the mission's robots: recorded during it, or still open."""
    closures: tuple[ClosureRecord, ...] = ()
    """Closures of the mission's site open at some time during it, or still open."""

    def driven_routes(self) -> dict[str, list[str]]:
        """Serial → nodes driven, for the robots that moved (two nodes or more)."""
        return {r.serial: list(r.driven) for r in self.routes if len(r.driven) > 1}

    def to_json(self) -> dict[str, Any]:
        """The ``report`` API answer."""
        return {
            "mission": _encode(self.mission),
            "map": _encode(self.map),
            "routes": {r.serial: {"manufacturer": r.manufacturer, "planned": list(r.planned),
                                  "driven": list(r.driven)} for r in self.routes},
            "anomalies": _encode(self.anomalies),
            "observations": _encode(self.observations),
            "results": _encode(self.results),
            "lockouts": _encode(self.lockouts),
            "closures": _encode(self.closures),
            "generated_at": _encode(self.generated_at),
        }

    @classmethod
    def from_json(cls, data: object) -> MissionRecord:
        """A record from a ``report`` answer; ProtocolError (one line, naming the bad
        place) when the answer is not one."""
        if not isinstance(data, Mapping):
            raise _malformed(f"the answer must be an object, not {_shown(data)}")
        routes = data.get("routes") or {}
        if not isinstance(routes, Mapping):
            raise _malformed(f"routes must be an object, not {_shown(routes)}")
        flat = {**data, "routes": [{**r, "serial": s} if isinstance(r, Mapping) else r
                                   for s, r in routes.items()]}
        try:
            record = _adapter().validate_python(flat)
        except ValidationError as exc:
            raise _malformed(_first_error(exc, list(routes))) from None
        return replace(record, generated_at=_utc(record.generated_at))


# ------------------------------------------------------------------ JSON
def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


@lru_cache(maxsize=1)
def _adapter() -> TypeAdapter[MissionRecord]:
    # pydantic (already installed with SQLModel) checks and converts the nested
    # dataclasses; lax mode as JSON would be (ISO times, lists as tuples), no extras kept
    return TypeAdapter(MissionRecord)


def _malformed(what: str) -> ProtocolError:
    return ProtocolError(f"the manager's report answer is malformed: {what}")


def _first_error(exc: ValidationError, serials: list[str]) -> str:
    """pydantic's first error as ``where what, not VALUE`` in one line."""
    error = exc.errors(include_url=False)[0]
    where = ""
    loc = list(error["loc"])
    if len(loc) >= 2 and loc[0] == "routes" and isinstance(loc[1], int) \
            and loc[1] < len(serials):
        loc = ["routes", repr(serials[loc[1]]), *loc[2:]]
        where = f"routes[{loc[1]}]"
        loc = loc[2:]
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and part.startswith("'")):
            where += f"[{part}]"
        else:
            where += f".{part}" if where else str(part)
    if error["type"] == "missing":
        return f"{where} is missing"
    value = _shown(error.get("input"))
    return f"{where or 'the answer'}: {error['msg'].rstrip('.').lower()}, not {value}"


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _names(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _shown(value: object) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."
