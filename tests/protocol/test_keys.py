"""Key expressions: building, parsing (site prefixes), wildcards, forbidden characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.errors import ProtocolError
from fleet.protocol.keys import (
    ALIVE,
    ParsedKey,
    Topic,
    alive_key,
    parse_key,
    parse_topic,
    subscription_key,
    topic_key,
)

chunks = st.text(min_size=1, max_size=12).filter(
    lambda s: not set(s) & set("/*$?#") and not s.startswith("@"))
interfaces = st.lists(chunks, min_size=1, max_size=3).map("/".join)


def test_topic_key_default_layout() -> None:
    assert topic_key("uagv", "acme", "r1", Topic.STATE) == "uagv/v2/acme/r1/state"
    assert topic_key("uagv", "acme", "r1", Topic.INSTANT_ACTIONS) == (
        "uagv/v2/acme/r1/instantActions")
    assert alive_key("uagv", "acme", "r1") == "uagv/v2/acme/r1/alive"


def test_parse_key_with_site_prefix() -> None:
    assert parse_key("site-a/uagv/v2/acme/r1/state") == ParsedKey(
        "site-a/uagv", "acme", "r1", "state")
    assert parse_key("a/b/c/v2/m/s/order").interface == "a/b/c"


def test_subscription_keys_for_the_manager() -> None:
    assert subscription_key("uagv", Topic.STATE) == "uagv/v2/*/*/state"
    assert subscription_key("site-a/uagv", ALIVE) == "site-a/uagv/v2/*/*/alive"
    assert subscription_key(manufacturer="acme") == "uagv/v2/acme/*/*"


@pytest.mark.parametrize("bad", ["ac/me", "a*", "$x", "what?", "#1", "", "@admin"])
def test_forbidden_manufacturer_or_serial(bad: str) -> None:
    with pytest.raises(ProtocolError):
        topic_key("uagv", bad, "r1", Topic.STATE)
    with pytest.raises(ProtocolError):
        topic_key("uagv", "acme", bad, Topic.STATE)


@pytest.mark.parametrize("key, reason", [
    ("uagv/v2/acme/state", "is not"),
    ("uagv/v3/acme/r1/state", "version chunk"),
    ("v2/acme/r1/state", "is not"),
    ("uagv/v2/acme//state", "serial number"),
    ("/uagv/v2/acme/r1/state", "empty chunk"),
    ("uagv/v2/*/r1/state", "not allowed"),
])
def test_parse_key_rejects_with_reason(key: str, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        parse_key(key)


def test_parse_topic() -> None:
    assert parse_topic("inspectionAck") is Topic.INSPECTION_ACK
    with pytest.raises(ProtocolError, match="unknown topic 'visualization'"):
        parse_topic("visualization")
    assert Topic.ORDER.from_manager and not Topic.STATE.from_manager


@given(interfaces, chunks, chunks, chunks)
def test_build_then_parse_round_trip(interface: str, manufacturer: str, serial: str,
                                     topic: str) -> None:
    key = topic_key(interface, manufacturer, serial, topic)
    assert parse_key(key) == (interface, manufacturer, serial, topic)


key_like = st.lists(
    st.one_of(st.sampled_from(["uagv", "v2", "acme", "r1", "state", "*", "", "@x", "$*", "#"]),
              chunks),
    max_size=8).map("/".join)


@given(st.one_of(st.text(max_size=60), key_like))
def test_parse_key_raises_only_protocol_error(key: str) -> None:
    try:
        parsed = parse_key(key)
    except ProtocolError:
        return
    assert topic_key(*parsed) == key
