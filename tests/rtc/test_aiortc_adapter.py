"""weir.rtc.aiortc_adapter against the installed aiortc and aioice: each function on real objects, two aiortc
peer connections on 127.0.0.1 where a connection is needed, and the clear error when a private member is gone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib.metadata import version

import pytest
from aioice import Connection
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtp import RTCP_PSFB_PLI, AnyRtcpPacket, HeaderExtensions, RtcpPsfbPacket, RtpPacket

from tests.sfu.rtc_peers import LOOPBACK, eventually
from weir.client.media.ice import HostIce
from weir.client.media.synthetic import TestPatternTrack, ToneTrack
from weir.rtc.aiortc_adapter import (
    WRITTEN_FOR,
    AiortcMismatch,
    check_installed,
    depayloaded,
    ice_connection,
    nominated_pair,
    on_rtcp_for_ssrc,
    receive_codec_name,
    replace_video_repair,
    rewrite_header_extensions,
    send_rtp,
)
from weir.rtc.ice import COMPONENT, HostConnection

MISMATCH = r"weir\.rtc\.aiortc_adapter was written for aiortc 1\.16\.0, aioice 0\.13\.0 \(installed: aiortc "


def test_the_installed_versions_are_the_ones_the_adapter_was_written_for() -> None:
    """An upgrade fails here first: read the adapter against the new versions, then move ``WRITTEN_FOR``."""
    assert {package: version(package) for package in WRITTEN_FOR} == WRITTEN_FOR


async def test_host_candidates_are_gathered_into_aioice_and_the_nominated_pair_carries_data() -> None:
    offerer, answerer = HostConnection(LOOPBACK, controlling=True), HostConnection(LOOPBACK, controlling=False)
    try:
        for connection in (offerer, answerer):
            await connection.gather_candidates()
            await connection.gather_candidates()  # start_gathering: a second call adds nothing
            assert [(c.host, c.type) for c in connection.local_candidates] == [("127.0.0.1", "host")]
            assert nominated_pair(connection, COMPONENT) is None
        for local, remote in ((offerer, answerer), (answerer, offerer)):
            local.remote_username, local.remote_password = remote.local_username, remote.local_password
            for candidate in remote.local_candidates:
                await local.add_remote_candidate(candidate)
            await local.add_remote_candidate(None)  # finish_gathering let aioice take the end of candidates
        await asyncio.wait_for(asyncio.gather(offerer.connect(), answerer.connect()), 10)
        assert nominated_pair(offerer, COMPONENT) is not None
        offerer.send_now(b"through the nominated pair")
        assert await asyncio.wait_for(answerer.recv(), 5) == b"through the nominated pair"
    finally:
        await asyncio.gather(offerer.close(), answerer.close())


@dataclass
class Pair:
    """Two aiortc peer connections with the SDK's host ICE on 127.0.0.1; the offerer sends a tone."""

    offerer: RTCPeerConnection = field(default_factory=RTCPeerConnection)
    answerer: RTCPeerConnection = field(default_factory=RTCPeerConnection)
    offerer_ice: HostIce = field(default_factory=lambda: HostIce(LOOPBACK, controlling=True))
    answerer_ice: HostIce = field(default_factory=lambda: HostIce(LOOPBACK, controlling=False))

    async def negotiate(self, restart: bool = False) -> None:
        if restart:
            await self.offerer_ice.begin_restart()
            await self.answerer_ice.begin_restart()
        self.offerer_ice.attach(self.offerer)
        await self.offerer.setLocalDescription(await self.offerer.createOffer())
        await self.answerer.setRemoteDescription(self.offerer.localDescription)
        self.answerer_ice.attach(self.answerer)
        await self.answerer.setLocalDescription(await self.answerer.createAnswer())
        answer = self.answerer.localDescription
        await self.offerer.setRemoteDescription(RTCSessionDescription(answer.sdp, answer.type))
        if restart:
            await asyncio.wait_for(asyncio.gather(self.offerer_ice.finish_restart(answer.sdp),
                                                  self.answerer_ice.finish_restart(self.offerer.localDescription.sdp)),
                                   15)

    def ice(self, pc: RTCPeerConnection) -> RTCIceTransport:
        return pc.getTransceivers()[0].sender.transport.transport


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    pair = Pair()
    pair.offerer.addTrack(ToneTrack())
    yield pair
    await asyncio.gather(pair.offerer.close(), pair.answerer.close())


async def test_the_sdk_ice_runs_under_aiortc_and_restarts(pair: Pair) -> None:
    """install_ice_side and ice_connection (attach), then set_gathering_connection, ice_monitor_paused and
    swap_ice_connection (an ICE restart): media keeps flowing over the new connection, and aiortc's monitor,
    restarted, does not read the old connection's close as a failure."""
    received: list[int] = []
    pair.answerer.on("track", lambda track: asyncio.ensure_future(_count(track, received)))
    await pair.negotiate()
    ice = pair.ice(pair.offerer)
    first = ice_connection(ice)
    assert isinstance(first, HostConnection) and first is pair.offerer_ice.link.connection  # type: ignore[union-attr]
    await eventually(lambda: len(received) > 10, what="audio over the first connection")

    await pair.negotiate(restart=True)
    assert ice_connection(ice) is pair.offerer_ice.link.connection is not first  # type: ignore[union-attr]
    assert ice.iceGatherer.getLocalParameters().usernameFragment == ice_connection(ice).local_username
    before = len(received)
    await eventually(lambda: len(received) > before + 10, what="audio over the restarted connection")
    assert pair.offerer.connectionState == pair.answerer.connectionState == "connected"


async def _count(track: MediaStreamTrack, received: list[int]) -> None:
    with contextlib.suppress(MediaStreamError):  # the track ends when the connection closes
        while True:
            await track.recv()
            received.append(1)


async def test_header_extensions_are_rewritten_and_rtcp_reaches_a_registered_ssrc(pair: Pair) -> None:
    rewritten: list[HeaderExtensions] = []
    sender = pair.offerer.getSenders()[0]
    rewrite_header_extensions(sender, lambda values: rewritten.append(values))
    rewrite_header_extensions(sender, lambda values: rewritten.append(values))  # replaces, does not stack
    pli: list[AnyRtcpPacket] = []

    async def on_rtcp(packet: AnyRtcpPacket) -> None:
        pli.append(packet)

    on_rtcp_for_ssrc(sender.transport, 0x1234, on_rtcp)
    await pair.negotiate()
    await eventually(lambda: len(rewritten) > 10, what="packets serialised through the rewrite")
    assert all(values.audio_level is not None for values in rewritten)  # the SDK sets the voice bit here
    assert len({id(values) for values in rewritten}) == len(rewritten)  # once per packet

    answerer_dtls = pair.answerer.getTransceivers()[0].receiver.transport
    await eventually(lambda: answerer_dtls.state == "connected", what="DTLS")
    await send_rtp(answerer_dtls, bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=0x1234)))
    await eventually(lambda: bool(pli), what="the PLI at the registered handler")
    assert isinstance(pli[0], RtcpPsfbPacket) and pli[0].media_ssrc == 0x1234


class RecordingRepair:
    """A video receiver's jitter buffer and NACK generator in one: records what aiortc's receiver hands it."""

    def __init__(self, receiver: RTCRtpReceiver) -> None:
        self.receiver = receiver
        self.nacked: list[int] = []
        self.packets: list[tuple[bytes, bytes, str | None]] = []  # payload, depayloaded, codec name
        self.missing: list[int] = []

    def add(self, packet: RtpPacket) -> bool:
        self.nacked.append(packet.sequence_number)
        return False


class RecordingFrames(RecordingRepair):
    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:  # type: ignore[override]
        self.packets.append((packet.payload, depayloaded(packet), receive_codec_name(self.receiver,
                                                                                     packet.payload_type)))
        return False, None


async def test_a_video_receiver_hands_its_packets_to_the_given_jitter_buffer_and_nack_generator() -> None:
    """replace_video_repair, depayloaded and receive_codec_name on a real receiver of VP8 from a real sender."""
    pair = Pair()
    pair.offerer.addTrack(TestPatternTrack())
    installed: list[tuple[RecordingFrames, RecordingRepair]] = []

    def on_track(track: MediaStreamTrack) -> None:
        (receiver,) = [t.receiver for t in pair.answerer.getTransceivers()]
        installed.append((RecordingFrames(receiver), RecordingRepair(receiver)))
        replace_video_repair(receiver, *installed[0])

    pair.answerer.on("track", on_track)
    try:
        await pair.negotiate()
        frames, nack = installed[0]
        await eventually(lambda: len(frames.packets) > 10, what="video packets at the given jitter buffer")
        assert len(nack.nacked) >= len(frames.packets)
        assert {codec for _, _, codec in frames.packets} == {"VP8"}
        assert all(0 < len(data) < len(payload) for payload, data, _ in frames.packets)  # the descriptor stripped
        assert receive_codec_name(frames.receiver, 127) is None
    finally:
        await asyncio.gather(pair.offerer.close(), pair.answerer.close())


async def test_an_audio_receiver_keeps_aiortc_s_repair() -> None:
    pc = RTCPeerConnection()
    try:
        receiver = pc.addTransceiver("audio").receiver
        with pytest.raises(ValueError, match="only a video receiver"):
            replace_video_repair(receiver, RecordingFrames(receiver), RecordingRepair(receiver))
    finally:
        await pc.close()


def test_a_missing_private_method_fails_the_import_check_naming_the_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RTCIceTransport, "_monitor")
    with pytest.raises(AiortcMismatch, match=r"^RTCIceTransport has no '_monitor': " + MISMATCH):
        check_installed()


async def test_a_missing_instance_member_fails_at_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    pc = RTCPeerConnection()
    try:
        sender = pc.addTransceiver("audio").sender
        receiver = pc.addTransceiver("video").receiver
        for owner, member, use in (
                (sender, "_RTCRtpSender__rtp_header_extensions_map",
                 lambda: rewrite_header_extensions(sender, lambda values: None)),
                (receiver, "_RTCRtpReceiver__jitter_buffer",
                 lambda: replace_video_repair(receiver, RecordingFrames(receiver), RecordingRepair(receiver)))):
            monkeypatch.delattr(owner, member)
            with pytest.raises(AiortcMismatch, match=rf"^{type(owner).__name__} has no '{member}': " + MISMATCH):
                use()
    finally:
        await pc.close()
    with pytest.raises(AiortcMismatch, match=r"^RtpPacket has no '_data': " + MISMATCH):
        depayloaded(RtpPacket())
    connection = Connection(ice_controlling=True)
    monkeypatch.delattr(connection, "_nominated")
    with pytest.raises(AiortcMismatch, match=r"^Connection has no '_nominated': " + MISMATCH):
        nominated_pair(connection, COMPONENT)
