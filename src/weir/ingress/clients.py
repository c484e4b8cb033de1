"""Which encoder is publishing, from what it says of itself: RTMP's ``flashVer`` and ``onMetaData.encoder``."""

from __future__ import annotations

import re

__all__ = ["identify"]

OBS = re.compile(r"obs-output module \(libobs version ([^)]+)\)")
LAVF = re.compile(r"Lavf(\d[\w.]*)")


def identify(flash_ver: str, encoder: str) -> tuple[str | None, str | None]:
    """(client name, version): "OBS Studio" and libobs's version, "FFmpeg" and libavformat's, or the encoder's
    own words."""
    for said in (encoder, flash_ver):
        if found := OBS.search(said):
            return "OBS Studio", found.group(1)
        if found := LAVF.search(said):
            return "FFmpeg", found.group(1)
    if encoder:
        return encoder[:100], None
    return (flash_ver[:100] or None), None
