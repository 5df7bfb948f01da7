"""Message models: schema-valid JSON, round trips, order rules, inspect helpers, headers."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fleet.errors import ProtocolError
from fleet.protocol import examples
from fleet.protocol.factsheet import (
    AgvActionSpec,
    Epl,
    Factsheet,
    PhysicalParameters,
    TypeSpecification,
)
from fleet.protocol.header import VERSION, Header, HeaderStamper, parse_timestamp, utc_timestamp
from fleet.protocol.inspection import (
    InspectionAck,
    InspectParams,
    inspect_action,
    new_result_id,
    read_inspect_action,
)
from fleet.protocol.keys import Topic
from fleet.protocol.messages import MODELS
from fleet.protocol.order import (
    Action,
    BlockingType,
    Edge,
    Node,
    NodePosition,
    Order,
    RouteLeg,
    RouteStop,
    route_order,
)
from fleet.protocol.state import (
    ActionState,
    ActionStatus,
    BatteryState,
    Error,
    ErrorLevel,
    State,
)
from fleet.protocol.validation import reference_validator

EXAMPLES = examples.all_examples()


def test_there_is_an_example_and_a_model_for_every_topic() -> None:
    assert {m.TOPIC for m in EXAMPLES} == set(Topic) == set(MODELS)


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: str(m.TOPIC))
def test_every_model_produces_schema_valid_json(message: object) -> None:
    doc = message.to_json()  # type: ignore[attr-defined]
    topic = message.TOPIC  # type: ignore[attr-defined]
    errors = [e.message for e in reference_validator(topic).iter_errors(doc)]
    assert errors == []
    for field in ("headerId", "timestamp", "version", "manufacturer", "serialNumber"):
        assert field in doc
    assert doc["version"] == VERSION


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: str(m.TOPIC))
def test_from_json_inverts_to_json(message: object) -> None:
    doc = message.to_json()  # type: ignore[attr-defined]
    assert MODELS[message.TOPIC](doc) == message  # type: ignore[attr-defined]


def test_minimal_state_and_optional_parts_are_valid() -> None:
    state = State(Header("acme", "r1"), BatteryState(50.0),
                  action_states=(ActionState("a", ActionStatus.FAILED, result_description="x"),),
                  errors=(Error("noRoute", ErrorLevel.WARNING, references={"orderId": "o"}),))
    doc = state.to_json()
    assert reference_validator("state").is_valid(doc)
    assert State.from_json(doc) == state
    assert state.action_state("a") is not None and state.action_state("b") is None
    assert ActionStatus.FAILED.done and not ActionStatus.RUNNING.done


def test_from_json_rejects_invalid_documents_with_the_path() -> None:
    doc = examples.state().to_json()
    doc["batteryState"]["batteryCharge"] = "full"
    with pytest.raises(ProtocolError, match=r"\$\.batteryState\.batteryCharge: expected number"):
        State.from_json(doc)


def test_factsheet_extension_is_validated_and_speed_comes_from_physical_parameters() -> None:
    sheet = examples.factsheet()
    assert sheet.speed_max == 1.2 and sheet.supports("inspect")
    doc = sheet.to_json()
    assert doc["inspection"]["epl"] == "Gb"
    doc["inspection"]["epl"] = "Gx"
    with pytest.raises(ProtocolError, match=r"extension 'inspection'.*epl"):
        Factsheet.from_json(doc)
    del doc["inspection"]
    assert Factsheet.from_json(doc).inspection is None


def test_factsheet_without_epl_is_valid() -> None:
    sheet = examples.factsheet()
    assert sheet.inspection is not None
    plain = replace(sheet, inspection=replace(sheet.inspection, epl=frozenset()))
    doc = plain.to_json()
    assert doc["inspection"]["epl"] is None
    assert Factsheet.from_json(doc) == plain


@pytest.mark.parametrize(("ratings", "wire"), [
    (frozenset({Epl.MB}), "Mb"), (frozenset({Epl.MA}), "Ma"),
    (frozenset({Epl.GB, Epl.MB}), ["Mb", "Gb"]),
])
def test_factsheet_carries_one_rating_or_several(ratings: frozenset[Epl],
                                                 wire: str | list[str]) -> None:
    sheet = examples.factsheet()
    assert sheet.inspection is not None
    rated = replace(sheet, inspection=replace(sheet.inspection, epl=ratings))
    doc = rated.to_json()
    assert doc["inspection"]["epl"] == wire
    assert reference_validator("factsheetInspection").is_valid(doc["inspection"])
    assert Factsheet.from_json(doc) == rated


@pytest.mark.parametrize("bad", [[], ["Mb", "Gx"], "Mx", ["Mb", None]])
def test_factsheet_refuses_unknown_or_empty_rating_lists(bad: object) -> None:
    doc = examples.factsheet().to_json()
    doc["inspection"]["epl"] = bad
    with pytest.raises(ProtocolError, match=r"extension 'inspection'.*epl"):
        Factsheet.from_json(doc)


def test_official_factsheet_schema_rejects_any_blocking_types_value() -> None:
    # why AgvActionSpec never writes blockingTypes: the 2.1.0 schema makes it unsatisfiable
    doc = examples.factsheet().to_json()
    doc["protocolFeatures"]["agvActions"][0]["blockingTypes"] = ["HARD"]
    assert not reference_validator("factsheet").is_valid(doc)
    minimal = Factsheet(Header("m", "s"), TypeSpecification("x"), PhysicalParameters(1.0),
                        agv_actions=(AgvActionSpec("inspect", ("NODE",)),))
    assert reference_validator("factsheet").is_valid(minimal.to_json())


# -- orders: base/horizon ----------------------------------------------------------------------

def _route(n: int) -> tuple[list[RouteStop], list[RouteLeg]]:
    stops = [RouteStop(f"n{i}", NodePosition(float(i), 0.0, "L1")) for i in range(n)]
    return stops, [RouteLeg(f"e{i}", length=1.0) for i in range(n - 1)]


def test_route_order_numbers_nodes_even_edges_odd_and_releases_a_prefix() -> None:
    stops, legs = _route(5)
    order = route_order(Header("m", "s"), "o1", stops, legs, base_end=2)
    assert [n.sequence_id for n in order.nodes] == [0, 2, 4, 6, 8]
    assert [e.sequence_id for e in order.edges] == [1, 3, 5, 7]
    assert [n.released for n in order.nodes] == [True, True, True, False, False]
    assert [e.released for e in order.edges] == [True, True, False, False]
    assert order.last_base_node.node_id == "n2"
    assert [n.node_id for n in order.horizon_nodes] == ["n3", "n4"]


def test_order_update_starts_at_the_last_base_node_with_the_same_sequence_id() -> None:
    stops, legs = _route(5)
    first = route_order(Header("m", "s"), "o1", stops, legs, base_end=2)
    update = route_order(Header("m", "s"), "o1", stops, legs, base_end=4, start=2,
                         order_update_id=1)
    assert update.nodes[0].node_id == first.last_base_node.node_id
    assert update.nodes[0].sequence_id == first.last_base_node.sequence_id
    assert all(n.released for n in update.nodes) and update.order_update_id == 1
    assert Order.from_json(update.to_json()) == update
    assert reference_validator("order").is_valid(update.to_json())


@pytest.mark.parametrize("nodes, edges, reason", [
    ((), (), "at least one node"),
    ((Node("a", 1, True),), (), "odd sequenceId"),
    ((Node("a", 0, True), Node("b", 4, True)), (Edge("e", 1, True, "a", "b"),), "expected 2"),
    ((Node("a", 0, True), Node("b", 2, True)), (), "need 1 edges"),
    ((Node("a", 0, True), Node("b", 2, True)), (Edge("e", 3, True, "a", "b"),), "expected 1"),
    ((Node("a", 0, True), Node("b", 2, True)), (Edge("e", 1, True, "b", "a"),), "joins"),
    ((Node("a", 0, False),), (), "first node must be released"),
    ((Node("a", 0, True), Node("b", 2, False), Node("c", 4, True)),
     (Edge("e", 1, False, "a", "b"), Edge("f", 3, False, "b", "c")), "prefix"),
    ((Node("a", 0, True), Node("b", 2, False)), (Edge("e", 1, True, "a", "b"),),
     "released exactly when"),
])
def test_order_rules_are_enforced(nodes: tuple[Node, ...], edges: tuple[Edge, ...],
                                  reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        Order(Header("m", "s"), "o", 0, nodes, edges)


def test_decoding_an_inconsistent_order_raises_protocol_error() -> None:
    doc = examples.order().to_json()
    doc["nodes"][1]["sequenceId"] = 3
    with pytest.raises(ProtocolError, match="sequenceId 3"):
        Order.from_json(doc)


def test_route_order_rejects_bad_arguments() -> None:
    stops, legs = _route(3)
    with pytest.raises(ProtocolError, match="need 2 legs"):
        route_order(Header("m", "s"), "o", stops, legs[:1], base_end=0)
    with pytest.raises(ProtocolError, match="base_end"):
        route_order(Header("m", "s"), "o", stops, legs, base_end=3)


# -- the inspect action ------------------------------------------------------------------------

def test_inspect_action_round_trip() -> None:
    params = InspectParams("ip7", ("ch4", "o2"), 12.5)
    action = inspect_action("a7", params)
    assert action.blocking_type is BlockingType.HARD and action.action_type == "inspect"
    assert {p["key"] for p in action.to_json()["actionParameters"]} == {
        "inspectionPointId", "sensors", "durationSeconds"}
    assert read_inspect_action(Action.from_json(action.to_json())) == params


@pytest.mark.parametrize("parameters, reason", [
    ({"sensors": ["ch4"], "durationSeconds": 1}, "lacks inspectionPointId"),
    ({"inspectionPointId": "p", "sensors": "ch4", "durationSeconds": 1}, "must be a list"),
    ({"inspectionPointId": "p", "sensors": ["ch4"], "durationSeconds": -1}, ">= 0"),
    ({"inspectionPointId": "p", "sensors": ["ch4"], "durationSeconds": True}, ">= 0"),
    ({"inspectionPointId": "", "sensors": ["ch4"], "durationSeconds": 1}, "non-empty"),
    ({"inspectionPointId": "p", "sensors": [3], "durationSeconds": 1}, "non-empty strings"),
])
def test_read_inspect_action_names_what_is_wrong(parameters: dict[str, object],
                                                 reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        read_inspect_action(Action("a", "inspect", BlockingType.HARD, parameters))


def test_read_inspect_action_rejects_other_actions() -> None:
    with pytest.raises(ProtocolError, match="not inspect"):
        read_inspect_action(Action("a", "cancelOrder"))


def test_inspection_ack_needs_result_ids_and_drops_duplicates() -> None:
    rid = new_result_id()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", rid)
    assert InspectionAck.of(Header("m", "s"), [rid, rid]).result_ids == (rid,)
    with pytest.raises(ProtocolError, match="at least one"):
        InspectionAck(Header("m", "s"), ())


def test_inspection_result_rejects_a_non_uuid_result_id() -> None:
    doc = examples.inspection_result().to_json()
    doc["resultId"] = "result-1"
    with pytest.raises(ProtocolError, match="resultId"):
        MODELS[Topic.INSPECTION](doc)


# -- headers -----------------------------------------------------------------------------------

def test_timestamps_are_utc_iso8601_with_milliseconds() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 3, 987654, tzinfo=UTC)
    assert utc_timestamp(moment) == "2024-05-01T12:00:03.987Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", utc_timestamp())
    assert parse_timestamp("2024-05-01T12:00:03.987Z") == moment.replace(microsecond=987000)


def test_stamper_counts_header_ids_per_topic() -> None:
    ticks = iter(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=i) for i in range(10))
    stamper = HeaderStamper("acme", "r1", clock=lambda: next(ticks))
    states = [stamper.stamp(examples.state()) for _ in range(3)]
    connection = stamper.stamp(examples.connection())
    assert [s.header.header_id for s in states] == [0, 1, 2]
    assert connection.header.header_id == 0
    assert states[1].header.timestamp == "2024-01-01T00:00:01.000Z"
    assert states[0].header.manufacturer == "acme" and stamper.blank().serial_number == "r1"
