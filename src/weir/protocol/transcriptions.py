"""Transcription and closed-caption requests and responses (the seed's names), and the caption model."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from weir.domain.settings import SpeechSegmentConfig, TranscriptionLanguage
from weir.protocol.users import UserResponse

AiKind = Literal["transcription", "closed_captions"]
AI_KINDS: tuple[AiKind, ...] = ("transcription", "closed_captions")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartTranscriptionRequest(_Request):
    language: TranscriptionLanguage | None = None
    enable_closed_captions: bool = False
    transcription_external_storage: str | None = Field(default=None, min_length=1, max_length=255)


class StopTranscriptionRequest(_Request):
    stop_closed_captions: bool = False


class StartClosedCaptionsRequest(_Request):
    language: TranscriptionLanguage | None = None
    enable_transcription: bool = False
    external_storage: str | None = Field(default=None, min_length=1, max_length=255)
    speech_segment_config: SpeechSegmentConfig | None = None


class StopClosedCaptionsRequest(_Request):
    stop_transcription: bool = False


class CallTranscription(BaseModel):
    filename: str
    url: str
    start_time: datetime
    end_time: datetime
    session_id: str


class ListTranscriptionsResponse(BaseModel):
    transcriptions: list[CallTranscription]
    duration: str = ""


class CallClosedCaption(BaseModel):
    """One finished caption: what ``speaker_id`` said between ``start_time`` and ``end_time``."""

    id: str
    text: str
    speaker_id: str
    start_time: datetime
    end_time: datetime
    language: str
    translated: bool = False
    user: UserResponse
    service: str | None = None
