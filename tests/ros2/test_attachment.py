"""rmw_zenoh's 33-byte attachment."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.errors import ProtocolError
from fleet.ros2.attachment import SIZE, Attachment

INT64 = st.integers(-(2**63), 2**63 - 1)


@given(INT64, INT64, st.binary(min_size=16, max_size=16))
def test_round_trip(sequence: int, timestamp_ns: int, gid: bytes) -> None:
    attachment = Attachment(sequence, timestamp_ns, gid)
    raw = attachment.encode()
    assert len(raw) == SIZE == 33
    assert raw[16] == 16 and raw[17:] == gid
    assert Attachment.decode(raw) == attachment
    assert Attachment.decode(memoryview(raw)) == attachment


def test_layout() -> None:
    raw = Attachment(1, 0x0102030405060708, bytes(range(16))).encode()
    assert raw == (bytes.fromhex("0100000000000000" "0807060504030201") + b"\x10"
                   + bytes(range(16)))


@given(st.binary(max_size=64).filter(lambda b: len(b) != SIZE))
def test_bad_lengths(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        Attachment.decode(raw)


@pytest.mark.parametrize("length", [0, 15, 17, 255])
def test_bad_gid_length_byte(length: int) -> None:
    raw = bytearray(Attachment(1, 2, bytes(16)).encode())
    raw[16] = length
    with pytest.raises(ProtocolError):
        Attachment.decode(raw)


def test_old_labelled_attachment_is_refused() -> None:
    # Pre-#601 rmw_zenoh attachments were labelled key/value pairs, never 33 bytes of this.
    with pytest.raises(ProtocolError):
        Attachment.decode(b"\x0fsequence_number\x011" + b"\x0asource_gid" + bytes(16))


def test_invalid_values() -> None:
    with pytest.raises(ProtocolError):
        Attachment(2**63, 0, bytes(16))
    with pytest.raises(ProtocolError):
        Attachment(1, 0, bytes(15))
