"""The frame size of a recording or broadcasting quality (``settings.recording.quality``,
``broadcasting.hls.quality_tracks``): landscape heights, and the portrait qualities, which name their size; and the
H.264 bitrate of a size."""

from __future__ import annotations

import re
from collections.abc import Iterable

from weir.egress.composite.sinks import Rendition

__all__ = ["AUDIO_ONLY", "frame_size", "h264_kbps", "ladder", "rendering"]

AUDIO_ONLY = "audio-only"  # a quality the seed lists beside the sizes: the recording keeps only the audio

LANDSCAPE = {"360p": (640, 360), "480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080),
             "1440p": (2560, 1440)}
PORTRAIT = re.compile(r"portrait-(\d+)x(\d+)")


def frame_size(quality: str) -> tuple[int, int]:
    """(width, height) for ``quality``; ValueError for "audio-only" or an unknown one."""
    if quality in LANDSCAPE:
        return LANDSCAPE[quality]
    portrait = PORTRAIT.fullmatch(quality)
    if portrait:
        return int(portrait[1]), int(portrait[2])
    raise ValueError(f"recording quality {quality!r} has no frame size")


def rendering(quality: str, audio_only: bool) -> tuple[tuple[int, int], bool]:
    """The frame size a composite recording renders its page at, and whether it keeps only the audio (the
    ``audio_only`` setting or the ``audio-only`` quality). Audio alone still needs the page (Chromium plays the
    mix), on the smallest screen."""
    audio_only = audio_only or quality == AUDIO_ONLY
    return frame_size("360p" if audio_only else quality), audio_only


# H.264 kbps at 30 fps for a layout of faces: the seed's "conference" row of its bandwidth table
CONFERENCE_H264_KBPS = {360: 320, 480: 430, 720: 1300, 1080: 2900, 1440: 5200}


def h264_kbps(width: int, height: int) -> int:
    """The bitrate of a frame size: its shorter side's row (portrait 720x1280 is 720p), the next row up when
    between rows, the top row above 1440."""
    lines = min(width, height)
    return next((kbps for row, kbps in CONFERENCE_H264_KBPS.items() if lines <= row), CONFERENCE_H264_KBPS[1440])


def ladder(quality_tracks: Iterable[str]) -> tuple[Rendition, ...]:
    """The HLS renditions of ``broadcasting.hls.quality_tracks``, largest first (the capture's size); empty for
    audio only. "audio-only" next to video tracks adds nothing: every video rendition carries the sound."""
    sizes = {quality: frame_size(quality) for quality in dict.fromkeys(quality_tracks) if quality != AUDIO_ONLY}
    ordered = sorted(sizes.items(), key=lambda item: item[1][0] * item[1][1], reverse=True)
    return tuple(Rendition(quality, width, height, h264_kbps(width, height)) for quality, (width, height) in ordered)
