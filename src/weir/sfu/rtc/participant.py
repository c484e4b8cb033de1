"""``RtcParticipant``: one participant's two peer connections and what flows over them.

- Publisher connection: the client offers, the SFU answers ``recvonly``; its RTP goes through a
  ``PublisherRouter`` to one ``PublishedTrack`` per announced track.
- Subscriber connection: the SFU offers (``SubscriberSide``), one m-section per track the participant
  subscribed to and that is published; the client answers, with the offer's negotiation id. Or, for a
  receive-only client (WHEP), the client offers once (``answer_subscriber_offer``) and its tracks stay fixed.

The room creates participants and hears from them through a ``ParticipantListener`` (listener.py): tracks
published, unpublished and muted go to it, and it tells every participant through ``track_published``,
``track_unpublished`` and ``track_muted``. This module never imports the room.

The signaling layer sets the ``on_*`` callbacks (async callables, or None); they are queued and run in order,
never awaited on the media path. Room-wide events (``on_track_published`` / ``on_track_unpublished``) go to
every participant in the room, the publisher included: ``TrackInfo.session_id`` says whose track it is.

Bandwidth (``weir.sfu.rtc.assessment``, once a second): ``uplink`` measures what this participant publishes and
gives the REMB it is sent; ``downlink`` (of the subscriber side) allocates what it receives. ``on_inbound_state``
hears of videos paused or resumed for its bandwidth, ``on_publish_quality`` of its simulcast layers to pause or
resume.

The SFU's own candidates are all in its descriptions: it gathers host candidates only, before it writes any
description, so there is nothing left to trickle and ``on_ice_candidate`` is not called today (it is there for
candidates gathered later, such as TURN). Clients may trickle theirs through ``add_ice_candidate``.

``set_publisher_offer`` takes the full list of tracks the offer carries: a track published before and missing
now is unpublished. Bad input (an unreadable description, tracks that do not match the offer, a malformed
candidate) raises ``ValueError`` with a message for the client and changes nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from weir.rtc.config import IceConfig
from weir.rtc.sdp import Description, parse
from weir.sfu.rtc.downlink import Downlink
from weir.sfu.rtc.dtls import MediaCertificate
from weir.sfu.rtc.events import EventQueue
from weir.sfu.rtc.listener import ParticipantListener
from weir.sfu.rtc.model import TRACK_TYPES, MediaClosed, Subscription, Target, TrackInfo, kind_of
from weir.sfu.rtc.negotiate import AcceptedSection, answer_publisher, publisher_dtls_role, remote_transport
from weir.sfu.rtc.router import PublisherRouter
from weir.sfu.rtc.subscriber import Slot, SubscriberSide
from weir.sfu.rtc.track import PublishedTrack
from weir.sfu.rtc.trackstats import snapshot
from weir.sfu.rtc.transport import PeerTransport, TransportState
from weir.sfu.rtc.udpmux import SharedSockets
from weir.sfu.rtc.uplink import Uplink

__all__ = ["RtcParticipant"]

CandidateCallback = Callable[[Target, dict[str, Any]], Awaitable[None]]
OfferCallback = Callable[[str, int], Awaitable[None]]
TrackCallback = Callable[[TrackInfo], Awaitable[None]]
StateCallback = Callable[[str], Awaitable[None]]
InboundStateCallback = Callable[[list[tuple[str, str, bool]]], Awaitable[None]]  # (session, track type, paused)
PublishQualityCallback = Callable[[str, list[tuple[str, bool]]], Awaitable[None]]  # track type, (rid, active)


def _check_tracks(session_id: str, tracks: Iterable[TrackInfo], offer: Description) -> dict[str, TrackInfo]:
    """Announced tracks by mid, each matching an m-section of its kind; ValueError otherwise."""
    kinds = {m.mid: m.kind for m in offer.media if m.mid}
    by_mid: dict[str, TrackInfo] = {}
    types: set[str] = set()
    for info in tracks:
        if info.session_id != session_id:
            raise ValueError(f"track {info.mid} names session {info.session_id}, not {session_id}")
        if info.track_type not in TRACK_TYPES:
            raise ValueError(f"unknown track type {info.track_type!r}")
        if kinds.get(info.mid) != kind_of(info.track_type):
            raise ValueError(f"the offer has no {kind_of(info.track_type)} m-section with mid {info.mid!r}")
        if info.mid in by_mid or info.track_type in types:
            raise ValueError(f"mid {info.mid!r} or track type {info.track_type!r} announced twice")
        by_mid[info.mid] = info
        types.add(info.track_type)
    return by_mid


class RtcParticipant:
    def __init__(self, listener: ParticipantListener, session_id: str, user_id: str, ice: IceConfig,
                 certificate: MediaCertificate, sockets: SharedSockets | None = None) -> None:
        self.session_id = session_id
        self.user_id = user_id
        self.on_ice_candidate: CandidateCallback | None = None  # see the module docstring: not called today
        self.on_subscriber_offer: OfferCallback | None = None
        self.on_track_published: TrackCallback | None = None
        self.on_track_unpublished: TrackCallback | None = None
        self.on_connection_state: StateCallback | None = None
        self.on_inbound_state: InboundStateCallback | None = None  # video paused/resumed for lack of bandwidth
        self.on_publish_quality: PublishQualityCallback | None = None  # simulcast layers to pause/resume sending
        self.state = "new"
        self._room = listener
        self._events = EventQueue()
        self._lock = asyncio.Lock()  # one negotiation at a time
        self._router = PublisherRouter(listener.observe_audio)
        self._rtcp_ssrc = random.getrandbits(32) or 1  # sender SSRC of the SFU's keyframe requests
        self.publisher = PeerTransport(
            ice, certificate, controlling=False, on_rtp=self._router.on_rtp,
            on_rtcp=self._router.on_rtcp, on_state=lambda state: self._transport_state("publisher", state),
            sockets=sockets,
        )
        self.subscriber = PeerTransport(
            ice, certificate, controlling=True, on_rtp=self._stray_rtp,
            on_rtcp=self._subscriber_rtcp, on_state=lambda state: self._transport_state("subscriber", state),
            sockets=sockets,
        )
        self._down = SubscriberSide(self.subscriber)
        self.uplink = Uplink()
        self._tracks: dict[str, PublishedTrack] = {}  # by track type
        self._wanted: dict[tuple[str, str], Subscription] = {}
        self._answer_session = random.getrandbits(62)
        self._answers = 0
        self._closing = False
        self._client_offered = False  # the subscriber side was offered by the client: no SFU offers
        self.stray_rtp = 0

    async def gather(self) -> None:
        """Gather both connections' candidates (the room awaits this before the participant is usable)."""
        await asyncio.gather(self.publisher.gather(), self.subscriber.gather())

    @property
    def tracks(self) -> list[TrackInfo]:
        """This participant's published tracks."""
        return [track.info for track in self._tracks.values()]

    @property
    def published(self) -> list[PublishedTrack]:
        return list(self._tracks.values())

    @property
    def subscribed(self) -> list[Slot]:
        """Every slot of the subscriber side, removed ones included (their counters still count)."""
        return self._down.slots

    def track_stats(self) -> dict[str, Any]:
        """The SFU's counters of this participant's tracks (``trackstats``)."""
        return snapshot(self)

    @property
    def downlink(self) -> Downlink:
        return self._down.downlink

    @property
    def rtcp_ssrc(self) -> int:
        """The sender SSRC of the SFU's RTCP to this participant's publisher connection."""
        return self._rtcp_ssrc

    # --- publisher connection

    async def set_publisher_offer(self, sdp: str, tracks: list[TrackInfo]) -> str:
        """Answer the client's publisher offer; ``tracks`` are all the tracks it carries."""
        async with self._lock:
            self._check_open()
            offer = parse(sdp)
            announced = _check_tracks(self.session_id, tracks, offer)
            remote = remote_transport(offer)
            wanted = {mid: info.codec for mid, info in announced.items()}
            previous = {track.section.mid: track.codec for track in self._tracks.values()}

            def answer_with_local_transport() -> tuple[str, list[AcceptedSection]]:
                local = self.publisher.local("passive" if remote.setup == "active" else "active")
                return answer_publisher(
                    offer, local, wanted, previous, session_id=self._answer_session, version=self._answers + 1
                )

            answer, accepted = answer_with_local_transport()  # a bad offer raises here, before anything changed
            if self.publisher.remote_ufrag not in (None, remote.ufrag):  # the client restarts ICE
                await self.publisher.begin_restart()
                answer, accepted = answer_with_local_transport()
            self._answers += 1
            self._publish(announced, accepted)
            await self.publisher.apply_remote(remote, publisher_dtls_role(remote))
            return answer

    def _publish(self, announced: dict[str, TrackInfo], accepted: Iterable[AcceptedSection]) -> None:
        kept: dict[str, PublishedTrack] = {}
        added: list[PublishedTrack] = []
        for section in accepted:
            info = announced[section.mid]
            old = self._tracks.get(info.track_type)
            if old is not None and old.section.mid == section.mid and old.section.codec == section.codec and (
                (old.section.rids, old.section.rtx, old.section.red) == (section.rids, section.rtx, section.red)
            ):
                old.info = dataclasses.replace(info, codec=old.codec.name, muted=old.info.muted)
                kept[info.track_type] = old
            else:
                track = PublishedTrack(info, section, upstream=self.publisher.send_rtcp, sender_ssrc=self._rtcp_ssrc)
                kept[info.track_type] = track
                added.append(track)
        gone = [track for track in self._tracks.values() if kept.get(track.info.track_type) is not track]
        self._tracks = kept
        self._router.set_tracks(kept.values())
        for track in gone:
            self._room.track_unpublished(track)
        for track in added:
            self._room.track_published(track)

    def set_muted(self, track_type: str, muted: bool) -> None:
        """Mark a published track muted; its forwarding pauses for everyone until unmuted."""
        track = self._tracks.get(track_type)
        if track is None or track.info.muted == muted:
            return
        track.info = dataclasses.replace(track.info, muted=muted)
        self._room.track_muted(track)

    # --- subscriber connection

    async def update_subscriptions(self, wanted: list[Subscription]) -> None:
        """Forward exactly these tracks (once published), at about the dimensions asked for."""
        async with self._lock:
            self._check_open()
            for sub in wanted:
                if sub.track_type not in TRACK_TYPES:
                    raise ValueError(f"unknown track type {sub.track_type!r}")
            self._wanted = {(s.session_id, s.track_type): s for s in wanted if s.session_id != self.session_id}
            self._reconcile()

    def _reconcile(self) -> None:
        """Bring the subscriber side in line with what is wanted and published; offer again if slots changed."""
        if self._closing or self._client_offered:
            return
        changed = False
        active = self._down.active()
        for key, slot in active.items():
            if key not in self._wanted or self._room.track(key) is not slot.track:
                self._down.remove(slot)
                changed = True
        active = self._down.active()
        for key, sub in self._wanted.items():
            track = self._room.track(key)
            if track is None:
                continue
            target = track.layer_for(sub.width, sub.height)
            current = active.get(key)
            if current is None:
                self._down.add(track, target, paused=track.info.muted)
                changed = True
            elif current.target != target:
                self._down.retarget(current, target, paused=track.info.muted)
        if changed:
            self._offer()

    def follow_arriving_layers(self, now_ns: int) -> None:
        """Forward the best simulcast layer that is actually arriving, up to the one each subscription asked for."""
        self._down.follow_arriving_layers(now_ns)

    def _offer(self) -> None:
        sdp, negotiation_id = self._down.offer()
        self._events.put(self.on_subscriber_offer, sdp, negotiation_id)

    # --- what the room tells every participant (its own tracks included)

    def track_published(self, track: PublishedTrack) -> None:
        """Someone published ``track``: the signaling layer hears of it, and a wanted track is subscribed."""
        self._events.put(self.on_track_published, track.info)
        self._reconcile()

    def track_unpublished(self, track: PublishedTrack) -> None:
        """``track`` is gone: its down-track stops (a new offer drops it), then the signaling layer hears."""
        if self._down.detach_track(track) and not self._closing and not self._client_offered:
            self._offer()
        self._events.put(self.on_track_unpublished, track.info)

    def track_muted(self, track: PublishedTrack) -> None:
        """``track`` was muted or unmuted: its down-track pauses or resumes."""
        for slot in self._down.active().values():
            if slot.track is track:
                self._down.retarget(slot, slot.target, paused=track.info.muted)

    async def answer_subscriber_offer(self, sdp: str, wanted: list[Subscription]) -> str:
        """Receive-only, with the client's offer (WHEP): answer it with the ``wanted`` tracks published now.

        There is no renegotiation afterwards: a track unpublished later stops, one published later is not added.
        """
        async with self._lock:
            self._check_open()
            tracks = []
            for sub in wanted:
                track = self._room.track((sub.session_id, sub.track_type))
                if track is not None and sub.session_id != self.session_id:
                    tracks.append((track, track.layer_for(sub.width, sub.height), track.info.muted))
            answer = await self._down.answer_offer(sdp, tracks)
            self._client_offered = True
            return answer

    async def set_subscriber_answer(self, sdp: str, negotiation_id: int) -> None:
        """Apply the client's answer to the offer ``negotiation_id``; answers to older offers are ignored."""
        async with self._lock:
            self._check_open()
            await self._down.answer(sdp, negotiation_id)

    async def restart_ice(self, target: Target) -> None:
        """Subscriber: re-offer with new ICE credentials. Publisher: nothing to do here; the client's next offer
        carries new credentials and ``set_publisher_offer`` restarts on them."""
        _check_target(target)
        if target == "subscriber":
            async with self._lock:
                self._check_open()
                await self.subscriber.begin_restart()
                if self._down.slots:
                    self._offer()

    # --- ICE candidates

    async def add_ice_candidate(self, target: Target, candidate: dict[str, Any] | None) -> None:
        """A trickled candidate (RTCIceCandidateInit); None or an empty candidate ends the candidates."""
        transport = self.publisher if _check_target(target) == "publisher" else self.subscriber
        line = None if candidate is None else candidate.get("candidate")
        if line is not None and not isinstance(line, str):
            raise ValueError("candidate must be a string")
        await transport.add_remote_candidate(line or None)

    # --- RTCP and state

    def _subscriber_rtcp(self, data: bytes) -> None:
        self._down.on_rtcp(data)

    def _stray_rtp(self, data: bytes) -> None:
        self.stray_rtp += 1  # a subscriber connection carries no media towards the SFU

    def _transport_state(self, target: Target, state: TransportState) -> None:
        if self._closing:
            return
        if target == "subscriber" and state == "connected":
            self._down.attach_answered()
        if state in ("closed", "failed"):
            if target == "publisher":
                self._unpublish_all()
            else:
                self._down.close()
        if state in ("connected", "closed", "failed") and self.state in ("new", "connected") and state != self.state:
            self.state = state
            self._events.put(self.on_connection_state, state)

    def _unpublish_all(self) -> None:
        tracks, self._tracks = list(self._tracks.values()), {}
        self._router.set_tracks(())
        for track in tracks:
            self._room.track_unpublished(track)

    def _check_open(self) -> None:
        if self._closing:
            raise MediaClosed(f"participant {self.session_id} has left")
        for name, transport in (("publisher", self.publisher), ("subscriber", self.subscriber)):
            if transport.state in ("closed", "failed"):
                raise MediaClosed(f"the {name} connection has {transport.state}: join again")

    # --- what the assessment reports (assessment.py, once a second)

    def report_inbound_state(self, changes: list[tuple[str, str, bool]]) -> None:
        """Videos this participant receives that were paused or resumed for its bandwidth."""
        self._events.put(self.on_inbound_state, changes)

    def report_publish_quality(self, track_type: str, layers: list[tuple[str, bool]]) -> None:
        """The simulcast layers (rid, active) of its ``track_type`` that subscribers need now."""
        self._events.put(self.on_publish_quality, track_type, layers)

    async def close(self) -> None:
        """Leave: the same as the room's ``remove_participant`` for this participant."""
        await self._room.remove_participant(self.session_id)

    async def shutdown(self) -> None:
        """Unpublish, stop forwarding, close both connections (the room calls this once; others call
        ``close``)."""
        self._unpublish_all()
        self._closing = True
        self._down.close()
        await asyncio.gather(self.publisher.close(), self.subscriber.close())
        if self.state != "closed":
            self.state = "closed"
            self._events.put(self.on_connection_state, "closed")
        await self._events.drain()


def _check_target(target: str) -> Target:
    if target not in ("publisher", "subscriber"):
        raise ValueError(f"target must be publisher or subscriber, not {target!r}")
    return target  # type: ignore[return-value]
