"""JSON models of the call endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from weir.domain.settings import CallSettingsRequest
from weir.protocol.freeform import Custom
from weir.protocol.ingress import CallIngressResponse
from weir.protocol.limits import (
    ROLE_PATTERN,
    USER_ID_PATTERN,
    utc_datetime,
)
from weir.protocol.recordings import EgressResponse
from weir.protocol.sfu_edges import Credentials, StatsOptions
from weir.protocol.users import UserResponse

MEMBERS_LIMIT_DEFAULT = 25
MEMBERS_LIMIT_MAX = 100


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberRequest(Strict):
    user_id: str = Field(pattern=USER_ID_PATTERN)
    role: str | None = Field(default=None, pattern=ROLE_PATTERN)
    custom: Custom = Field(default_factory=dict)


class CallRequest(Strict):
    created_by_id: str | None = Field(default=None, pattern=USER_ID_PATTERN)
    members: list[MemberRequest] = Field(default_factory=list, max_length=MEMBERS_LIMIT_MAX)
    custom: Custom = Field(default_factory=dict)
    team: str | None = Field(default=None, max_length=255)
    starts_at: datetime | None = None
    settings_override: CallSettingsRequest | None = None
    video: bool | None = None

    _starts_at = field_validator("starts_at")(utc_datetime)


class GetOrCreateCallRequest(Strict):
    data: CallRequest | None = None
    members_limit: int | None = Field(default=None, ge=1, le=MEMBERS_LIMIT_MAX)
    ring: bool | None = None
    notify: bool | None = None
    video: bool | None = None


class UpdateCallRequest(Strict):
    custom: Custom | None = None
    settings_override: CallSettingsRequest | None = None
    starts_at: datetime | None = None

    _starts_at = field_validator("starts_at")(utc_datetime)


class DeleteCallRequest(Strict):
    hard: bool = False


class UpdateCallMembersRequest(Strict):
    update_members: list[MemberRequest] = Field(default_factory=list, max_length=MEMBERS_LIMIT_MAX)
    remove_members: list[str] = Field(default_factory=list, max_length=MEMBERS_LIMIT_MAX)


class BlockUserRequest(Strict):
    user_id: str = Field(pattern=USER_ID_PATTERN)


class KickUserRequest(Strict):
    user_id: str = Field(pattern=USER_ID_PATTERN)
    block: bool = False


class MemberResponse(BaseModel):
    user_id: str
    user: UserResponse
    role: str
    custom: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class CallParticipant(BaseModel):
    user: UserResponse
    user_session_id: str
    role: str
    joined_at: datetime


class PinResponse(BaseModel):
    user_id: str
    session_id: str
    pinned_at: datetime


class CallSessionResponse(BaseModel):
    id: str
    participants: list[CallParticipant]
    participants_count_by_role: dict[str, int]
    anonymous_participant_count: int
    accepted_by: dict[str, datetime]
    rejected_by: dict[str, datetime]
    missed_by: dict[str, datetime]
    started_at: datetime | None = None
    ended_at: datetime | None = None
    live_started_at: datetime | None = None
    live_ended_at: datetime | None = None
    timer_ends_at: datetime | None = None
    pins: list[PinResponse] = Field(default_factory=list, description="Participants pinned for everyone")


class CallResponse(BaseModel):
    type: str
    id: str
    cid: str
    current_session_id: str = ""
    created_by: UserResponse
    custom: dict[str, Any]
    team: str | None
    settings: dict[str, Any]
    backstage: bool
    recording: bool
    transcribing: bool
    captioning: bool
    broadcasting: bool
    blocked_user_ids: list[str]
    created_at: datetime
    updated_at: datetime
    starts_at: datetime | None
    ended_at: datetime | None
    join_ahead_time_seconds: int | None = None
    session: CallSessionResponse | None = None
    egress: EgressResponse = Field(default_factory=EgressResponse)
    ingress: CallIngressResponse = Field(default_factory=CallIngressResponse)


class CallStateResponse(BaseModel):
    """A call as every call endpoint returns it, seen by one caller."""

    call: CallResponse
    members: list[MemberResponse]
    membership: MemberResponse | None
    own_capabilities: list[str]
    duration: str = ""


class GetOrCreateCallResponse(CallStateResponse):
    created: bool


class UpdateCallMembersResponse(BaseModel):
    members: list[MemberResponse]
    duration: str = ""


class JoinCallRequest(Strict):
    create: bool = False
    data: CallRequest | None = None
    ring: bool | None = None
    notify: bool | None = None
    video: bool | None = None
    members_limit: int | None = Field(default=None, ge=1, le=MEMBERS_LIMIT_MAX)
    location: str | None = Field(default=None, max_length=64)
    migrating_from: str | None = Field(default=None, max_length=255)


class JoinCallResponse(CallStateResponse):
    created: bool
    session_id: str
    user_session_id: str
    credentials: Credentials
    stats_options: StatsOptions


class LeaveCallRequest(Strict):
    user_session_id: str = Field(max_length=64)


class RingCallRequest(Strict):
    video: bool | None = None
    user_ids: list[str] | None = Field(default=None, max_length=MEMBERS_LIMIT_MAX)


class RingCallResponse(BaseModel):
    members_ids: list[str]
    duration: str = ""


class RejectCallRequest(Strict):
    reason: Literal["busy", "decline", "timeout", "cancel"] = "decline"


class PinRequest(Strict):
    session_id: str = Field(max_length=64, description="The participant's user_session_id")
    user_id: str = Field(pattern=USER_ID_PATTERN)
