"""``PublishedTrack``: one track a participant publishes, around the packet core's ``Receiver``.

It knows the negotiated codec and header-extension ids, the simulcast layers in order from the lowest, which
layer a subscriber's requested dimensions call for, and which subscribers to pass the publisher's sender
reports on to.
"""

from __future__ import annotations

from dataclasses import replace

from weir.sfu.audiolevel import AUDIO_LEVEL_URI
from weir.sfu.codecs import KEYFRAME_DETECTORS
from weir.sfu.downtrack import DownTrack
from weir.sfu.packetbuffer import AUDIO_BUFFER_PACKETS, VIDEO_BUFFER_PACKETS
from weir.sfu.receiver import Receiver, RtcpSink
from weir.sfu.rtc.lanes import fan_out_for
from weir.sfu.rtc.model import TrackInfo
from weir.sfu.rtc.negotiate import MID_URI, REPAIRED_RID_URI, RID_URI, AcceptedSection
from weir.sfu.rtcp import SenderReport
from weir.sfu.selector import layer_for_dimensions

__all__ = ["PublishedTrack"]


def _layer_order(rids: tuple[str, ...], info: TrackInfo) -> tuple[str, ...]:
    """Rids from the lowest layer up: by announced size when every rid was announced, else as offered."""
    sizes = {layer.rid: (layer.width * layer.height, layer.bitrate) for layer in info.layers}
    if rids and all(rid in sizes for rid in rids):
        return tuple(sorted(rids, key=lambda rid: sizes[rid]))
    return rids


class PublishedTrack:
    def __init__(self, info: TrackInfo, section: AcceptedSection, *, upstream: RtcpSink, sender_ssrc: int,
                 receiver: Receiver | None = None) -> None:
        """``receiver``: the packets' receiver when it is not the publisher's connection (a track relayed from
        another SFU, ``weir.sfu.cascade``)."""
        self.info = replace(info, codec=section.codec.name)
        self.section = section
        self.kind = section.kind
        self.codec = section.codec
        self.rids = _layer_order(section.rids, info)
        self.mid_id = section.extensions.get(MID_URI, 0)
        self.rid_id = section.extensions.get(RID_URI, 0)
        self.repaired_rid_id = section.extensions.get(REPAIRED_RID_URI, 0)
        self.rtx_payload_type = -1 if section.rtx is None else section.rtx.payload_type
        announced = {layer.rid: (layer.width, layer.height) for layer in info.layers}
        self.dimensions = [announced.get(rid, (0, 0)) for rid in self.rids]
        audio = self.kind == "audio"
        self.listeners: dict[DownTrack, RtcpSink] = {}  # attached down-tracks → their subscriber's RTCP sink
        self.receiver = receiver or Receiver(
            kind="audio" if audio else "video",
            layers=max(1, len(self.rids)),
            vp8=self.codec.mime == "vp8",
            keyframe=KEYFRAME_DETECTORS.get(self.codec.mime),
            audio_level_id=section.extensions.get(AUDIO_LEVEL_URI, 0),
            red_payload_type=-1 if section.red is None else section.red.payload_type,
            buffer_capacity=AUDIO_BUFFER_PACKETS if audio else VIDEO_BUFFER_PACKETS,
            upstream=upstream,
            sender_ssrc=sender_ssrc,
            fan_out=fan_out_for(),
        )

    def forward_sender_report(self, report: SenderReport, layer: int) -> None:
        """Give every subscriber forwarding ``layer`` the publisher's SR in its own numbering (for A/V sync)."""
        for downtrack, send in self.listeners.items():
            own = downtrack.sender_report(report.ntp_timestamp, report.rtp_timestamp, layer)
            if own is not None:
                send(bytes(own))

    @property
    def key(self) -> tuple[str, str]:
        return self.info.session_id, self.info.track_type

    def layer_of_rid(self, rid: str) -> int | None:
        try:
            return self.rids.index(rid)
        except ValueError:
            return None

    def layer_for(self, width: int, height: int) -> int:
        """The layer to forward for a request of ``width`` x ``height``; 0 x 0 asks for the best."""
        if len(self.rids) <= 1:
            return 0
        if width <= 0 and height <= 0 or not all(w and h for w, h in self.dimensions):
            return len(self.rids) - 1
        return layer_for_dimensions(self.dimensions, width, height)
