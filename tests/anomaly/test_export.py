"""Exports open in standard tools: CSV through the csv module, GeoJSON checked against
RFC 7946's rules and read by shapely."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from fleet.anomaly.export import CSV_COLUMNS, anomaly_json, to_csv, to_geojson
from fleet.anomaly.log import AnomalyLog
from fleet.store import Store
from tests.anomaly.factories import ch4, result


def some_anomalies(store: Store) -> list[dict[str, Any]]:
    log = AnomalyLog(store)
    log.observe(store.record_batch([
        ch4(1.8, "p1", x=40.0, y=0.0), ch4(1.1, "p2", x=80.5, y=-20.25),
        result("p3", readings={"o2": (18.2, "%")}, x=1e6, y=-3.5)]).new)
    [first] = store.anomalies(point="p1")
    assert first.id is not None
    log.acknowledge(first.id, by="=cmd|' /C calc'!A0", note="-2+3, \"quoted\"\nnext line")
    return [anomaly_json(a) for a in store.anomalies()]


def test_csv_reads_back_with_a_header(store: Store) -> None:
    anomalies = some_anomalies(store)
    text = to_csv(anomalies)
    assert text.count("\r\n") >= len(anomalies) + 1
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["id"] for r in rows] == [str(a["id"]) for a in anomalies]
    p1 = next(r for r in rows if r["inspection_point_id"] == "p1")
    assert (p1["severity"], p1["peak"], p1["unit"], p1["status"]) == ("alarm", "1.8", "%vol",
                                                                     "acknowledged")
    # free text that a spreadsheet would run as a formula is defused, the rest kept whole
    assert p1["acknowledged_by"] == "'=cmd|' /C calc'!A0"
    assert p1["ack_note"] == "'-2+3, \"quoted\"\nnext line"
    p3 = next(r for r in rows if r["inspection_point_id"] == "p3")
    assert (p3["sensor"], p3["rule"], p3["threshold"], p3["acknowledged_by"]) == (
        "o2", "below", "19.5", "")


def check_rfc7946(doc: dict[str, Any]) -> None:
    """The rules of RFC 7946 a FeatureCollection of Points must follow."""
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc  # removed by RFC 7946
    assert isinstance(doc["features"], list)
    for f in doc["features"]:
        assert f["type"] == "Feature"
        assert isinstance(f.get("id"), str | int)  # section 3.2: a string or a number
        assert isinstance(f["properties"], dict)
        g = f["geometry"]
        assert g["type"] == "Point"
        assert len(g["coordinates"]) == 2
        assert all(isinstance(c, float) and math.isfinite(c) for c in g["coordinates"])
        assert shape(g).is_valid
    json.loads(json.dumps(doc, allow_nan=False))  # no NaN or Infinity: plain JSON


def test_geojson_is_rfc7946_and_reads_in_shapely(store: Store) -> None:
    anomalies = some_anomalies(store)
    doc = to_geojson(anomalies)
    check_rfc7946(doc)
    points = {f["properties"]["inspection_point_id"]: shape(f["geometry"])
              for f in doc["features"]}
    assert (points["p2"].x, points["p2"].y) == (80.5, -20.25)
    assert doc["fleet"] == {"frame": "site map", "units": "m", "unplaced": 0}


anomaly_dicts = st.lists(st.fixed_dictionaries({
    "id": st.integers(1, 10**6),
    "x": st.none() | st.floats() | st.integers(-10**6, 10**6) | st.text(max_size=3),
    "y": st.none() | st.floats(allow_nan=True) | st.integers(-10**6, 10**6),
    "severity": st.sampled_from(["info", "warning", "alarm", "critical"]),
    "ack_note": st.none() | st.text(max_size=20),
    "peak": st.none() | st.floats(allow_nan=False, allow_infinity=False),
}), max_size=8)


@settings(max_examples=200, deadline=None)
@given(anomaly_dicts)
def test_any_anomalies_give_valid_files(anomalies: list[dict[str, Any]]) -> None:
    doc = to_geojson(anomalies)
    check_rfc7946(doc)
    assert len(doc["features"]) + doc["fleet"]["unplaced"] == len(anomalies)
    rows = list(csv.reader(io.StringIO(to_csv(anomalies), newline="")))
    assert len(rows) == len(anomalies) + 1
    assert all(len(r) == len(CSV_COLUMNS) for r in rows)
