"""VDA 5050 2.0 and 2.1: versions read from headers, messages lowered to 2.0 and checked by
the reference validator against the official 2.0.0 schemas, 2.0 messages lifted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from fleet.errors import ProtocolError
from fleet.protocol import examples
from fleet.protocol.codec import decode_object
from fleet.protocol.keys import Topic
from fleet.protocol.order import Action, BlockingType, InstantActions
from fleet.protocol.validation import OFFICIAL_SCHEMAS
from fleet.protocol.versions import Version, lift, lower, read, schema_2_0, version_of

BUNDLED_2_0 = Path(__file__).resolve().parents[2] / "fleet" / "protocol" / "schemas" / "2.0.0"


def official_2_0(name: str) -> Draft202012Validator:
    """jsonschema's validator of the official 2.0.0 file as published (not ours)."""
    return Draft202012Validator(json.loads((BUNDLED_2_0 / f"{name}.schema").read_text()))


def test_bundled_2_0_schemas_are_byte_identical_to_shared(shared_dir: Path) -> None:
    source = shared_dir / "vda5050" / "2.0.0"
    names = sorted(p.name for p in source.glob("*.schema"))
    assert names == sorted(f"{n}.schema" for n in OFFICIAL_SCHEMAS)
    for name in names:
        assert (BUNDLED_2_0 / name).read_bytes() == (source / name).read_bytes(), name


@pytest.mark.parametrize(("text", "version"), [
    ("2.0.0", Version.V2_0), ("2.0.3", Version.V2_0), ("2.1.0", Version.V2_1),
    ("2.1.7", Version.V2_1)])
def test_any_patch_of_2_0_and_2_1_is_spoken(text: str, version: Version) -> None:
    assert version_of(text) is version


@pytest.mark.parametrize("text", ["1.1.0", "3.0.0", "2.2.0", "2.1", "2.x.0", "", None, 2])
def test_any_other_version_is_refused_naming_it(text: object) -> None:
    with pytest.raises(ProtocolError, match=r"VDA 5050 version .* is not supported: this "
                                            r"manager speaks 2\.0\.x and 2\.1\.x"):
        version_of(text)


def test_an_order_lowered_to_2_0_is_valid_against_the_official_2_0_schema() -> None:
    order = examples.order().to_json()
    order["nodes"][1]["nodePosition"]["allowedDeviationXY"] = 0.5
    order["edges"][0]["corridor"] = {"leftWidth": 0.5, "rightWidth": 0.5}
    order["nodes"][0]["actions"] = [{"actionId": "a", "actionType": "inspect",
                                     "blockingType": "HARD", "actionParameters": [
                                         {"key": "where", "value": {"x": 1}}]}]
    low = lower(Topic.ORDER, order, Version.V2_0)
    assert low["version"] == "2.0.0" and order["version"] == "2.1.0"  # a copy
    official_2_0("order").validate(low)
    positions = [n["nodePosition"] for n in low["nodes"] if "nodePosition" in n]
    assert positions and all("allowedDeviationXY" not in p for p in positions)
    assert any("allowedDeviationXy" in p for p in positions)
    assert "corridor" not in low["edges"][0]
    assert low["nodes"][0]["actions"][0]["actionParameters"][0]["value"] == '{"x":1}'
    # the same order is not valid 2.0 as it was (an object-valued parameter)
    assert list(official_2_0("order").iter_errors({**order, "version": "2.0.0"}))


def test_instant_actions_for_2_0_carry_the_type_as_the_text_and_the_schema_name_it() -> None:
    message = InstantActions(examples.header(), (
        Action("cancel-1", "cancelOrder", BlockingType.HARD),)).to_json()
    assert list(official_2_0("instantActions").iter_errors(message))  # no actionName
    low = lower(Topic.INSTANT_ACTIONS, message, Version.V2_0)
    official_2_0("instantActions").validate(low)
    assert low["actions"][0]["actionType"] == low["actions"][0]["actionName"] == "cancelOrder"


def test_2_1_messages_pass_through_untouched() -> None:
    order = examples.order().to_json()
    assert lower(Topic.ORDER, order, Version.V2_1) is order
    assert lift(Topic.ORDER, order, Version.V2_1) is order


def test_an_inspection_ack_for_2_0_says_2_0_and_keeps_its_own_schema() -> None:
    ack = examples.inspection_ack().to_json()
    assert lower(Topic.INSPECTION_ACK, ack, Version.V2_0)["version"] == "2.0.0"
    del ack["resultIds"]
    with pytest.raises(ProtocolError, match="inspectionAck"):
        lower(Topic.INSPECTION_ACK, ack, Version.V2_0)


def factsheet_2_0() -> dict[str, Any]:
    d = examples.factsheet().to_json()
    d["version"] = "2.0.0"
    d["typeSpecification"]["navigationTypes"] = ["PHYSICAL_LINDE_GUIDED"]
    d["loadSpecification"]["loadSets"] = [{"setName": "none", "loadType": "none",
                                           "maxWeigth": 0.0}]
    return d


def test_a_2_0_factsheet_is_read_and_lifted_to_2_1s_spellings() -> None:
    d = factsheet_2_0()
    assert read(Topic.FACTSHEET, d) is Version.V2_0
    lifted = lift(Topic.FACTSHEET, d, Version.V2_0)
    assert lifted["typeSpecification"]["navigationTypes"] == ["PHYSICAL_LINE_GUIDED"]
    assert lifted["loadSpecification"]["loadSets"][0]["maxWeight"] == 0.0
    assert d["loadSpecification"]["loadSets"][0]["maxWeigth"] == 0.0  # not changed
    assert decode_object(Topic.FACTSHEET, lifted).timing.default_state_interval == 1.0


def test_the_malformed_2_0_factsheet_schema_is_checked_as_meant() -> None:
    d = factsheet_2_0()
    del d["protocolLimits"]["timing"]["minOrderInterval"]
    # as published, the 2.0.0 schema checks the top-level keys only: it lets this through
    official_2_0("factsheet").validate(d)
    with pytest.raises(ProtocolError, match=r"VDA 5050 2\.0\).*minOrderInterval"):
        read(Topic.FACTSHEET, d)
    assert "protocolLimits" in schema_2_0("factsheet")["properties"]


def test_a_2_0_state_is_checked_against_the_2_0_schema() -> None:
    state = examples.state().to_json()
    state["version"] = "2.0.0"
    state["batteryState"]["batteryCharge"] = 80  # 2.0 says integer percent
    assert read(Topic.STATE, state) is Version.V2_0
    state["batteryState"]["batteryCharge"] = "full"
    with pytest.raises(ProtocolError, match=r"state message \(VDA 5050 2\.0\) invalid at "
                                            r"\$\.batteryState\.batteryCharge"):
        read(Topic.STATE, state)


def test_instant_actions_from_2_0_are_read_by_either_name() -> None:
    d = {**examples.header().to_json(), "version": "2.0.0",
         "actions": [{"actionId": "p", "actionName": "startPause", "blockingType": "HARD"}]}
    lifted = lift(Topic.INSTANT_ACTIONS, d, read(Topic.INSTANT_ACTIONS, d))
    assert lifted["actions"][0]["actionType"] == "startPause"
