"""Negotiating RTX and the pass-through video codecs: what the SFU accepts from publishers' offers and what it
offers subscribers, read back by aiortc where aiortc is the other side."""

from __future__ import annotations

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import SessionDescription

from tests.sfu.test_rtc_sdp import LOCAL, SIMULCAST_OFFER, TRANSPORT
from weir.rtc.sdp import Codec, parse
from weir.sfu.rtc.negotiate import (
    MID_URI,
    REPAIRED_RID_URI,
    RID_URI,
    OfferedSlot,
    answer_publisher,
    kept_formats,
    subscriber_offer,
)
from weir.sfu.rtc.transport import LocalTransport

SUBSCRIBER_LOCAL = LocalTransport("sfuU", "p" * 22, ("sha-256", "AA:BB"), "actpass",
                                  ("1 1 udp 2130706431 127.0.0.1 40000 typ host",))


def video_offer(*formats: tuple[int, str, str], extra: str = "") -> str:
    """A one-section video offer with ``(payload type, rtpmap encoding, fmtp)`` formats."""
    lines = [f"a=rtpmap:{pt} {encoding}\r\n" + (f"a=fmtp:{pt} {fmtp}\r\n" if fmtp else "") for pt, encoding, fmtp in
             formats]
    return ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
            f"m=video 9 UDP/TLS/RTP/SAVPF {' '.join(str(f[0]) for f in formats)}\r\nc=IN IP4 0.0.0.0\r\n"
            + TRANSPORT + "a=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n" + "".join(lines) + extra)


def test_rtx_for_the_chosen_codec_is_accepted_with_the_repaired_rid_for_simulcast() -> None:
    offer = SIMULCAST_OFFER.replace("a=extmap:10 ", f"a=extmap:11 {REPAIRED_RID_URI}\r\na=extmap:10 ")
    answer, (_, video) = answer_publisher(parse(offer), LOCAL, {"0": "", "1": ""}, {}, session_id=7, version=1)
    assert video.rtx is not None and (video.rtx.payload_type, video.rtx.fmtp) == (97, "apt=96")
    assert video.extensions == {MID_URI: 4, RID_URI: 10, REPAIRED_RID_URI: 11}
    section = parse(answer).media[1]
    assert section.formats == ["96", "97"] and section.rtx_for(96) is not None
    SessionDescription.parse(answer)


def test_no_rtx_is_answered_for_a_codec_whose_rtx_was_not_offered() -> None:
    _, (video,) = answer_publisher(parse(SIMULCAST_OFFER), LOCAL, {"1": "h264"}, {}, session_id=7, version=1)
    assert video.codec.name == "H264" and video.rtx is None


def test_h264_prefers_packetization_mode_1_and_a_baseline_profile() -> None:
    offer = video_offer(
        (100, "H264/90000", "packetization-mode=1;profile-level-id=640c1f"),
        (101, "H264/90000", "packetization-mode=0;profile-level-id=42e01f"),
        (102, "H264/90000", "packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1"),
        (103, "rtx/90000", "apt=102"),
        extra="a=ssrc-group:FID 11 12\r\na=ssrc:11 cname:x\r\na=ssrc:12 cname:x\r\n",
    )
    _, (video,) = answer_publisher(parse(offer), LOCAL, {"0": ""}, {}, session_id=1, version=1)
    assert (video.codec.payload_type, video.rtx and video.rtx.payload_type) == (102, 103)
    assert (video.ssrc, video.rtx_ssrc) == (11, 12)


def test_vp9_and_av1_are_passed_through_when_offered_alone() -> None:
    for encoding in ("VP9/90000", "AV1/90000"):
        _, (video,) = answer_publisher(parse(video_offer((98, encoding, ""))), LOCAL, {"0": ""}, {}, session_id=1,
                                       version=1)
        assert video.codec.name == encoding.split("/")[0]


def rtx_slot(active: bool = True) -> OfferedSlot:
    vp8 = Codec(96, "VP8", 90_000, feedback=["nack", "nack pli"])
    return OfferedSlot("0", "video", vp8, 5678, "alice", "alice|video", active, Codec(97, "rtx", 90_000, 0, "apt=96"),
                       9999)


async def test_subscribers_are_offered_rtx_and_aiortc_keeps_it() -> None:
    offer = subscriber_offer([rtx_slot()], SUBSCRIBER_LOCAL, session_id=3, version=1)
    section = parse(offer).media[0]
    assert section.formats == ["96", "97"] and section.ssrc_groups == [("FID", (5678, 9999))]
    assert (section.media_ssrc(), section.repair_ssrc()) == (5678, 9999)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    answer = await pc.createAnswer()
    await pc.close()
    assert kept_formats(parse(answer.sdp), [rtx_slot()]) == ({"0"}, set())
    without_rtx = answer.sdp.replace("a=rtpmap:97 rtx/90000\r\n", "").replace("a=fmtp:97 apt=96\r\n", "")
    assert kept_formats(parse(without_rtx), [rtx_slot()]) == (set(), set())


def audio_offer(formats: str) -> str:
    return ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
            f"m=audio 9 UDP/TLS/RTP/SAVPF {formats}\r\nc=IN IP4 0.0.0.0\r\n" + TRANSPORT
            + "a=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
            "a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\na=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n")


def test_red_is_accepted_ahead_of_opus_when_the_client_prefers_it() -> None:
    answer, (audio,) = answer_publisher(parse(audio_offer("63 111")), LOCAL, {"0": ""}, {}, session_id=1, version=1)
    assert audio.codec.name == "opus" and audio.red is not None and audio.red.fmtp == "111/111"
    assert "usedtx=1" in audio.codec.fmtp  # DTX is the publisher's business: its fmtp goes on to subscribers
    section = parse(answer).media[0]
    assert section.formats == ["63", "111"] and section.red_for(111) is not None
    _, (announced,) = answer_publisher(parse(audio_offer("111 63")), LOCAL, {"0": "red"}, {}, session_id=1,
                                       version=1)
    assert announced.red is not None


def test_red_listed_after_opus_is_not_accepted() -> None:
    answer, (audio,) = answer_publisher(parse(audio_offer("111 63")), LOCAL, {"0": ""}, {}, session_id=1, version=1)
    assert audio.red is None and parse(answer).media[0].formats == ["111"]


async def test_subscribers_are_offered_red_and_aiortc_without_red_drops_it() -> None:
    opus = Codec(111, "opus", 48_000, 2, "minptime=10;useinbandfec=1")
    slot = OfferedSlot("0", "audio", opus, 1234, "alice", "alice|audio", True, red=Codec(63, "red", 48_000, 2,
                                                                                          "111/111"))
    offer = subscriber_offer([slot], SUBSCRIBER_LOCAL, session_id=3, version=1)
    assert parse(offer).media[0].formats == ["63", "111"]
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    answer = await pc.createAnswer()
    await pc.close()
    assert kept_formats(parse(answer.sdp), [slot]) == (set(), set())
    with_red = answer.sdp.replace(" 111\r\n", " 63 111\r\n", 1) + "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n"
    assert kept_formats(parse(with_red), [slot]) == (set(), {"0"})
