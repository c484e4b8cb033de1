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
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtp import RTCP_PSFB_PLI, AnyRtcpPacket, HeaderExtensions, RtcpPsfbPacket

from tests.sfu.rtc_peers import LOOPBACK, eventually
from weir.client.media.ice import HostIce
from weir.client.media.synthetic import ToneTrack
from weir.rtc.aiortc_adapter import (
    WRITTEN_FOR,
    AiortcMismatch,
    check_installed,
    ice_connection,
    nominated_pair,
    on_rtcp_for_ssrc,
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


def test_a_missing_private_method_fails_the_import_check_naming_the_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RTCIceTransport, "_monitor")
    with pytest.raises(AiortcMismatch, match=r"^RTCIceTransport has no '_monitor': " + MISMATCH):
        check_installed()


async def test_a_missing_instance_member_fails_at_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    pc = RTCPeerConnection()
    try:
        sender = pc.addTransceiver("audio").sender
        monkeypatch.delattr(sender, "_RTCRtpSender__rtp_header_extensions_map")
        with pytest.raises(AiortcMismatch, match=r"^RTCRtpSender has no '_RTCRtpSender__rtp_header_extensions_map': "
                                                 + MISMATCH):
            rewrite_header_extensions(sender, lambda values: None)
    finally:
        await pc.close()
    connection = Connection(ice_controlling=True)
    monkeypatch.delattr(connection, "_nominated")
    with pytest.raises(AiortcMismatch, match=r"^Connection has no '_nominated': " + MISMATCH):
        nominated_pair(connection, COMPONENT)
