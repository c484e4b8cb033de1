"""JSON models of users."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from weir.domain.clock import utc
from weir.protocol.limits import ROLE_PATTERN, USER_ID_PATTERN, check_custom
from weir.store.tables import UserRow


class UserRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=USER_ID_PATTERN)
    name: str | None = Field(default=None, max_length=255)
    image: str | None = Field(default=None, max_length=2048)
    role: str | None = Field(default=None, pattern=ROLE_PATTERN)
    teams: list[str] | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=16)
    invisible: bool | None = None
    custom: dict[str, Any] | None = None

    _custom = field_validator("custom")(lambda v: v if v is None else check_custom(v))


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


def user_response(row: UserRow, blocked_user_ids: list[str] | None = None) -> UserResponse:
    return UserResponse(
        id=row.id, name=row.name, image=row.image, role=row.role, teams=list(row.teams or []),
        language=row.language or "", custom=row.custom or {}, invisible=row.invisible, online=row.online,
        banned=row.banned, blocked_user_ids=blocked_user_ids or [],
        created_at=utc(row.created_at), updated_at=utc(row.updated_at),  # type: ignore[arg-type]
        last_active=utc(row.last_active), deactivated_at=utc(row.deactivated_at), deleted_at=utc(row.deleted_at),
        ban_expires=utc(row.ban_expires),
    )
