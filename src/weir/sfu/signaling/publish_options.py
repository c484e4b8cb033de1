"""What the SFU asks publishers to send, derived from the call's settings (sent in ``join_response``).

Camera video is simulcast in three layers, q/h/f at 1/4, 1/2 and full resolution; the bitrates follow the area
(1/16, 1/4, 1), as the seed's bandwidth table does (720p takes about a quarter of 1440p's bitrate). Screen
shares are one full-resolution layer: text must stay sharp, and subscribers rarely shrink it.
"""

from __future__ import annotations

from typing import Any

from weir.protocol.sfu.models import PublishLayer, PublishOption, TrackType

SIMULCAST = (("q", 4.0), ("h", 2.0), ("f", 1.0))
SPEECH_BITRATE = 32_000
HIFI_BITRATE = 128_000
DEFAULT_TARGET = {"width": 1280, "height": 720, "bitrate": 1_500_000}


def _video(track_type: TrackType, section: dict[str, Any], scales: tuple[tuple[str, float], ...]) -> PublishOption:
    target = section.get("target_resolution") or DEFAULT_TARGET
    bitrate = int(target["bitrate"])
    layers = [PublishLayer(rid=rid, scale_resolution_down_by=scale, max_bitrate=int(bitrate / (scale * scale)))
              for rid, scale in scales]
    return PublishOption(track_type=track_type, codec="vp8", max_bitrate=bitrate, width=int(target["width"]),
                         height=int(target["height"]), layers=layers)


def _audio(track_type: TrackType, audio: dict[str, Any]) -> PublishOption:
    hifi = bool(audio.get("hifi_audio_enabled"))
    return PublishOption(
        track_type=track_type, codec="opus", max_bitrate=HIFI_BITRATE if hifi else SPEECH_BITRATE,
        dtx=bool(audio.get("opus_dtx_enabled")) and not hifi, red=bool(audio.get("redundant_coding_enabled")),
    )


def publish_options(settings: dict[str, Any]) -> list[PublishOption]:
    audio = settings.get("audio") or {}
    video = settings.get("video") or {}
    screen = settings.get("screensharing") or {}
    options = [_audio("audio", audio)]
    if video.get("enabled", True):
        options.append(_video("video", video, SIMULCAST))
    if screen.get("enabled", True):
        options += [_video("screen_share", screen, SIMULCAST[-1:]), _audio("screen_share_audio", audio)]
    return options


__all__ = ["publish_options"]
