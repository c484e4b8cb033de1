"""The app settings API (``GET /app``, ``PATCH /app``): webhook endpoints, called event hooks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from weir.protocol.events import EVENT_MODELS
from weir.protocol.limits import utc_datetime

MAX_EVENT_HOOKS = 10
HOOK_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
URL_MAX_LENGTH = 2048
MIN_TIMEOUT_MS = 100
MAX_TIMEOUT_MS = 6000  # the documented per-request timeout
LEGACY_HOOK_ID = "default"  # the endpoint the single-URL fields webhook_url / webhook_events address


def check_webhook_url(value: str) -> str:
    """An absolute http(s) URL with a host; anything else is refused."""
    if len(value) > URL_MAX_LENGTH or not value.isprintable() or " " in value:
        raise ValueError(f"must be an http or https URL of at most {URL_MAX_LENGTH} characters without spaces")
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ValueError("must be an absolute http:// or https:// URL with a host")
    return value


def check_event_types(value: list[str]) -> list[str]:
    """Only documented event types; kept sorted and without repeats."""
    unknown = sorted(set(value) - EVENT_MODELS.keys())
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")
    return sorted(set(value))


class EventHookRequest(BaseModel):
    """One webhook endpoint as the client sends it."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, pattern=HOOK_ID_PATTERN, description="Generated when absent")
    hook_type: Literal["webhook"] = "webhook"
    webhook_url: str = Field(description="http or https URL that receives a POST per event")
    enabled: bool = True
    event_types: list[str] = Field(
        default_factory=list, description="Event types to send; empty means every event, including future ones",
    )
    timeout_ms: int | None = Field(
        None, ge=MIN_TIMEOUT_MS, le=MAX_TIMEOUT_MS, description="Per-request timeout; default 6000",
    )

    _url = field_validator("webhook_url")(check_webhook_url)
    _types = field_validator("event_types")(check_event_types)


class EventHook(BaseModel):
    """One stored webhook endpoint."""

    id: str
    hook_type: Literal["webhook"] = "webhook"
    webhook_url: str
    enabled: bool
    event_types: list[str]
    timeout_ms: int | None = None
    created_at: datetime
    updated_at: datetime

    def wants(self, event_type: str) -> bool:
        """The endpoint's filter: enabled, and either every event or one of its listed types."""
        return self.enabled and (not self.event_types or event_type in self.event_types)


class UpdateAppRequest(BaseModel):
    """``event_hooks`` replaces the whole list; the single-URL fields edit the endpoint with id ``default``."""

    model_config = ConfigDict(extra="forbid")

    event_hooks: list[EventHookRequest] | None = Field(None, max_length=MAX_EVENT_HOOKS)
    webhook_url: str | None = Field(None, description="Single-endpoint form; an empty string removes it")
    webhook_events: list[str] | None = Field(None, description="Single-endpoint form of event_types")
    revoke_tokens_issued_before: datetime | None = Field(
        None, description="User tokens issued before this time are refused; null lifts the revocation")

    _revoke = field_validator("revoke_tokens_issued_before")(utc_datetime)

    @field_validator("event_hooks")
    @classmethod
    def _unique_ids(cls, value: list[EventHookRequest] | None) -> list[EventHookRequest] | None:
        ids = [hook.id for hook in value or () if hook.id is not None]
        if len(ids) != len(set(ids)):
            raise ValueError("endpoint ids must be unique")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _legacy_url(cls, value: str | None) -> str | None:
        return value if not value else check_webhook_url(value)

    @field_validator("webhook_events")
    @classmethod
    def _legacy_types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_event_types(value)


class AppSettings(BaseModel):
    event_hooks: list[EventHook]
    webhook_url: str | None = Field(None, description="URL of the endpoint with id 'default', if any")
    webhook_events: list[str] = Field(default_factory=list, description="Event types of that endpoint")
    revoke_tokens_issued_before: datetime | None = None


class AppResponse(BaseModel):
    app: AppSettings
    duration: str = ""
