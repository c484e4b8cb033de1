"""JSON models of the in-call interactions: custom events, reactions, permission requests, grants, mutes, feedback."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from weir.protocol.freeform import Custom
from weir.protocol.limits import USER_ID_PATTERN
from weir.protocol.users import UserResponse

REACTION_TYPE_MAX = 64
EMOJI_CODE_MAX = 64
FEEDBACK_REASON_MAX = 2048
MUTE_USERS_MAX = 100

UserId = Annotated[str, Field(pattern=USER_ID_PATTERN)]
CapabilityName = Annotated[str, Field(min_length=1, max_length=64)]
Capabilities = Annotated[list[CapabilityName], Field(max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActingAs(Strict):
    """``user_id`` names who acts; server-side requests must give it, user tokens act as themselves."""

    user_id: UserId | None = None


class SendCallEventRequest(ActingAs):
    custom: Custom


class SendReactionRequest(ActingAs):
    type: str = Field(min_length=1, max_length=REACTION_TYPE_MAX)
    emoji_code: str | None = Field(default=None, max_length=EMOJI_CODE_MAX)
    custom: Custom | None = None


class ReactionResponse(BaseModel):
    type: str
    user: UserResponse
    emoji_code: str | None = None
    custom: dict[str, Any] | None = None


class SendReactionResponse(BaseModel):
    reaction: ReactionResponse
    duration: str = ""


class RequestPermissionRequest(ActingAs):
    permissions: Capabilities = Field(min_length=1)


class UpdateUserPermissionsRequest(Strict):
    user_id: UserId
    grant_permissions: Capabilities = Field(default_factory=list)
    revoke_permissions: Capabilities = Field(default_factory=list)


class MuteUsersRequest(Strict):
    user_ids: list[UserId] | None = Field(default=None, min_length=1, max_length=MUTE_USERS_MAX)
    mute_all_users: bool = False
    muted_by_id: UserId | None = None
    audio: bool = False
    video: bool = False
    screenshare: bool = False
    screenshare_audio: bool = False

    @property
    def tracks(self) -> list[str]:
        """The kinds of track to mute, in a fixed order."""
        kinds = ("audio", "video", "screenshare", "screenshare_audio")
        return [kind for kind in kinds if getattr(self, kind)]


class CollectUserFeedbackRequest(ActingAs):
    rating: int = Field(ge=1, le=5)
    reason: str | None = Field(default=None, max_length=FEEDBACK_REASON_MAX)
    custom: Custom | None = None
    sdk: str | None = Field(default=None, max_length=64)
    sdk_version: str | None = Field(default=None, max_length=64)
    user_session_id: str | None = Field(default=None, min_length=1, max_length=64)
    session_id: str | None = Field(default=None, min_length=1, max_length=64)
