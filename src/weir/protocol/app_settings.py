"""The app settings API (``GET /app``, ``PATCH /app``): event destinations (HTTP webhooks, AWS SQS queues and SNS
topics), called event hooks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from weir.protocol.events import EVENT_ALIASES, EVENT_MODELS
from weir.protocol.limits import utc_datetime

MAX_EVENT_HOOKS = 10
HOOK_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
URL_MAX_LENGTH = 2048
MIN_TIMEOUT_MS = 100
MAX_TIMEOUT_MS = 6000  # the documented per-request timeout
LEGACY_HOOK_ID = "default"  # the endpoint the single-URL fields webhook_url / webhook_events address
SECRET_MASK = "********"  # a stored AWS secret as responses show it; sent back, it keeps the stored one
AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
SQS_HOST = re.compile(r"^sqs\.([a-z0-9-]+)\.amazonaws\.com$")
SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_\-]{1,256}(\.fifo)?$")
HookType = Literal["webhook", "sqs", "sns"]
AwsAuthType = Literal["keys", "role"]


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


def aws_region_of(hook_type: str, address: str) -> str | None:
    """The region an SQS queue URL on AWS (``https://sqs.<region>.amazonaws.com/...``) or an SNS topic ARN names."""
    if hook_type == "sns":
        arn = SNS_ARN.match(address)
        return arn.group(1) if arn else None
    host = SQS_HOST.match(urlsplit(address).hostname or "")
    return host.group(1) if host else None


def check_event_types(value: list[str]) -> list[str]:
    """Only documented event types (an alias as the type it names); kept sorted and without repeats."""
    named = {EVENT_ALIASES.get(event_type, event_type) for event_type in value}
    unknown = sorted(named - EVENT_MODELS.keys())
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")
    return sorted(named)


class AwsFields(BaseModel):
    """Where an SQS or SNS destination is and how Weir signs in: ``keys`` (an access key and its secret) or
    ``role`` (the server's own AWS credentials, assuming ``*_role_arn`` when given)."""

    sqs_queue_url: str | None = Field(default=None, max_length=URL_MAX_LENGTH,
                                      description="The queue's URL (hook_type sqs)")
    sqs_region: str | None = Field(default=None, description="Default: the region in the queue's URL")
    sqs_auth_type: AwsAuthType | None = None
    sqs_key: str | None = Field(default=None, max_length=128)
    sqs_secret: str | None = Field(default=None, max_length=256, description="Write-only; shown masked")
    sqs_role_arn: str | None = Field(default=None, max_length=2048)
    sns_topic_arn: str | None = Field(default=None, max_length=2048, description="The topic's ARN (hook_type sns)")
    sns_region: str | None = Field(default=None, description="Default: the region in the topic's ARN")
    sns_auth_type: AwsAuthType | None = None
    sns_key: str | None = Field(default=None, max_length=128)
    sns_secret: str | None = Field(default=None, max_length=256, description="Write-only; shown masked")
    sns_role_arn: str | None = Field(default=None, max_length=2048)

    def aws(self, hook_type: str, field: str) -> object:
        """``sqs_<field>`` or ``sns_<field>``, for the hook's type."""
        return getattr(self, f"{hook_type}_{field}")


class EventHookRequest(AwsFields):
    """One event destination as the client sends it: an HTTP webhook, an SQS queue or an SNS topic."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, pattern=HOOK_ID_PATTERN, description="Generated when absent")
    hook_type: HookType = "webhook"
    webhook_url: str | None = Field(default=None, description="http or https URL that receives a POST per event")
    enabled: bool = True
    event_types: list[str] = Field(
        default_factory=list, description="Event types to send; empty means every event, including future ones",
    )
    timeout_ms: int | None = Field(
        None, ge=MIN_TIMEOUT_MS, le=MAX_TIMEOUT_MS, description="Per-request timeout; default 6000",
    )

    _url = field_validator("webhook_url")(lambda value: check_webhook_url(value) if value else None)
    _types = field_validator("event_types")(check_event_types)

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> EventHookRequest:
        own = {"webhook": "webhook_url", "sqs": "sqs_queue_url", "sns": "sns_topic_arn"}[self.hook_type]
        if getattr(self, own) is None:
            raise ValueError(f"a {self.hook_type} destination needs {own}")
        others = [name for name in ("webhook_url", *AwsFields.model_fields)
                  if getattr(self, name) is not None and not name.startswith(own.split("_")[0] + "_")]
        if others:
            raise ValueError(f"{', '.join(others)} do not apply to a {self.hook_type} destination")
        if self.hook_type != "webhook":
            self._check_aws(self.hook_type)
        return self

    def _check_aws(self, kind: str) -> None:
        address = str(self.aws(kind, "queue_url" if kind == "sqs" else "topic_arn"))
        if kind == "sqs":
            check_webhook_url(address)
        elif not SNS_ARN.match(address):
            raise ValueError("sns_topic_arn must be an SNS topic ARN: arn:aws:sns:<region>:<account>:<name>")
        region = self.aws(kind, "region") or aws_region_of(kind, address)
        if region is not None and not AWS_REGION.match(str(region)):
            raise ValueError(f"{kind}_region must be an AWS region such as eu-west-1")
        auth = self.aws(kind, "auth_type") or "keys"
        if auth == "keys" and not self.aws(kind, "key"):
            raise ValueError(f"{kind}_auth_type keys needs {kind}_key and {kind}_secret")
        if auth == "role" and (self.aws(kind, "key") or self.aws(kind, "secret")):
            raise ValueError(f"{kind}_auth_type role uses the server's AWS credentials: leave out the key and secret")


class EventHook(AwsFields):
    """One stored event destination (the AWS secret sealed; responses show it masked)."""

    id: str
    hook_type: HookType = "webhook"
    webhook_url: str = ""
    enabled: bool
    event_types: list[str]
    timeout_ms: int | None = None
    created_at: datetime
    updated_at: datetime

    def wants(self, event_type: str) -> bool:
        """The endpoint's filter: enabled, and either every event or one of its listed types."""
        return self.enabled and (not self.event_types or event_type in self.event_types)

    @property
    def destination(self) -> str:
        """Where events go: the webhook URL, the queue URL or the topic ARN."""
        return {"webhook": self.webhook_url, "sqs": self.sqs_queue_url or "",
                "sns": self.sns_topic_arn or ""}[self.hook_type]

    def masked(self) -> EventHook:
        return self.model_copy(update={name: SECRET_MASK for name in ("sqs_secret", "sns_secret")
                                       if getattr(self, name)})


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
