"""Request bodies of ``Call``'s coordinator requests: sorts, members, permissions and settings overrides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from weir.client.call_type import (
    CallPermission,
    SortParamRequest,
    StreamBackstageSettings,
    StreamLimitsSettings,
    StreamTranscriptionSettings,
)
from weir.client.user import UserInfo
from weir.domain.settings import CallSettingsRequest

SDK_NAME = "weir-python"

Sorts = Sequence[SortParamRequest | Mapping[str, Any]]
Settings = CallSettingsRequest | Mapping[str, Any]


def sort_json(sorts: Sorts | None) -> list[dict[str, Any]] | None:
    if sorts is None:
        return None
    return [s.model_dump() if isinstance(s, BaseModel) else dict(s) for s in sorts]


def permission_names(permissions: Sequence[CallPermission | str]) -> list[str]:
    return [p.value if isinstance(p, CallPermission) else str(p) for p in permissions]


def member_request(member: UserInfo | str) -> dict[str, Any]:
    return (member if isinstance(member, UserInfo) else UserInfo(member)).member_request()


def settings_patch(settings_override: Settings | None, backstage: StreamBackstageSettings | None,
                   limits: StreamLimitsSettings | None,
                   transcription: StreamTranscriptionSettings | None) -> dict[str, Any] | None:
    """One ``settings_override`` from the free-form one and the typed shortcuts (which win)."""
    patch = (settings_override.model_dump(exclude_none=True) if isinstance(settings_override, BaseModel)
             else dict(settings_override or {}))
    for name, section in (("backstage", backstage), ("limits", limits), ("transcription", transcription)):
        if section is not None:
            patch[name] = section.model_dump(exclude_none=True)
    return patch or None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
