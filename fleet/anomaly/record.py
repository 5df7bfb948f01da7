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
     "generated_at": time}

Times are ISO 8601 (UTC with ``Z`` when written here; one without a zone is read as UTC).
Reading is lenient where it costs nothing: unknown keys are ignored and keys with a
default may be missing; a value of the wrong type, or a missing required key, is a
:class:`~fleet.errors.ProtocolError` naming where it is, in one line.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

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
    """One reading (``seq`` of result ``result_id``; None for a robot's finding) that
    counted towards anomaly ``anomaly_id``, with the verdict the rules gave it."""

    anomaly_id: int
    result_id: str
    severity: str
    rule: str
    measured_at: datetime
    id: int | None = None
    seq: int | None = None
    threshold: float | None = None
    value: float | None = None
    unit: str | None = None
    mission_id: str | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> ObservationRecord:
        """From a stored row's column values (extra keys are ignored; no checks)."""
        return cls(**{f: values[f] for f in _names(cls) if f in values})


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
            "generated_at": _encode(self.generated_at),
        }

    @classmethod
    def from_json(cls, data: object) -> MissionRecord:
        """A record from a ``report`` answer; ProtocolError (one line, naming the bad
        place) when the answer is not one."""
        try:
            if not isinstance(data, Mapping):
                raise _Bad("", f"must be an object, not {_shown(data)}")
            routes = data.get("routes") or {}
            if not isinstance(routes, Mapping):
                raise _Bad("routes", f"must be an object, not {_shown(routes)}")
            record = _record(cls, {k: v for k, v in data.items() if k != "routes"}, "")
            return replace(record, routes=tuple(
                _record(RouteRecord, {**r, "serial": s} if isinstance(r, Mapping) else r,
                        f"routes[{s!r}]") for s, r in routes.items()))
        except _Bad as bad:
            raise ProtocolError(f"the manager's report answer is malformed: {bad}") from None


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


class _Bad(Exception):
    """A malformed value at ``where`` (turned into one ProtocolError at the top)."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where or 'the answer'} {what}")


T = TypeVar("T")


_HINTS: dict[type, dict[str, Any]] = {}


def _names(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:  # resolving annotations is slow; a few classes, resolved once
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _decode(tp: Any, value: object, where: str) -> Any:
    """``value`` (parsed JSON) as type ``tp``: a record dataclass, a tuple of them, a
    scalar, a datetime, an optional one of those, or Any (kept as it is)."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        return None if value is None else _decode(options[0], value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise _Bad(where, f"must be a list, not {_shown(value)}")
        return tuple(_decode(get_args(tp)[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is Any:
        return value
    if tp is str:
        if not isinstance(value, str):
            raise _Bad(where, f"must be text, not {_shown(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(where, f"must be a whole number, not {_shown(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad(where, f"must be a number, not {_shown(value)}")
        return float(value)
    if tp is datetime:
        return _time(value, where)
    if isinstance(tp, type) and is_dataclass(tp):
        return _record(tp, value, where)
    raise TypeError(f"no decoder for {tp!r}")  # a programming error, not a bad answer


def _record(cls: type[T], value: object, where: str) -> T:
    if not isinstance(value, Mapping):
        raise _Bad(where, f"must be an object, not {_shown(value)}")
    hints = _hints(cls)
    given: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        at = f"{where}.{f.name}" if where else f.name
        if f.name in value:
            given[f.name] = _decode(hints[f.name], value[f.name], at)
        elif f.default is MISSING and f.default_factory is MISSING:
            raise _Bad(at, "is missing")
    return cls(**given)


def _time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise _Bad(where, f"must be an ISO 8601 time, not {_shown(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(where, f"must be an ISO 8601 time, not {_shown(value)}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _shown(value: object) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."
