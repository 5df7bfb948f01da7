"""The bundled schemas, and the compiled validator against jsonschema as the reference."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from fleet.errors import ProtocolError
from fleet.protocol import examples
from fleet.protocol.inspection import InspectionAck, Rejection
from fleet.protocol.validation import (
    EXTENSION_SCHEMAS,
    OFFICIAL_SCHEMAS,
    compile_schema,
    fast_validator,
    load_schema,
    reference_validator,
)

BUNDLED = Path(__file__).resolve().parents[2] / "fleet" / "protocol" / "schemas"


def test_bundled_official_schemas_are_byte_identical_to_shared(shared_dir: Path) -> None:
    source = shared_dir / "vda5050" / "2.1.0"
    names = sorted(p.name for p in source.glob("*.schema"))
    assert names == sorted(f"{n}.schema" for n in OFFICIAL_SCHEMAS)
    for name in names:
        assert (BUNDLED / name).read_bytes() == (source / name).read_bytes(), name
    license_text = (shared_dir / "vda5050" / "LICENSE.txt").read_bytes()
    assert (BUNDLED / "LICENSE.txt").read_bytes() == license_text


@pytest.mark.parametrize("name", OFFICIAL_SCHEMAS + EXTENSION_SCHEMAS)
def test_every_bundled_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    Draft202012Validator.check_schema(load_schema(name))


def test_official_factsheet_allows_the_inspection_extension() -> None:
    # the brief's capabilities live at the factsheet's top level: this must stay allowed
    assert "additionalProperties" not in load_schema("factsheet")


def test_load_schema_returns_a_copy_and_rejects_unknown_names() -> None:
    load_schema("state")["properties"].clear()
    assert load_schema("state")["properties"]
    with pytest.raises(ProtocolError, match="no schema named"):
        load_schema("../../etc/passwd")


def test_compiler_refuses_keywords_it_does_not_implement() -> None:
    with pytest.raises(ProtocolError, match="'oneOf' is not supported"):
        compile_schema({"oneOf": [{"type": "string"}]})
    with pytest.raises(ProtocolError, match="only local"):
        compile_schema({"$ref": "https://example.org/x.schema"})


def test_compiler_names_the_path_and_reason() -> None:
    check = fast_validator("state")
    state = examples.state().to_json()
    state["nodeStates"][1]["released"] = "yes"
    failure = check(state)
    assert failure is not None
    assert str(failure) == '$.nodeStates[1].released: expected boolean, got "yes"'


def test_compiler_any_of_agrees_with_jsonschema() -> None:
    schema = {"type": "object", "required": ["a"],
              "anyOf": [{"properties": {"a": {"minItems": 1}}},
                        {"required": ["b"], "properties": {"b": {"type": "string"}}}]}
    check = compile_schema(schema)
    ref = Draft202012Validator(schema)
    for instance in [{"a": [1]}, {"a": []}, {"a": [], "b": "x"}, {"a": [], "b": 1},
                     {"a": [1], "b": 1}, {"b": "x"}, {"a": "x"}, [], None]:
        assert (check(instance) is None) == ref.is_valid(instance), instance
    failure = check({"a": []})
    assert failure is not None and "anyOf" in str(failure) and "$.a" in str(failure)
    with pytest.raises(ProtocolError, match="anyOf"):
        compile_schema({"anyOf": []})


def test_compiler_semantics_on_small_schemas() -> None:
    schema = {
        "type": "object", "required": ["n"], "additionalProperties": False,
        "properties": {"n": {"type": "integer", "minimum": 0},
                       "s": {"type": "string", "pattern": "^a", "maxLength": 3},
                       "l": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/e"}}},
        "$defs": {"e": {"enum": [1, "x", None]}},
    }
    check = compile_schema(schema)
    ref = Draft202012Validator(schema)
    for instance in [{"n": 1}, {"n": 1.0}, {"n": True}, {"n": -1}, {}, {"n": 0, "z": 1},
                     {"n": 0, "s": "abc"}, {"n": 0, "s": "abcd"}, {"n": 0, "s": "ba"},
                     {"n": 0, "l": []}, {"n": 0, "l": [1.0, None, "x"]}, {"n": 0, "l": [True]},
                     [], "x", None]:
        assert (check(instance) is None) == ref.is_valid(instance), instance


# -- differential test: random mutations of valid messages ----------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
    | st.sampled_from(["NONE", "HARD", "WAITING", "FINISHED", "ONLINE", "Gb", "WARNING",
                       "AUTOMATIC", examples.RESULT_ID, "2.1.0", "r" * 257, "x" * 501]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


MESSAGES = [*examples.all_examples(), examples.inspection_rejection(),
            InspectionAck.of(examples.header(), [examples.RESULT_ID],
                             [Rejection("result-1", "resultId is not a UUID"),
                              Rejection("r" * 256, "x" * 500)])]
"""One message of every topic, and acknowledgements with rejections (alone and mixed)."""


@st.composite
def mutated_messages(draw: st.DrawFn) -> tuple[str, Any]:
    message = draw(st.sampled_from(MESSAGES))
    doc = copy.deepcopy(message.to_json())
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(json_values)
        else:
            parent[path[-1]] = draw(json_values)
    return str(message.TOPIC), doc


@settings(max_examples=300, deadline=None)
@given(mutated_messages())
def test_compiled_validator_agrees_with_jsonschema(case: tuple[str, Any]) -> None:
    topic, doc = case
    fast = fast_validator(topic)(doc)
    agrees = (fast is None) == reference_validator(topic).is_valid(doc)
    assert agrees, (topic, fast, json.dumps(doc))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(OFFICIAL_SCHEMAS + EXTENSION_SCHEMAS), json_values)
def test_compiled_validator_agrees_on_arbitrary_json(name: str, doc: Any) -> None:
    assert (fast_validator(name)(doc) is None) == reference_validator(name).is_valid(doc)
