"""The RTMP server's protocol (handshake, chunk stream, commands), AMF0 and the FLV payloads, byte by byte; and
hypothesis feeding each of them bytes that break the protocol: a clear error, never a crash."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.ingress.amf0 import AmfError, decode_all, encode
from weir.ingress.clients import identify
from weir.ingress.flv import AvcConfig, AvcFrame, FlvError, UnsupportedCodec, parse_audio, parse_video
from weir.ingress.media import keyframe_units
from weir.ingress.rtmp import (
    Connected,
    MediaMessage,
    Metadata,
    PublishRequested,
    RtmpConnection,
    RtmpError,
    Unpublished,
)

C1 = bytes(range(256)) * 6
SPS, PPS, IDR, SLICE = b"\x67\x42\x00\x1f\xaa", b"\x68\xce\x3c\x80", b"\x65\x88\x84" + b"\x01" * 300, b"\x41\x9a\x02"


def chunks(csid: int, type_id: int, payload: bytes, timestamp: int = 0, chunk_size: int = 128,
           stream_id: int = 0) -> bytes:
    """One message as a client writes it: a full header (extended timestamp when needed), then type-3 chunks."""
    extended = timestamp >= 0xFFFFFF
    field = 0xFFFFFF if extended else timestamp
    out = bytes([csid]) + field.to_bytes(3, "big") + len(payload).to_bytes(3, "big") + bytes([type_id]) \
        + struct.pack("<I", stream_id) + (struct.pack(">I", timestamp) if extended else b"")
    for at in range(0, len(payload), chunk_size):
        if at:
            out += bytes([0xC0 | csid]) + (struct.pack(">I", timestamp) if extended else b"")
        out += payload[at:at + chunk_size]
    return out


def command(name: str, txn: float, *values: object) -> bytes:
    return chunks(3, 20, encode(name, txn, *values))


def handshaken() -> RtmpConnection:
    rtmp = RtmpConnection()
    assert rtmp.receive(b"\x03" + C1) == []
    reply = rtmp.data_to_send()
    assert reply[0] == 3 and reply[1 + 1536:] == C1  # S0, S1, then S2 echoing C1
    assert rtmp.receive(bytes(1536)) == []
    return rtmp


def publishing() -> RtmpConnection:
    rtmp = handshaken()
    connected = rtmp.receive(command("connect", 1, {"app": "default/abc", "flashVer": "FMLE/3.0 (compatible; FMSc/1.0)",
                                                    "tcUrl": "rtmp://127.0.0.1/default/abc"}))
    assert connected == [Connected("default/abc", "rtmp://127.0.0.1/default/abc", "FMLE/3.0 (compatible; FMSc/1.0)")]
    assert b"NetConnection.Connect.Success" in rtmp.data_to_send()
    assert rtmp.receive(command("releaseStream", 2, None, "key") + command("FCPublish", 3, None, "key")
                        + command("createStream", 4, None)) == []
    assert encode("_result", 4, None, 1) in rtmp.data_to_send()
    assert rtmp.receive(command("publish", 5, None, "the.key", "live")) == [PublishRequested("the.key")]
    rtmp.accept_publish()
    assert b"NetStream.Publish.Start" in rtmp.data_to_send()
    return rtmp


def test_a_publisher_connects_publishes_sends_media_and_says_goodbye() -> None:
    rtmp = publishing()
    metadata = chunks(4, 18, encode("@setDataFrame", "onMetaData", {"encoder": "obs-output module (libobs version "
                                                                             "30.1.2)"}))
    assert rtmp.receive(metadata) == [Metadata({"encoder": "obs-output module (libobs version 30.1.2)"})]
    video = b"\x17\x01\x00\x00\x00" + b"v" * 300  # three chunks
    # fed a byte at a time: whole messages come out once their last chunk is in
    events = [event for byte in chunks(6, 9, video, timestamp=40) for event in rtmp.receive(bytes([byte]))]
    assert events == [MediaMessage("video", 40, video)]
    # a type-1 header carries a delta; a type-3 header starting a new message repeats it
    audio = b"\xaf\x01" + b"a" * 10
    two = bytes([0x46]) + (33).to_bytes(3, "big") + len(audio).to_bytes(3, "big") + b"\x08" + audio \
        + bytes([0xC6]) + audio
    assert rtmp.receive(two) == [MediaMessage("audio", 73, audio), MediaMessage("audio", 106, audio)]
    assert rtmp.receive(command("FCUnpublish", 6, None, "the.key")) == [Unpublished()]


def test_extended_timestamps_chunk_sizes_and_acknowledgements() -> None:
    rtmp = publishing()
    rtmp.receive(chunks(2, 1, struct.pack(">I", 4096)))  # the client's chunk size
    rtmp.receive(chunks(2, 5, struct.pack(">I", 1000)))  # it wants an acknowledgement every 1000 bytes
    rtmp.data_to_send()
    video = b"\x27\x01\x00\x00\x00" + b"v" * 5000
    assert rtmp.receive(chunks(6, 9, video, timestamp=0x1000000, chunk_size=4096)) == [
        MediaMessage("video", 0x1000000, video)]
    assert rtmp.data_to_send()[7] == 3  # an acknowledgement went out


@pytest.mark.parametrize(("data", "error"), [
    (b"\x06" + C1, "not 3"),
    (b"\x03" + C1 + bytes(1536) + command("publish", 1, None, "x"), "before connect"),
    (b"\x03" + C1 + bytes(1536) + bytes([0x43]) + bytes(10), "without a full header"),
    (b"\x03" + C1 + bytes(1536) + bytes([3]) + bytes(3) + (8 << 20).to_bytes(3, "big") + b"\x09" + bytes(4),
     "more than this server takes"),
    (b"\x03" + C1 + bytes(1536) + chunks(3, 20, b"\x02\x00\x05conn"), "bad AMF0"),
    (b"\x03" + C1 + bytes(1536) + command("connect", 1, {}) + command("connect", 2, {}), "twice"),
])
def test_protocol_errors_are_named(data: bytes, error: str) -> None:
    with pytest.raises(RtmpError, match=error):
        RtmpConnection().receive(data)


def test_a_refused_publisher_is_told_why_and_gets_no_media_through() -> None:
    rtmp = handshaken()
    rtmp.receive(command("connect", 1, {"app": "a/b"}) + command("createStream", 2, None))
    rtmp.receive(command("publish", 3, None, "bad", "live"))
    rtmp.refuse_publish("the stream key is refused: token has expired")
    sent = rtmp.data_to_send().replace(b"\xc5", b"")  # without the headers of the status's later chunks
    assert b"NetStream.Publish.BadName" in sent and b"the stream key is refused: token has expired" in sent
    assert rtmp.receive(chunks(6, 9, b"\x17\x01\x00\x00\x00\x00")) == []


def test_amf0_round_trip_and_limits() -> None:
    values = ["connect", 1.0, {"app": "x", "nested": {"n": 2.0, "ok": True}}, None]
    assert decode_all(encode(*values)) == values
    assert decode_all(b"\x08\x00\x00\x00\x01\x00\x01k\x02\x00\x01v\x00\x00\x09") == [{"k": "v"}]  # ECMA array
    assert decode_all(b"\x0a\x00\x00\x00\x02\x05\x06") == [[None, None]]  # strict array
    with pytest.raises(AmfError, match="too deep"):
        decode_all(b"\x0a\x00\x00\x00\x01" * 40 + b"\x05")
    with pytest.raises(AmfError, match="strict array"):
        decode_all(b"\x0a\xff\xff\xff\xff")


def avc_config() -> bytes:
    return (b"\x17\x00\x00\x00\x00" + b"\x01\x42\x00\x1f\xff\xe1" + len(SPS).to_bytes(2, "big") + SPS
            + b"\x01" + len(PPS).to_bytes(2, "big") + PPS)


def avc_frame(key: bool, *units: bytes) -> bytes:
    return bytes([0x17 if key else 0x27]) + b"\x01\x00\x00\x21" + b"".join(
        len(unit).to_bytes(4, "big") + unit for unit in units)


def test_flv_video_and_audio() -> None:
    config = parse_video(avc_config(), None)
    assert isinstance(config, AvcConfig) and config == AvcConfig((SPS,), (PPS,), 4)
    frame = parse_video(avc_frame(True, IDR), config)
    assert isinstance(frame, AvcFrame) and frame == AvcFrame(True, 33, (IDR,))
    assert keyframe_units(frame, config) == (SPS, PPS, IDR)  # subscribers can start at any keyframe
    delta = parse_video(avc_frame(False, SLICE), config)
    assert isinstance(delta, AvcFrame) and keyframe_units(delta, config) == (SLICE,)
    assert parse_video(b"\x17\x02\x00\x00\x00", config) is None  # end of sequence
    assert parse_audio(b"\xaf\x00\x11\x90").kind == "config"
    with pytest.raises(UnsupportedCodec, match="H.264"):
        parse_video(b"\x12\x00\x00\x00\x00", None)  # Sorenson H.263
    with pytest.raises(UnsupportedCodec, match="enhanced"):
        parse_video(b"\x90hvc1" + bytes(8), None)
    with pytest.raises(UnsupportedCodec, match="AAC"):
        parse_audio(b"\x2f\x01")  # MP3
    with pytest.raises(FlvError, match="before the AVC sequence header"):
        parse_video(avc_frame(True, IDR), None)
    with pytest.raises(FlvError, match="cut short"):
        parse_video(avc_frame(True, IDR)[:-5], config)


def test_encoders_are_named() -> None:
    assert identify("FMLE/3.0 (compatible; FMSc/1.0)", "obs-output module (libobs version 30.1.2)") == (
        "OBS Studio", "30.1.2")
    assert identify("FMLE/3.0 (compatible; Lavf61.7.100)", "") == ("FFmpeg", "61.7.100")
    assert identify("", "Larix Broadcaster") == ("Larix Broadcaster", None)
    assert identify("", "") == (None, None)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.booleans())
def test_hostile_bytes_give_a_protocol_error_or_nothing(data: bytes, after_publish: bool) -> None:
    rtmp = publishing() if after_publish else handshaken()
    try:
        for at in range(0, len(data), 97):
            rtmp.receive(data[at:at + 97])
    except RtmpError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_hostile_payloads_give_a_clear_error(data: bytes) -> None:
    config = AvcConfig((SPS,), (PPS,), 4)
    for parse in (lambda: parse_video(data, config), lambda: parse_audio(data), lambda: decode_all(data)):
        try:
            parse()
        except (FlvError, AmfError):
            pass
