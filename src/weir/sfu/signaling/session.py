"""One participant session on the SFU: its grant, its socket, its media peer and what it publishes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from weir.domain.sfu_tokens import SfuGrant
from weir.protocol.sfu.errors import SfuErrorCode, SignalError
from weir.protocol.sfu.events import (
    ChangePublishQualityEvent,
    IceTrickleEvent,
    InboundStateNotificationEvent,
    InboundVideoState,
    LayerState,
    ParticipantUpdatedEvent,
    SubscriberOfferEvent,
    TrackPublishedEvent,
    TrackUnpublishedEvent,
    VideoSender,
)
from weir.protocol.sfu.models import (
    ClientCapability,
    ConnectionQuality,
    IceCandidate,
    Outbound,
    Participant,
    TrackType,
)
from weir.sfu.rtc.model import Target, TrackInfo
from weir.sfu.signaling.link import ParticipantRecord
from weir.sfu.signaling.media import Candidate, MediaParticipant
from weir.sfu.signaling.outbox import Outbox
from weir.sfu.signaling.stats import SessionStats

if TYPE_CHECKING:
    from weir.sfu.signaling.room import SignalingRoom

# The capability each track type needs (docs/decisions.md: capabilities).
TRACK_CAPABILITY: dict[str, str] = {
    "audio": "send-audio", "video": "send-video", "screen_share": "screenshare", "screen_share_audio": "screenshare",
}

# Linear audio level (0..1) from which a participant counts as speaking: about -26 dBov.
SPEAKING_LEVEL = 0.05


def candidate_to_media(candidate: IceCandidate) -> Candidate:
    return {"candidate": candidate.candidate, "sdpMid": candidate.sdp_mid,
            "sdpMLineIndex": candidate.sdp_mline_index, "usernameFragment": candidate.username_fragment}


def candidate_from_media(candidate: Candidate) -> IceCandidate:
    return IceCandidate(candidate=candidate["candidate"], sdp_mid=candidate.get("sdpMid"),
                        sdp_mline_index=candidate.get("sdpMLineIndex"),
                        username_fragment=candidate.get("usernameFragment"))


class ParticipantSession:
    def __init__(self, grant: SfuGrant, record: ParticipantRecord, room: SignalingRoom,
                 client_capabilities: list[ClientCapability]) -> None:
        self.id = grant.session_id
        self.user_id = grant.user_id
        self.record = record
        self.room = room
        self.capabilities = grant.capabilities
        self.hidden = grant.hidden
        self.source = grant.source
        self.client_capabilities = frozenset(client_capabilities)
        self.outbox: Outbox | None = None
        self._media: MediaParticipant | None = None
        self.audio_level = 0.0
        self.connection_quality: ConnectionQuality = "unspecified"
        self.media_failed = False
        self.subscriber_ice_restart = False
        self.trickled: dict[str, int] = {}  # candidates trickled per target since its last ICE restart
        self.last_stats: dict[str, Any] = {}  # the latest send_stats (publisher, subscriber)
        self.stats = SessionStats()

    @property
    def media(self) -> MediaParticipant:
        if self._media is None:
            raise SignalError(SfuErrorCode.NOT_JOINED, "the media session is not ready yet")
        return self._media

    @property
    def media_or_none(self) -> MediaParticipant | None:
        return self._media

    def may_publish(self, track_type: str) -> bool:
        return TRACK_CAPABILITY[track_type] in self.capabilities

    @property
    def tracks(self) -> list[TrackInfo]:
        """What the media plane receives from this session (muted or not)."""
        return [] if self._media is None else self._media.tracks

    def published(self) -> list[TrackType]:
        return sorted(t.track_type for t in self.tracks if not t.muted)

    def participant(self) -> Participant:
        room, record = self.room, self.record
        return Participant(
            user_id=self.user_id, session_id=self.id, name=record.name, image=record.image, custom=record.custom,
            roles=[record.role], source=self.source,  # type: ignore[arg-type]  # the coordinator signed it
            published_tracks=self.published(), is_speaking=self.audio_level >= SPEAKING_LEVEL,
            audio_level=self.audio_level, is_dominant_speaker=room.dominant_speaker == self.id,
            connection_quality=self.connection_quality, joined_at=record.joined_at, pin=room.pin_of(self.id),
        )

    def send(self, event: Outbound) -> None:
        if self.outbox is not None:
            self.outbox.send(event)

    def attach(self, outbox: Outbox) -> None:
        """This socket now carries the session; a socket it replaces is told so and closed."""
        previous, self.outbox = self.outbox, outbox
        if previous is not None and previous is not outbox:
            previous.fail(SignalError(SfuErrorCode.SESSION_REPLACED, "another socket resumed this session"))

    def set_muted(self, changes: dict[str, bool]) -> None:
        """Apply mute states; when that changes what others receive, they get participant_updated."""
        before = self.published()
        for track_type, muted in changes.items():
            self.media.set_muted(track_type, muted)
        if self.published() != before:
            self.room.broadcast(ParticipantUpdatedEvent(participant=self.participant()))

    def bind(self, media: MediaParticipant) -> None:
        self._media = media
        media.on_ice_candidate = self._on_ice_candidate
        media.on_subscriber_offer = self._on_subscriber_offer
        media.on_track_published = self._on_track_published
        media.on_track_unpublished = self._on_track_unpublished
        media.on_inbound_state = self._on_inbound_state
        media.on_publish_quality = self._on_publish_quality

    async def _on_ice_candidate(self, target: Target, candidate: Candidate) -> None:
        self.send(IceTrickleEvent(target=target, candidate=candidate_from_media(candidate)))

    async def _on_subscriber_offer(self, sdp: str, negotiation_id: int) -> None:
        restart, self.subscriber_ice_restart = self.subscriber_ice_restart, False
        self.send(SubscriberOfferEvent(sdp=sdp, negotiation_id=negotiation_id, ice_restart=restart))

    # The media plane tells every participant about every track; each session tells its own client. Tracks of a
    # session that has left were announced by SignalingRooms.remove (cause "left") and are skipped here.
    async def _on_track_published(self, track: TrackInfo) -> None:
        owner = self.room.participant_of(track.session_id)
        if owner is not None:
            self.send(TrackPublishedEvent(session_id=owner.session_id, track_type=track.track_type,
                                          participant=owner))

    async def _on_track_unpublished(self, track: TrackInfo) -> None:
        owner = self.room.participant_of(track.session_id)
        if owner is not None:
            self.send(TrackUnpublishedEvent(session_id=owner.session_id, track_type=track.track_type,
                                            cause="unpublished", participant=owner))

    async def _on_inbound_state(self, states: list[tuple[str, str, bool]]) -> None:
        """Video the SFU paused or resumed for this subscriber: told only to clients that can show it."""
        if ClientCapability.SUBSCRIBER_VIDEO_PAUSE not in self.client_capabilities:
            return
        told = [InboundVideoState(session_id=session_id, user_id=owner.user_id, track_type=cast(TrackType, track_type),
                                  paused=paused)
                for session_id, track_type, paused in states
                if (owner := self.room.participant_of(session_id)) is not None]
        if told:
            self.send(InboundStateNotificationEvent(inbound_video_states=told))

    async def _on_publish_quality(self, track_type: str, layers: list[tuple[str, bool]]) -> None:
        self.send(ChangePublishQualityEvent(video_senders=[VideoSender(
            track_type=cast(TrackType, track_type),
            layers=[LayerState(rid=rid, active=active) for rid, active in layers])]))


__all__ = ["SPEAKING_LEVEL", "TRACK_CAPABILITY", "ParticipantSession", "candidate_from_media", "candidate_to_media"]
