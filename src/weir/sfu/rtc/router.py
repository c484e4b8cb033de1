"""``PublisherRouter``: hands each decrypted RTP packet of a publisher connection to its track's receiver.

The fast path is one dict lookup by SSRC. An SSRC seen for the first time is placed once: by the SSRC the offer
signalled, else by its mid and rid header extensions (simulcast sends no SSRCs in SDP), else by payload type
when exactly one single-layer track has it. RTX SSRCs (RFC 4588) are placed the same way into routes of their
own, whose packets the receiver unwraps: by the offer's FID group, else by mid and repaired-rid, else by the
RTX payload type. Packets that fit nowhere, and malformed ones, are counted and dropped; nothing else happens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from weir.sfu.errors import PacketError
from weir.sfu.rtc.track import PublishedTrack
from weir.sfu.rtcp import SenderReport, parse_compound
from weir.sfu.rtp import RtpHeader

__all__ = ["AudioObserver", "PublisherRouter"]

AudioObserver = Callable[[PublishedTrack, int, bool], None]  # track, level in -dBov, voice
_MIN_RTP = 12


class PublisherRouter:
    __slots__ = ("_observe", "_repairs", "_routes", "_tracks", "malformed", "malformed_rtcp", "unroutable")

    def __init__(self, observe_audio: AudioObserver) -> None:
        self._observe = observe_audio
        self._tracks: dict[str, PublishedTrack] = {}  # by mid
        self._routes: dict[int, tuple[PublishedTrack, int]] = {}  # SSRC → (track, layer)
        self._repairs: dict[int, tuple[PublishedTrack, int]] = {}  # RTX SSRC → (track, layer it repairs)
        self.malformed = 0
        self.malformed_rtcp = 0
        self.unroutable = 0

    def set_tracks(self, tracks: Iterable[PublishedTrack]) -> None:
        """The tracks now published; routes of tracks that are gone are forgotten."""
        self._tracks = {track.section.mid: track for track in tracks}
        live = set(self._tracks.values())
        self._routes = {ssrc: route for ssrc, route in self._routes.items() if route[0] in live}
        self._repairs = {ssrc: route for ssrc, route in self._repairs.items() if route[0] in live}
        for track in live:
            if track.section.ssrc is not None and not track.rids:
                self._routes.setdefault(track.section.ssrc, (track, 0))
            if track.section.rtx_ssrc is not None and not track.rids:
                self._repairs.setdefault(track.section.rtx_ssrc, (track, 0))

    def on_rtp(self, data: bytes) -> None:
        if len(data) < _MIN_RTP:
            self.malformed += 1
            return
        ssrc = int.from_bytes(data[8:12], "big")
        route = self._routes.get(ssrc)
        if route is None:
            repair = self._repairs.get(ssrc)
            if repair is not None:
                repair[0].receiver.receive_rtx(data, repair[1], time.monotonic_ns())
                return
            route = self._place(data, ssrc)
            if route is None:
                return
        track, layer = route
        packet = track.receiver.receive(data, layer, time.monotonic_ns())
        if packet is not None and packet.audio_level >= 0:
            self._observe(track, packet.audio_level, packet.voice)

    def _place(self, data: bytes, ssrc: int) -> tuple[PublishedTrack, int] | None:
        """The route of a new media SSRC; None for one that fits nowhere, and for an RTX SSRC (routed, and its
        first packet handed to the receiver, here)."""
        try:
            header = RtpHeader.parse(data)
            extensions = header.extensions()
        except PacketError:
            self.malformed += 1
            return None
        payload_type = header.payload_type
        route = self._by_extensions(extensions, payload_type) or self._by_payload_type(payload_type)
        if route is None:
            self.unroutable += 1
            return None
        if payload_type == route[0].rtx_payload_type:
            self._repairs = {s: r for s, r in self._repairs.items() if r != route}
            self._repairs[ssrc] = route
            route[0].receiver.receive_rtx(data, route[1], time.monotonic_ns())
            return None
        # a layer's new SSRC (the publisher restarted its encoder) replaces the old one
        self._routes = {s: r for s, r in self._routes.items() if r != route}
        self._routes[ssrc] = route
        return route

    def _by_extensions(self, extensions: dict[int, bytes], payload_type: int) -> tuple[PublishedTrack, int] | None:
        for track in self._tracks.values():
            if track.mid_id and extensions.get(track.mid_id, b"").decode("utf-8", "replace") == track.section.mid:
                if not track.rids:
                    return track, 0
                rid_id = track.repaired_rid_id if payload_type == track.rtx_payload_type else track.rid_id
                rid = extensions.get(rid_id, b"").decode("utf-8", "replace")
                layer = track.layer_of_rid(rid)
                return None if layer is None else (track, layer)
        return None

    def _by_payload_type(self, payload_type: int) -> tuple[PublishedTrack, int] | None:
        repairing = any(t.rtx_payload_type == payload_type for t in self._tracks.values())
        routed = {route[0] for route in (self._repairs if repairing else self._routes).values()}
        fits = [
            t for t in self._tracks.values()
            if (t.rtx_payload_type if repairing else t.codec.payload_type) == payload_type and not t.rids
            and t not in routed
        ]
        return (fits[0], 0) if len(fits) == 1 else None

    def on_rtcp(self, data: bytes) -> None:
        """The publisher's RTCP: sender reports go on to subscribers; the rest is for a sender, which the SFU is
        not on this connection."""
        try:
            packets = parse_compound(data)
        except PacketError:
            self.malformed_rtcp += 1
            return
        for packet in packets:
            if isinstance(packet, SenderReport):
                route = self._routes.get(packet.ssrc)
                if route is not None:
                    route[0].forward_sender_report(packet, route[1])
