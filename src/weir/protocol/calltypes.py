"""JSON models of call types, roles and permissions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from weir.domain.settings import CallSettingsRequest
from weir.protocol.freeform import FreeForm
from weir.protocol.limits import CALL_TYPE_PATTERN, ROLE_PATTERN


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class APNSSettings(Strict):
    title: str | None = Field(default=None, max_length=1024)
    body: str | None = Field(default=None, max_length=2048)
    content_available: int | None = Field(default=None, alias="content-available", ge=0, le=1)
    mutable_content: int | None = Field(default=None, alias="mutable-content", ge=0, le=1)
    sound: str | None = Field(default=None, max_length=255)
    data: FreeForm | None = None


class FCMSettings(Strict):
    data: FreeForm | None = None


class EventNotificationSettings(Strict):
    enabled: bool | None = None
    apns: APNSSettings | None = None
    fcm: FCMSettings | None = None


class NotificationSettingsRequest(Strict):
    """Partial, like call settings: what is given is merged over the current notification settings."""

    enabled: bool | None = None
    call_live_started: EventNotificationSettings | None = None
    call_missed: EventNotificationSettings | None = None
    call_notification: EventNotificationSettings | None = None
    call_ring: EventNotificationSettings | None = None
    session_started: EventNotificationSettings | None = None

    def as_patch(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True, by_alias=True)


Grants = dict[str, list[str]]


class UpdateCallTypeRequest(Strict):
    settings: CallSettingsRequest | None = None
    grants: Grants | None = Field(default=None, description="role → capabilities; a role listed here replaces its list")
    notification_settings: NotificationSettingsRequest | None = None
    external_storage: str | None = Field(default=None, max_length=255)


class CreateCallTypeRequest(UpdateCallTypeRequest):
    name: str = Field(pattern=CALL_TYPE_PATTERN)


class CallTypeResponse(BaseModel):
    name: str
    settings: dict[str, Any]
    grants: Grants
    notification_settings: dict[str, Any]
    external_storage: str | None = None
    created_at: datetime
    updated_at: datetime
    duration: str = ""


class ListCallTypesResponse(BaseModel):
    call_types: dict[str, CallTypeResponse]
    duration: str = ""


class CreateRoleRequest(Strict):
    name: str = Field(pattern=ROLE_PATTERN)


class RoleResponse(BaseModel):
    name: str
    custom: bool
    scopes: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ListRolesResponse(BaseModel):
    roles: list[RoleResponse]
    duration: str = ""


class PermissionResponse(BaseModel):
    id: str
    name: str
    action: str
    description: str
    level: str = "call"
    custom: bool = False
    owner: bool = False
    same_team: bool = False
    tags: list[str] = Field(default_factory=list)


class ListPermissionsResponse(BaseModel):
    permissions: list[PermissionResponse]
    duration: str = ""
