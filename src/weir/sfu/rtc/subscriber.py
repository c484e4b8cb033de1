"""``SubscriberSide``: what one participant receives, over the connection the SFU offers.

One ``Slot`` (m-section) per subscribed track, each with a down-track of its own SSRC and payload type. A slot
joins its receiver's fan-out only once an answer covering it has been accepted and the connection is up, so
no packet is spent before the client can decrypt and demultiplex it; an unsubscribed slot leaves the fan-out
at once and is offered ``inactive``.
Mids are never reused (aiortc, for one, cannot retarget a receiving transceiver).

Offers carry a negotiation id; only the answer to the latest offer is applied, older ones are ignored.
A receive-only client may offer instead (WHEP, ``answer_offer``): its m-sections become the slots, once.
The subscriber's RTCP is acted on here: NACKs are answered from the publisher's packet buffer, PLI and FIR
become keyframe requests to the publisher (rate-limited by the receiver), receiver reports and REMB are kept.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

from weir.sfu.downtrack import DownTrack
from weir.sfu.errors import PacketError
from weir.sfu.rtc.negotiate import (
    FEEDBACK,
    OfferedSlot,
    answer_subscriber,
    publisher_dtls_role,
    read_subscriber_answer,
    remote_transport,
    subscriber_offer,
)
from weir.sfu.rtc.sdp import Codec, Media, SdpError, parse
from weir.sfu.rtc.track import PublishedTrack
from weir.sfu.rtc.transport import PeerTransport
from weir.sfu.rtcp import Fir, Nack, Pli, ReceiverReport, Remb, ReportBlock, parse_compound

__all__ = ["Slot", "SubscriberSide"]

OPUS_PAYLOAD_TYPE = 111
_DYNAMIC_PAYLOAD_TYPES = (*range(96, 128), *range(35, 64))
_NOT_TOKEN = re.compile(r"[^!#$%&'*+\-.0-9A-Z^_`a-z{|}~]")


def _receiving_codec(media: Media, track: PublishedTrack) -> Codec | None:
    """The track's codec under the payload type ``media`` (a receiving m-section of an offer) gives it, if any."""
    if media.kind != track.kind or media.rejected or not media.mid or media.direction not in ("recvonly", "sendrecv"):
        return None
    same = [c for c in media.codecs if c.mime == track.codec.mime and c.clock_rate == track.codec.clock_rate]
    same.sort(key=lambda c: c.fmtp != track.codec.fmtp)
    if not same:
        return None
    feedback = [f for f in same[0].feedback if f in FEEDBACK] if track.kind == "video" else []
    codec = track.codec
    return Codec(same[0].payload_type, codec.name, codec.clock_rate, codec.channels, codec.fmtp, feedback)


def sdp_token(text: str) -> str:
    """``text`` with every character SDP does not allow in a token (msid, cname) replaced by ``_``."""
    return _NOT_TOKEN.sub("_", text)[:64] or "_"


@dataclass(eq=False)
class Slot:
    offered: OfferedSlot
    track: PublishedTrack
    downtrack: DownTrack
    target: int  # the layer the subscription calls for
    since: int  # the negotiation that introduced it
    attached: bool = False
    report: ReportBlock | None = None  # the subscriber's latest reception report

    @property
    def active(self) -> bool:
        return self.offered.active


class SubscriberSide:
    def __init__(self, transport: PeerTransport) -> None:
        self.transport = transport
        self.slots: list[Slot] = []
        self._by_ssrc: dict[int, Slot] = {}
        self._payload_types: dict[tuple[str, int, int, str], int] = {}
        self._mids = itertools.count()
        self._session_id = random.getrandbits(62)
        self._offered: list[OfferedSlot] = []  # as the latest offer had them
        self._answered = 0  # the negotiation id of the latest answer applied
        self._accepted: set[str] = set()  # the mids that answer accepted
        self.negotiation_id = 0
        self.bandwidth_estimate = 0  # bit/s from the subscriber's REMB; 0 before one arrives
        self.malformed_rtcp = 0

    def active(self) -> dict[tuple[str, str], Slot]:
        return {slot.track.key: slot for slot in self.slots if slot.active}

    def add(self, track: PublishedTrack, target: int, paused: bool, *, mid: str | None = None,
            codec: Codec | None = None) -> Slot:
        """A new slot for ``track``; ``mid`` and ``codec`` are the client's when it offered."""
        ssrc = self._new_ssrc()
        codec = codec or self._codec(track.codec, track.kind)
        session_id, track_type = track.key
        offered = OfferedSlot(
            mid=str(next(self._mids)) if mid is None else mid,
            kind=track.kind,
            codec=codec,
            ssrc=ssrc,
            stream_id=sdp_token(session_id),
            track_id=sdp_token(f"{session_id}|{track_type}"),
            active=True,
        )
        downtrack = DownTrack(
            track.receiver,
            self.transport.send_rtp,
            ssrc=ssrc,
            payload_type=codec.payload_type,
            clock_rate=codec.clock_rate,
            vp8=codec.mime == "vp8",
            target_layer=None if paused else target,
        )
        slot = Slot(offered, track, downtrack, target, self.negotiation_id + 1)
        self.slots.append(slot)
        self._by_ssrc[ssrc] = slot
        return slot

    def retarget(self, slot: Slot, target: int, paused: bool) -> None:
        slot.target = target
        slot.downtrack.set_target_layer(None if paused else target)

    def follow_arriving_layers(self, now_ns: int) -> None:
        """Aim each unpaused video down-track at the best layer that is arriving, up to the one it asked for."""
        for slot in self.slots:
            if slot.attached and slot.track.kind == "video" and slot.downtrack.forwarder.target is not None:
                layer = slot.track.receiver.available_layer(slot.target, now_ns)
                if layer != slot.downtrack.forwarder.target:
                    slot.downtrack.set_target_layer(layer)

    def remove(self, slot: Slot) -> None:
        """Stop forwarding at once; the next offer marks the m-section inactive."""
        if slot.attached:
            slot.track.receiver.remove_downtrack(slot.downtrack)
            slot.track.listeners.pop(slot.downtrack, None)
            slot.attached = False
        self._by_ssrc.pop(slot.offered.ssrc, None)
        slot.offered = OfferedSlot(**{**slot.offered.__dict__, "active": False})

    def offer(self) -> tuple[str, int]:
        """A new offer of every slot, and its negotiation id."""
        self.negotiation_id += 1
        self._offered = [slot.offered for slot in self.slots]
        local = self.transport.local("actpass")
        return subscriber_offer(self._offered, local, session_id=self._session_id, version=self.negotiation_id), (
            self.negotiation_id
        )

    async def answer(self, sdp: str, negotiation_id: int) -> bool:
        """Apply the answer to the latest offer; False (and nothing done) for an older one. SdpError if bad."""
        if negotiation_id != self.negotiation_id or not self._offered:
            return False
        remote, role, accepted = read_subscriber_answer(parse(sdp), self._offered)
        await self.transport.apply_remote(remote, role)
        self._answered, self._accepted = negotiation_id, accepted
        self.attach_answered()
        return True

    async def answer_offer(self, sdp: str, tracks: list[tuple[PublishedTrack, int, bool]]) -> str:
        """Answer a receive-only client's offer (WHEP), once: each (track, target layer, paused) takes the next
        offered m-section of its kind that receives its codec. SdpError when none can, or if negotiated before."""
        if self.slots or self.negotiation_id:
            raise SdpError("this connection is negotiated already")
        offer = parse(sdp)
        remote = remote_transport(offer)
        pending = list(tracks)
        chosen: list[tuple[PublishedTrack, int, bool, str, Codec]] = []
        for media in offer.media:
            for index, (track, target, paused) in enumerate(pending):
                codec = _receiving_codec(media, track)
                if codec is not None:
                    chosen.append((track, target, paused, media.mid, codec))
                    del pending[index]
                    break
        if not chosen:
            raise SdpError("no m-section of the offer can receive what the call publishes")
        for track, target, paused, mid, codec in chosen:
            self.add(track, target, paused, mid=mid, codec=codec)
        self.negotiation_id = self._answered = 1
        self._offered = [slot.offered for slot in self.slots]
        self._accepted = {slot.offered.mid for slot in self.slots}
        local = self.transport.local("passive" if remote.setup == "active" else "active")
        answer = answer_subscriber(offer, local, {s.mid: s for s in self._offered}, session_id=self._session_id,
                                   version=1)
        self.transport.link.be_controlled()
        await self.transport.apply_remote(remote, publisher_dtls_role(remote))
        return answer

    def attach_answered(self) -> None:
        """Put answered slots into their receivers' fan-out, once the connection is up.

        Not before: the SFU's DTLS completes a round trip before the client's, and a keyframe sent meanwhile
        would be lost; attaching asks the publisher for a fresh one.
        """
        if self.transport.state != "connected":
            return
        for slot in self.slots:
            if slot.active and not slot.attached and slot.since <= self._answered and slot.offered.mid in self._accepted:
                slot.track.receiver.add_downtrack(slot.downtrack)
                slot.track.listeners[slot.downtrack] = self.transport.send_rtcp
                slot.attached = True

    def detach_track(self, track: PublishedTrack) -> list[Slot]:
        """Remove every active slot of ``track`` (unpublished); returns them."""
        gone = [slot for slot in self.slots if slot.active and slot.track is track]
        for slot in gone:
            self.remove(slot)
        return gone

    def close(self) -> None:
        for slot in self.slots:
            if slot.active:
                self.remove(slot)

    def on_rtcp(self, data: bytes) -> None:
        try:
            packets = parse_compound(data)
        except PacketError:
            self.malformed_rtcp += 1
            return
        slots = self._by_ssrc
        for packet in packets:
            if isinstance(packet, Nack):
                slot = slots.get(packet.media_ssrc)
                if slot is not None:
                    slot.downtrack.handle_nack(packet.lost)
            elif isinstance(packet, Pli):
                slot = slots.get(packet.media_ssrc)
                if slot is not None:
                    slot.downtrack.handle_pli()
            elif isinstance(packet, Fir):
                for ssrc, _ in packet.entries:
                    slot = slots.get(ssrc)
                    if slot is not None:
                        slot.downtrack.handle_pli()
            elif isinstance(packet, ReceiverReport):
                for block in packet.reports:
                    slot = slots.get(block.ssrc)
                    if slot is not None:
                        slot.report = block
            elif isinstance(packet, Remb):
                self.bandwidth_estimate = packet.bitrate

    def _new_ssrc(self) -> int:
        while True:
            ssrc = random.getrandbits(32)
            if ssrc and ssrc not in self._by_ssrc:
                return ssrc

    def _codec(self, codec: Codec, kind: str) -> Codec:
        """The publisher's codec under this subscriber's payload type for it, with the feedback the SFU answers."""
        key = (codec.mime, codec.clock_rate, codec.channels, codec.fmtp)
        payload_type = self._payload_types.get(key)
        if payload_type is None:
            used = set(self._payload_types.values())
            preferred = (OPUS_PAYLOAD_TYPE,) if codec.mime == "opus" else ()
            free = (pt for pt in (*preferred, *_DYNAMIC_PAYLOAD_TYPES) if pt not in used)
            payload_type = self._payload_types[key] = next(free)
        feedback = list(FEEDBACK) if kind == "video" else []
        return Codec(payload_type, codec.name, codec.clock_rate, codec.channels, codec.fmtp, feedback)
