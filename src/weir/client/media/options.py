"""``CallConnectOptions``: what ``call.join(connect_options=...)`` turns on, and from which sources."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from weir.client.media.sources import MediaSource


class FacingMode(StrEnum):
    USER = "user"
    ENVIRONMENT = "environment"

    def flipped(self) -> FacingMode:
        return FacingMode.ENVIRONMENT if self is FacingMode.USER else FacingMode.USER


@dataclass(frozen=True)
class TrackOption:
    """``TrackOption.enabled(source)`` or ``TrackOption.disabled()``; None as source picks the default one."""

    is_enabled: bool = False
    source: MediaSource | None = None

    @classmethod
    def enabled(cls, source: MediaSource | None = None) -> TrackOption:
        return cls(True, source)

    @classmethod
    def disabled(cls) -> TrackOption:
        return cls(False)


@dataclass(frozen=True)
class VideoDimension:
    width: int
    height: int


@dataclass(frozen=True)
class CallConnectOptions:
    camera: TrackOption = TrackOption()
    microphone: TrackOption = TrackOption()
    screen_share: TrackOption = TrackOption()
    video_input_device: MediaSource | None = None
    audio_input_device: MediaSource | None = None
    camera_facing_mode: FacingMode = FacingMode.USER


__all__ = ["CallConnectOptions", "FacingMode", "TrackOption", "VideoDimension"]
