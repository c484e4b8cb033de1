"""Transcription and closed-caption jobs at the coordinator: start, stop, auto-on, the worker's captions, the
transcript files, and a call's language change reaching its running jobs.

Each is an ``egress_jobs`` row of kind ``transcription`` or ``closed_captions``, claimed by the AI worker
(``weir worker ai``) with the recording jobs' lease machinery (recorder.py): a job whose worker died fails and
keeps the transcript chunks written so far. A transcript file is a ``recordings`` row of type ``transcription``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.ai.translation import NoTranslationEngine, translation_engine
from weir.coordinator.call_access import effective_settings, load_call_type
from weir.coordinator.egress_jobs import ACTIVE, wake_workers
from weir.coordinator.recorder import recording_url, storage_for, store_files
from weir.coordinator.services import Services
from weir.coordinator.userview import user_response
from weir.domain.clock import now
from weir.egress.delivery import FinishedFile
from weir.protocol import events as ev
from weir.protocol.egress_channel import CaptionModel
from weir.protocol.errors import APIError, ErrorCode, input_error
from weir.protocol.transcriptions import AI_KINDS, AiKind, CallClosedCaption
from weir.storage.base import DEFAULT_STORAGE
from weir.store.sessions import new_id
from weir.store.tables import CallRow, EgressJobRow, RecordingRow, UserRow

log = logging.getLogger(__name__)
FLAG: dict[str, str] = {"transcription": "transcribing", "closed_captions": "captioning"}
MODE_KEY: dict[str, str] = {"transcription": "mode", "closed_captions": "closed_caption_mode"}
NAME: dict[str, str] = {"transcription": "transcription", "closed_captions": "closed captioning"}
DEFAULT_SEGMENTS = {"max_speech_caption_ms": 9000, "silence_duration_ms": 700}


def transcription_settings(settings: dict[str, Any]) -> dict[str, Any]:
    section = settings.get("transcription")
    return section if isinstance(section, dict) else {}


def language_of(settings: dict[str, Any]) -> str:
    """The call's transcription language (its call type's, unless the call overrides it)."""
    return str(transcription_settings(settings).get("language") or "en")


def segment_config(settings: dict[str, Any], requested: dict[str, Any] | None) -> dict[str, int]:
    """Speech segmentation: the defaults, under the call's settings, under the start request's."""
    stored = transcription_settings(settings).get("speech_segment_config") or {}
    return {**DEFAULT_SEGMENTS, **{k: v for k, v in {**stored, **(requested or {})}.items() if v is not None}}


class Transcriber:
    """One call's transcription and closed captions, inside the caller's transaction."""

    def __init__(self, weir: Services, session: AsyncSession, call: CallRow) -> None:
        self.weir, self.session, self.call = weir, session, call

    async def active(self, kind: str) -> list[EgressJobRow]:
        query = select(EgressJobRow).where(EgressJobRow.call_cid == self.call.cid, EgressJobRow.recording_type == kind,
                                           EgressJobRow.status.in_(ACTIVE))
        return list((await self.session.scalars(query.order_by(EgressJobRow.created_at))).all())

    async def running(self, kind: AiKind) -> bool:
        return any(job.status != "stopping" for job in await self.active(kind))

    async def start(self, kind: AiKind, settings: dict[str, Any], language: str | None, *,
                    external_storage: str | None = None, segments: dict[str, Any] | None = None,
                    trigger: str = "api") -> EgressJobRow:
        """A job for the AI worker; ``language`` (the request's) wins over the call's and its call type's."""
        if self.call.ended_at is not None:
            raise APIError(ErrorCode.NOT_ALLOWED, f"the call has ended: {NAME[kind]} cannot start")
        if await self.running(kind):
            raise APIError(ErrorCode.CONFLICT, f"{NAME[kind]} of this call is already running")
        if (transcription_settings(settings).get("translation") or {}).get("enabled"):
            try:
                translation_engine()
            except NoTranslationEngine as error:
                raise input_error("transcription.translation", str(error)) from error
        if kind == "transcription":
            external_storage = await storage_for(self.session, self.call, external_storage,
                                                 "transcription_external_storage")
        configured = language_of(settings)
        options = {"language": language or configured, "settings_language": configured,
                   "speech_segment_config": segment_config(settings, segments)}
        job = EgressJobRow(id=new_id(), call_cid=self.call.cid, session_id=self.call.current_session_id,
                           recording_type=kind, status="pending", trigger=trigger,
                           external_storage=external_storage, options=options, created_at=now())
        self.session.add(job)
        wake_workers(self.weir, self.session)
        self._set_flag(kind, True)
        await self._emit(kind, 0, job)
        return job

    async def stop(self, kind: AiKind, *, required: bool = True) -> list[EgressJobRow]:
        """Ask the worker to finish (its transcript follows); a job no worker claimed yet just ends."""
        jobs = [job for job in await self.active(kind) if job.status != "stopping"]
        if not jobs and required:
            raise APIError(ErrorCode.INPUT_ERROR, f"no {NAME[kind]} of this call is running")
        for job in jobs:
            if job.status == "pending":
                job.status, job.ended_at = "completed", now()
            else:
                job.status = "stopping"
            await self._emit(kind, 1, job)
        if jobs:
            self._set_flag(kind, False)
        return jobs

    async def finish(self, job: EgressJobRow, files: list[FinishedFile], error: str | None) -> None:
        """The worker is done with ``job`` (or failed, or died: ``error``); its transcript becomes a file."""
        if job.status not in ACTIVE:
            return
        rows = await store_files(self.weir, self.session, self.call, job, files)
        stopped = job.status == "stopping"
        job.status, job.ended_at, job.error = ("failed" if error else "completed"), now(), error
        if not stopped:
            self._set_flag(job.recording_type, False)
        if error:
            await self._emit(job.recording_type, 2, job, error=error)
        for row in rows:
            if row.storage == DEFAULT_STORAGE:
                await self.ready(job, row)

    async def ready(self, job: EgressJobRow, row: RecordingRow) -> None:
        """``call.transcription_ready``: the transcript is in its store."""
        await self.weir.events.emit(self.session, ev.CallTranscriptionReadyEvent(
            created_at=now(), call_cid=self.call.cid, egress_id=job.id, call_transcription={
                "filename": row.filename, "url": await recording_url(self.weir, row.storage, row.key),
                "start_time": row.start_time.isoformat(), "end_time": row.end_time.isoformat(),
                "session_id": row.session_id}), call_cid=self.call.cid)

    async def caption(self, job: EgressJobRow, captions: Sequence[CaptionModel]) -> None:
        """The worker's finished captions, each a ``call.closed_caption`` event with its speaker."""
        if job.recording_type != "closed_captions":
            return
        for caption in captions:
            user = await self.session.get(UserRow, caption.speaker_id)
            if user is None:
                continue  # not a user of this deployment (the worker only hears participants)
            closed = CallClosedCaption(
                id=new_id(), text=caption.text, speaker_id=caption.speaker_id, start_time=caption.start_time,
                end_time=caption.end_time, language=caption.language, user=user_response(user))
            await self.weir.events.emit(self.session, ev.ClosedCaptionEvent(
                created_at=now(), call_cid=self.call.cid, closed_caption=closed.model_dump(mode="json")),
                call_cid=self.call.cid)

    def _set_flag(self, kind: str, value: bool) -> None:
        setattr(self.call, FLAG[kind], value)
        self.call.updated_at = now()

    async def _emit(self, kind: str, which: int, job: EgressJobRow, **fields: Any) -> None:
        """``which``: 0 started, 1 stopped, 2 failed."""
        base: dict[str, Any] = {"created_at": now(), "call_cid": self.call.cid}
        event: ev.CallEvent
        if kind == "transcription":
            model = (ev.CallTranscriptionStartedEvent, ev.CallTranscriptionStoppedEvent,
                     ev.CallTranscriptionFailedEvent)[which]
            event = model(egress_id=job.id, **base, **fields)
        else:
            captions = (ev.CallClosedCaptionsStartedEvent, ev.CallClosedCaptionsStoppedEvent,
                        ev.CallClosedCaptionsFailedEvent)[which]
            event = captions(**base, **fields)
        await self.weir.events.emit(self.session, event, call_cid=self.call.cid)


async def follow_language(session: AsyncSession, job: EgressJobRow) -> None:
    """A language set on the call (or its type) since the job started replaces the job's."""
    call = await session.get(CallRow, job.call_cid)
    if call is None:
        return
    current = language_of(effective_settings(await load_call_type(session, call.type), call))
    if current != job.options.get("settings_language"):
        job.options = {**job.options, "language": current, "settings_language": current}


async def session_started(weir: Services, session: AsyncSession, call: CallRow, settings: dict[str, Any]) -> None:
    """``auto-on``: the first participant's join starts transcription and captions set to it."""
    transcriber = Transcriber(weir, session, call)
    for kind in AI_KINDS:
        if transcription_settings(settings).get(MODE_KEY[kind]) == "auto-on" and not await transcriber.running(kind):
            try:
                await transcriber.start(kind, settings, None, trigger="auto")
            except APIError as error:  # a join never fails for it
                log.warning("auto-on %s of %s did not start: %s", kind, call.cid, error.message)


async def session_ended(weir: Services, session: AsyncSession, call: CallRow) -> None:
    """The last participant left or the call ended: transcription and captions stop."""
    transcriber = Transcriber(weir, session, call)
    for kind in AI_KINDS:
        await transcriber.stop(kind, required=False)
