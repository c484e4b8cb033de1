"""Call settings: the request schema with the documented ranges, the full defaults, and the override merge.

Requests are partial: a call type update or a call's ``settings_override`` names only what changes, and
``merge_settings`` lays it over the call type's settings. Stored settings are plain JSON dicts.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from weir.protocol.freeform import FreeForm

Mode = Literal["available", "disabled", "auto-on"]
Quality = Literal[
    "audio-only", "360p", "480p", "720p", "1080p", "1440p",
    "portrait-360x640", "portrait-480x854", "portrait-720x1280", "portrait-1080x1920", "portrait-1440x2560",
]
FrameQuality = Literal["360p", "480p", "720p", "1080p", "1440p"]
Geofence = Literal[
    "european_union", "iran_north_korea_syria_exclusion", "china_exclusion", "russia_exclusion",
    "belarus_exclusion", "india", "united_states", "canada", "united_kingdom",
]
TranscriptionLanguage = Literal[
    "auto", "en", "fr", "es", "de", "it", "nl", "pt", "pl", "ca", "cs", "da", "el", "fi", "id", "ja", "ru", "sv",
    "ta", "th", "tr", "hu", "ro", "zh", "ar", "tl", "he", "hi", "hr", "ko", "ms", "no", "uk", "bg", "et", "sl", "sk",
]


class Partial(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetResolution(Partial):
    width: int = Field(ge=240, le=3840)
    height: int = Field(ge=240, le=3840)
    bitrate: int | None = Field(default=None, ge=0, le=6_000_000)


class LayoutSettings(Partial):
    name: Literal["spotlight", "grid", "single-participant", "mobile", "custom"]
    options: FreeForm | None = None
    external_css_url: str | None = Field(default=None, max_length=2048)
    external_app_url: str | None = Field(default=None, max_length=2048)
    detect_orientation: bool | None = None


class NoiseCancellationSettings(Partial):
    mode: Mode


class AudioSettings(Partial):
    access_request_enabled: bool | None = None
    default_device: Literal["speaker", "earpiece"] | None = None
    hifi_audio_enabled: bool | None = None
    mic_default_on: bool | None = None
    noise_cancellation: NoiseCancellationSettings | None = None
    opus_dtx_enabled: bool | None = None
    redundant_coding_enabled: bool | None = None
    speaker_default_on: bool | None = None


class BackstageSettings(Partial):
    enabled: bool | None = None
    join_ahead_time_seconds: int | None = Field(default=None, ge=0)


class HLSSettings(Partial):
    auto_on: bool | None = None
    enabled: bool | None = None
    layout: LayoutSettings | None = None
    quality_tracks: list[Quality] | None = Field(default=None, min_length=1, max_length=3)


class RTMPSettings(Partial):
    enabled: bool | None = None
    layout: LayoutSettings | None = None
    quality: Quality | None = None


class BroadcastSettings(Partial):
    enabled: bool | None = None
    hls: HLSSettings | None = None
    rtmp: RTMPSettings | None = None


class FrameRecordingSettings(Partial):
    capture_interval_in_seconds: int | None = Field(default=None, ge=2, le=60)
    mode: Mode | None = None
    quality: FrameQuality | None = None


class GeofenceSettings(Partial):
    names: list[Geofence] | None = None


class ModeSettings(Partial):
    mode: Mode | None = None


class IngressAudioEncodingOptions(Partial):
    bitrate: int = Field(ge=16000, le=128000)
    channels: Literal[1, 2]
    enable_dtx: bool | None = None


class IngressSettings(Partial):
    enabled: bool | None = None
    audio_encoding_options: IngressAudioEncodingOptions | None = None
    video_encoding_options: FreeForm | None = None


class LimitsSettings(Partial):
    max_duration_seconds: int | None = Field(default=None, ge=0)
    max_participants: int | None = Field(default=None, ge=0)
    max_participants_exclude_owner: bool | None = None
    max_participants_exclude_roles: list[str] | None = None


class RecordSettings(Partial):
    audio_only: bool | None = None
    layout: LayoutSettings | None = None
    mode: Mode | None = None
    quality: Quality | None = None


class RingSettings(Partial):
    """Timeouts are 5000–180000 ms, or 0 for "off": the built-in audio_room and livestream types ship with 0."""

    auto_cancel_timeout_ms: int | None = None
    incoming_call_timeout_ms: int | None = None
    missed_call_timeout_ms: int | None = None
    end_call_when_all_rejected: bool | None = Field(
        default=None, description="Weir's addition: end the call when every callee rejects (default true)"
    )

    @field_validator("auto_cancel_timeout_ms", "incoming_call_timeout_ms", "missed_call_timeout_ms")
    @classmethod
    def _timeout_range(cls, value: int | None) -> int | None:
        if value is not None and value != 0 and not 5000 <= value <= 180_000:
            raise ValueError("must be 0 (off) or between 5000 and 180000 ms")
        return value


class ScreensharingSettings(Partial):
    access_request_enabled: bool | None = None
    enabled: bool | None = None
    target_resolution: TargetResolution | None = None


class SessionSettings(Partial):
    inactivity_timeout_seconds: int | None = Field(default=None, ge=5, le=900)


class ThumbnailsSettings(Partial):
    enabled: bool | None = None


class SpeechSegmentConfig(Partial):
    max_speech_caption_ms: int | None = Field(default=None, ge=5000, le=10000)
    silence_duration_ms: int | None = Field(default=None, ge=300, le=2000)


class TranslationSettings(Partial):
    enabled: bool
    languages: list[TranscriptionLanguage]


class TranscriptionSettings(Partial):
    closed_caption_mode: Mode | None = None
    language: TranscriptionLanguage | None = None
    mode: Mode | None = None
    speech_segment_config: SpeechSegmentConfig | None = None
    translation: TranslationSettings | None = None


class VideoSettings(Partial):
    access_request_enabled: bool | None = None
    camera_default_on: bool | None = None
    camera_facing: Literal["front", "back", "external"] | None = None
    enabled: bool | None = None
    target_resolution: TargetResolution | None = None


class CallSettingsRequest(Partial):
    """Every sub-object and field is optional: what is given is merged over the current settings."""

    audio: AudioSettings | None = None
    backstage: BackstageSettings | None = None
    broadcasting: BroadcastSettings | None = None
    frame_recording: FrameRecordingSettings | None = None
    geofencing: GeofenceSettings | None = None
    individual_recording: ModeSettings | None = None
    ingress: IngressSettings | None = None
    limits: LimitsSettings | None = None
    raw_recording: ModeSettings | None = None
    recording: RecordSettings | None = None
    ring: RingSettings | None = None
    screensharing: ScreensharingSettings | None = None
    session: SessionSettings | None = None
    thumbnails: ThumbnailsSettings | None = None
    transcription: TranscriptionSettings | None = None
    video: VideoSettings | None = None

    def as_patch(self) -> dict[str, Any]:
        """The fields the request set, ready for ``merge_settings``."""
        return self.model_dump(exclude_unset=True, exclude_none=True)


def _layout() -> dict[str, Any]:
    return {"name": "spotlight", "options": {}, "external_css_url": "", "external_app_url": ""}


def default_settings() -> dict[str, Any]:
    """The complete settings of a call type created without any: the ``default`` type's values."""
    return {
        "audio": {
            "access_request_enabled": True, "opus_dtx_enabled": True, "redundant_coding_enabled": True,
            "mic_default_on": True, "speaker_default_on": True, "default_device": "earpiece",
            "hifi_audio_enabled": False, "noise_cancellation": {"mode": "available"},
        },
        "backstage": {"enabled": False, "join_ahead_time_seconds": 0},
        "video": {
            "enabled": True, "access_request_enabled": True, "camera_default_on": True, "camera_facing": "front",
            "target_resolution": {"width": 2560, "height": 1440, "bitrate": 5_000_000},
        },
        "screensharing": {
            "enabled": True, "access_request_enabled": True,
            "target_resolution": {"width": 1920, "height": 1080, "bitrate": 3_000_000},
        },
        "recording": {"mode": "available", "quality": "720p", "audio_only": False, "layout": _layout()},
        "broadcasting": {
            "enabled": True,
            "hls": {"enabled": True, "auto_on": False, "quality_tracks": ["720p"], "layout": _layout()},
            "rtmp": {"enabled": True, "quality": "720p", "layout": _layout()},
        },
        "frame_recording": {"mode": "available", "capture_interval_in_seconds": 10, "quality": "720p"},
        "individual_recording": {"mode": "available"},
        "raw_recording": {"mode": "available"},
        "geofencing": {"names": []},
        "ingress": {
            "enabled": True, "audio_encoding_options": {"bitrate": 128000, "channels": 2, "enable_dtx": False},
            "video_encoding_options": {},
        },
        "limits": {
            "max_duration_seconds": 0, "max_participants": 0, "max_participants_exclude_owner": False,
            "max_participants_exclude_roles": [],
        },
        "transcription": {
            "mode": "available", "closed_caption_mode": "available", "language": "en",
            "speech_segment_config": {"max_speech_caption_ms": 9000, "silence_duration_ms": 700},
            "translation": {"enabled": False, "languages": []},
        },
        "ring": {
            "incoming_call_timeout_ms": 15000, "auto_cancel_timeout_ms": 15000, "missed_call_timeout_ms": 15000,
            "end_call_when_all_rejected": True,
        },
        "session": {"inactivity_timeout_seconds": 30},
        "thumbnails": {"enabled": False},
    }


def merge_settings(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``patch`` over ``base``: nested objects merge, lists and scalars replace. Neither is mutated."""
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_settings(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
