"""The events of the documented event catalogue, as clients, webhooks and push receive them.

Every event has ``type``, ``created_at`` and (for call events) ``call_cid``. ``EVENT_MODELS`` maps each of the
56 documented type strings (and Weir's ``user.*`` events) to its model; where the seed's model names a wrong type
string, the event table's name is used (docs/decisions.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from weir.protocol.calls import CallParticipant, CallResponse, MemberResponse
from weir.protocol.users import UserResponse

RecordingType = Literal["composite", "individual", "raw"]


class Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    created_at: datetime


class CallEvent(Event):
    call_cid: str


class WithCall(CallEvent):
    call: CallResponse


class WithCallMembers(WithCall):
    members: list[MemberResponse]


class Reaction(BaseModel):
    type: str
    user: UserResponse
    emoji_code: str | None = None
    custom: dict[str, Any] | None = None


# --- call events --------------------------------------------------------------------------------------------
class CallCreatedEvent(WithCallMembers):
    type: Literal["call.created"] = "call.created"


class CallUpdatedEvent(WithCall):
    type: Literal["call.updated"] = "call.updated"
    capabilities_by_role: dict[str, list[str]]


class CallEndedEvent(WithCall):
    type: Literal["call.ended"] = "call.ended"
    reason: str | None = None
    user: UserResponse | None = None


class CallDeletedEvent(WithCall):
    type: Literal["call.deleted"] = "call.deleted"


class CallMemberAddedEvent(WithCallMembers):
    type: Literal["call.member_added"] = "call.member_added"


class CallMemberUpdatedEvent(WithCallMembers):
    type: Literal["call.member_updated"] = "call.member_updated"


class CallMemberRemovedEvent(WithCall):
    type: Literal["call.member_removed"] = "call.member_removed"
    members: list[str]


class CallMemberUpdatedPermissionEvent(WithCallMembers):
    type: Literal["call.member_updated_permission"] = "call.member_updated_permission"
    capabilities_by_role: dict[str, list[str]]


class BlockedUserEvent(CallEvent):
    type: Literal["call.blocked_user"] = "call.blocked_user"
    user: UserResponse
    blocked_by_user: UserResponse | None = None


class UnblockedUserEvent(CallEvent):
    type: Literal["call.unblocked_user"] = "call.unblocked_user"
    user: UserResponse


class KickedUserEvent(CallEvent):
    type: Literal["call.kicked_user"] = "call.kicked_user"
    user: UserResponse
    kicked_by_user: UserResponse | None = None


class CallModerationBlurEvent(CallEvent):
    type: Literal["call.moderation_blur"] = "call.moderation_blur"
    user_id: str
    custom: dict[str, Any]


class CallModerationWarningEvent(CallEvent):
    type: Literal["call.moderation_warning"] = "call.moderation_warning"
    user_id: str
    message: str
    custom: dict[str, Any]


class PermissionRequestEvent(CallEvent):
    type: Literal["call.permission_request"] = "call.permission_request"
    user: UserResponse
    permissions: list[str]


class UpdatedCallPermissionsEvent(CallEvent):
    type: Literal["call.permissions_updated"] = "call.permissions_updated"
    user: UserResponse
    own_capabilities: list[str]


class CallReactionEvent(CallEvent):
    type: Literal["call.reaction_new"] = "call.reaction_new"
    reaction: Reaction


class CallUserMutedEvent(CallEvent):
    type: Literal["call.user_muted"] = "call.user_muted"
    from_user_id: str
    muted_user_ids: list[str]
    reason: str


class IngressErrorEvent(CallEvent):
    type: Literal["ingress.error"] = "ingress.error"
    ingress_stream_id: str
    user_id: str
    error: str
    code: str | None = None


class IngressStartedEvent(CallEvent):
    type: Literal["ingress.started"] = "ingress.started"
    ingress_stream_id: str
    user_id: str
    publisher_type: str
    client_ip: str | None = None
    client_name: str | None = None
    version: str | None = None


class IngressStoppedEvent(CallEvent):
    type: Literal["ingress.stopped"] = "ingress.stopped"
    ingress_stream_id: str
    user_id: str


# --- session events -----------------------------------------------------------------------------------------
class CallSessionStartedEvent(WithCall):
    type: Literal["call.session_started"] = "call.session_started"
    session_id: str


class CallSessionEndedEvent(WithCall):
    type: Literal["call.session_ended"] = "call.session_ended"
    session_id: str


class CallSessionParticipantJoinedEvent(CallEvent):
    type: Literal["call.session_participant_joined"] = "call.session_participant_joined"
    session_id: str
    participant: CallParticipant


class CallSessionParticipantLeftEvent(CallEvent):
    type: Literal["call.session_participant_left"] = "call.session_participant_left"
    session_id: str
    participant: CallParticipant
    duration_seconds: int
    reason: str | None = None


class CallSessionParticipantCountsUpdatedEvent(CallEvent):
    type: Literal["call.session_participant_count_updated"] = "call.session_participant_count_updated"
    session_id: str
    anonymous_participant_count: int
    participants_count_by_role: dict[str, int]


# --- ring events --------------------------------------------------------------------------------------------
class CallRingEvent(WithCallMembers):
    type: Literal["call.ring"] = "call.ring"
    session_id: str
    user: UserResponse
    video: bool


class CallNotificationEvent(WithCallMembers):
    type: Literal["call.notification"] = "call.notification"
    session_id: str
    user: UserResponse


class CallAcceptedEvent(WithCall):
    type: Literal["call.accepted"] = "call.accepted"
    user: UserResponse


class CallRejectedEvent(WithCall):
    type: Literal["call.rejected"] = "call.rejected"
    user: UserResponse
    reason: str | None = None


class CallMissedEvent(WithCallMembers):
    type: Literal["call.missed"] = "call.missed"
    notify_user: bool
    session_id: str
    user: UserResponse


# --- streaming events ---------------------------------------------------------------------------------------
class CallHLSBroadcastingStartedEvent(WithCall):
    type: Literal["call.hls_broadcasting_started"] = "call.hls_broadcasting_started"
    hls_playlist_url: str


class CallHLSBroadcastingStoppedEvent(CallEvent):
    type: Literal["call.hls_broadcasting_stopped"] = "call.hls_broadcasting_stopped"


class CallHLSBroadcastingFailedEvent(CallEvent):
    type: Literal["call.hls_broadcasting_failed"] = "call.hls_broadcasting_failed"


class CallLiveStartedEvent(WithCall):
    type: Literal["call.live_started"] = "call.live_started"


class CallRtmpBroadcastStartedEvent(CallEvent):
    type: Literal["call.rtmp_broadcast_started"] = "call.rtmp_broadcast_started"
    name: str


class CallRtmpBroadcastStoppedEvent(CallEvent):
    type: Literal["call.rtmp_broadcast_stopped"] = "call.rtmp_broadcast_stopped"
    name: str


class CallRtmpBroadcastFailedEvent(CallEvent):
    type: Literal["call.rtmp_broadcast_failed"] = "call.rtmp_broadcast_failed"
    name: str
    error: str = ""  # Weir's addition: why (the destination refused or dropped the stream, ...)


# --- recording events ---------------------------------------------------------------------------------------
class EgressEvent(CallEvent):
    egress_id: str


class RecordingEvent(EgressEvent):
    recording_type: RecordingType


class CallRecordingStartedEvent(RecordingEvent):
    type: Literal["call.recording_started"] = "call.recording_started"


class CallRecordingStoppedEvent(RecordingEvent):
    type: Literal["call.recording_stopped"] = "call.recording_stopped"


class CallRecordingFailedEvent(RecordingEvent):
    type: Literal["call.recording_failed"] = "call.recording_failed"


class CallRecordingReadyEvent(RecordingEvent):
    type: Literal["call.recording_ready"] = "call.recording_ready"
    call_recording: dict[str, Any]


class CallFrameRecordingStartedEvent(WithCall):
    type: Literal["call.frame_recording_started"] = "call.frame_recording_started"
    egress_id: str


class CallFrameRecordingStoppedEvent(WithCall):
    type: Literal["call.frame_recording_stopped"] = "call.frame_recording_stopped"
    egress_id: str


class CallFrameRecordingFailedEvent(WithCall):
    type: Literal["call.frame_recording_failed"] = "call.frame_recording_failed"
    egress_id: str


class CallFrameRecordingFrameReadyEvent(EgressEvent):
    type: Literal["call.frame_recording_ready"] = "call.frame_recording_ready"
    session_id: str
    captured_at: datetime
    track_type: str
    url: str
    users: dict[str, Any]


# --- transcription and caption events -----------------------------------------------------------------------
class CallTranscriptionStartedEvent(EgressEvent):
    type: Literal["call.transcription_started"] = "call.transcription_started"


class CallTranscriptionStoppedEvent(EgressEvent):
    type: Literal["call.transcription_stopped"] = "call.transcription_stopped"


class CallTranscriptionReadyEvent(EgressEvent):
    type: Literal["call.transcription_ready"] = "call.transcription_ready"
    call_transcription: dict[str, Any]


class CallTranscriptionFailedEvent(EgressEvent):
    type: Literal["call.transcription_failed"] = "call.transcription_failed"
    error: str | None = None


class CallClosedCaptionsStartedEvent(CallEvent):
    type: Literal["call.closed_captions_started"] = "call.closed_captions_started"


class CallClosedCaptionsStoppedEvent(CallEvent):
    type: Literal["call.closed_captions_stopped"] = "call.closed_captions_stopped"


class CallClosedCaptionsFailedEvent(CallEvent):
    type: Literal["call.closed_captions_failed"] = "call.closed_captions_failed"
    error: str | None = None


class ClosedCaptionEvent(CallEvent):
    type: Literal["call.closed_caption"] = "call.closed_caption"
    closed_caption: dict[str, Any]


# --- other events -------------------------------------------------------------------------------------------
class CallStatsReportReadyEvent(CallEvent):
    type: Literal["call.stats_report_ready"] = "call.stats_report_ready"
    session_id: str


class CallUserFeedbackSubmittedEvent(CallEvent):
    type: Literal["call.user_feedback_submitted"] = "call.user_feedback_submitted"
    session_id: str
    user: UserResponse
    rating: int = Field(ge=1, le=5)
    reason: str | None = None
    custom: dict[str, Any] | None = None
    sdk: str | None = None
    sdk_version: str | None = None


class CustomVideoEvent(CallEvent):
    type: Literal["custom"] = "custom"
    custom: dict[str, Any]
    user: UserResponse


# --- user events (Weir's: the seed names none) ----------------------------------------------------------------
class UserEvent(Event):
    user: UserResponse


class UserUpdatedEvent(UserEvent):
    type: Literal["user.updated"] = "user.updated"


class UserDeletedEvent(UserEvent):
    type: Literal["user.deleted"] = "user.deleted"
    hard_delete: bool


class UserDeactivatedEvent(UserEvent):
    type: Literal["user.deactivated"] = "user.deactivated"


class UserReactivatedEvent(UserEvent):
    type: Literal["user.reactivated"] = "user.reactivated"


class UserBannedEvent(UserEvent):
    type: Literal["user.banned"] = "user.banned"
    reason: str | None = None
    expiration: datetime | None = None
    created_by: UserResponse | None = None


class UserUnbannedEvent(UserEvent):
    type: Literal["user.unbanned"] = "user.unbanned"


class UserPresenceChangedEvent(UserEvent):
    type: Literal["user.presence.changed"] = "user.presence.changed"


def _catalogue() -> dict[str, type[Event]]:
    models: dict[str, type[Event]] = {}
    pending: list[type[Event]] = [Event]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        default = model.model_fields["type"].default
        if isinstance(default, str):
            models[default] = model
    return models


EVENT_MODELS: dict[str, type[Event]] = _catalogue()
# The seed's model definitions name two events differently from its event tables; Weir sends the tables' names
# and takes the models' names where event types are chosen (e.g. a webhook's event_types).
EVENT_ALIASES: dict[str, str] = {"call.report_ready": "call.stats_report_ready",
                                 "call.user_feedback": "call.user_feedback_submitted"}

# Connection-level messages of the coordinator WebSocket (not part of the 56 call events).
CONNECTION_OK = "connection.ok"
CONNECTION_ERROR = "connection.error"
HEALTH_CHECK = "health.check"
