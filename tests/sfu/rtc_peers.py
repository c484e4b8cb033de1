"""aiortc client peers for the media-plane tests, on 127.0.0.1 only.

A ``Peer`` is what Weir's SDK will be: a publisher ``RTCPeerConnection`` (it offers) and a subscriber one (it
answers the SFU's offers), signalling in process with an ``RtcParticipant``. The peers encode and decode for
real (VP8 and Opus through aiortc); only the SFU must not.

``loopback_only`` is the SDK's host-address ICE hook (weir.client.media.ice) on 127.0.0.1, and the sources are
the SDK's synthetic ones (weir.client.media.synthetic): applied per peer connection, nothing patched globally.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.exceptions import InvalidStateError
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdtlstransport import RTCCertificate
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame

from weir.client.media.ice import HostIce
from weir.client.media.synthetic import TestPatternTrack as Pattern
from weir.client.media.synthetic import ToneTrack as Tone
from weir.client.media.voice import mark_voice_activity
from weir.rtc.sdp import parse
from weir.sfu.rtc import IceConfig, Layer, RtcParticipant, RtcRoom, Subscription, TrackInfo
from weir.sfu.rtc.negotiate import MID_URI, RID_URI, remote_transport
from weir.sfu.rtc.transport import PeerTransport
from weir.sfu.rtcp import Pli, parse_compound
from weir.sfu.rtp import build_packet

LOOPBACK = IceConfig(host_addresses=("127.0.0.1",), connect_timeout_s=10)


def loopback_only(pc: RTCPeerConnection, ice: IceConfig = LOOPBACK) -> None:
    """The SDK's host-address ICE on 127.0.0.1 (or ``ice``'s addresses) for ``pc``'s transports that have not
    gathered yet."""
    HostIce(ice, controlling=False).attach(pc)


async def count_frames(
    track: MediaStreamTrack, frames: Counter[str], sizes: dict[str, tuple[int, int]]
) -> None:
    """Decode ``track`` until it ends, counting its frames and keeping the last video frame's size."""
    try:
        while True:
            frame = await track.recv()
            frames[track.id] += 1
            if isinstance(frame, VideoFrame):
                sizes[track.id] = (frame.width, frame.height)
    except MediaStreamError:
        pass

class Peer:
    """One client: publishes through one connection, receives and decodes through the other."""

    def __init__(self, room: RtcRoom, session_id: str) -> None:
        self.room = room
        self.session_id = session_id
        self.closing = False  # close() has begun: an offer still on its way is dropped
        # max-bundle: with aiortc's default (balanced), a second m-section of a kind created by a remote offer
        # stays on a transport that BUNDLE then discards, and its packets reach the wrong receiver
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.publisher_pc = RTCPeerConnection(config)
        self.subscriber_pc = RTCPeerConnection(config)
        self.subscriber_pc.on("track", self._on_track)
        self.frames: Counter[str] = Counter()  # decoded frames by track id ("<session>|<track type>")
        self.sizes: dict[str, tuple[int, int]] = {}  # the latest decoded video frame's size, by track id
        self.published: list[TrackInfo] = []  # on_track_published events received
        self.unpublished: list[TrackInfo] = []
        self.states: list[str] = []
        self.candidates: list[tuple[str, dict[str, Any]]] = []
        self.sources: dict[str, MediaStreamTrack] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.participant: RtcParticipant

    async def join(self) -> RtcParticipant:
        self.participant = participant = await self.room.add_participant(self.session_id, f"user-{self.session_id}")
        participant.on_subscriber_offer = self._answer
        participant.on_ice_candidate = self._candidate
        participant.on_connection_state = self._state
        participant.on_track_published = self._published
        participant.on_track_unpublished = self._unpublished
        return participant

    async def publish(
        self, *, audio: bool = True, video: bool = True, amplitude: float = 0.3, video_codec: str = ""
    ) -> None:
        """``video_codec`` (a mime type such as ``video/H264``): the only video codec offered, with its RTX."""
        if audio:
            self.sources["audio"] = Tone(amplitude)
            self.publisher_pc.addTrack(self.sources["audio"])
        if video:
            self.sources["video"] = Pattern()
            sender = self.publisher_pc.addTrack(self.sources["video"])
            if video_codec:
                transceiver = next(t for t in self.publisher_pc.getTransceivers() if t.sender is sender)
                capabilities = RTCRtpSender.getCapabilities("video").codecs
                transceiver.setCodecPreferences([c for c in capabilities if c.mimeType in (video_codec, "video/rtx")])
        loopback_only(self.publisher_pc)
        mark_voice_activity(self.publisher_pc)
        await self.publisher_pc.setLocalDescription(await self.publisher_pc.createOffer())
        tracks = [
            TrackInfo(self.session_id, t.kind, mid=t.mid)  # type: ignore[arg-type]
            for t in self.publisher_pc.getTransceivers()
        ]
        answer = await self.participant.set_publisher_offer(self.publisher_pc.localDescription.sdp, tracks)
        await self.publisher_pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def subscribe(self, *others: Peer, track_types: tuple[str, ...] = ("audio", "video")) -> None:
        await self.participant.update_subscriptions(
            [Subscription(other.session_id, track_type) for other in others for track_type in track_types]
        )

    def received(self, other: Peer, track_type: str) -> int:
        return self.frames[f"{other.session_id}|{track_type}"]

    async def _answer(self, sdp: str, negotiation_id: int) -> None:
        try:
            await self.subscriber_pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            loopback_only(self.subscriber_pc)
            await self.subscriber_pc.setLocalDescription(await self.subscriber_pc.createAnswer())
        except InvalidStateError:
            if self.closing:
                return  # the test closed the peer while an offer was on its way
            raise
        await self.participant.set_subscriber_answer(self.subscriber_pc.localDescription.sdp, negotiation_id)

    async def _candidate(self, target: str, candidate: dict[str, Any]) -> None:
        self.candidates.append((target, candidate))
        pc = self.publisher_pc if target == "publisher" else self.subscriber_pc
        found = candidate_from_sdp(candidate["candidate"].removeprefix("candidate:"))
        found.sdpMid, found.sdpMLineIndex = candidate["sdpMid"], candidate["sdpMLineIndex"]
        await pc.addIceCandidate(found)

    async def _state(self, state: str) -> None:
        self.states.append(state)

    async def _published(self, info: TrackInfo) -> None:
        self.published.append(info)

    async def _unpublished(self, info: TrackInfo) -> None:
        self.unpublished.append(info)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        await count_frames(track, self.frames, self.sizes)

    async def close(self) -> None:
        self.closing = True
        for task in self._tasks:
            task.cancel()
        await self.publisher_pc.close()
        await self.subscriber_pc.close()


async def eventually(check: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    """Wait until ``check()`` holds; fail the test naming ``what`` if it does not within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class SimulcastPublisher:
    """A browser-like simulcast publisher: three VP8 layers by rid, no SSRCs in its offer.

    aiortc cannot send simulcast, so this one is raw: Weir's own transport as the client's ICE and DTLS, aiortc's
    VP8 encoder per layer (encoding is the client's business), and RTP packets with mid and rid header
    extensions built here. A PLI for a layer's SSRC makes that layer's next frame a keyframe.
    """

    LAYERS = (("q", 64, 48), ("h", 128, 96), ("f", 256, 192))  # rid, width, height: lowest first
    MID_ID, RID_ID = 4, 10

    def __init__(self, room: RtcRoom | None, session_id: str, ice: IceConfig = LOOPBACK) -> None:
        self.room = room  # None when the publisher offers through signaling (``publish_through``)
        self.session_id = session_id
        self.plis: Counter[str] = Counter()
        self._ssrcs = {rid: 1000 + index for index, (rid, _, _) in enumerate(self.LAYERS)}
        self._keyframe = {rid for rid, _, _ in self.LAYERS}
        self._task: asyncio.Task[None] | None = None
        self.transport = PeerTransport(
            ice, RTCCertificate.generateCertificate(), controlling=True, on_rtp=lambda _: None,
            on_rtcp=self._rtcp, on_state=lambda _: None,
        )

    async def publish(self) -> None:
        assert self.room is not None
        self.participant = await self.room.add_participant(self.session_id, f"user-{self.session_id}")
        await self.publish_through(self.participant.set_publisher_offer)

    async def publish_through(self, offer: Callable[[str, list[TrackInfo]], Awaitable[str]]) -> None:
        """Offer with ``offer`` (description and tracks in, the SFU's answer out), connect and start sending."""
        await self.transport.gather()
        local = self.transport.local("actpass")
        lines = [
            "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
            "m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", f"a=ice-ufrag:{local.ufrag}",
            f"a=ice-pwd:{local.pwd}", f"a=fingerprint:{local.fingerprint[0]} {local.fingerprint[1]}",
            "a=setup:actpass", "a=mid:0", "a=sendonly", "a=rtcp-mux", f"a=extmap:{self.MID_ID} {MID_URI}",
            f"a=extmap:{self.RID_ID} {RID_URI}", "a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 nack pli",
            *(f"a=rid:{rid} send" for rid, _, _ in reversed(self.LAYERS)),
            "a=simulcast:send " + ";".join(rid for rid, _, _ in reversed(self.LAYERS)),
            *(f"a=candidate:{c}" for c in local.candidates),
        ]
        layers = tuple(Layer(rid, w, h, 100_000 * (i + 1)) for i, (rid, w, h) in enumerate(self.LAYERS))
        tracks = [TrackInfo(self.session_id, "video", mid="0", layers=layers)]
        answer = await offer("\r\n".join(lines) + "\r\n", tracks)
        remote = remote_transport(parse(answer))
        await self.transport.apply_remote(remote, "server" if remote.setup == "active" else "client")
        await eventually(lambda: self.transport.state == "connected", what="the simulcast publisher connected")
        self._task = asyncio.ensure_future(self._send())

    async def _send(self) -> None:
        encoders = {rid: Vp8Encoder() for rid, _, _ in self.LAYERS}
        pattern = Pattern()
        sequence = Counter[str]()
        for _frame_number in itertools.count():
            source = await pattern.recv()
            for rid, width, height in self.LAYERS:
                frame = source.reformat(width=width, height=height)
                keyframe = rid in self._keyframe
                self._keyframe.discard(rid)
                payloads, timestamp = encoders[rid].encode(frame, keyframe)
                for index, payload in enumerate(payloads):
                    packet = build_packet(
                        payload_type=96, sequence_number=sequence[rid] & 0xFFFF, timestamp=timestamp,
                        ssrc=self._ssrcs[rid], payload=payload, marker=index == len(payloads) - 1,
                        extensions=[(self.MID_ID, b"0"), (self.RID_ID, rid.encode())],
                    )
                    sequence[rid] += 1
                    self.transport.send_rtp(packet)

    def _rtcp(self, data: bytes) -> None:
        for packet in parse_compound(data):
            if isinstance(packet, Pli):
                rid = next(r for r, ssrc in self._ssrcs.items() if ssrc == packet.media_ssrc)
                self.plis[rid] += 1
                self._keyframe.add(rid)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.transport.close()
