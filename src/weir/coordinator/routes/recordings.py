"""Routes: start and stop recording, list and delete recordings (the seed's paths), list frame captures (Weir's),
and the local store's files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import ColumnElement, select

from weir.coordinator.auth import Caller, caller, services, user_caller
from weir.coordinator.call_service import load_call
from weir.coordinator.recorder import FRAME, NOT_RECORDINGS, JobType, Recorder, recording_url
from weir.coordinator.recording_files import delete_file
from weir.coordinator.routes.calls import CallId, CallType
from weir.coordinator.services import Services
from weir.domain.capabilities import Capability
from weir.egress.delivery import local_store
from weir.protocol.common import Empty
from weir.protocol.errors import APIError, ErrorCode, not_found
from weir.protocol.recordings import (
    CallRecording,
    FrameCapture,
    ListFrameCapturesResponse,
    ListRecordingsResponse,
    RecordingType,
    StartFrameRecordingRequest,
    StartRecordingRequest,
    StartRecordingResponse,
)
from weir.storage.base import StorageError
from weir.storage.local import valid_signature
from weir.store.tables import RecordingRow

router = APIRouter(prefix="/video/call", tags=["recordings"])
files_router = APIRouter(tags=["recordings"])

SessionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Call session id")]
Filename = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,255}$", description="Recording file name")]
START = {"composite": Capability.START_RECORD_CALL, "individual": Capability.START_INDIVIDUAL_RECORD_CALL,
         "raw": Capability.START_RAW_RECORD_CALL, "frame": Capability.START_FRAME_RECORD_CALL}
STOP = {"composite": Capability.STOP_RECORD_CALL, "individual": Capability.STOP_INDIVIDUAL_RECORD_CALL,
        "raw": Capability.STOP_RAW_RECORD_CALL, "frame": Capability.STOP_FRAME_RECORD_CALL}


async def call_files(weir: Services, who: Caller, type_: str, id_: str,
                     kind: ColumnElement[bool]) -> Sequence[RecordingRow]:
    """The call's ``recordings`` rows of ``kind``, in time order: what a listing route reads."""
    async with weir.db.read() as session:
        call, _ = await load_call(session, who, type_, id_)
        return (await session.scalars(select(RecordingRow).where(RecordingRow.call_cid == call.cid, kind)
                                      .order_by(RecordingRow.start_time, RecordingRow.filename))).all()


async def _start(request: Request, who: Caller, type_: str, id_: str, job_type: JobType, storage: str | None) -> str:
    async with services(request).db.transaction() as session:
        call, access = await load_call(session, who, type_, id_)
        access.require(START[job_type])
        job = await Recorder(services(request), session, call).start(job_type, access.settings.raw, storage)
        return job.id


async def _stop(request: Request, who: Caller, type_: str, id_: str, recording_type: JobType | None) -> None:
    async with services(request).db.transaction() as session:
        call, access = await load_call(session, who, type_, id_)
        access.require(STOP[recording_type or "composite"])
        await Recorder(services(request), session, call).stop(recording_type)


@router.post("/{type}/{id}/start_recording", response_model=StartRecordingResponse, summary="Start recording")
async def start_recording(
    request: Request, type: CallType, id: CallId, body: StartRecordingRequest | None = None,
    who: Caller = Depends(caller("StartRecording")),
) -> StartRecordingResponse:
    body = body or StartRecordingRequest()
    return StartRecordingResponse(egress_id=await _start(request, who, type, id, body.recording_type,
                                                         body.recording_external_storage))


@router.post("/{type}/{id}/stop_recording", response_model=Empty, summary="Stop every recording of the call")
async def stop_recording(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(caller("StopRecording")),
) -> Empty:
    await _stop(request, who, type, id, None)
    return Empty()


@router.post("/{type}/{id}/recordings/{recording_type}/start", response_model=StartRecordingResponse,
             summary="Start a recording of one type")
async def start_typed_recording(
    request: Request, type: CallType, id: CallId, recording_type: RecordingType,
    body: StartRecordingRequest | None = None, who: Caller = Depends(caller("StartRecording")),
) -> StartRecordingResponse:
    storage = body.recording_external_storage if body else None
    return StartRecordingResponse(egress_id=await _start(request, who, type, id, recording_type, storage))


@router.post("/{type}/{id}/recordings/{recording_type}/stop", response_model=Empty,
             summary="Stop the recording of one type")
async def stop_typed_recording(
    request: Request, type: CallType, id: CallId, recording_type: RecordingType,
    who: Caller = Depends(caller("StopRecording")),
) -> Empty:
    await _stop(request, who, type, id, recording_type)
    return Empty()


@router.post("/{type}/{id}/start_frame_recording", response_model=StartRecordingResponse,
             summary="Start frame recording: a still image per participant per interval")
async def start_frame_recording(
    request: Request, type: CallType, id: CallId, body: StartFrameRecordingRequest | None = None,
    who: Caller = Depends(caller("StartFrameRecording")),
) -> StartRecordingResponse:
    storage = body.recording_external_storage if body else None
    return StartRecordingResponse(egress_id=await _start(request, who, type, id, "frame", storage))


@router.post("/{type}/{id}/stop_frame_recording", response_model=Empty, summary="Stop frame recording")
async def stop_frame_recording(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(caller("StopFrameRecording")),
) -> Empty:
    await _stop(request, who, type, id, "frame")
    return Empty()


@router.get("/{type}/{id}/recordings", response_model=ListRecordingsResponse, summary="List the call's recordings")
async def list_recordings(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(user_caller("ListRecordings")),
) -> ListRecordingsResponse:
    weir = services(request)
    rows = await call_files(weir, who, type, id, RecordingRow.recording_type.not_in(NOT_RECORDINGS))
    return ListRecordingsResponse(recordings=[CallRecording(
        filename=row.filename, url=await recording_url(weir, row.storage, row.key), start_time=row.start_time,
        end_time=row.end_time, session_id=row.session_id, recording_type=row.recording_type,  # type: ignore[arg-type]
    ) for row in rows])


@router.get("/{type}/{id}/frame_captures", response_model=ListFrameCapturesResponse,
            summary="List the images the call's frame recordings captured (Weir's own)")
async def list_frame_captures(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(user_caller("ListRecordings")),
) -> ListFrameCapturesResponse:
    weir = services(request)
    rows = await call_files(weir, who, type, id, RecordingRow.recording_type == FRAME)
    return ListFrameCapturesResponse(frame_captures=[FrameCapture(
        filename=row.filename, url=await recording_url(weir, row.storage, row.key), captured_at=row.start_time,
        session_id=row.session_id, egress_id=row.egress_id) for row in rows])


@router.delete("/{type}/{id}/{session}/recordings/{filename}", response_model=Empty, summary="Delete a recording")
async def delete_recording(
    request: Request, type: CallType, id: CallId, session: SessionId, filename: Filename,
    who: Caller = Depends(user_caller("DeleteRecording")),
) -> Empty:
    weir = services(request)
    async with weir.db.transaction() as db_session:
        call, access = await load_call(db_session, who, type, id)
        access.require(Capability.STOP_RECORD_CALL)
        row = await db_session.scalar(select(RecordingRow).where(
            RecordingRow.call_cid == call.cid, RecordingRow.session_id == session, RecordingRow.filename == filename,
            RecordingRow.recording_type.not_in(NOT_RECORDINGS)))
        if row is None:
            raise not_found(f"recording {filename} of session {session}")
        await delete_file(weir, db_session, row)
    return Empty()


@files_router.get("/storage/local/{key:path}", summary="A file of Weir's own storage, at its signed URL",
                  response_class=FileResponse)
async def local_file(
    request: Request, key: str, expires: Annotated[int, Query()], signature: Annotated[str, Query(max_length=128)],
) -> FileResponse:
    weir = services(request)
    if not valid_signature(weir.api_secret, key, expires, signature):
        raise APIError(ErrorCode.NOT_ALLOWED, "the link is invalid or has expired")
    try:
        path = local_store(weir.settings).path(key)
    except StorageError as error:
        raise not_found(f"file {key}") from error
    if not path.is_file():
        raise not_found(f"file {key}")
    return FileResponse(path, filename=path.name)
