"""The frame size of a recording quality (``settings.recording.quality``): landscape heights, and the portrait
qualities, which name their size."""

from __future__ import annotations

import re

__all__ = ["AUDIO_ONLY", "frame_size", "rendering"]

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
