"""``SubscriberSide``: what one participant receives, over the connection the SFU offers.

One ``Slot`` (m-section) per subscribed track, each with a down-track of its own SSRC and payload type. A slot
joins its receiver's fan-out only once an answer covering it has been accepted and the connection is up, so
no packet is spent before the client can decrypt and demultiplex it; an unsubscribed slot leaves the fan-out
at once and is offered ``inactive``.
Mids are never reused (aiortc, for one, cannot retarget a receiving transceiver).

Offers carry a negotiation id; only the answer to the latest offer is applied, older ones are ignored.
A receive-only client may offer instead (WHEP, ``answer_offer``): its m-sections become the slots, once.
Video slots are offered with RTX; where the answer keeps it, the down-track resends as RTX packets. Audio slots
of a RED track are offered RED ahead of Opus; where the answer drops it, the down-track sends the primary blocks.
The subscriber's RTCP is acted on here: NACKs are answered from the publisher's packet buffer, PLI and FIR
become keyframe requests to the publisher (rate-limited by the receiver), receiver reports and REMB go to the
subscriber's ``Downlink``, whose allocation caps each video slot's layer (``Slot.cap``). Video is sent with the
``abs-send-time`` header extension, which receive-side estimators need to send REMB. Where the answer keeps
transport-cc, every packet of those slots also carries a transport-wide sequence number, and the downlink's
estimate is the send-side one, fed by the subscriber's transport-cc feedback.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from dataclasses import dataclass

from weir.rtc.sdp import Codec, Media, SdpError, parse
from weir.sfu.bwe import DownlinkEstimate
from weir.sfu.codecs.h264 import same_format
from weir.sfu.downtrack import DownTrack
from weir.sfu.errors import PacketError
from weir.sfu.headerext import ABS_SEND_TIME_ID, ABS_SEND_TIME_URI, TRANSPORT_CC_ID, ExtensionSink, SendHistory
from weir.sfu.receiver import MAX_LAYERS
from weir.sfu.rtc.downlink import Downlink
from weir.sfu.rtc.negotiate import (
    FEEDBACK,
    TRANSPORT_CC,
    OfferedSlot,
    answer_subscriber,
    kept_formats,
    kept_transport_cc,
    publisher_dtls_role,
    read_subscriber_answer,
    remote_transport,
    subscriber_offer,
)
from weir.sfu.rtc.track import PublishedTrack
from weir.sfu.rtc.transport import PeerTransport
from weir.sfu.rtcp import Fir, Nack, Pli, ReceiverReport, Remb, ReportBlock, TransportCc, parse_compound
from weir.sfu.rtx import RtxStream
from weir.sfu.sendside import SendSideEstimate

__all__ = ["Slot", "SubscriberSide"]

OPUS_PAYLOAD_TYPE = 111
_DYNAMIC_PAYLOAD_TYPES = (*range(96, 128), *range(35, 64))
_NOT_TOKEN = re.compile(r"[^!#$%&'*+\-.0-9A-Z^_`a-z{|}~]")


def _receiving_codec(media: Media, track: PublishedTrack) -> tuple[Codec, Codec | None] | None:
    """The track's codec under the payload type ``media`` (a receiving m-section of an offer) gives it, and the
    offer's RTX format for it, if any."""
    if media.kind != track.kind or media.rejected or not media.mid or media.direction not in ("recvonly", "sendrecv"):
        return None
    codec = track.codec
    same = [c for c in media.codecs if c.mime == codec.mime and c.clock_rate == codec.clock_rate]
    if codec.mime == "h264":
        same = [c for c in same if same_format(c.fmtp_params(), codec.fmtp_params())]
    same.sort(key=lambda c: c.fmtp != codec.fmtp)
    if not same:
        return None
    feedback = [f for f in same[0].feedback if f in FEEDBACK] if track.kind == "video" else []
    rtx = media.rtx_for(same[0].payload_type) if track.kind == "video" else None
    return Codec(same[0].payload_type, codec.name, codec.clock_rate, codec.channels, codec.fmtp, feedback), rtx


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
    rtx: RtxStream | None = None  # offered; the down-track uses it once an answer keeps it
    cap: int | None = MAX_LAYERS  # the highest layer the subscriber's bandwidth allows; None: paused for it
    sink: ExtensionSink | None = None  # writes the header extensions the subscriber negotiated

    @property
    def active(self) -> bool:
        return self.offered.active


class SubscriberSide:
    def __init__(self, transport: PeerTransport) -> None:
        self.transport = transport
        self.slots: list[Slot] = []
        self._by_ssrc: dict[int, Slot] = {}
        self._payload_types: dict[tuple[str, int, int, str], int] = {}  # by format (for RTX: by slot)
        self._mids = itertools.count()
        self._session_id = random.getrandbits(62)
        self._offered: list[OfferedSlot] = []  # as the latest offer had them
        self._answered = 0  # the negotiation id of the latest answer applied
        self._accepted: set[str] = set()  # the mids that answer accepted
        self.negotiation_id = 0
        self.downlink = Downlink(time.monotonic_ns)  # the subscriber's REMB and reports, and video allocation
        self.send_side: SendSideEstimate | None = None  # the downlink's estimate while transport-cc is kept
        self.malformed_rtcp = 0

    def active(self) -> dict[tuple[str, str], Slot]:
        return {slot.track.key: slot for slot in self.slots if slot.active}

    def add(self, track: PublishedTrack, target: int, paused: bool, *, mid: str | None = None,
            codec: Codec | None = None, rtx: Codec | None = None, abs_send_time_id: int = ABS_SEND_TIME_ID) -> Slot:
        """A new slot for ``track``; ``mid``, ``codec``, ``rtx`` and the ``abs-send-time`` extension id (0 for
        none) are the client's when it offered."""
        ssrc = self._new_ssrc()
        if codec is None:
            codec = self._codec(track.codec, track.kind)
            rtx = self._rtx_codec(codec, ssrc) if track.kind == "video" else None
            red = None if track.section.red is None else self._red_codec(codec)
        else:
            red = None  # a client's offer (WHEP): plain Opus
        rtx_ssrc = self._new_ssrc() if rtx is not None else 0
        session_id, track_type = track.key
        offered = OfferedSlot(
            mid=str(next(self._mids)) if mid is None else mid,
            kind=track.kind,
            codec=codec,
            ssrc=ssrc,
            stream_id=sdp_token(session_id),
            track_id=sdp_token(f"{session_id}|{track_type}"),
            active=True,
            rtx=rtx,
            rtx_ssrc=rtx_ssrc,
            red=red,
            abs_send_time_id=abs_send_time_id if track.kind == "video" else 0,
            transport_cc_id=TRANSPORT_CC_ID if mid is None else 0,  # not for a client's offer (WHEP)
        )
        send = self.transport.send_rtp
        sink = None
        if offered.abs_send_time_id or offered.transport_cc_id:
            sink = ExtensionSink(send, offered.abs_send_time_id, offered.transport_cc_id)
        downtrack = DownTrack(
            track.receiver,
            sink or send,
            ssrc=ssrc,
            payload_type=codec.payload_type,
            clock_rate=codec.clock_rate,
            vp8=codec.mime == "vp8",
            target_layer=None if paused else target,
        )
        if track.section.red is not None:
            downtrack.use_red(None)  # until an answer keeps RED
        slot = Slot(offered, track, downtrack, target, self.negotiation_id + 1,
                    rtx=None if rtx is None else RtxStream(rtx_ssrc, rtx.payload_type), sink=sink)
        self.slots.append(slot)
        self._by_ssrc[ssrc] = slot
        return slot

    def retarget(self, slot: Slot, target: int, paused: bool) -> None:
        """A new requested layer or mute state; what bandwidth allows (``Slot.cap``) still holds."""
        slot.target = target
        slot.downtrack.set_target_layer(None if paused or slot.cap is None else min(target, slot.cap))

    def follow_arriving_layers(self, now_ns: int) -> None:
        """Aim each unmuted video down-track at the best layer that is arriving, up to the one it asked for and
        its bandwidth allows; pause those its bandwidth does not allow at all."""
        for slot in self.slots:
            if slot.attached and slot.track.kind == "video" and not slot.track.info.muted:
                cap = slot.cap
                layer = None if cap is None else slot.track.receiver.available_layer(min(slot.target, cap), now_ns)
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
        answer = parse(sdp)
        remote, role, accepted = read_subscriber_answer(answer, self._offered)
        repaired, redundant = kept_formats(answer, self._offered)
        await self.transport.apply_remote(remote, role)
        self._answered, self._accepted = negotiation_id, accepted
        self._use_transport_cc(kept_transport_cc(answer, self._offered) & accepted)
        for slot in self.slots:
            if slot.offered.mid in accepted:
                slot.downtrack.rtx = slot.rtx if slot.offered.mid in repaired else None
                if slot.offered.red is not None:
                    kept = slot.offered.mid in redundant
                    slot.downtrack.use_red(slot.offered.red.payload_type if kept else None)
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
        chosen: list[tuple[PublishedTrack, int, bool, str, tuple[Codec, Codec | None]]] = []
        for media in offer.media:
            for index, (track, target, paused) in enumerate(pending):
                codecs = _receiving_codec(media, track)
                if codecs is not None:
                    chosen.append((track, target, paused, media.mid, codecs))
                    del pending[index]
                    break
        if not chosen:
            raise SdpError("no m-section of the offer can receive what the call publishes")
        abs_send_time = {media.mid: media.extensions.get(ABS_SEND_TIME_URI, 0) for media in offer.media}
        for track, target, paused, mid, (codec, rtx) in chosen:
            slot = self.add(track, target, paused, mid=mid, codec=codec, rtx=rtx, abs_send_time_id=abs_send_time[mid])
            slot.downtrack.rtx = slot.rtx
        self.negotiation_id = self._answered = 1
        self._offered = [slot.offered for slot in self.slots]
        self._accepted = {slot.offered.mid for slot in self.slots}
        local = self.transport.local("passive" if remote.setup == "active" else "active")
        answer = answer_subscriber(offer, local, {s.mid: s for s in self._offered}, session_id=self._session_id,
                                   version=1)
        self.transport.link.be_controlled()
        await self.transport.apply_remote(remote, publisher_dtls_role(remote))
        return answer

    def _use_transport_cc(self, mids: set[str]) -> None:
        """Number the packets of the slots in ``mids`` transport-wide, and estimate the downlink from their
        feedback (``SendSideEstimate``) while any slot has it; REMB (``DownlinkEstimate``) when none has."""
        if mids and self.send_side is None:
            self.send_side = SendSideEstimate(SendHistory(), self.downlink.rtt)
            self.downlink.estimate = self.send_side
        elif not mids and self.send_side is not None:
            self.send_side = None
            self.downlink.estimate = DownlinkEstimate()
        history = None if self.send_side is None else self.send_side.history
        for slot in self.slots:
            if slot.sink is not None:
                slot.sink.history = history if slot.offered.mid in mids else None

    def attach_answered(self) -> None:
        """Put answered slots into their receivers' fan-out, once the connection is up.

        Not before: the SFU's DTLS completes a round trip before the client's, and a keyframe sent meanwhile
        would be lost; attaching asks the publisher for a fresh one.
        """
        if self.transport.state != "connected":
            return
        for slot in self.slots:
            if (slot.active and not slot.attached and slot.since <= self._answered
                    and slot.offered.mid in self._accepted):
                slot.track.receiver.add_downtrack(slot.downtrack)
                slot.track.listeners[slot.downtrack] = self.downlink.rtcp_sender(self.transport.send_rtcp)
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
                    slot.downtrack.handle_nack(packet.lost, time.monotonic_ns())
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
                        self.downlink.on_report(block, slot.offered.codec.clock_rate)
            elif isinstance(packet, Remb):
                self.downlink.on_remb(packet.bitrate, packet.ssrcs)
            elif isinstance(packet, TransportCc) and self.send_side is not None:
                self.send_side.on_feedback(packet, time.monotonic_ns())

    def _new_ssrc(self) -> int:
        while True:
            ssrc = random.getrandbits(32)
            if ssrc and ssrc not in self._by_ssrc:
                return ssrc

    def _payload_type(self, codec: Codec) -> int:
        """This subscriber's payload type for ``codec``: one per distinct format, kept across offers."""
        payload_type = self._free_payload_type((codec.mime, codec.clock_rate, codec.channels, codec.fmtp),
                                               (OPUS_PAYLOAD_TYPE,) if codec.mime == "opus" else ())
        if payload_type is None:
            raise SdpError("every dynamic payload type is taken")
        return payload_type

    def _free_payload_type(self, key: tuple[str, int, int, str], preferred: tuple[int, ...] = ()) -> int | None:
        """The payload type kept for ``key``, else the first free one (None when every one is taken)."""
        payload_type = self._payload_types.get(key)
        if payload_type is None:
            used = set(self._payload_types.values())
            payload_type = next((pt for pt in (*preferred, *_DYNAMIC_PAYLOAD_TYPES) if pt not in used), None)
            if payload_type is not None:
                self._payload_types[key] = payload_type
        return payload_type

    def _codec(self, codec: Codec, kind: str) -> Codec:
        """The publisher's codec under this subscriber's payload type for it, with the feedback the SFU answers."""
        feedback = [*FEEDBACK, TRANSPORT_CC] if kind == "video" else [TRANSPORT_CC]
        return Codec(self._payload_type(codec), codec.name, codec.clock_rate, codec.channels, codec.fmtp, feedback)

    def _red_codec(self, codec: Codec) -> Codec:
        """The RED format for ``codec`` (Opus, already under this subscriber's payload type)."""
        red = Codec(0, "red", codec.clock_rate, codec.channels, f"{codec.payload_type}/{codec.payload_type}")
        red.payload_type = self._payload_type(red)
        return red

    def _rtx_codec(self, codec: Codec, ssrc: int) -> Codec | None:
        """The RTX format for ``codec`` (already under this subscriber's payload type) in the slot of media SSRC
        ``ssrc``, under a payload type of that slot's own; None once none is free (the slot's retransmissions
        then go as the packets themselves).

        aiortc never learns an RTX stream's SSRC from the FID group: it routes an RTX packet by its payload type
        alone, and drops it when that payload type is shared by several of its receivers. With one RTX payload
        type for every video, a subscriber of two or more videos lost every retransmission."""
        rtx = Codec(0, "rtx", codec.clock_rate, fmtp=f"apt={codec.payload_type}")
        payload_type = self._free_payload_type(("rtx", codec.clock_rate, ssrc, rtx.fmtp))
        if payload_type is None:
            return None
        rtx.payload_type = payload_type
        return rtx
