"""Rejected inspection results: the ``rejected`` list of an inspectionAck, its schema, and
:func:`result_reference`, which the manager uses to name what it refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.errors import ProtocolError
from fleet.protocol import examples
from fleet.protocol.codec import decode, encode
from fleet.protocol.header import Header
from fleet.protocol.inspection import (
    REASON_MAX,
    REJECTED_ID_MAX,
    InspectionAck,
    Rejection,
    result_reference,
)
from fleet.protocol.keys import Topic
from fleet.protocol.validation import fast_validator, reference_validator

RID = examples.RESULT_ID


def ack_doc(result_ids: list[Any], rejected: Any = None) -> dict[str, Any]:
    doc: dict[str, Any] = examples.header(2).to_json()
    doc["resultIds"] = result_ids
    if rejected is not None:
        doc["rejected"] = rejected
    return doc


def test_an_ack_with_rejections_round_trips() -> None:
    ack = InspectionAck.of(Header("acme", "r1"), [RID],
                           [Rejection("result-1", "resultId is not a UUID"),
                            Rejection("result-1", "a second reason is dropped"),
                            Rejection(examples.REJECTED_ID, "readings[0].value not a number")])
    assert ack.result_ids == (RID,)
    assert [r.result_id for r in ack.rejected] == ["result-1", examples.REJECTED_ID]
    assert ack.rejected[0].reason == "resultId is not a UUID"
    doc = ack.to_json()
    assert doc["rejected"][0] == {"resultId": "result-1", "reason": "resultId is not a UUID"}
    assert reference_validator(Topic.INSPECTION_ACK).is_valid(doc)
    assert decode(Topic.INSPECTION_ACK, encode(ack)) == ack


def test_a_rejection_alone_is_a_valid_ack_and_an_ack_of_nothing_is_not() -> None:
    only = examples.inspection_rejection()
    assert only.result_ids == () and len(only.rejected) == 1
    doc = only.to_json()
    assert doc["resultIds"] == [] and reference_validator(Topic.INSPECTION_ACK).is_valid(doc)
    assert decode(Topic.INSPECTION_ACK, encode(only)) == only
    # without rejections the JSON has no "rejected" key: an old robot reads it as before
    assert "rejected" not in examples.inspection_ack().to_json()
    with pytest.raises(ProtocolError, match="at least one resultId or rejection"):
        InspectionAck(Header("m", "s"), (), ())
    with pytest.raises(ProtocolError, match="anyOf"):
        decode(Topic.INSPECTION_ACK, json.dumps(ack_doc([], [])).encode())


@pytest.mark.parametrize("rejected", [
    [{"resultId": "", "reason": "empty id"}],
    [{"resultId": "r" * (REJECTED_ID_MAX + 1), "reason": "too long an id"}],
    [{"resultId": "r", "reason": ""}],
    [{"resultId": "r", "reason": "x" * (REASON_MAX + 1)}],
    [{"resultId": 7, "reason": "not a string"}],
    [{"resultId": "r"}],
    [{"reason": "no id"}],
    "r",
])
def test_malformed_rejections_are_refused_by_both_validators(rejected: Any) -> None:
    doc = ack_doc([RID], rejected)
    assert not reference_validator(Topic.INSPECTION_ACK).is_valid(doc)
    assert fast_validator(Topic.INSPECTION_ACK)(doc) is not None
    with pytest.raises(ProtocolError):
        decode(Topic.INSPECTION_ACK, json.dumps(doc).encode())


def test_a_rejected_result_id_need_not_be_a_uuid_but_an_acknowledged_one_must() -> None:
    assert reference_validator(Topic.INSPECTION_ACK).is_valid(
        ack_doc([], [{"resultId": "not a uuid", "reason": "resultId is not a UUID"}]))
    assert not reference_validator(Topic.INSPECTION_ACK).is_valid(ack_doc(["not a uuid"]))


def test_rejection_checks_its_fields_and_of_makes_a_reason_fit() -> None:
    with pytest.raises(ProtocolError, match="resultId"):
        Rejection("", "why")
    with pytest.raises(ProtocolError, match="resultId"):
        Rejection("r" * (REJECTED_ID_MAX + 1), "why")
    with pytest.raises(ProtocolError, match="reason"):
        Rejection("r", "")
    assert Rejection.of("r", "line one\n  line two\t").reason == "line one line two"
    assert Rejection.of("r", " \n ").reason == "rejected"
    long = Rejection.of("r", "x" * 2000).reason
    assert len(long) == REASON_MAX and long.endswith("...")
    assert reference_validator(Topic.INSPECTION_ACK).is_valid(
        InspectionAck.of(Header("acme", "r1"), [], [Rejection.of("r", "x" * 2000)]).to_json())


# -- result_reference ------------------------------------------------------------------------

@pytest.mark.parametrize("payload, expected", [
    (encode(examples.inspection_result()), RID),
    (b'{"resultId": "result-1", "readings": "junk"}', "result-1"),
    (b'{"resultId": "' + b"r" * REJECTED_ID_MAX + b'"}', "r" * REJECTED_ID_MAX),
    (b'{"resultId": "' + b"r" * (REJECTED_ID_MAX + 1) + b'"}', None),
    (b'{"resultId": ""}', None),
    (b'{"resultId": 42}', None),
    (b'{"resultId": ["a"]}', None),
    (b'{"resultId": null}', None),
    (b'{"orderId": "o1"}', None),
    (b'["resultId"]', None),
    (b'"resultId"', None),
    (b'{"resultId": "r1"', None),  # truncated
    (b"\xff\xfe{}", None),
    (b"", None),
    (b"[" * 100_000 + b"]" * 100_000, None),
    (b'{"resultId": "r", "v": NaN}', None),
])
def test_result_reference_reads_a_sane_result_id_or_none(payload: bytes,
                                                         expected: str | None) -> None:
    assert result_reference(payload) == expected


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.builds(
    lambda obj: json.dumps(obj).encode(),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=300),
                 lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.sampled_from(["resultId", "x"]) | st.text(max_size=4),
                                   inner, max_size=3), max_leaves=6)))
def test_result_reference_never_raises(payload: bytes) -> None:
    found = result_reference(payload)
    assert found is None or (isinstance(found, str) and 1 <= len(found) <= REJECTED_ID_MAX)
    if found is not None:
        Rejection(found, "any reason")  # whatever it finds can be named in a rejection
