"""The frame size of a recording quality (``settings.recording.quality``): landscape heights, and the portrait
qualities, which name their size."""

from __future__ import annotations

import re

__all__ = ["frame_size"]

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
