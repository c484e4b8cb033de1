"""Broadcasting and going live (the seed's names): start and stop HLS, and what go_live / stop_live start or keep."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StartHLSBroadcastingResponse(BaseModel):
    playlist_url: str
    duration: str = ""


class GoLiveRequest(BaseModel):
    """What to start with going live, besides leaving backstage (each only if not running already)."""

    model_config = ConfigDict(extra="forbid")

    start_hls: bool = False
    start_recording: bool = False
    recording_storage_name: str | None = Field(default=None, min_length=1, max_length=255)
    start_transcription: bool = False
    transcription_storage_name: str | None = Field(default=None, min_length=1, max_length=255)
    start_closed_caption: bool = False


class StopLiveRequest(BaseModel):
    """What keeps running when the call goes back to backstage; everything not continued stops."""

    model_config = ConfigDict(extra="forbid")

    continue_hls: bool = False
    continue_recording: bool = False
    continue_rtmp_broadcasts: bool = False
    continue_transcription: bool = False
    continue_closed_caption: bool = False
