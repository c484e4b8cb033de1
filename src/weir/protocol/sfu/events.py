"""Events: the messages the SFU sends to a client, one JSON object per WebSocket text frame."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, RootModel

from weir.protocol.sfu.models import (
    CallState,
    ConnectionQuality,
    ErrorInfo,
    IceCandidate,
    Outbound,
    Participant,
    ParticipantCount,
    PeerTarget,
    Pin,
    PublishOption,
    ReconnectStrategy,
    TrackType,
)


class JoinResponseEvent(Outbound):
    type: Literal["join_response"] = "join_response"
    call_state: CallState
    own_capabilities: list[str]
    publish_options: list[PublishOption]
    fast_reconnect_deadline_seconds: float = Field(
        description="How long the SFU keeps a session whose socket or media connection is lost.")
    reconnected: bool = Field(description="True when this join resumed the session (fast reconnect).")


class PublisherAnswerEvent(Outbound):
    type: Literal["publisher_answer"] = "publisher_answer"
    sdp: str


class SubscriberOfferEvent(Outbound):
    type: Literal["subscriber_offer"] = "subscriber_offer"
    sdp: str
    negotiation_id: int = Field(description="Increases with every offer; answer with the same id.")
    ice_restart: bool


class IceTrickleEvent(Outbound):
    type: Literal["ice_trickle"] = "ice_trickle"
    target: PeerTarget
    candidate: IceCandidate | None


class ParticipantJoinedEvent(Outbound):
    type: Literal["participant_joined"] = "participant_joined"
    participant: Participant


class ParticipantLeftEvent(Outbound):
    type: Literal["participant_left"] = "participant_left"
    participant: Participant
    reason: str = Field(description="left, disconnected, kicked, blocked, rejoined or removed.")


class ParticipantUpdatedEvent(Outbound):
    type: Literal["participant_updated"] = "participant_updated"
    participant: Participant


class TrackPublishedEvent(Outbound):
    type: Literal["track_published"] = "track_published"
    session_id: str
    track_type: TrackType
    participant: Participant


class TrackUnpublishedEvent(Outbound):
    type: Literal["track_unpublished"] = "track_unpublished"
    session_id: str
    track_type: TrackType
    cause: Literal["unpublished", "left"]
    participant: Participant


class AudioLevel(Outbound):
    session_id: str
    user_id: str
    level: float = Field(ge=0, le=1)
    is_speaking: bool


class AudioLevelChangedEvent(Outbound):
    type: Literal["audio_level_changed"] = "audio_level_changed"
    audio_levels: list[AudioLevel]


class DominantSpeakerChangedEvent(Outbound):
    type: Literal["dominant_speaker_changed"] = "dominant_speaker_changed"
    session_id: str
    user_id: str


class ConnectionQualityInfo(Outbound):
    session_id: str
    user_id: str
    connection_quality: ConnectionQuality


class ConnectionQualityChangedEvent(Outbound):
    type: Literal["connection_quality_changed"] = "connection_quality_changed"
    updates: list[ConnectionQualityInfo]


class LayerState(Outbound):
    rid: str
    active: bool


class VideoSender(Outbound):
    track_type: TrackType
    layers: list[LayerState]


class ChangePublishQualityEvent(Outbound):
    """Pause (``active: false``) simulcast layers nobody receives, and resume them when someone does."""

    type: Literal["change_publish_quality"] = "change_publish_quality"
    video_senders: list[VideoSender]


class InboundVideoState(Outbound):
    session_id: str
    user_id: str
    track_type: TrackType
    paused: bool


class InboundStateNotificationEvent(Outbound):
    """Video the SFU paused (or resumed) for this subscriber because its downlink cannot carry it."""

    type: Literal["inbound_state_notification"] = "inbound_state_notification"
    inbound_video_states: list[InboundVideoState]


class PinsUpdatedEvent(Outbound):
    type: Literal["pins_updated"] = "pins_updated"
    pins: list[Pin]


class CallGrantsUpdatedEvent(Outbound):
    type: Literal["call_grants_updated"] = "call_grants_updated"
    own_capabilities: list[str]
    message: str = ""


class CallEndedEvent(Outbound):
    type: Literal["call_ended"] = "call_ended"
    reason: str = ""


class GoAwayEvent(Outbound):
    """This SFU is going away: migrate (join the call again through the coordinator) before it closes."""

    type: Literal["go_away"] = "go_away"
    reason: Literal["shutting_down", "rebalance"]


class ErrorEvent(Outbound):
    type: Literal["error"] = "error"
    error: ErrorInfo
    reconnect_strategy: ReconnectStrategy
    request_id: str | None = None


class HealthCheckResponseEvent(Outbound):
    type: Literal["health_check_response"] = "health_check_response"
    participant_count: ParticipantCount


AnyEvent = Annotated[
    JoinResponseEvent | PublisherAnswerEvent | SubscriberOfferEvent | IceTrickleEvent | ParticipantJoinedEvent
    | ParticipantLeftEvent | ParticipantUpdatedEvent | TrackPublishedEvent | TrackUnpublishedEvent
    | AudioLevelChangedEvent | DominantSpeakerChangedEvent | ConnectionQualityChangedEvent
    | ChangePublishQualityEvent | InboundStateNotificationEvent | PinsUpdatedEvent | CallGrantsUpdatedEvent
    | CallEndedEvent | GoAwayEvent | ErrorEvent | HealthCheckResponseEvent,
    Field(discriminator="type"),
]


class SfuEvent(RootModel[AnyEvent]):
    """Any SFU → client message, told apart by ``type``."""


EVENT_TYPES: frozenset[str] = frozenset(m.model_fields["type"].default for m in get_args(get_args(AnyEvent)[0]))

__all__ = [
    "EVENT_TYPES", "AnyEvent", "AudioLevel", "AudioLevelChangedEvent", "CallEndedEvent", "CallGrantsUpdatedEvent",
    "ChangePublishQualityEvent", "ConnectionQualityChangedEvent", "ConnectionQualityInfo",
    "DominantSpeakerChangedEvent", "ErrorEvent", "GoAwayEvent", "HealthCheckResponseEvent", "IceTrickleEvent",
    "InboundStateNotificationEvent", "InboundVideoState", "JoinResponseEvent", "LayerState",
    "ParticipantJoinedEvent", "ParticipantLeftEvent", "ParticipantUpdatedEvent", "PinsUpdatedEvent",
    "PublisherAnswerEvent", "SfuEvent", "SubscriberOfferEvent", "TrackPublishedEvent", "TrackUnpublishedEvent",
    "VideoSender",
]
