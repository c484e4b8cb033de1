"""Recording requests and responses (the seed's names): start, stop, list and delete, and the egress block."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from weir.protocol.rtmp_broadcasts import EgressRTMPResponse

RecordingType = Literal["composite", "individual", "raw"]
RECORDING_TYPES: tuple[RecordingType, ...] = ("composite", "individual", "raw")
EgressStatus = Literal["running", "stopped", "failed"]


class StartRecordingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recording_type: RecordingType = "composite"
    recording_external_storage: str | None = Field(default=None, min_length=1, max_length=255)


class StartRecordingResponse(BaseModel):
    egress_id: str
    duration: str = ""


class StartFrameRecordingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recording_external_storage: str | None = Field(default=None, min_length=1, max_length=255)


class CallRecording(BaseModel):
    filename: str
    url: str
    start_time: datetime
    end_time: datetime
    session_id: str
    recording_type: RecordingType


class ListRecordingsResponse(BaseModel):
    recordings: list[CallRecording]
    duration: str = ""


class FrameCapture(BaseModel):
    """One image of a frame recording (Weir's listing: the seed has only ``call.frame_recording_ready``)."""

    filename: str
    url: str
    captured_at: datetime
    session_id: str
    egress_id: str


class ListFrameCapturesResponse(BaseModel):
    frame_captures: list[FrameCapture]
    duration: str = ""


class EgressTypeStatus(BaseModel):
    status: EgressStatus


class EgressHLSResponse(BaseModel):
    playlist_url: str
    status: EgressStatus


class EgressResponse(BaseModel):
    """What a call's egress is doing; a type that never ran is absent."""

    broadcasting: bool = False
    hls: EgressHLSResponse | None = None
    composite_recording: EgressTypeStatus | None = None
    individual_recording: EgressTypeStatus | None = None
    raw_recording: EgressTypeStatus | None = None
    frame_recording: EgressTypeStatus | None = None
    rtmps: list[EgressRTMPResponse] = Field(default_factory=list)


def egress_response(status: dict[str, Any], broadcasting: bool) -> EgressResponse:
    """The egress block from a call's stored ``egress_status`` ({"individual_recording": "running", ...,
    "hls": "running", "hls_playlist_url": ..., "rtmps": [{"name": ..., "started_at": ..., "stream_url": ...}]})."""
    fields: dict[str, EgressTypeStatus | EgressHLSResponse] = {
        name: EgressTypeStatus(status=value) for name, value in status.items()
        if name.endswith("_recording") and name in EgressResponse.model_fields
        and value in ("running", "stopped", "failed")}
    if status.get("hls") in ("running", "stopped", "failed") and status.get("hls_playlist_url"):
        fields["hls"] = EgressHLSResponse(playlist_url=status["hls_playlist_url"], status=status["hls"])
    rtmps = [EgressRTMPResponse.model_validate(rtmp) for rtmp in status.get("rtmps") or []]
    return EgressResponse(broadcasting=broadcasting, rtmps=rtmps, **fields)  # type: ignore[arg-type]
