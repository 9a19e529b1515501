"""The v2c BER codec of the SNMP client: real answers decode, hostile bytes never crash it.

An SNMP answer is attacker data (reliability.md: Cacti CVE-2025-22604); the client's reader drops
anything that fails with _BerError/ValueError/IndexError, so nothing else may escape."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augenmass.probes.snmp import client as sc

SUPPLY_LEVEL = (1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 1)
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)


def response(request_id: int, varbinds: list[tuple[tuple[int, ...], bytes]]) -> bytes:
    body = b"".join(sc._tlv(0x30, sc._oid_bytes(oid) + value) for oid, value in varbinds)
    pdu = sc._int(request_id) + sc._int(0) + sc._int(0) + sc._tlv(0x30, body)
    return sc._tlv(0x30, sc._int(1) + sc._tlv(0x04, b"public") + sc._tlv(sc._RESPONSE, pdu))


VALID = response(
    4711,
    [
        (SUPPLY_LEVEL, sc._int(42)),
        (SYS_DESCR, sc._tlv(0x04, b"Xerox WorkCentre\x00")),
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), sc._tlv(0x43, (123456).to_bytes(3, "big"))),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), sc._tlv(0x46, (2**40).to_bytes(6, "big"))),
        ((1, 3, 6, 1, 9, 9), b"\x81\x00"),  # noSuchInstance
    ],
)


def test_a_real_shaped_answer_decodes_with_its_types() -> None:
    request_id, status, index, varbinds = sc.decode_response(VALID)
    assert (request_id, status, index) == (4711, 0, 0)
    values = {oid: (v.kind, v.value) for oid, v in varbinds}
    assert values[(1, 3, 6, 1, 9, 9)][0] == "noSuchInstance"
    assert values[SUPPLY_LEVEL] == ("integer", 42)
    assert values[SYS_DESCR] == ("octets", b"Xerox WorkCentre\x00")
    assert values[(1, 3, 6, 1, 2, 1, 1, 3, 0)][1] == 123456
    assert values[(1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1)][1] == 2**40


def test_the_request_encoder_writes_what_an_agent_expects() -> None:
    packet = sc.encode_request(b"xerox", 7, 0xA5, [SUPPLY_LEVEL], 0, 25)
    assert packet[0] == 0x30 and b"xerox" in packet
    assert sc._oid_bytes(SUPPLY_LEVEL) in packet


def _decode_safely(data: bytes) -> None:
    try:
        sc.decode_response(data)
    except (sc._BerError, ValueError, IndexError):
        pass  # dropped by the reader, like a lost datagram


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_another_error(data: bytes) -> None:
    _decode_safely(data)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(0, 255), st.integers(1, len(VALID)))
def test_truncated_or_flipped_answers_never_escape(pos: int, byte: int, cut: int) -> None:
    mutated = bytearray(VALID)
    mutated[pos] = byte
    _decode_safely(bytes(mutated))
    _decode_safely(VALID[:cut])


def test_a_length_claiming_gigabytes_is_refused_not_allocated() -> None:
    huge = b"\x30\x84\xff\xff\xff\xff" + VALID[2:]
    with pytest.raises(sc._BerError, match="truncated"):
        sc.decode_response(huge)
