"""Nav2 route graphs in GeoJSON: round trips, plain Nav2 files, and fuzzing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.errors import MapError
from fleet.facility.formats import dump, load, parse
from fleet.facility.formats.geojson import read_geojson, write_geojson
from fleet.facility.formats.yaml_map import read_yaml
from fleet.facility.model import EdgeKind, NodeKind
from tests.facility.format_fuzz import (
    DATA_MAPS,
    FUZZ,
    FUZZ_DOCS,
    ROOT,
    ROUNDTRIP,
    check_reader,
    ids,
    json_values,
    mutated,
    numbers,
    scalars,
    text_mutated,
)
from tests.facility.test_formats_yaml import assert_same_facility

VALID_MAPS = sorted(
    [*DATA_MAPS.glob("*.yaml"), *(ROOT / "maps").glob("*.yaml")], key=lambda p: p.name
)
ROUNDTRIP_GEOJSON = write_geojson(load(ROUNDTRIP))


def _point(nid: Any, x: float, y: float, **meta: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"id": nid}
    if meta:
        props["metadata"] = meta
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": props}


def _line(eid: int, a: Any, b: Any, coords: Any = None, **props: Any) -> dict[str, Any]:
    geometry: dict[str, Any] = {"type": "MultiLineString"}
    if coords is not None:
        geometry = {"type": "LineString", "coordinates": coords}
    return {"type": "Feature", "geometry": geometry,
            "properties": {"id": eid, "startid": a, "endid": b, **props}}


def _collection(*features: dict[str, Any], **top: Any) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features), **top})


def _problems(text: str) -> list[str]:
    with pytest.raises(MapError) as info:
        read_geojson(text, file="g.geojson")
    return [str(p) for p in info.value.problems]


# ----------------------------------------------------------------- round trips
@pytest.mark.parametrize("path", VALID_MAPS, ids=lambda p: p.name)
def test_yaml_to_geojson_to_facility_is_equal(path: Path) -> None:
    fac = load(path)
    text = write_geojson(fac)
    again = read_geojson(text)
    assert_same_facility(fac, again)
    assert write_geojson(again) == text


def test_round_trip_through_files(tmp_path: Path) -> None:
    fac = load(ROUNDTRIP)
    out = tmp_path / "site.geojson"
    out.write_text(dump(fac, ".geojson"), encoding="utf-8")
    assert_same_facility(fac, load(out))


def test_written_file_is_a_nav2_graph() -> None:
    data = json.loads(ROUNDTRIP_GEOJSON)
    assert data["type"] == "FeatureCollection"
    kinds = [f["geometry"]["type"] for f in data["features"]]
    fac = load(ROUNDTRIP)
    two_way = sum(1 for e in fac.edges if not e.one_way)
    assert kinds.count("Point") == len(fac.nodes)
    assert kinds.count("LineString") == len(fac.edges) + two_way  # one feature per direction
    assert kinds.count("Polygon") == len(fac.zones)
    edges = [f["properties"] for f in data["features"] if f["geometry"]["type"] == "LineString"]
    assert all({"id", "startid", "endid"} <= set(p) for p in edges)
    all_ids = [f["properties"]["id"] for f in data["features"]
               if f["geometry"]["type"] != "Polygon"]
    assert len(all_ids) == len(set(map(str, all_ids)))  # Nav2: node and edge ids distinct
    shaft = next(p for p in edges if p["startid"] == "top" and p["endid"] == "bottom")
    assert shaft["metadata"] == {"length": 60.0, "kind": "shaft", "abs_speed_limit": 0.5}
    p3 = next(f for f in data["features"] if f["properties"]["id"] == "p3")
    assert p3["geometry"]["coordinates"] == [20.125, -20.0, 1.5]  # z differs from its level


def test_integer_ids_are_written_as_integers() -> None:
    fac = read_yaml("""
nodes:
  - {id: 0, x: 0, y: 0, kind: dock}
  - {id: 7, x: 3, y: 4, kind: inspection}
edges:
  - {from: 0, to: 7}
""")
    data = json.loads(write_geojson(fac))
    props = [f["properties"] for f in data["features"]]
    assert [p["id"] for p in props] == [0, 7, 8, 9]
    assert (props[2]["startid"], props[2]["endid"]) == (0, 7)
    assert (props[3]["startid"], props[3]["endid"]) == (7, 0)
    assert read_geojson(write_geojson(fac)) == fac


def test_string_ids_stay_strings_and_either_form_is_read() -> None:
    fac = load(ROUNDTRIP)
    data = json.loads(write_geojson(fac))
    assert data["features"][0]["properties"]["id"] == "dock"
    mixed = _collection(
        _point(1, 0, 0, kind="dock"), _point("2", 3, 4, kind="inspection"),
        _line(10, "1", 2), _line(11, 2, 1),
    )
    fac = read_geojson(mixed)
    assert list(fac.nodes) == ["1", "2"]
    assert len(fac.edges) == 1 and not fac.edges[0].one_way


# --------------------------------------------------------------- plain Nav2 files
NAV2_PLAIN = _collection(
    _point(1, 0.0, 0.0), _point(2, 3.0, 4.0), _point(3, 3.0, 0.0),
    _line(4, 1, 2, [[0, 0], [3, 4]]), _line(5, 2, 1, [[3, 4], [0, 0]]),
    _line(6, 2, 3, cost=2.5), _line(7, 2, 3, cost=2.5),  # Nav2 samples repeat edges
    name="graph", crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
)


def test_plain_nav2_graph_fails_only_for_lack_of_a_charger() -> None:
    problems = _problems(NAV2_PLAIN)
    assert len(problems) == 2, problems
    assert "no charger" in problems[0]
    assert "metadata.kind" in problems[1] and "'dock'" in problems[1]


def test_plain_nav2_graph_with_a_dock_loads_with_documented_defaults() -> None:
    data = json.loads(NAV2_PLAIN)
    data["features"][0]["properties"]["metadata"] = {"kind": "dock"}
    fac = read_geojson(json.dumps(data), file="site.geojson")
    assert fac.name == "graph"
    assert list(fac.levels) == ["0"]
    assert [n.kind for n in fac.nodes.values()] == [NodeKind.DOCK] + [NodeKind.WAYPOINT] * 2
    one_two, two_three = fac.edges
    assert (one_two.source, one_two.target, one_two.one_way) == ("1", "2", False)
    assert one_two.length == pytest.approx(5.0) and not one_two.length_given
    assert (two_three.source, two_three.target, two_three.one_way) == ("2", "3", True)
    assert two_three.cost == 2.5 and two_three.length == pytest.approx(4.0)
    assert fac.edge_between("3", "2") is None


def test_drawn_bend_gives_the_length_and_metadata_length_wins() -> None:
    bend = [[0, 0], [0, 4], [3, 4]]
    text = _collection(
        _point(1, 0, 0, kind="dock"), _point(2, 3, 4, kind="inspection"),
        _point(3, 10, 0, kind="inspection"),
        _line(4, 1, 2, bend), _line(5, 2, 1, bend[::-1]),
        _line(6, 1, 3, [[0, 0], [5, 5], [10, 0]], metadata={"length": 12.5}),
        _line(7, 3, 1, metadata={"length": 12.5}),
    )
    fac = read_geojson(text)
    bent, measured = fac.edges
    assert bent.length == pytest.approx(7.0) and bent.length_given
    assert measured.length == 12.5 and not measured.one_way


def test_disagreeing_directions_are_refused_by_name() -> None:
    text = _collection(
        _point(0, 0, 0, kind="dock"), _point(1, 1, 0),
        _line(9, 0, 1, cost=10.0, metadata={"speed_limit": 85}),
        _line(10, 1, 0, cost=0.0),
    )
    problems = _problems(text)
    assert problems == ["g.geojson: edge 1-0: the features for both directions differ in "
                        "cost (one value per corridor is kept)"]


def test_nav2_edge_without_geometry_coordinates_and_with_operations() -> None:
    text = _collection(
        _point(0, 0, 0, kind="dock", region={"x_values": [1, -1]}),
        _point(1, 1, 0),
        _line(9, 0, 1, cost=1.0, overridable=False,
              operations={"open_door": {"type": "open_door", "trigger": "ON_EXIT"}}),
    )
    fac = read_geojson(text)
    assert fac.edges[0].one_way and fac.edges[0].cost == 1.0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{", "not valid JSON"),
        ("[]", "not a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection"}', "list of features"),
        (_collection({"type": "Feature", "geometry": None, "properties": {}}),
         "feature 0: feature without geometry"),
        (_collection({"type": "Feature", "geometry": {"type": "MultiPoint"}}),
         "unsupported geometry type 'MultiPoint'"),
        (_collection({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1]},
                      "properties": {"id": 3}}), "node 3: a node's Point needs"),
        (_collection({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
            [[0, 0], [1, 0], [1, 1], [0, 0]], [[0, 0], [1, 0], [1, 1], [0, 0]]]},
            "properties": {"id": "z", "metadata": {"kind": "no_go"}}}), "zone z: zones with holes"),
        (_collection(_point(0, 0, 0, kind="dock"), _line(1, 0, None)), "startid and endid"),
        (_collection(_point(0, 0, 0, kind="dock"), _point(1, 1, 1), _line(2, 0, 1, "x")),
         "edge 0-1: edge coordinates must be a list"),
    ],
)
def test_bad_files_are_plain_problems(text: str, words: str) -> None:
    problems = _problems(text)
    assert any(words in p for p in problems), problems


# ------------------------------------------------------------------- capacity
def _drift_yaml(m_extra: str) -> str:
    """dock = w1 = m = w2 = charger, single-lane; ``m_extra`` goes into node m."""
    return f"""
format: inspection-fleet-map/1
site: {{name: drift}}
nodes:
  - {{id: dock, x: 0, y: 0, kind: dock}}
  - {{id: w1, x: 60, y: 0}}
  - {{id: m, x: 120, y: 0{m_extra}}}
  - {{id: w2, x: 180, y: 0}}
  - {{id: chg, x: 240, y: 0, kind: charger, capacity: 3}}
edges:
  - {{from: dock, to: w1, single_lane: true}}
  - {{from: w1, to: m, single_lane: true}}
  - {{from: m, to: w2, single_lane: true}}
  - {{from: w2, to: chg, single_lane: true}}
"""


@pytest.mark.parametrize("extra", ["", ", capacity: 2", ", tags: [passing-bay]",
                                   ", tags: [passing-bay], capacity: 1"])
def test_capacities_and_blocks_survive_the_round_trip(extra: str) -> None:
    fac = read_yaml(_drift_yaml(extra))
    text = write_geojson(fac)
    again = read_geojson(text)
    assert_same_facility(fac, again)
    assert again.layout == fac.layout
    assert [again.nodes[n].capacity for n in ("dock", "w1", "chg")] == [None, None, 3]
    points = {f["properties"]["id"]: f["properties"]["metadata"]
              for f in json.loads(text)["features"] if f["geometry"]["type"] == "Point"}
    # written only where the map sets one: defaults stay defaults
    assert points["chg"]["capacity"] == 3 and "capacity" not in points["w1"]
    assert ("capacity" in points["m"]) == ("capacity" in extra)


def test_the_sample_maps_keep_their_blocks_through_geojson() -> None:
    for path in VALID_MAPS:
        fac = load(path)
        assert read_geojson(write_geojson(fac)).layout == fac.layout, path.name


@pytest.mark.parametrize("bad", ["0", "-2", "1.5", '"two"', "true", "2.0"])
def test_a_bad_capacity_is_the_same_one_line_problem_as_in_yaml(bad: str) -> None:
    with pytest.raises(MapError) as in_yaml:
        read_yaml(_drift_yaml(f", capacity: {bad}"), file="g.yaml")
    text = write_geojson(read_yaml(_drift_yaml("")))
    doc = json.loads(text)
    for f in doc["features"]:
        if f["properties"].get("id") == "m":
            f["properties"]["metadata"]["capacity"] = json.loads(bad)
    with pytest.raises(MapError) as in_json:
        read_geojson(json.dumps(doc), file="g.geojson")
    [yaml_problem] = in_yaml.value.problems
    [json_problem] = in_json.value.problems
    assert (json_problem.element, json_problem.reason) == (
        yaml_problem.element, yaml_problem.reason)
    assert json_problem.reason.startswith("capacity must be a positive integer")


def test_json_syntax_error_has_its_line() -> None:
    with pytest.raises(MapError) as info:
        read_geojson('{"type": "FeatureCollection",\n "features": [,]}', file="g.geojson")
    assert info.value.problems[0].line == 2


def test_unwritable_meta_is_a_map_error() -> None:
    fac = load(ROUNDTRIP)
    from dataclasses import replace

    with pytest.raises(MapError, match="site meta cannot be written"):
        write_geojson(replace(fac, meta={"bad": math.nan}))


# -------------------------------------------------------------------- fuzzing
@FUZZ
@given(st.text(max_size=200))
def test_any_text_gives_facility_or_map_error(text: str) -> None:
    check_reader(read_geojson, text)


@FUZZ
@given(json_values)
def test_any_json_value_gives_facility_or_map_error(value: object) -> None:
    check_reader(read_geojson, json.dumps(value))


_geometries = st.one_of(
    st.fixed_dictionaries({"type": st.just("Point"), "coordinates": st.lists(numbers,
                                                                              max_size=4)}),
    st.fixed_dictionaries({"type": st.sampled_from(["LineString", "MultiLineString"])},
                          optional={"coordinates": json_values}),
    st.fixed_dictionaries({"type": st.just("Polygon"), "coordinates": json_values}),
    json_values,
)
_metadata = st.fixed_dictionaries({}, optional={
    "kind": st.sampled_from([k.value for k in (*NodeKind, *EdgeKind)] + ["no_go"]) | scalars,
    "level": ids, "tags": json_values, "name": scalars, "length": numbers,
    "abs_speed_limit": numbers, "single_lane": scalars, "closed": scalars,
    "atex_zone": scalars, "max_speed": numbers, "capability": scalars, "capacity": scalars,
}) | json_values
_features = st.fixed_dictionaries(
    {"type": st.just("Feature"), "geometry": _geometries},
    optional={"properties": st.fixed_dictionaries({}, optional={
        "id": ids, "startid": ids, "endid": ids, "cost": numbers, "metadata": _metadata,
    }) | json_values},
)


@FUZZ_DOCS
@given(st.lists(_features, max_size=8), st.fixed_dictionaries({}, optional={
    "name": scalars, "metadata": json_values}))
def test_random_collections_give_facility_or_map_error(
    features: list[object], top: dict[str, object]
) -> None:
    check_reader(read_geojson, json.dumps({"type": "FeatureCollection", "features": features,
                                           **top}))


@FUZZ_DOCS
@given(mutated(json.loads(ROUNDTRIP_GEOJSON)))
def test_mutated_files_give_facility_or_map_error(doc: object) -> None:
    check_reader(read_geojson, json.dumps(doc))


@FUZZ
@given(text_mutated(ROUNDTRIP_GEOJSON))
def test_mutated_text_gives_facility_or_map_error(text: str) -> None:
    check_reader(read_geojson, text)


def test_parse_dispatches_geojson() -> None:
    assert parse(ROUNDTRIP_GEOJSON, ".GeoJSON") == load(ROUNDTRIP)
