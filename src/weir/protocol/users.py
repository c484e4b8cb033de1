"""JSON models of users, user blocking, guests and bans."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from weir.protocol.freeform import Custom
from weir.protocol.limits import ROLE_PATTERN, USER_ID_PATTERN, utc_datetime

USERS_PER_REQUEST_MAX = 100
# A guest id is ``guest-<requested id>-<8 hex>``; the requested part is capped so the whole fits an id.
GUEST_ID_MAX = 200
BAN_TIMEOUT_MAX_MINUTES = 365 * 24 * 60

UserId = Annotated[str, Field(pattern=USER_ID_PATTERN)]
UserIds = Annotated[list[UserId], Field(min_length=1, max_length=USERS_PER_REQUEST_MAX)]
ProfileField = Literal[
    "name", "image", "role", "teams", "language", "invisible", "custom", "revoke_tokens_issued_before"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserFields(Strict):
    """The fields a server may set on a user; ``None`` (or leaving a field out) means the field's default."""

    name: str | None = Field(default=None, max_length=255)
    image: str | None = Field(default=None, max_length=2048)
    role: str | None = Field(default=None, pattern=ROLE_PATTERN)
    teams: list[Annotated[str, Field(max_length=255)]] | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=16)
    invisible: bool | None = None
    custom: Custom | None = None
    revoke_tokens_issued_before: datetime | None = Field(
        default=None, description="Tokens of this user issued before this time are refused")

    _revoke = field_validator("revoke_tokens_issued_before")(utc_datetime)


class UserRequest(UserFields):
    id: str = Field(pattern=USER_ID_PATTERN)


class UpsertUsersRequest(Strict):
    users: dict[str, UserRequest] = Field(min_length=1, max_length=USERS_PER_REQUEST_MAX)


class UserPartialUpdate(Strict):
    id: str = Field(pattern=USER_ID_PATTERN)
    set: UserFields = Field(default_factory=UserFields)
    unset: list[ProfileField] = Field(default_factory=list)

    @model_validator(mode="after")
    def _set_or_unset(self) -> UserPartialUpdate:
        both = sorted(self.set.model_fields_set & set(self.unset))
        if both:
            raise ValueError(f"fields both set and unset: {', '.join(both)}")
        return self


class UpdateUsersPartialRequest(Strict):
    users: list[UserPartialUpdate] = Field(min_length=1, max_length=USERS_PER_REQUEST_MAX)


class DeleteUsersRequest(Strict):
    """The seed's options; ``conversations``, ``messages``, ``files`` and ``new_channel_owner_id`` are chat's and
    are accepted without effect."""

    user_ids: UserIds
    user: Literal["soft", "pruning", "hard"] = "soft"
    calls: Literal["soft", "hard"] | None = Field(default=None, description="Also delete their 1:1 calls")
    new_call_owner_id: str | None = Field(
        default=None, pattern=USER_ID_PATTERN, description="Takes over the calls a hard-deleted user created")
    conversations: Literal["soft", "hard"] | None = None
    messages: Literal["soft", "pruning", "hard"] | None = None
    files: bool | None = None
    new_channel_owner_id: str | None = Field(default=None, pattern=USER_ID_PATTERN)

    @model_validator(mode="after")
    def _owner_stays(self) -> DeleteUsersRequest:
        if self.new_call_owner_id is not None and self.new_call_owner_id in self.user_ids:
            raise ValueError("new_call_owner_id cannot be one of the users deleted")
        return self


class UserIdsRequest(Strict):
    user_ids: UserIds


class BlockUsersRequest(Strict):
    blocked_user_id: str = Field(pattern=USER_ID_PATTERN)
    user_id: str | None = Field(default=None, pattern=USER_ID_PATTERN)


class GuestUserRequest(Strict):
    id: str | None = Field(default=None, pattern=USER_ID_PATTERN, max_length=GUEST_ID_MAX)
    name: str | None = Field(default=None, max_length=255)
    image: str | None = Field(default=None, max_length=2048)
    custom: Custom = Field(default_factory=dict)


class CreateGuestRequest(Strict):
    user: GuestUserRequest = Field(default_factory=GuestUserRequest)


class BanRequest(Strict):
    target_user_id: str = Field(pattern=USER_ID_PATTERN)
    banned_by_id: str | None = Field(default=None, pattern=USER_ID_PATTERN)
    reason: str | None = Field(default=None, max_length=1000)
    timeout: int | None = Field(default=None, ge=1, le=BAN_TIMEOUT_MAX_MINUTES, description="Minutes")


class UserResponse(BaseModel):
    id: str
    name: str | None = None
    image: str | None = None
    role: str
    teams: list[str] = Field(default_factory=list)
    language: str = ""
    custom: dict[str, Any] = Field(default_factory=dict)
    invisible: bool = False
    online: bool = False
    banned: bool = False
    blocked_user_ids: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    last_active: datetime | None = None
    deactivated_at: datetime | None = None
    deleted_at: datetime | None = None
    ban_expires: datetime | None = None
    revoke_tokens_issued_before: datetime | None = None


class UsersResponse(BaseModel):
    users: dict[str, UserResponse]
    duration: str = ""


class OneUserResponse(BaseModel):
    user: UserResponse
    duration: str = ""


class TaskResponse(BaseModel):
    """An async task's id, for ``GET /tasks/{id}``."""

    task_id: str
    duration: str = ""


class BlockUsersResponse(BaseModel):
    blocked_by_user_id: str
    blocked_user_id: str
    created_at: datetime
    duration: str = ""


class BlockedUserResponse(BaseModel):
    user_id: str
    blocked_user_id: str
    blocked_user: UserResponse
    created_at: datetime


class GetBlockedUsersResponse(BaseModel):
    blocks: list[BlockedUserResponse]
    duration: str = ""


class CreateGuestResponse(BaseModel):
    user: UserResponse
    access_token: str
    duration: str = ""
