"""Weir's packet parsers on packets recorded from Chromium, GStreamer and aiortc sessions through the SFU
(tests/fixtures/packets/, made by bench/record_packets.py): RTP of each codec with its header extensions, RTCP
compounds and STUN. Each packet is parsed and, where Weir or aioice serialises that type, rebuilt byte for byte;
the facts checked are read from the packets' own bits or from the SDP each session negotiated (manifest.json)."""

from __future__ import annotations

import json
import struct
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aioice import stun

from weir.sfu.codecs.av1 import Av1Payload
from weir.sfu.codecs.h264 import IDR, SPS, nal_types
from weir.sfu.codecs.h264 import is_keyframe as h264_keyframe
from weir.sfu.codecs.red import primary_offset
from weir.sfu.codecs.vp8 import Vp8Descriptor
from weir.sfu.codecs.vp9 import Vp9Descriptor
from weir.sfu.codecs.vp9 import is_keyframe as vp9_keyframe
from weir.sfu.rtcp import Bye, Nack, ReceiverReport, Remb, SenderReport, parse_compound
from weir.sfu.rtp import RtpHeader, build_packet
from weir.sfu.rtx import OSN_SIZE, original_sequence_number

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "packets"
MANIFEST: dict[str, Any] = json.loads((FIXTURES / "manifest.json").read_text())
FILES: dict[str, dict[str, Any]] = MANIFEST["files"]
RTP_FILES = sorted(name for name, what in FILES.items() if what["kind"] == "rtp")
RTCP_FILES = sorted(name for name, what in FILES.items() if what["kind"] == "rtcp")
STUN_FILES = sorted(name for name, what in FILES.items() if what["kind"] == "stun")
VIDEO = ("vp8", "vp9", "h264", "av1", "rtx")

ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
TRANSPORT_CC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
EXTENSION_SIZES = {ABS_SEND_TIME: 3, AUDIO_LEVEL: 1, TRANSPORT_CC: 2}


@cache
def records(name: str) -> tuple[bytes, ...]:
    """A fixture file's packets: each a 2-byte big-endian length, then that many bytes."""
    data, out, pos = (FIXTURES / name).read_bytes(), [], 0
    while pos < len(data):
        (size,) = struct.unpack_from("!H", data, pos)
        out.append(data[pos + 2 : pos + 2 + size])
        pos += 2 + size
    assert pos == len(data) and out, name
    return tuple(out)


def negotiated(name: str) -> dict[str, dict[str, str]]:
    """The publisher's m-section (its ``rtpmap``, ``extmap`` and ``mid``) for the file's kind of media."""
    what = FILES[name]
    sdp = MANIFEST["sdp"][what["session"]]
    section: dict[str, dict[str, str]] = sdp.get("publish", sdp)["video" if what["codec"] in VIDEO else "audio"]
    return section


def headers(name: str) -> list[RtpHeader]:
    return [RtpHeader.parse(data) for data in records(name)]


def codec_files(*codecs: str) -> list[str]:
    return [name for name in RTP_FILES if FILES[name]["codec"] in codecs]


def test_every_codec_and_peer_is_recorded() -> None:
    recorded = {(name.split("-")[0], FILES[name]["codec"]) for name in RTP_FILES}
    assert {("chromium", c) for c in ("vp8", "vp9", "h264", "av1", "red")} <= recorded
    assert {("aiortc", "vp8"), ("aiortc", "h264"), ("aiortc", "opus"), ("gstreamer", "vp8")} <= recorded
    assert ("gstreamer", "opus") in recorded and ("chromium", "rtx") in recorded
    assert len(RTCP_FILES) == len(STUN_FILES) == len({FILES[n]["session"] for n in RTP_FILES if "rtx" not in n})
    assert all((FIXTURES / name).stat().st_size < 4096 for name in FILES)


# RTP -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", RTP_FILES)
def test_rtp_parses_under_the_negotiated_payload_type(name: str) -> None:
    packets = headers(name)
    rtpmap = negotiated(name)["rtpmap"]
    assert {p.payload_type for p in packets} == {FILES[name]["payload_type"]}
    assert rtpmap[str(FILES[name]["payload_type"])].split("/")[0].lower() == FILES[name]["codec"]
    assert len({p.ssrc for p in packets}) == 1
    for packet in packets:
        data = packet.data
        assert packet.sequence_number == data[2] << 8 | data[3] and packet.marker == bool(data[1] & 0x80)
        assert 12 + 4 * packet.csrc_count <= packet.payload_offset < packet.payload_end <= len(data)
        assert packet.payload == data[packet.payload_offset : len(data) - packet.padding_size]


@pytest.mark.parametrize("name", RTP_FILES)
def test_rtp_round_trips_through_build_packet(name: str) -> None:
    for packet in headers(name):
        elements = [(i, packet.data[start:end]) for i, start, end in packet.extension_elements()]
        rebuilt = build_packet(
            payload_type=packet.payload_type, sequence_number=packet.sequence_number, timestamp=packet.timestamp,
            ssrc=packet.ssrc, payload=packet.payload, marker=packet.marker, csrcs=packet.csrcs,
            extensions=elements, two_byte=packet.ext_profile != 0xBEDE if elements else None,
            padding=packet.padding_size)
        if packet.ext_profile == -1 or _canonical_extension_block(packet):
            assert rebuilt == packet.data
        reparsed = RtpHeader.parse(rebuilt)
        assert reparsed.extensions() == packet.extensions() and reparsed.payload == packet.payload
        assert (reparsed.timestamp, reparsed.sequence_number, reparsed.ssrc) == (
            packet.timestamp, packet.sequence_number, packet.ssrc)


def _canonical_extension_block(packet: RtpHeader) -> bool:
    """Elements back to back, then zero padding to the word: the form ``build_packet`` writes (a sender may also
    pad between elements)."""
    elements = list(packet.extension_elements())
    packed_end = packet.ext_offset + sum(end - start + (1 if packet.ext_profile == 0xBEDE else 2)
                                         for _, start, end in elements)
    return bool(elements) and elements[-1][2] == packed_end and packet.ext_end - packed_end < 4


@pytest.mark.parametrize("name", RTP_FILES)
def test_header_extensions_are_the_negotiated_ones(name: str) -> None:
    section = negotiated(name)
    for packet in headers(name):
        values = packet.extensions()
        if not section["extmap"]:  # GStreamer's session: its offer and the answer are not kept; none expected
            assert values == {}
            continue
        assert {str(i) for i in values} <= set(section["extmap"]), values
        for ext_id, value in values.items():
            uri = section["extmap"][str(ext_id)]
            if uri == MID:
                assert value.decode() == section["mid"]["mid"]
            elif uri in EXTENSION_SIZES:
                assert len(value) == EXTENSION_SIZES[uri], uri
            if uri == AUDIO_LEVEL:
                assert value[0] & 0x7F <= 127


def test_chromium_sends_mid_and_audio_level() -> None:
    uris = {negotiated(name)["extmap"][str(i)] for name in codec_files("red") for p in headers(name)
            for i in p.extensions()}
    assert {MID, AUDIO_LEVEL} <= uris


# Codec payloads: each file is a keyframe's first packet or two, then a whole delta frame (bench/record_packets.py)

def _frames(packets: list[RtpHeader]) -> tuple[list[RtpHeader], list[RtpHeader]]:
    """(the keyframe's packets, the delta frame's), told apart by timestamp."""
    key = [p for p in packets if p.timestamp == packets[0].timestamp]
    delta = packets[len(key):]
    assert 1 <= len(key) <= 2 and delta and delta[-1].marker and len({p.timestamp for p in delta}) == 1
    for a, b in zip(delta, delta[1:], strict=False):
        assert b.sequence_number == a.sequence_number + 1
    return key, delta


@pytest.mark.parametrize("name", codec_files("vp8"))
def test_vp8_descriptors(name: str) -> None:
    key, delta = _frames(headers(name))
    first, *rest = [Vp8Descriptor.parse(p.data, p.payload_offset, p.payload_end) for p in key]
    assert first.start_of_partition and first.partition_index == 0 and first.keyframe
    assert key[0].data[key[0].payload_offset + first.size] & 0x01 == 0  # RFC 7741 section 4.3: P is 0 in a key frame
    assert all(not d.keyframe and not d.start_of_partition for d in rest)
    described = [Vp8Descriptor.parse(p.data, p.payload_offset, p.payload_end) for p in delta]
    assert described[0].start_of_partition and described[0].partition_index == 0 and not described[0].keyframe
    assert delta[0].data[delta[0].payload_offset + described[0].size] & 0x01 == 1
    assert not any(d.keyframe for d in described)
    if first.picture_id_bits:
        assert {d.picture_id for d in rest} <= {first.picture_id}
        assert {d.picture_id for d in described} == {described[0].picture_id} != {first.picture_id}


@pytest.mark.parametrize("name", codec_files("vp9"))
def test_vp9_descriptors(name: str) -> None:
    key, delta = _frames(headers(name))
    first = Vp9Descriptor.parse(key[0].data, key[0].payload_offset, key[0].payload_end)
    assert first.keyframe and first.start_of_frame and not first.inter_predicted
    assert vp9_keyframe(key[0].data, key[0].payload_offset, key[0].payload_end)
    if first.spatial_layers:  # the scalability structure a keyframe carries: the fake camera's 640x360
        assert first.spatial_layers[-1] == (640, 360)
    for packet in key[1:]:
        assert not Vp9Descriptor.parse(packet.data, packet.payload_offset, packet.payload_end).start_of_frame
        assert not vp9_keyframe(packet.data, packet.payload_offset, packet.payload_end)
    described = [Vp9Descriptor.parse(p.data, p.payload_offset, p.payload_end) for p in delta]
    assert described[0].start_of_frame and described[0].inter_predicted and not described[0].keyframe
    assert described[-1].end_of_frame and not any(d.end_of_frame for d in described[:-1])
    assert {d.picture_id for d in described} == {described[0].picture_id} != {first.picture_id}


@pytest.mark.parametrize("name", codec_files("h264"))
def test_h264_nal_units(name: str) -> None:
    key, delta = _frames(headers(name))
    types = nal_types(key[0].data, key[0].payload_offset, key[0].payload_end)
    assert SPS in types or IDR in types
    assert h264_keyframe(key[0].data, key[0].payload_offset, key[0].payload_end)
    assert not h264_keyframe(delta[0].data, delta[0].payload_offset, delta[0].payload_end)
    for packet in key + delta:
        data, start = packet.data, packet.payload_offset
        nal = data[start] & 0x1F
        found = nal_types(data, start, packet.payload_end)
        if nal < 24:  # a single NAL unit: its own type
            assert found == (nal,)
        elif nal == 24:  # STAP-A: each aggregated unit's type, read by its 2-byte size
            pos, expected = start + 1, []
            while pos < packet.payload_end:
                expected.append(data[pos + 2] & 0x1F)
                pos += 2 + (data[pos] << 8 | data[pos + 1])
            assert found == tuple(expected)
        elif nal == 28 and data[start + 1] & 0x80:  # an FU-A's start: the fragment's type
            assert found == (data[start + 1] & 0x1F,)
        elif nal == 28:
            assert found == ()


@pytest.mark.parametrize("name", codec_files("av1"))
def test_av1_aggregation_headers(name: str) -> None:
    key, delta = _frames(headers(name))
    first = Av1Payload.parse(key[0].data, key[0].payload_offset, key[0].payload_end)
    assert first.keyframe and first.new_sequence and not first.continued
    assert 1 in first.obu_types  # OBU_SEQUENCE_HEADER leads a keyframe
    for before, packet in zip(key, key[1:], strict=False):
        after = Av1Payload.parse(packet.data, packet.payload_offset, packet.payload_end)
        assert after.continued == Av1Payload.parse(before.data, before.payload_offset, before.payload_end).continues
    start = Av1Payload.parse(delta[0].data, delta[0].payload_offset, delta[0].payload_end)
    assert not start.keyframe and not start.new_sequence and not start.continued
    assert not Av1Payload.parse(delta[-1].data, delta[-1].payload_offset, delta[-1].payload_end).continues


@pytest.mark.parametrize("name", codec_files("red"))
def test_red_blocks_hold_opus(name: str) -> None:
    opus_pt = next(int(pt) for pt, codec in negotiated(name)["rtpmap"].items() if codec.lower().startswith("opus"))
    for packet in headers(name):
        data, pos = packet.data, packet.payload_offset
        primary = primary_offset(data, pos, packet.payload_end)
        while data[pos] & 0x80:  # RFC 2198: the redundant blocks' headers, then the primary's one byte
            assert data[pos] & 0x7F == opus_pt
            pos += 4
        assert data[pos] == opus_pt and pos < primary < packet.payload_end


@pytest.mark.parametrize("name", codec_files("opus"))
def test_opus_packets_are_consecutive(name: str) -> None:
    packets = headers(name)
    assert [p.sequence_number - packets[0].sequence_number for p in packets] == list(range(len(packets)))
    assert all(0 < b.timestamp - a.timestamp <= 4800 for a, b in zip(packets, packets[1:], strict=False))
    for packet in packets:  # RFC 6716 section 3.1: the TOC byte; code 3 packets give their frame count
        toc = packet.data[packet.payload_offset]
        if toc & 0x03 == 3:
            assert 1 <= packet.data[packet.payload_offset + 1] & 0x3F <= 48


@pytest.mark.parametrize("name", codec_files("rtx"))
def test_rtx_carries_a_sequence_number_of_its_video(name: str) -> None:
    """RTX packets resend video the recorder lost on purpose, seconds apart at most: OSNs near the video's."""
    video = headers(f"{FILES[name]['session']}.bin")[0]  # the session is named after its video file
    for packet in headers(name):
        assert packet.ssrc != video.ssrc and packet.payload_end - packet.payload_offset > OSN_SIZE
        distance = (original_sequence_number(packet) - video.sequence_number) & 0xFFFF
        assert min(distance, 0x10000 - distance) < 3000


# RTCP ------------------------------------------------------------------------------------------------------

def split(compound: bytes) -> list[tuple[int, int, bytes]]:
    """``(packet type, count or FMT, bytes)`` of each packet in a compound, by the common header alone."""
    out, pos = [], 0
    while pos < len(compound):
        words = struct.unpack_from("!H", compound, pos + 2)[0]
        out.append((compound[pos + 1], compound[pos] & 0x1F, compound[pos : pos + 4 + 4 * words]))
        pos += 4 + 4 * words
    assert pos == len(compound)
    return out


MODELLED = {(200, None), (201, None), (203, None), (205, 1), (205, 15), (206, 1), (206, 4)}


def _modelled(pt: int, fmt: int, data: bytes) -> bool:
    return (pt, None) in MODELLED or (pt, fmt) in MODELLED or (pt, fmt) == (206, 15) and data[12:16] == b"REMB"


@pytest.mark.parametrize("name", RTCP_FILES)
def test_rtcp_compounds_parse_and_round_trip(name: str) -> None:
    for compound in records(name):
        parts = split(compound)
        parsed = parse_compound(compound)
        kept = [(pt, fmt, data) for pt, fmt, data in parts if _modelled(pt, fmt, data)]
        assert len(parsed) == len(kept), parts
        for packet, (pt, fmt, data) in zip(parsed, kept, strict=True):
            expected = {200: SenderReport, 201: ReceiverReport, 203: Bye}.get(pt)
            if expected is not None:
                assert isinstance(packet, expected) and len(packet.reports) == fmt if pt != 203 else True
            if isinstance(packet, (SenderReport, ReceiverReport, Bye, Nack, Remb)):
                assert bytes(packet) == data, type(packet).__name__


def test_the_recorded_feedback_covers_reports_nack_pli_and_remb() -> None:
    kinds = {(pt, fmt) for name in RTCP_FILES for compound in records(name) for pt, fmt, _ in split(compound)}
    assert {(200, 0), (202, 1), (201, 1), (205, 1), (206, 1), (206, 15)} <= kinds
    nacks = [p for name in RTCP_FILES for c in records(name) for p in parse_compound(c) if isinstance(p, Nack)]
    assert nacks and all(p.lost for p in nacks)
    rembs = [p for name in RTCP_FILES for c in records(name) for p in parse_compound(c) if isinstance(p, Remb)]
    assert rembs and all(p.bitrate > 0 and p.ssrcs for p in rembs)


def test_sender_reports_describe_the_recorded_streams() -> None:
    for name in RTCP_FILES:
        source = name.removesuffix("-rtcp.bin")
        ssrcs = {headers(n)[0].ssrc for n in RTP_FILES if FILES[n]["session"] == source and "rtx" not in n}
        reports = [p for c in records(name) for p in parse_compound(c) if isinstance(p, SenderReport)]
        assert reports and {r.ssrc for r in reports} & ssrcs, name
        assert all(r.packet_count > 0 and r.octet_count > 0 for r in reports)


# STUN ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", STUN_FILES)
def test_stun_parses_and_round_trips_with_aioice(name: str) -> None:
    """What the SFU sent (aioice's own) rebuilds byte for byte; what the peers sent may pad with spaces (libnice)
    or carry attributes aioice skips (Chromium's GOOG-NETWORK-INFO), so it is rebuilt without its FINGERPRINT and
    MESSAGE-INTEGRITY and parsed again to the same attributes."""
    inbound = FILES[name]["inbound"]
    messages = [stun.parse_message(data) for data in records(name)]  # checks each FINGERPRINT
    for index, (data, message) in enumerate(zip(records(name), messages, strict=True)):
        assert message.message_method == stun.Method.BINDING
        if index >= inbound:
            assert bytes(message) == data
        unsigned = stun.Message(message.message_method, message.message_class, message.transaction_id)
        unsigned.attributes.update((k, v) for k, v in message.attributes.items()
                                   if k not in ("FINGERPRINT", "MESSAGE-INTEGRITY"))
        assert stun.parse_message(bytes(unsigned)).attributes == unsigned.attributes
    requests = [m for m in messages[:inbound] if m.message_class == stun.Class.REQUEST]
    responses = [m for m in messages[inbound:] if m.message_class == stun.Class.RESPONSE]
    assert requests and responses
    for request in requests:
        assert ":" in request.attributes["USERNAME"] and request.attributes["PRIORITY"] > 0
        assert "MESSAGE-INTEGRITY" in request.attributes
        assert ("ICE-CONTROLLING" in request.attributes) != ("ICE-CONTROLLED" in request.attributes)
    for response in responses:
        host, port = response.attributes["XOR-MAPPED-ADDRESS"]
        assert host.startswith(("127.", "10.")) and port > 0
