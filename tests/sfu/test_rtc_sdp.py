"""SDP parsing and the two offer/answer exchanges, without sockets."""

from __future__ import annotations

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.sdp import SessionDescription
from hypothesis import given
from hypothesis import strategies as st

from weir.rtc.sdp import Codec, SdpError, parse
from weir.sfu.rtc.negotiate import (
    MID_URI,
    RID_URI,
    OfferedSlot,
    answer_publisher,
    read_subscriber_answer,
    remote_transport,
    subscriber_offer,
)
from weir.sfu.rtc.transport import LocalTransport

LOCAL = LocalTransport(
    ufrag="sfuU", pwd="p" * 22, fingerprint=("sha-256", "AA:BB"), setup="active",
    candidates=("1 1 udp 2130706431 127.0.0.1 40000 typ host",),
)
TRANSPORT = "a=ice-ufrag:cliU\r\na=ice-pwd:{}\r\na=fingerprint:sha-256 01:02\r\na=setup:actpass\r\n".format("c" * 22)

# A browser-style simulcast offer (three rids, no SSRCs), written for these tests.
SIMULCAST_OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\n" + TRANSPORT + "a=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\na=extmap:4 " + MID_URI + "\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtcp-fb:111 transport-cc\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=ssrc:1111 cname:x\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\nc=IN IP4 0.0.0.0\r\n" + TRANSPORT + "a=mid:1\r\na=sendonly\r\n"
    "a=rtcp-mux\r\na=rtcp-rsize\r\na=extmap:4 " + MID_URI + "\r\na=extmap:10 " + RID_URI + "\r\n"
    "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
    "a=rtcp-fb:96 ccm fir\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
    "a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rid:f send\r\na=rid:h send\r\na=rid:q send\r\na=simulcast:send f;h;~q\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n" + TRANSPORT + "a=mid:2\r\n"
    "a=sctp-port:5000\r\n"
)


def test_a_browser_simulcast_offer_is_answered_recvonly_with_one_codec_and_its_rids() -> None:
    answer, accepted = answer_publisher(
        parse(SIMULCAST_OFFER), LOCAL, {"0": "", "1": ""}, {}, session_id=7, version=1
    )
    audio, video = accepted
    assert (audio.codec.name, audio.codec.payload_type, audio.codec.feedback, audio.ssrc) == ("opus", 111, [], 1111)
    feedback = ["goog-remb", "nack", "nack pli", "ccm fir"]  # REMB: the SFU sends its publishers one
    assert (video.codec.name, video.codec.feedback, video.rids) == ("VP8", feedback, ("f", "h", "q"))
    assert video.extensions == {MID_URI: 4, RID_URI: 10} and video.ssrc is None
    parsed = parse(answer)
    assert parsed.bundle == ["0", "1"]
    a, v, data = parsed.media
    assert (a.direction, [c.name for c in a.codecs], a.setup, a.ice_ufrag) == ("recvonly", ["opus"], "active", "sfuU")
    assert v.rids == [("f", "recv"), ("h", "recv"), ("q", "recv")] and v.simulcast == "recv f;h;q"
    assert set(v.extensions) == {MID_URI, RID_URI} and v.rtcp_rsize
    assert a.candidates == v.candidates == list(LOCAL.candidates) and a.end_of_candidates
    assert (data.kind, data.port) == ("application", 0)
    SessionDescription.parse(answer)  # aiortc reads it too


def test_unannounced_sections_are_inactive_and_the_announced_codec_wins() -> None:
    answer, accepted = answer_publisher(parse(SIMULCAST_OFFER), LOCAL, {"1": "h264"}, {}, session_id=7, version=1)
    assert [(s.mid, s.codec.name, s.codec.fmtp) for s in accepted] == [
        ("1", "H264", "packetization-mode=1;profile-level-id=42e01f")
    ]
    assert [m.direction for m in parse(answer).media[:2]] == ["inactive", "recvonly"]


def test_renegotiation_keeps_the_codec_a_track_started_with() -> None:
    h264 = Codec(102, "H264", 90_000)
    _, accepted = answer_publisher(parse(SIMULCAST_OFFER), LOCAL, {"1": ""}, {"1": h264}, session_id=7, version=2)
    assert accepted[0].codec.name == "H264"


async def test_an_aiortc_offer_is_answered_and_accepted_by_aiortc() -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio", direction="sendonly")
    pc.addTransceiver("video", direction="sendonly")
    offer = await pc.createOffer()
    answer, accepted = answer_publisher(parse(offer.sdp), LOCAL, {"0": "", "1": ""}, {}, session_id=1, version=1)
    assert parse(answer).bundle == ["0", "1"]
    assert [(s.kind, s.codec.name) for s in accepted] == [("audio", "opus"), ("video", "VP8")]
    assert all(s.ssrc is not None for s in accepted)
    assert remote_transport(parse(offer.sdp)).setup == "actpass"
    await pc.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("a=rtcp-mux\r\n", ""), "rtcp-mux"),
        (("a=group:BUNDLE 0 1 2\r\n", ""), "BUNDLE"),
        (("a=ice-ufrag:cliU\r\n", ""), "ICE"),
        (("a=fingerprint:sha-256 01:02\r\n", ""), "fingerprint"),
        (("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 opus"), "rtpmap"),
        (("a=setup:actpass", "a=setup:sideways"), "setup"),
        (("m=audio 9 UDP/TLS/RTP/SAVPF 111 0", "m=audio 9 RTP/AVP 111 0"), "secure"),
        (("a=rid:f send", "a=rid:f"), "rid"),
        (("a=extmap:10 ", "a=extmap:300 "), "extension id"),
    ],
)
def test_malformed_offers_are_refused_naming_the_problem(change: tuple[str, str], message: str) -> None:
    with pytest.raises(SdpError, match=message):
        offer = parse(SIMULCAST_OFFER.replace(*change))
        remote_transport(offer)
        answer_publisher(offer, LOCAL, {"0": "", "1": ""}, {}, session_id=1, version=1)


def test_an_offer_without_anything_to_receive_is_refused() -> None:
    only_data = SIMULCAST_OFFER[: SIMULCAST_OFFER.index("m=audio")] + SIMULCAST_OFFER[SIMULCAST_OFFER.index("m=app"):]
    with pytest.raises(SdpError):
        answer_publisher(parse(only_data), LOCAL, {}, {}, session_id=1, version=1)


@given(st.text(max_size=400))
def test_arbitrary_text_raises_only_sdp_errors(text: str) -> None:
    try:
        offer = parse("v=0\r\n" + text)
        remote_transport(offer)
        answer_publisher(offer, LOCAL, {m.mid: "" for m in offer.media}, {}, session_id=1, version=1)
    except SdpError:
        pass


@given(st.lists(st.sampled_from(SIMULCAST_OFFER.split("\r\n")), max_size=40))
def test_shuffled_offer_lines_raise_only_sdp_errors(lines: list[str]) -> None:
    try:
        offer = parse("\r\n".join(lines))
        answer_publisher(offer, LOCAL, {m.mid: "" for m in offer.media}, {}, session_id=1, version=1)
    except SdpError:
        pass


def slots() -> list[OfferedSlot]:
    opus = Codec(111, "opus", 48_000, 2, "minptime=10")
    vp8 = Codec(96, "VP8", 90_000, feedback=["nack", "nack pli"])
    return [
        OfferedSlot("0", "audio", opus, 1234, "alice", "alice|audio", active=True),
        OfferedSlot("1", "video", vp8, 5678, "alice", "alice|video", active=False),
    ]


def test_a_subscriber_offer_has_one_section_per_slot_with_its_ssrc() -> None:
    offer = subscriber_offer(slots(), LocalTransport("sfuU", "p" * 22, ("sha-256", "AA"), "actpass", ()),
                             session_id=3, version=4)
    parsed = parse(offer)
    assert parsed.bundle == ["0", "1"]
    assert [(m.mid, m.direction, m.ssrcs, m.msid) for m in parsed.media] == [
        ("0", "sendonly", [1234], "alice alice|audio"),
        ("1", "inactive", [5678], ""),  # no msid: Chromium refuses one twice, and a re-subscription repeats it
    ]
    assert parsed.media[1].codecs[0].feedback == ["nack", "nack pli"] and parsed.media[0].extensions == {}
    aiortc_view = SessionDescription.parse(offer)
    assert aiortc_view.webrtc_track_id(aiortc_view.media[0]) == "alice|audio"


def answer_text(setup: str = "active", mids: tuple[str, ...] = ("0", "1"), second: str = "recvonly") -> str:
    lines = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE " + " ".join(mids)]
    for index, mid in enumerate(mids):
        lines += ["m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=ice-ufrag:cliU", "a=ice-pwd:" + "c" * 22,
                  "a=fingerprint:sha-256 01:02", f"a=setup:{setup}", f"a=mid:{mid}", "a=rtcp-mux",
                  "a=rtpmap:111 opus/48000/2", "a=" + ("recvonly" if index == 0 else second)]
    return "\r\n".join(lines) + "\r\n"


def test_a_subscriber_answer_gives_the_dtls_role_and_the_accepted_mids() -> None:
    remote, role, accepted = read_subscriber_answer(parse(answer_text()), slots())
    assert (remote.ufrag, role, accepted) == ("cliU", "server", {"0", "1"})
    _, role, accepted = read_subscriber_answer(parse(answer_text("passive", second="inactive")), slots())
    assert (role, accepted) == ("client", {"0"})
    with pytest.raises(SdpError, match="match"):
        read_subscriber_answer(parse(answer_text(mids=("0",))), slots())
    with pytest.raises(SdpError, match="active or passive"):
        read_subscriber_answer(parse(answer_text("actpass")), slots())
