"""``CallPreferences``: the client-side behaviour of one call, with the documented defaults.

The seed gives two sets of reconnection defaults: the preferences table (reconnect 30 s, network 10 s) and the
Network Disruptions guide (reconnect unlimited, network 5 min). Weir uses the table, the reference for this
class; a ``reconnect_timeout`` of zero still means "retry forever", as the guide says.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from enum import StrEnum


class PreferredCodec(StrEnum):
    VP8 = "vp8"
    H264 = "h264"
    VP9 = "vp9"
    AV1 = "av1"


@dataclass(frozen=True)
class ClientPublishOptions:
    """Codec and publishing overrides for the media half of the SDK ("use with caution")."""

    preferred_codec: PreferredCodec | None = None
    fmtp_line: str | None = None
    preferred_bitrate: int | None = None
    max_simulcast_layers: int | None = None
    subscriber_codec: PreferredCodec | None = None
    subscriber_fmtp_line: str | None = None


def _duration(value: timedelta | float) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


@dataclass(frozen=True)
class CallPreferences:
    """Durations accept a ``timedelta`` or seconds. ``update_call_preferences`` replaces the whole object."""

    connect_timeout: timedelta = timedelta(seconds=60)
    reconnect_timeout: timedelta = timedelta(seconds=30)
    network_availability_timeout: timedelta = timedelta(seconds=10)
    reaction_auto_dismiss_time: timedelta = timedelta(seconds=5)
    call_stats_reporting_interval: timedelta = timedelta(seconds=2)
    drop_if_alone_in_ringing_flow: bool = True
    closed_captions_visibility_duration_ms: int = 2700
    closed_captions_visible_captions: int = 2
    client_publish_options: ClientPublishOptions | None = None

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.type == "timedelta":
                object.__setattr__(self, spec.name, _duration(value))
                if getattr(self, spec.name) < timedelta(0):
                    raise ValueError(f"{spec.name} cannot be negative")


# The Dart SDK's concrete class has this name; both spell the same preferences.
DefaultCallPreferences = CallPreferences
