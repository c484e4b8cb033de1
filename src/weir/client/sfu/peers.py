"""The two aiortc peer connections of one SFU session (docs/protocol.md): the publisher offers, the subscriber
answers the SFU's offers. Both use max-bundle (with aiortc's default, a second m-section of a kind created by a
remote offer stays on a transport BUNDLE then discards) and the SDK's host-address ICE (media/ice.py).

aiortc gathers every candidate before ``setLocalDescription`` returns, so the local candidates travel in the
SDP and only the end of candidates is trickled; the SFU's trickled candidates are applied as they come.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack

from weir.client.media.ice import HostIce, IceConfig
from weir.client.media.receive import repair_video_receivers
from weir.client.media.simulcast import SimulcastSender, layer_sizes, simulcast_offer
from weir.client.media.switch import SourceSwitch
from weir.client.media.voice import mark_voice_activity
from weir.protocol.sfu.events import PublisherAnswerEvent, SubscriberOfferEvent, VideoSender
from weir.protocol.sfu.models import Layer, MuteState, PeerTarget, PublishOption, TrackInfo, TrackType
from weir.protocol.sfu.requests import (
    IceTrickleRequest,
    SendAnswerRequest,
    SetPublisherRequest,
    UpdateMuteStatesRequest,
)
from weir.rtc.extensions import MID_URI
from weir.rtc.sdp import parse

log = logging.getLogger(__name__)
KIND: dict[TrackType, str] = {"audio": "audio", "video": "video", "screen_share": "video",
                              "screen_share_audio": "audio"}
SendRequest = Callable[..., Awaitable[object]]


def _peer_connection() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


class Peer:
    """What both connections share: the connection, its ICE, and the end-of-candidates trickle."""

    target: PeerTarget

    def __init__(self, config: IceConfig, *, controlling: bool) -> None:
        self.pc = _peer_connection()
        self.ice = HostIce(config, controlling=controlling)
        self.lock = asyncio.Lock()

    async def add_candidate(self, candidate: str | None) -> None:
        await self.ice.add_candidate(candidate)

    def end_of_candidates(self) -> IceTrickleRequest:
        return IceTrickleRequest(target=self.target, candidate=None)

    async def close(self) -> None:
        await self.pc.close()


class Publisher(Peer):
    """Sends this client's tracks: one sendonly transceiver per track type, reading a ``SourceSwitch`` (muted:
    no source)."""

    target: PeerTarget = "publisher"

    def __init__(self, config: IceConfig, send: SendRequest, request: SendRequest,
                 options: list[PublishOption], simulcast: bool = True, video_codec: str | None = None) -> None:
        super().__init__(config, controlling=True)
        self._send, self._request = send, request
        self._codecs = {o.track_type: o.codec for o in options}
        if video_codec is not None:  # the client's ``preferred_codec`` over the SFU's choice
            self._codecs["video"] = video_codec
        self._layers = {o.track_type: o.layers for o in options if simulcast}
        self._sizes = {o.track_type: (o.width, o.height) for o in options}
        self.simulcast: SimulcastSender | None = None  # the camera's, when the SFU asks for simulcast
        self._rid_id = 0  # the rid header extension's id in the rewritten offer
        self.transceivers: dict[TrackType, RTCRtpTransceiver] = {}
        self.switches: dict[TrackType, SourceSwitch] = {}
        self.muted: dict[TrackType, bool] = {}

    async def publish(self, track_type: TrackType, track: MediaStreamTrack | None) -> None:
        """Send ``track`` as ``track_type`` (None: mute it). A new track type renegotiates."""
        switch = self.switches.get(track_type)
        self.muted[track_type] = track is None
        if switch is not None:
            switch.use(track)
            await self._send(UpdateMuteStatesRequest(mute_states=[MuteState(track_type=track_type,
                                                                           muted=track is None)]))
            return
        if track is None:
            return
        self.switches[track_type] = switch = SourceSwitch(KIND[track_type], track)
        layers = self._layers.get(track_type, [])
        if track_type == "video" and len(layers) > 1:  # aiortc's sender gets an idle switch; ours reads ``switch``
            self.simulcast = SimulcastSender(switch, layers)
            transceiver = self.pc.addTransceiver(SourceSwitch("video"), direction="sendonly")
        else:
            transceiver = self.pc.addTransceiver(switch, direction="sendonly")
        self._prefer_codec(transceiver, track_type)
        self.transceivers[track_type] = transceiver
        await self.negotiate()

    def _prefer_codec(self, transceiver: RTCRtpTransceiver, track_type: TrackType) -> None:
        """The codec the SFU's publish options name (VP8, Opus) first, where aiortc has it."""
        wanted = self._codecs.get(track_type, "").lower()
        codecs = RTCRtpSender.getCapabilities(KIND[track_type]).codecs
        preferred = [c for c in codecs if c.mimeType.split("/")[1].lower() == wanted]
        if preferred:
            transceiver.setCodecPreferences(preferred + [c for c in codecs if c not in preferred])

    def change_quality(self, senders: list[VideoSender]) -> None:
        """The SFU's ``change_publish_quality``: pause the camera's simulcast layers nobody receives."""
        for sender in senders:
            if sender.track_type == "video" and self.simulcast is not None:
                self.simulcast.set_active({layer.rid: layer.active for layer in sender.layers})

    def tracks(self) -> list[TrackInfo]:
        return [TrackInfo(track_type=track_type, mid=t.mid or "", muted=self.muted.get(track_type, False),
                          codec=self._codecs.get(track_type, ""), layers=self._announced_layers(track_type))
                for track_type, t in self.transceivers.items()]

    def _announced_layers(self, track_type: TrackType) -> list[Layer]:
        if self.simulcast is None or track_type != "video":
            return []
        source = self.switches["video"].source
        width, height = self._sizes.get("video", (0, 0))
        return layer_sizes(getattr(source, "width", width), getattr(source, "height", height),
                           self._layers["video"])

    def _offer(self) -> str:
        """The local offer as the SFU gets it (a simulcast camera section rewritten as a browser writes it)."""
        sdp = self.pc.localDescription.sdp
        video = self.transceivers.get("video")
        if self.simulcast is None or video is None or video.mid is None:
            return sdp
        sdp, self._rid_id = simulcast_offer(sdp, video.mid, self.simulcast.rids)
        return sdp

    def _start_simulcast(self, answer: str) -> None:
        video = self.transceivers.get("video")
        if self.simulcast is None or video is None or video.mid is None:
            return
        media = next(m for m in parse(answer).media if m.mid == video.mid)
        self.simulcast.payload_type = next(c.payload_type for c in media.codecs if c.name.lower() == "vp8")
        self.simulcast.start(video.sender.transport, video.mid, media.extensions[MID_URI], self._rid_id)

    async def negotiate(self, ice_restart: bool = False) -> None:
        """Offer (with new ICE credentials for a restart), ``set_publisher``, apply the SFU's answer."""
        if not self.transceivers:
            return
        async with self.lock:
            self.ice.attach(self.pc)
            if ice_restart:
                await self.ice.begin_restart()
            await self.pc.setLocalDescription(await self.pc.createOffer())
            answer = await self._request(SetPublisherRequest(sdp=self._offer(), tracks=self.tracks()),
                                         PublisherAnswerEvent)
            assert isinstance(answer, PublisherAnswerEvent)
            await self.pc.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
            self._start_simulcast(answer.sdp)
            mark_voice_activity(self.pc)
            await self._send(self.end_of_candidates())
            if ice_restart:
                await self.ice.finish_restart(answer.sdp)

    async def close(self) -> None:
        if self.simulcast is not None:
            await self.simulcast.stop()
        await super().close()


class Subscriber(Peer):
    """Receives the tracks this client subscribed to; answers every SFU offer in the order received. Its video
    receivers repair loss with Weir's NACK requester and frame buffer (media/receive.py)."""

    target: PeerTarget = "subscriber"

    def __init__(self, config: IceConfig, send: SendRequest, on_track: Callable[[MediaStreamTrack], None]) -> None:
        super().__init__(config, controlling=False)
        self._send = send
        self.pc.on("track", on_track)
        self._restarts: set[asyncio.Task[None]] = set()

    async def answer(self, offer: SubscriberOfferEvent) -> None:
        async with self.lock:
            if self.pc.signalingState == "closed":
                return
            if offer.ice_restart:
                await self.ice.begin_restart()
            await self.pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
            repair_video_receivers(self.pc)
            self.ice.attach(self.pc)
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            await self._send(SendAnswerRequest(sdp=self.pc.localDescription.sdp, negotiation_id=offer.negotiation_id))
            await self._send(self.end_of_candidates())
            if offer.ice_restart:  # the SFU starts its checks when our answer arrives: check ours meanwhile
                task = asyncio.create_task(self._finish_restart(offer.sdp))
                self._restarts.add(task)
                task.add_done_callback(self._restarts.discard)

    async def _finish_restart(self, sdp: str) -> None:
        try:
            await self.ice.finish_restart(sdp)
        except ConnectionError as error:
            log.info("subscriber ICE restart failed (the old path stays): %s", error)

    async def close(self) -> None:
        for task in self._restarts:
            task.cancel()
        await super().close()


__all__ = ["KIND", "Publisher", "Subscriber"]
