"""What a published track comes from: a device, a file, the synthetic pattern and tone, or any aiortc
``MediaStreamTrack`` the application gives.

``open_source(source, kind)`` turns a choice into a live track. With no choice, the first device of the kind is
used; a machine without one (the usual headless case) gets the synthetic source and a logged warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamTrack

from weir.client.media.devices import RtcMediaDevice, RtcMediaDeviceKind, enumerate_devices
from weir.client.media.synthetic import TestPatternTrack, ToneTrack

log = logging.getLogger(__name__)
Kind = Literal["audio", "video"]
DEVICE_KIND: dict[Kind, RtcMediaDeviceKind] = {"audio": RtcMediaDeviceKind.AUDIO_INPUT,
                                               "video": RtcMediaDeviceKind.VIDEO_INPUT}


@dataclass(frozen=True)
class FileSource:
    """A media file (anything PyAV reads); its audio or video stream is sent, in real time, once or looped."""

    path: str | Path
    loop: bool = False


@dataclass(frozen=True)
class SyntheticSource:
    """The test pattern (video) or the 440 Hz tone (audio); ``shade`` shifts the pattern's brightness."""

    amplitude: float = 0.3
    shade: int = 0


MediaSource = RtcMediaDevice | FileSource | SyntheticSource | MediaStreamTrack


def _player_track(player: MediaPlayer, kind: Kind, what: str) -> MediaStreamTrack:
    track = player.audio if kind == "audio" else player.video
    if track is None:
        raise ValueError(f"{what} has no {kind} stream")
    return track


def _synthetic(source: SyntheticSource, kind: Kind) -> MediaStreamTrack:
    return ToneTrack(source.amplitude) if kind == "audio" else TestPatternTrack(shade=source.shade)


def open_source(source: MediaSource | None, kind: Kind) -> MediaStreamTrack:
    """A live track of ``kind`` from ``source``; None picks the first device, or the synthetic source."""
    if isinstance(source, MediaStreamTrack):
        if source.kind != kind:
            raise ValueError(f"a {source.kind} track cannot be the {kind} source")
        return source
    if isinstance(source, FileSource):
        return _player_track(MediaPlayer(str(source.path), loop=source.loop), kind, str(source.path))
    if isinstance(source, SyntheticSource):
        return _synthetic(source, kind)
    if isinstance(source, RtcMediaDevice):
        return _player_track(MediaPlayer(source.id, format=source.format), kind, source.label)
    devices = enumerate_devices(DEVICE_KIND[kind])
    for device in devices:
        try:
            return open_source(device, kind)
        except Exception as error:  # a busy or broken device: try the next
            log.warning("cannot open %s (%s): %s", device.label, device.id, error)
    log.warning("no usable %s device on this machine: sending the synthetic %s", kind,
                "tone" if kind == "audio" else "test pattern")
    return _synthetic(SyntheticSource(), kind)


__all__ = ["FileSource", "MediaSource", "SyntheticSource", "open_source"]
