"""The values the signaling layer and the media plane exchange: published tracks and subscriptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["TRACK_TYPES", "Layer", "MediaClosed", "Subscription", "Target", "TrackInfo", "TrackType", "kind_of"]

TrackType = Literal["audio", "video", "screen_share", "screen_share_audio"]
Target = Literal["publisher", "subscriber"]
TRACK_TYPES: tuple[TrackType, ...] = ("audio", "video", "screen_share", "screen_share_audio")


def kind_of(track_type: str) -> Literal["audio", "video"]:
    """The media kind (SDP m-line) of a track type."""
    return "audio" if track_type in ("audio", "screen_share_audio") else "video"


@dataclass(frozen=True)
class Layer:
    """One simulcast encoding as the publisher announced it."""

    rid: str
    width: int
    height: int
    bitrate: int


@dataclass(frozen=True)
class TrackInfo:
    session_id: str  # the publishing participant
    track_type: TrackType
    mid: str
    layers: tuple[Layer, ...] = ()
    codec: str = ""  # the negotiated codec's name ("opus", "VP8"), filled in by the SFU once answered
    muted: bool = False


@dataclass(frozen=True)
class Subscription:
    """A subscriber wants ``session_id``'s ``track_type``, at about ``width`` x ``height`` (0 x 0: the best)."""

    session_id: str
    track_type: str
    width: int = 0
    height: int = 0


class MediaClosed(ValueError):
    """The participant left, or one of its connections closed or failed: only joining again helps."""
