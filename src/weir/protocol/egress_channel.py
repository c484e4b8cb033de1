"""The recording workers' internal channel to the coordinator (``/internal/egress``): its request and answer
bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class WorkerRequest(BaseModel):
    worker_id: str = Field(min_length=1, max_length=128)


class ClaimRequest(WorkerRequest):
    kinds: list[str] | None = Field(default=None, max_length=16)  # None: the recording kinds


class ClaimedJob(BaseModel):
    egress_id: str
    call_cid: str
    recording_type: str
    options: dict[str, Any]
    token: str
    started_at: datetime
    lease_seconds: float
    session_id: str | None = None
    external_storage: str | None = None


class ClaimResponse(BaseModel):
    job: ClaimedJob | None = None


class HeartbeatResponse(BaseModel):
    status: str  # running, stopping, or lost (another worker's, or over)
    options: dict[str, Any] | None = None  # the job's options now (a call's new transcription language)


class FinishedFileModel(BaseModel):
    filename: str
    storage: str
    key: str
    start_time: datetime
    end_time: datetime


class CaptionModel(BaseModel):
    speaker_id: str = Field(min_length=1, max_length=255)
    text: str = Field(min_length=1, max_length=5000)
    start_time: datetime
    end_time: datetime
    language: str = Field(max_length=16)


class CaptionsRequest(WorkerRequest):
    captions: list[CaptionModel] = Field(max_length=100)


class FinishRequest(WorkerRequest):
    files: list[FinishedFileModel] = Field(default_factory=list)
    error: str | None = Field(default=None, max_length=2000)


class FrameRequest(WorkerRequest):
    """A frame recording's JPEG, written to the job's ``frames`` folder: the coordinator stores and announces it."""

    filename: str = Field(pattern=r"^[A-Za-z0-9_-]{1,200}\.jpg$")
    user_id: str = Field(min_length=1, max_length=255)
    track_type: Literal["TRACK_TYPE_VIDEO", "TRACK_TYPE_SCREEN_SHARE"]
    captured_at: datetime
