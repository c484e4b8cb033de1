"""The recording operations of ``Call``: start and stop the server's recording, list and delete its files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from weir.protocol.common import Empty
from weir.protocol.recordings import (
    CallRecording,
    ListRecordingsResponse,
    RecordingType,
    StartRecordingRequest,
    StartRecordingResponse,
)

if TYPE_CHECKING:
    from weir.client.client import StreamVideo

M = TypeVar("M", bound=BaseModel)


class CallRecordings:
    """Mixed into ``Call``."""

    if TYPE_CHECKING:
        _client: StreamVideo

        @property
        def _path(self) -> str: ...

        async def _post(self, suffix: str, model: type[M], body: Any = None) -> M: ...

    async def start_recording(self, recording_type: RecordingType = "composite",
                              recording_external_storage: str | None = None) -> str:
        """Start recording the call on the server (``start-record-call``); returns the egress id."""
        body = StartRecordingRequest(recording_type=recording_type,
                                     recording_external_storage=recording_external_storage)
        return (await self._post("/start_recording", StartRecordingResponse, body.model_dump())).egress_id

    async def stop_recording(self, recording_type: RecordingType | None = None) -> None:
        """Stop the call's recordings (of one type, if given); ``call.recording_ready`` follows per file."""
        await self._post(f"/recordings/{recording_type}/stop" if recording_type else "/stop_recording", Empty)

    async def list_recordings(self) -> list[CallRecording]:
        """The call's recording files, each at a signed URL that expires."""
        response = await self._client._request("GET", self._path + "/recordings", ListRecordingsResponse)
        return response.recordings

    async def delete_recording(self, session: str, filename: str) -> None:
        await self._client._request("DELETE", f"{self._path}/{session}/recordings/{filename}", Empty)
