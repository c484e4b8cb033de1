"""The down-track's one-copy path: the frame is copied once and the header written into its headroom, by the
down-track, or by an ``ExtensionSink`` with its extension block in one template. The packets sent are byte for
byte those of the inserting path (plain packet first, then the block inserted behind its header).
"""

from __future__ import annotations

from typing import Literal

import pytest

from tests.sfu.packets import VIDEO_PT, vp8_rtp
from weir.sfu.codecs.vp8 import Vp8Descriptor
from weir.sfu.downtrack import DownTrack, PacketSink
from weir.sfu.headerext import ExtensionSink, SendHistory
from weir.sfu.receiver import Receiver
from weir.sfu.rtp import RtpHeader, build_packet
from weir.sfu.rtx import RtxStream

NOW_NS = 1_234_567_891_234


def forwarded(sink: PacketSink, packets: list[bytes], *, kind: Literal["audio", "video"] = "video",
              payload_type: int = 100) -> None:
    """``packets`` through a real receiver to one down-track (SSRC 77, numbers from 1000 and 5000) into ``sink``."""
    receiver = Receiver(kind=kind, vp8=kind == "video")
    receiver.add_downtrack(DownTrack(receiver, sink, ssrc=77, payload_type=payload_type,
                                     clock_rate=90_000, vp8=kind == "video", start_seq=1000, start_ts=5000))
    for data in packets:
        receiver.receive(data, 0, 0)


def video(count: int) -> list[bytes]:
    """A keyframe of three packets, then delta frames: picture ids and TL0PICIDX to rewrite, seq wrapping."""
    out = []
    for n in range(count):
        seq, frame = (65534 + n) & 0xFFFF, n // 3
        out.append(vp8_rtp(seq, 3000 * frame, ssrc=41, marker=n % 3 == 2, picture_id=(32760 + frame) & 0x7FFF,
                           tl0=frame & 0xFF, start=n % 3 == 0, keyframe=frame == 0, body=bytes(range(n, n + 200))))
    return out


@pytest.mark.parametrize(("abs_id", "tcc_id", "numbered"), [(3, 0, False), (3, 5, True), (0, 5, True),
                                                            (3, 5, False), (0, 5, False)])
def test_stamped_packets_are_byte_for_byte_those_of_the_inserting_path(abs_id: int, tcc_id: int,
                                                                       numbered: bool) -> None:
    packets = video(9)
    plain: list[bytearray] = []
    forwarded(plain.append, packets)
    expected: list[bytearray] = []
    inserting = ExtensionSink(expected.append, abs_id, tcc_id, SendHistory(bits=4) if numbered else None,
                              now_ns=lambda: NOW_NS)
    for packet in plain:
        inserting(bytearray(packet))

    sent: list[bytearray] = []
    history = SendHistory(bits=4) if numbered else None
    forwarded(ExtensionSink(sent.append, abs_id, tcc_id, history, now_ns=lambda: NOW_NS), packets)
    assert len(sent) == 9
    assert [bytes(p) for p in sent] == [bytes(p) for p in expected]
    first = RtpHeader.parse(bytes(sent[0]))
    assert (first.sequence_number, first.timestamp, first.ssrc, first.payload_type) == (1000, 5000, 77, 100)
    assert (first.ext_profile >= 0) == bool(abs_id or numbered)
    if history is not None:
        assert history.next_seq == 10 and history.sizes[9 & history.mask] == len(sent[-1])


def test_the_plain_path_is_a_fresh_header_then_the_payload_with_its_ids_rewritten() -> None:
    packets = video(6)
    sent: list[bytearray] = []
    forwarded(sent.append, packets)
    pids = []
    for n, (packet, original) in enumerate(zip(sent, packets, strict=True)):
        header, source = RtpHeader.parse(bytes(packet)), RtpHeader.parse(original)
        assert (header.sequence_number, header.timestamp, header.ssrc, header.payload_type, header.marker,
                header.ext_profile) == (1000 + n, 5000 + 3000 * (n // 3), 77, 100, n % 3 == 2, -1)
        descriptor = Vp8Descriptor.parse(header.payload)
        assert header.payload[descriptor.size:] == source.payload[descriptor.size:]
        pids.append(descriptor.picture_id)
    assert pids[0] == pids[2] and pids[3] == pids[0] + 1  # 32760 and 32761 renumbered, one apart


def test_audio_without_extensions_is_header_then_payload() -> None:
    sent: list[bytearray] = []
    forwarded(sent.append, [build_packet(payload_type=VIDEO_PT, sequence_number=300, timestamp=960, ssrc=2,
                                         payload=b"opus-frame", marker=True)], kind="audio", payload_type=111)
    assert [bytes(p) for p in sent] == [build_packet(payload_type=111, sequence_number=1000, timestamp=5000,
                                                     ssrc=77, payload=b"opus-frame", marker=True)]


SINKS = [(0, 0, False), (3, 0, False), (3, 5, True), (0, 5, True), (0, 5, False)]  # abs id, tcc id, numbered


@pytest.mark.parametrize(("abs_id", "tcc_id", "numbered"), SINKS)
@pytest.mark.parametrize("red_payload_type", [None, 63])
def test_audio_with_padding_red_and_rtx_is_byte_for_byte_what_the_header_template_replaced(
        abs_id: int, tcc_id: int, numbered: bool, red_payload_type: int | None) -> None:
    """Opus and RED (RFC 2198) packets, some with the publisher's padding and extensions, a padding-only one
    between them, then an RTX resend: each as a reference built from scratch (``build_packet``, a plain header
    and the payload as the subscriber gets it) and stamped by the inserting path, or sent plain."""
    blocks = bytes((0x80 | 111, 0x0F, 0x00, 0x03)) + bytes((111,)) + b"old"  # one redundant block, then primary
    inbound = [
        (63, blocks + b"first", 0, [(1, b"\x85")]),
        (111, b"opus-two", 4, []),
        (111, b"", 8, []),  # padding only: skipped, and the next packet's number follows on
        (63, blocks + b"third", 0, [(1, b"\x90"), (2, b"xy")]),
    ]
    receiver = Receiver(kind="audio", red_payload_type=63)
    sent: list[bytearray] = []
    history = SendHistory(bits=4) if numbered else None
    sink = ExtensionSink(sent.append, abs_id, tcc_id, history, now_ns=lambda: NOW_NS) if abs_id or tcc_id else None
    downtrack = DownTrack(receiver, sent.append if sink is None else sink, ssrc=77, payload_type=111,
                          clock_rate=48_000, start_seq=1000, start_ts=5000)
    downtrack.use_red(red_payload_type)
    downtrack.rtx = RtxStream(88, 97, start_seq=300)
    receiver.add_downtrack(downtrack)
    for n, (pt, payload, padding, extensions) in enumerate(inbound):
        receiver.receive(build_packet(payload_type=pt, sequence_number=40 + n, timestamp=960 * n, ssrc=9,
                                      payload=payload, padding=padding, extensions=extensions), 0, 0)
    assert downtrack.handle_nack([1001], now_ns=NOW_NS) == 1

    def plain(seq: int, ts: int, payload: bytes) -> bytearray:
        red = payload.startswith(blocks)
        if red and red_payload_type is None:
            payload = payload[len(blocks):]
        return bytearray(build_packet(payload_type=red_payload_type if red and red_payload_type else 111,
                                      sequence_number=seq, timestamp=ts, ssrc=77, payload=payload))

    plains = [plain(1000, 5000, blocks + b"first"), plain(1001, 5960, b"opus-two"),
              plain(1002, 5000 + 3 * 960, blocks + b"third")]
    plains.append(RtxStream(88, 97, start_seq=300).wrap(bytearray(plains[1])))
    expected: list[bytearray] = []
    reference = ExtensionSink(expected.append, abs_id, tcc_id, SendHistory(bits=4) if numbered else None,
                              now_ns=lambda: NOW_NS) if sink is not None else expected.append
    for packet in plains:
        reference(packet)
    assert [bytes(p) for p in sent] == [bytes(p) for p in expected]
