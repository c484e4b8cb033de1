"""RTMP broadcasts (the seed's names): the call, composed as for a recording, pushed to RTMP servers such as
YouTube's or Twitch's ingest, each under a name unique in the call."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from weir.domain.settings import LayoutSettings, Quality

BROADCAST_NAME = r"^[A-Za-z0-9_-]{1,64}$"
_UNPRINTABLE = re.compile(r"[\x00-\x20\x7f]")


class RTMPBroadcastRequest(BaseModel):
    """One destination: the stream goes to ``stream_url`` + ``/`` + ``stream_key``; layout and quality default to
    the call's ``broadcasting.rtmp`` settings."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=BROADCAST_NAME)
    stream_url: str = Field(max_length=2048, description="rtmp:// or rtmps:// URL of the RTMP server's application")
    stream_key: str | None = Field(default=None, min_length=1, max_length=1024)
    layout: LayoutSettings | None = None
    quality: Quality | None = None

    @field_validator("stream_url")
    @classmethod
    def _rtmp_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("rtmp", "rtmps") or not parts.hostname or _UNPRINTABLE.search(value):
            raise ValueError("must be an rtmp:// or rtmps:// URL with a host and no spaces")
        return value

    @field_validator("stream_key")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and _UNPRINTABLE.search(value):
            raise ValueError("must have no spaces or control characters")
        return value


def rtmp_destination(stream_url: str, stream_key: str | None) -> str:
    """The URL a broadcast publishes to: the key is the last path segment, as RTMP servers expect."""
    return stream_url if stream_key is None else f"{stream_url.rstrip('/')}/{stream_key}"


class StartRTMPBroadcastsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    broadcasts: list[RTMPBroadcastRequest] = Field(min_length=1, max_length=10)


class StartRTMPBroadcastsResponse(BaseModel):
    duration: str = ""


class EgressRTMPResponse(BaseModel):
    """A running broadcast in ``CallResponse.egress.rtmps``. The stream key is a credential: it is never shown."""

    name: str
    started_at: datetime
    stream_url: str | None = None
    stream_key: str | None = None
