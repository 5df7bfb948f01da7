"""Anomalies as data for others: the JSON the API answers, CSV and GeoJSON files.

:func:`anomaly_json` is the one JSON shape of an anomaly (the API, ``fleet anomalies list
--json``, alert payloads); :func:`to_csv` and :func:`to_geojson` turn a list of those into
files that spreadsheets and GIS tools open.

GeoJSON (RFC 7946): a ``FeatureCollection`` of ``Point`` features, one per anomaly that
has a place, at the inspection point's map coordinates ``[x, y]`` in metres. RFC 7946
makes WGS 84 longitude/latitude the default; a site map is a local metric frame, which
the RFC allows "where all involved parties have a prior arrangement" (section 4): the
collection says so in its foreign member ``fleet`` (``{"frame": "site map", "units":
"m"}``), and no ``crs`` member is written (RFC 7946 removed it). Anomalies without a
place are left out and counted in ``fleet.unplaced``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from fleet.anomaly.lifecycle import Anomaly
from fleet.store import AlertDeliveryRow, AnomalyObservationRow, AnomalyRow

CSV_COLUMNS = (
    "id", "status", "severity", "inspection_point_id", "sensor", "rule", "threshold",
    "unit", "peak", "peak_at", "last_value", "count", "first_seen", "last_seen",
    "opened_at", "reopened", "x", "y", "level", "mission_id", "serial_number",
    "acknowledged_by", "acknowledged_at", "ack_note", "resolved_by", "resolved_at",
    "resolve_note",
)
"""The columns of :func:`to_csv`, in order."""

_JSON_ORDER = ("id", *(f.name for f in fields(Anomaly) if f.name != "id"))

_TEXT_COLUMNS = {"inspection_point_id", "sensor", "rule", "unit", "level", "mission_id",
                 "serial_number", "acknowledged_by", "ack_note", "resolved_by",
                 "resolve_note"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso(moment: datetime | None) -> str | None:
    """A time as ISO 8601 UTC with ``Z``; None stays None."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def anomaly_json(anomaly: AnomalyRow | Anomaly) -> dict[str, Any]:
    """The JSON shape of an anomaly (a stored row or the lifecycle's object): every
    column, times as ISO 8601 UTC with ``Z``."""
    values = anomaly.model_dump() if isinstance(anomaly, AnomalyRow) else anomaly.values()
    return {key: iso(value) if isinstance(value, datetime) else value
            for key in _JSON_ORDER if key in values for value in (values[key],)}


def to_csv(anomalies: Iterable[Mapping[str, Any]]) -> str:
    """CSV (RFC 4180: comma-separated, CRLF line ends, a header row) of anomaly JSON objects.

    Free text that a spreadsheet would take for a formula (a note starting with ``=``,
    ``+``, ``-`` or ``@``) is prefixed with ``'``.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for a in anomalies:
        writer.writerow([_cell(column, a.get(column)) for column in CSV_COLUMNS])
    return buffer.getvalue()


def _cell(column: str, value: Any) -> Any:
    if value is None:
        return ""
    if column in _TEXT_COLUMNS and isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


_PROPERTIES = ("id", "status", "severity", "inspection_point_id", "sensor", "rule",
               "threshold", "unit", "peak", "count", "first_seen", "last_seen", "level",
               "mission_id", "acknowledged_by", "resolved_by")


def to_geojson(anomalies: Sequence[Mapping[str, Any]], *,
               name: str = "anomalies") -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the anomalies that have map coordinates (see the
    module docstring)."""
    features: list[dict[str, Any]] = []
    unplaced = 0
    for a in anomalies:
        x, y = a.get("x"), a.get("y")
        if not (isinstance(x, int | float) and isinstance(y, int | float)
                and _finite(x) and _finite(y)):
            unplaced += 1
            continue
        features.append({
            "type": "Feature",
            "id": a.get("id"),
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
            "properties": {k: a.get(k) for k in _PROPERTIES},
        })
    return {"type": "FeatureCollection", "name": name,
            "fleet": {"frame": "site map", "units": "m", "unplaced": unplaced},
            "features": features}


def _finite(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def observations_json(rows: Sequence[AnomalyObservationRow]) -> list[dict[str, Any]]:
    """Observations as JSON (times in ISO 8601 UTC)."""
    return [{k: (iso(v) if isinstance(v, datetime) else v) for k, v in r.model_dump().items()}
            for r in rows]


def deliveries_json(rows: Sequence[AlertDeliveryRow]) -> list[dict[str, Any]]:
    """Deliveries as JSON, without their payloads."""
    return [{k: (iso(v) if isinstance(v, datetime) else v)
             for k, v in r.model_dump(exclude={"payload"}).items()} for r in rows]
