"""Routes: start and stop transcription and closed captions, list and delete transcripts (the seed's paths)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from weir.coordinator.auth import Caller, caller, services, user_caller
from weir.coordinator.call_service import load_call
from weir.coordinator.recorder import recording_url
from weir.coordinator.recording_files import delete_file
from weir.coordinator.routes.calls import CallId, CallType
from weir.coordinator.routes.recordings import Filename, SessionId, call_files
from weir.coordinator.transcriber import Transcriber
from weir.domain.capabilities import Capability
from weir.protocol.common import Empty
from weir.protocol.errors import not_found
from weir.protocol.transcriptions import (
    AiKind,
    CallTranscription,
    ListTranscriptionsResponse,
    StartClosedCaptionsRequest,
    StartTranscriptionRequest,
    StopClosedCaptionsRequest,
    StopTranscriptionRequest,
)
from weir.store.tables import RecordingRow

router = APIRouter(prefix="/video/call", tags=["transcription"])
TRANSCRIPT = RecordingRow.recording_type == "transcription"
STOP_CAPABILITY: dict[AiKind, Capability] = {
    "transcription": Capability.STOP_TRANSCRIPTION_CALL, "closed_captions": Capability.STOP_CLOSED_CAPTIONS_CALL,
}


@router.post("/{type}/{id}/start_transcription", response_model=Empty, summary="Start transcribing the call")
async def start_transcription(
    request: Request, type: CallType, id: CallId, body: StartTranscriptionRequest | None = None,
    who: Caller = Depends(caller("StartTranscription")),
) -> Empty:
    body = body or StartTranscriptionRequest()
    async with services(request).db.transaction() as session:
        call, access = await load_call(session, who, type, id)
        access.require(Capability.START_TRANSCRIPTION_CALL)
        transcriber = Transcriber(services(request), session, call)
        await transcriber.start("transcription", access.settings.raw, body.language,
                                external_storage=body.transcription_external_storage)
        if body.enable_closed_captions and not await transcriber.running("closed_captions"):
            access.require(Capability.START_CLOSED_CAPTIONS_CALL)
            await transcriber.start("closed_captions", access.settings.raw, body.language)
    return Empty()


@router.post("/{type}/{id}/stop_transcription", response_model=Empty, summary="Stop transcribing the call")
async def stop_transcription(
    request: Request, type: CallType, id: CallId, body: StopTranscriptionRequest | None = None,
    who: Caller = Depends(caller("StopTranscription")),
) -> Empty:
    return await _stop(request, who, type, id, "transcription", body is not None and body.stop_closed_captions)


@router.post("/{type}/{id}/start_closed_captions", response_model=Empty, summary="Start live closed captions")
async def start_closed_captions(
    request: Request, type: CallType, id: CallId, body: StartClosedCaptionsRequest | None = None,
    who: Caller = Depends(caller("StartClosedCaptions")),
) -> Empty:
    body = body or StartClosedCaptionsRequest()
    segments = body.speech_segment_config.model_dump(exclude_none=True) if body.speech_segment_config else None
    async with services(request).db.transaction() as session:
        call, access = await load_call(session, who, type, id)
        access.require(Capability.START_CLOSED_CAPTIONS_CALL)
        transcriber = Transcriber(services(request), session, call)
        await transcriber.start("closed_captions", access.settings.raw, body.language, segments=segments)
        if body.enable_transcription and not await transcriber.running("transcription"):
            access.require(Capability.START_TRANSCRIPTION_CALL)
            await transcriber.start("transcription", access.settings.raw, body.language,
                                    external_storage=body.external_storage, segments=segments)
    return Empty()


@router.post("/{type}/{id}/stop_closed_captions", response_model=Empty, summary="Stop live closed captions")
async def stop_closed_captions(
    request: Request, type: CallType, id: CallId, body: StopClosedCaptionsRequest | None = None,
    who: Caller = Depends(caller("StopClosedCaptions")),
) -> Empty:
    return await _stop(request, who, type, id, "closed_captions", body is not None and body.stop_transcription)


async def _stop(request: Request, who: Caller, type: str, id: str, kind: AiKind, with_other: bool) -> Empty:
    """Stop ``kind``'s job, and the other kind's too (if running) when the body asks for both."""
    other: AiKind = "closed_captions" if kind == "transcription" else "transcription"
    async with services(request).db.transaction() as session:
        call, access = await load_call(session, who, type, id)
        access.require(STOP_CAPABILITY[kind])
        transcriber = Transcriber(services(request), session, call)
        await transcriber.stop(kind)
        if with_other:
            access.require(STOP_CAPABILITY[other])
            await transcriber.stop(other, required=False)
    return Empty()


@router.get("/{type}/{id}/transcriptions", response_model=ListTranscriptionsResponse,
            summary="List the call's transcripts")
async def list_transcriptions(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(user_caller("ListTranscriptions")),
) -> ListTranscriptionsResponse:
    weir = services(request)
    rows = await call_files(weir, who, type, id, TRANSCRIPT)
    return ListTranscriptionsResponse(transcriptions=[CallTranscription(
        filename=row.filename, url=await recording_url(weir, row.storage, row.key), start_time=row.start_time,
        end_time=row.end_time, session_id=row.session_id) for row in rows])


@router.delete("/{type}/{id}/{session}/transcriptions/{filename}", response_model=Empty,
               summary="Delete a transcript")
async def delete_transcription(
    request: Request, type: CallType, id: CallId, session: SessionId, filename: Filename,
    who: Caller = Depends(user_caller("DeleteTranscription")),
) -> Empty:
    weir = services(request)
    async with weir.db.transaction() as db_session:
        call, access = await load_call(db_session, who, type, id)
        access.require(Capability.STOP_TRANSCRIPTION_CALL)
        row = await db_session.scalar(select(RecordingRow).where(
            RecordingRow.call_cid == call.cid, RecordingRow.session_id == session, RecordingRow.filename == filename,
            TRANSCRIPT))
        if row is None:
            raise not_found(f"transcription {filename} of session {session}")
        await delete_file(weir, db_session, row)
    return Empty()
