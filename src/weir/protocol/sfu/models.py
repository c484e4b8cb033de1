"""Types the SFU signaling messages share: track types, tracks, participants, call state, errors."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TrackType = Literal["audio", "video", "screen_share", "screen_share_audio"]
PeerTarget = Literal["publisher", "subscriber"]
ReconnectStrategy = Literal["unspecified", "fast", "rejoin", "migrate", "disconnect"]
ConnectionQuality = Literal["unspecified", "poor", "good", "excellent"]
ParticipantSource = Literal["webrtc", "whip", "rtmp", "sip", "rtsp", "srt"]

MAX_SDP_CHARS = 100_000
MAX_TRACKS = 4
MAX_LAYERS = 3
MAX_DIMENSION = 8192
MAX_BITRATE = 100_000_000
SESSION_ID = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
SDP = Annotated[str, Field(min_length=1, max_length=MAX_SDP_CHARS)]


class Inbound(BaseModel):
    """Everything a client sends: unknown fields are refused, so typos are errors rather than silence."""

    model_config = ConfigDict(extra="forbid")


class Outbound(BaseModel):
    """Everything the SFU sends: every field is always present on the wire (required in the JSON Schema)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class IceCandidate(Inbound):
    """One trickled ICE candidate, as the browser's ``RTCIceCandidateInit`` in snake_case."""

    candidate: str = Field(max_length=1024, description="The a=candidate line without 'a=' (may be empty).")
    sdp_mid: str | None = Field(default=None, max_length=64)
    sdp_mline_index: int | None = Field(default=None, ge=0, le=1024)
    username_fragment: str | None = Field(default=None, max_length=256)


class Layer(Inbound):
    """One simulcast layer of a published video track."""

    rid: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_\-]+$")
    width: int = Field(ge=0, le=MAX_DIMENSION)
    height: int = Field(ge=0, le=MAX_DIMENSION)
    bitrate: int = Field(default=0, ge=0, le=MAX_BITRATE, description="Target bits per second (0: unknown).")


class TrackInfo(Inbound):
    """A track a client publishes: its type, its m-line ``mid`` in the publisher offer, layers and codec."""

    track_type: TrackType
    mid: str = Field(min_length=1, max_length=64)
    layers: list[Layer] = Field(default_factory=list, max_length=MAX_LAYERS)
    codec: str = Field(default="", max_length=32, description="e.g. 'opus', 'vp8', 'h264'; empty: any.")
    muted: bool = False


class Dimension(Inbound):
    width: int = Field(ge=0, le=MAX_DIMENSION)
    height: int = Field(ge=0, le=MAX_DIMENSION)


class TrackSubscription(Inbound):
    """A track a client wants to receive; ``dimension`` is the size it renders video at (none for audio)."""

    session_id: SESSION_ID
    track_type: TrackType
    dimension: Dimension | None = None


class MuteState(Inbound):
    track_type: TrackType
    muted: bool


class ClientCapability(StrEnum):
    """What a client can handle; the SFU uses features only for clients that announce them."""

    SUBSCRIBER_VIDEO_PAUSE = "subscriber_video_pause"


class ClientDetails(Inbound):
    sdk: str = Field(default="", max_length=64)
    sdk_version: str = Field(default="", max_length=64)
    os: str = Field(default="", max_length=128)
    browser: str = Field(default="", max_length=128)
    device: str = Field(default="", max_length=128)
    webrtc_version: str = Field(default="", max_length=64)


class ReconnectDetails(Inbound):
    """Sent with ``join`` when a client comes back: see docs/protocol.md, "Reconnection"."""

    strategy: Literal["fast", "rejoin", "migrate"]
    previous_session_id: SESSION_ID | None = Field(
        default=None, description="rejoin and migrate: the session this join replaces (it is removed).")
    attempt: int = Field(default=1, ge=1, le=10_000)
    from_edge: str = Field(default="", max_length=255, description="migrate: the edge the client leaves.")


# --- outbound -------------------------------------------------------------------------------------------------
class Pin(Outbound):
    user_id: str
    session_id: str
    pinned_at: datetime


class Participant(Outbound):
    """One participant session as every client in the call sees it."""

    user_id: str
    session_id: str
    name: str = ""
    image: str = ""
    custom: dict[str, Any] = Field(default_factory=dict)
    roles: list[str] = Field(default_factory=list)
    source: ParticipantSource = "webrtc"
    published_tracks: list[TrackType] = Field(
        default_factory=list, description="Tracks being published and not muted.")
    is_speaking: bool = False
    is_dominant_speaker: bool = False
    audio_level: float = 0.0
    connection_quality: ConnectionQuality = "unspecified"
    joined_at: datetime
    pin: Pin | None = None


class ParticipantCount(Outbound):
    total: int
    anonymous: int


class CallState(Outbound):
    participants: list[Participant] = Field(
        description="At most 250, publishers first; participant_count has the true totals.")
    pins: list[Pin]
    started_at: datetime | None
    participant_count: ParticipantCount


class PublishLayer(Outbound):
    rid: str
    scale_resolution_down_by: float
    max_bitrate: int


class PublishOption(Outbound):
    """How to publish one track type: codec, target size and simulcast layers (highest last)."""

    track_type: TrackType
    codec: str
    max_bitrate: int
    width: int = 0
    height: int = 0
    layers: list[PublishLayer] = Field(default_factory=list)
    dtx: bool = False
    red: bool = False


class ErrorInfo(Outbound):
    code: str
    message: str
    should_retry: bool


__all__ = [
    "MAX_SDP_CHARS", "CallState", "ClientCapability", "ClientDetails", "ConnectionQuality", "Dimension", "ErrorInfo",
    "IceCandidate", "Inbound", "Layer", "MuteState", "Outbound", "Participant", "ParticipantCount",
    "ParticipantSource", "PeerTarget", "Pin", "PublishLayer", "PublishOption", "ReconnectDetails",
    "ReconnectStrategy", "TrackInfo", "TrackSubscription", "TrackType",
]
