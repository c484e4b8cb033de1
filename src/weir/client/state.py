"""``CallState`` and ``CallParticipantState``: immutable snapshots of a call as this client sees it.

Every documented field is present. What only the SFU can tell (tracks, speaking, audio levels, connection
quality, devices, egress URLs) keeps its neutral value until the media half of the SDK fills it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from weir.client.preferences import CallPreferences
from weir.client.status import CallStatus, CallStatusIdle, CallStatusIncoming, CallStatusOutgoing
from weir.protocol.calls import MemberResponse, PinResponse
from weir.protocol.events import Reaction
from weir.protocol.transcriptions import CallClosedCaption
from weir.protocol.users import UserResponse


class SfuTrackType(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"
    SCREEN_SHARE = "screen_share"
    SCREEN_SHARE_AUDIO = "screen_share_audio"


class SfuParticipantSource(StrEnum):
    WEBRTC = "webrtc"
    WHIP = "whip"
    RTMP = "rtmp"
    SIP = "sip"
    RTSP = "rtsp"
    SRT = "srt"


class ConnectionQuality(StrEnum):
    UNSPECIFIED = "unspecified"
    POOR = "poor"
    GOOD = "good"
    EXCELLENT = "excellent"


class ViewportVisibility(StrEnum):
    UNKNOWN = "unknown"
    VISIBLE = "visible"
    INVISIBLE = "invisible"


@dataclass(frozen=True)
class CallParticipantPin:
    """A pin: ``is_local`` for this client only (``call.pin(...)``), otherwise pinned for everyone."""

    is_local: bool
    pinned_at: datetime


@dataclass(frozen=True)
class CallParticipantState:
    user_id: str
    session_id: str
    roles: tuple[str, ...] = ()
    name: str = ""
    image: str = ""
    custom: Mapping[str, Any] = field(default_factory=dict)
    track_id_prefix: str = ""
    published_tracks: frozenset[SfuTrackType] = frozenset()
    is_speaking: bool = False
    is_dominant_speaker: bool = False
    pin: CallParticipantPin | None = None
    is_local: bool = False
    is_online: bool = True
    paused_tracks: frozenset[SfuTrackType] = frozenset()
    connection_quality: ConnectionQuality = ConnectionQuality.UNSPECIFIED
    audio_level: float = 0.0
    audio_levels: tuple[float, ...] = ()
    reaction: Reaction | None = None
    viewport_visibility: ViewportVisibility = ViewportVisibility.UNKNOWN
    participant_source: SfuParticipantSource = SfuParticipantSource.WEBRTC
    joined_at: datetime | None = None

    @property
    def is_pinned(self) -> bool:
        return self.pin is not None

    @property
    def is_audio_enabled(self) -> bool:
        return SfuTrackType.AUDIO in self.published_tracks

    @property
    def is_video_enabled(self) -> bool:
        return SfuTrackType.VIDEO in self.published_tracks

    @property
    def is_screen_share_enabled(self) -> bool:
        return SfuTrackType.SCREEN_SHARE in self.published_tracks


@dataclass(frozen=True)
class CallState:
    call_cid: str
    current_user_id: str
    status: CallStatus = CallStatusIdle()
    preferences: CallPreferences = field(default_factory=CallPreferences)
    created_by_user: UserResponse | None = None
    created_by_user_id: str = ""
    is_ringing_flow: bool = False
    session_id: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    egress: str | None = None
    rtmp_ingress: str | None = None
    is_recording: bool = False
    is_broadcasting: bool = False
    is_transcribing: bool = False
    is_captioning: bool = False
    closed_captions: tuple[CallClosedCaption, ...] = ()  # the newest few, each for a while (the preferences)
    is_backstage: bool = False
    is_audio_processing: bool = False
    video_input_device: Any = None
    audio_input_device: Any = None
    audio_output_device: Any = None
    own_capabilities: tuple[str, ...] = ()
    call_participants: tuple[CallParticipantState, ...] = ()
    call_members: tuple[MemberResponse, ...] = ()
    created_at: datetime | None = None
    starts_at: datetime | None = None
    ended_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    live_started_at: datetime | None = None
    live_ended_at: datetime | None = None
    timer_ends_at: datetime | None = None
    blocked_user_ids: tuple[str, ...] = ()
    participant_count: int = 0
    anonymous_participant_count: int = 0
    ios_multitasking_camera_access_enabled: bool = False
    capabilities_by_role: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    custom: Mapping[str, Any] = field(default_factory=dict)
    # Weir's additions: the team, who rings and the ring's answers, this client's participant session and the
    # pins behind each participant's ``pin``.
    team: str | None = None
    ringing_caller_id: str = ""
    accepted_by: Mapping[str, datetime] = field(default_factory=dict)
    rejected_by: Mapping[str, datetime] = field(default_factory=dict)
    missed_by: Mapping[str, datetime] = field(default_factory=dict)
    user_session_id: str = ""
    pins: tuple[PinResponse, ...] = ()
    local_pins: Mapping[str, datetime] = field(default_factory=dict)

    @property
    def recording(self) -> bool:
        """The call is being recorded (``is_recording``, the seed's ``recording``)."""
        return self.is_recording

    @property
    def call_type(self) -> str:
        return self.call_cid.split(":", 1)[0]

    @property
    def call_id(self) -> str:
        return self.call_cid.split(":", 1)[1]

    @property
    def local_participant(self) -> CallParticipantState | None:
        return next((p for p in self.call_participants if p.is_local), None)

    @property
    def other_participants(self) -> tuple[CallParticipantState, ...]:
        return tuple(p for p in self.call_participants if not p.is_local)

    @property
    def active_speakers(self) -> tuple[CallParticipantState, ...]:
        return tuple(p for p in self.call_participants if p.is_speaking)

    @property
    def created_by_me(self) -> bool:
        return self.created_by_user_id == self.current_user_id

    @property
    def ringing_members(self) -> tuple[MemberResponse, ...]:
        """Members being rung who haven't answered, while this client's side of the ring is open."""
        if not isinstance(self.status, (CallStatusIncoming, CallStatusOutgoing)):
            return ()
        caller = self.ringing_caller_id or self.created_by_user_id
        answered = {*self.accepted_by, *self.rejected_by, *self.missed_by, caller}
        return tuple(m for m in self.call_members if m.user_id not in answered)
