"""Opus pass-through. RED (RFC 2198): the primary block found at ingress, and each subscriber's copy rewritten,
whole with its own Opus payload type in the blocks, or cut down to the primary block where RED was not
negotiated. DTX: the gaps of a publisher's silence pass on as they are."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.sfu.codecs.red import primary_offset
from weir.sfu.downtrack import DownTrack
from weir.sfu.errors import RedError
from weir.sfu.receiver import Receiver
from weir.sfu.rtp import RtpHeader, build_packet

OPUS, RED = 111, 63


def red_payload(primary: bytes, *redundant: tuple[int, bytes], block_pt: int = OPUS) -> bytes:
    """RED blocks: each ``(timestamp offset, data)`` redundant one, then ``primary``."""
    headers = b"".join(
        bytes((0x80 | block_pt, offset >> 6, (offset & 0x3F) << 2 | len(data) >> 8, len(data) & 0xFF))
        for offset, data in redundant
    )
    return headers + bytes((block_pt,)) + b"".join(data for _, data in redundant) + primary


def test_the_primary_block_follows_the_headers_and_the_redundant_data() -> None:
    payload = red_payload(b"primary", (960, b"older"), (1920, b"oldest!"))
    assert primary_offset(payload, 0, len(payload)) == 4 + 4 + 1 + 5 + 7
    plain = red_payload(b"only")
    assert primary_offset(plain, 0, len(plain)) == 1


@pytest.mark.parametrize("data", [b"", b"\x80", b"\x80\x00\x00", b"\xef\x00\x00\x10\x6f", b"\xef\x00\x00\x01"])
def test_malformed_red_raises_red_error(data: bytes) -> None:
    with pytest.raises(RedError):
        primary_offset(data, 0, len(data))


@given(st.binary(max_size=24))
def test_random_bytes_give_a_primary_block_or_a_red_error(data: bytes) -> None:
    with contextlib.suppress(RedError):
        assert 1 <= primary_offset(data, 0, len(data)) <= len(data)


@given(st.binary(max_size=30), st.lists(st.tuples(st.integers(0, 0x3FFF), st.binary(max_size=40)), max_size=3))
def test_built_payloads_parse_back(primary: bytes, redundant: list[tuple[int, bytes]]) -> None:
    payload = red_payload(primary, *redundant)
    assert payload[primary_offset(payload, 0, len(payload)):] == primary


def forwarded(red_payload_type: int | None) -> tuple[list[bytearray], Receiver]:
    """RED and plain Opus packets through a RED track to one down-track (Opus payload type 100)."""
    receiver = Receiver(kind="audio", red_payload_type=RED)
    sent: list[bytearray] = []
    downtrack = DownTrack(receiver, sent.append, ssrc=5, payload_type=100, clock_rate=48_000)
    downtrack.use_red(red_payload_type)
    receiver.add_downtrack(downtrack)
    payloads = [(RED, red_payload(b"frame-1", (960, b"frame-0"))), (OPUS, b"plain"), (RED, b"\x80\x6f")]
    for seq, (pt, payload) in enumerate(payloads):
        receiver.receive(build_packet(payload_type=pt, sequence_number=seq, timestamp=960 * seq, ssrc=9,
                                      payload=payload), 0, 0)
    return sent, receiver


def test_a_subscriber_with_red_gets_red_with_its_own_opus_payload_type_in_the_blocks() -> None:
    sent, receiver = forwarded(101)
    red, plain = (RtpHeader.parse(bytes(buf)) for buf in sent)
    assert red.payload_type == 101
    assert red.payload == red_payload(b"frame-1", (960, b"frame-0"), block_pt=100)  # its blocks typed 100
    assert (plain.payload_type, plain.payload) == (100, b"plain")
    assert receiver.malformed == 1  # the truncated RED packet, dropped at ingress


def test_a_subscriber_without_red_gets_the_primary_blocks_as_opus() -> None:
    sent, _ = forwarded(None)
    assert [(h.payload_type, h.payload) for h in (RtpHeader.parse(bytes(buf)) for buf in sent)] == [
        (100, b"frame-1"), (100, b"plain"),
    ]


def test_dtx_silence_keeps_its_timestamp_gap_and_no_sequence_gap() -> None:
    receiver = Receiver(kind="audio")
    sent: list[bytearray] = []
    receiver.add_downtrack(DownTrack(receiver, sent.append, ssrc=5, payload_type=100, clock_rate=48_000,
                                     start_seq=10, start_ts=0))
    # 20 ms frames, then DTX: one comfort-noise frame 400 ms later, then speech again
    for seq, ts in enumerate((0, 960, 1920, 1920 + 19_200, 1920 + 38_400, 1920 + 38_400 + 960)):
        receiver.receive(build_packet(payload_type=OPUS, sequence_number=seq, timestamp=ts, ssrc=9, payload=b"o"),
                         0, 0)
    headers = [RtpHeader.parse(bytes(buf)) for buf in sent]
    assert [h.sequence_number for h in headers] == list(range(10, 16))
    assert [h.timestamp for h in headers] == [0, 960, 1920, 21_120, 40_320, 41_280]
