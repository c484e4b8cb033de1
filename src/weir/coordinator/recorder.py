"""Recording jobs at the coordinator: start, stop, auto-on, the workers' reports, and jobs whose worker died.

A job is an ``egress_jobs`` row. Workers claim pending jobs with a lease they renew (``routes/egress_internal``);
every change here happens inside the caller's transaction, with its events, so nothing is half-written. A job
whose lease lapsed lost its worker: what that worker wrote so far is stored and the job fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.config import Settings
from weir.coordinator.call_access import system_access
from weir.coordinator.callview import call_response
from weir.coordinator.egress_jobs import ACTIVE, wake_workers
from weir.coordinator.rtmp_broadcasts import RtmpBroadcasts
from weir.coordinator.services import Services
from weir.domain.clock import now, utc
from weir.egress.delivery import FinishedFile, content_type, deliver, job_files, work_dir
from weir.protocol import events as ev
from weir.protocol.errors import APIError, ErrorCode, input_error
from weir.protocol.recordings import RecordingType
from weir.protocol.transcriptions import AI_KINDS
from weir.storage.base import DEFAULT_STORAGE
from weir.storage.registry import select_storage
from weir.storage.uploads import Upload, queue_upload
from weir.store.db import after_commit
from weir.store.sessions import new_id
from weir.store.tables import CallRow, CallTypeRow, EgressJobRow, ExternalStorageRow, RecordingRow

if TYPE_CHECKING:
    from weir.coordinator.transcriber import Transcriber

log = logging.getLogger(__name__)

FRAME = "frame"  # also the recording_type of a frame capture's ``recordings`` row (``coordinator.frames``)
NOT_RECORDINGS = ("transcription", FRAME)  # ``recordings`` rows that ``list_recordings`` does not list
JobType = RecordingType | Literal["frame"]  # frame recording is a job too, with events of its own
SETTINGS_KEY: dict[str, str] = {"composite": "recording", "individual": "individual_recording",
                                "raw": "raw_recording", "frame": "frame_recording"}
STATUS_KEY: dict[str, str] = {"composite": "composite_recording", "individual": "individual_recording",
                              "raw": "raw_recording", "frame": "frame_recording"}
OPTIONS = ("quality", "audio_only", "layout", "capture_interval_in_seconds")
FRAME_EVENTS: dict[type[ev.RecordingEvent], Callable[..., ev.Event]] = {
    ev.CallRecordingStartedEvent: ev.CallFrameRecordingStartedEvent,
    ev.CallRecordingStoppedEvent: ev.CallFrameRecordingStoppedEvent,
    ev.CallRecordingFailedEvent: ev.CallFrameRecordingFailedEvent}
REAP_INTERVAL_SECONDS = 1.0


class Recorder:
    """One call's recordings, inside the caller's transaction."""

    def __init__(self, weir: Services, session: AsyncSession, call: CallRow) -> None:
        self.weir, self.session, self.call = weir, session, call

    async def active(self, recording_type: str | None = None) -> list[EgressJobRow]:
        """The call's unfinished jobs of ``recording_type`` (a broadcast type such as "hls" too); of every
        recording type if None."""
        query = select(EgressJobRow).where(EgressJobRow.call_cid == self.call.cid, EgressJobRow.status.in_(ACTIVE))
        types = list(SETTINGS_KEY) if recording_type is None else [recording_type]
        query = query.where(EgressJobRow.recording_type.in_(types))
        return list((await self.session.scalars(query.order_by(EgressJobRow.created_at))).all())

    async def start(self, recording_type: JobType, settings: dict[str, Any], external_storage: str | None,
                    trigger: str = "api") -> EgressJobRow:
        if self.call.ended_at is not None:
            raise APIError(ErrorCode.NOT_ALLOWED, "the call has ended: it cannot be recorded")
        if any(job.status != "stopping" for job in await self.active(recording_type)):
            raise APIError(ErrorCode.CONFLICT, f"a {recording_type} recording of this call is already running")
        if recording_type == "frame" and (settings.get("frame_recording") or {}).get("mode") == "disabled":
            raise APIError(ErrorCode.NOT_ALLOWED, "frame recording is disabled for this call")
        external_storage = await storage_for(self.session, self.call, external_storage, "recording_external_storage")
        section = settings.get(SETTINGS_KEY[recording_type]) or {}
        options = {k: section[k] for k in OPTIONS if k in section}
        job = EgressJobRow(id=new_id(), call_cid=self.call.cid, session_id=self.call.current_session_id,
                           recording_type=recording_type, status="pending", trigger=trigger,
                           external_storage=external_storage, options=options, created_at=now())
        self.session.add(job)
        wake_workers(self.weir, self.session)
        self._set_status(recording_type, "running")
        await self._emit(ev.CallRecordingStartedEvent, job)
        return job

    async def stopping(self, job_type: str | None, nothing_running: str | None,
                       but: str | None = None) -> list[EgressJobRow]:
        """Ask the workers to finish the jobs of ``job_type`` (every recording type if None) other than ``but``
        (a job no worker claimed yet just ends); returns them. If none runs: ``nothing_running`` is the error, or
        None to accept that."""
        jobs = [job for job in await self.active(job_type) if job.status != "stopping" and job.recording_type != but]
        if not jobs and nothing_running is not None:
            raise APIError(ErrorCode.INPUT_ERROR, nothing_running)
        for job in jobs:
            if job.status == "pending":
                job.status, job.ended_at = "completed", now()
            else:
                job.status = "stopping"
        return jobs

    async def stop(self, recording_type: str | None, *, required: bool = True,
                   frames: bool = False) -> list[EgressJobRow]:
        """``None`` is every recording, and frame recording too only with ``frames`` (``stop_recording`` leaves
        it: it has its own stop)."""
        what = "frame recording" if recording_type == "frame" else "recording"
        jobs = await self.stopping(recording_type, f"no {what} of this call is running" if required else None,
                                   but=None if recording_type is not None or frames else "frame")
        for job in jobs:
            self._set_status(job.recording_type, "stopped")
            await self._emit(ev.CallRecordingStoppedEvent, job)
        return jobs

    async def finish(self, job: EgressJobRow, files: list[FinishedFile], error: str | None) -> None:
        """A worker is done with ``job`` (or died: ``error``); its files become recordings."""
        if job.recording_type not in SETTINGS_KEY:  # a broadcast: no files
            from weir.coordinator.broadcaster import Broadcaster  # (it builds on this module)

            await (await Broadcaster.of(self.weir, self.session, self.call)).finish(job, error)
            return
        if job.status not in ACTIVE:
            return
        rows = await store_files(self.weir, self.session, self.call, job, files)
        job.status, job.ended_at, job.error = ("failed" if error else "completed"), now(), error
        if error:
            self._set_status(job.recording_type, "failed")
            await self._emit(ev.CallRecordingFailedEvent, job, error=error)
        else:
            self._set_status(job.recording_type, "stopped")
        for row in rows:
            if row.storage == DEFAULT_STORAGE:
                await self.ready(job, row)

    async def ready(self, job: EgressJobRow, row: RecordingRow) -> None:
        """``call.recording_ready``: the file is in its store."""
        await self._emit(ev.CallRecordingReadyEvent, job, call_recording={
            "filename": row.filename, "url": await recording_url(self.weir, row.storage, row.key),
            "start_time": row.start_time.isoformat(), "end_time": row.end_time.isoformat(),
            "session_id": row.session_id, "recording_type": job.recording_type})

    def _set_status(self, recording_type: str, status: str) -> None:
        self.call.egress_status = {**(self.call.egress_status or {}), STATUS_KEY[recording_type]: status}
        running = any(value == "running" for key, value in self.call.egress_status.items() if key.endswith("recording")
                      and key != "frame_recording")
        self.call.recording = running
        self.call.updated_at = now()

    async def _emit(self, model: type[ev.RecordingEvent], job: EgressJobRow, **fields: Any) -> None:
        event: ev.Event
        if job.recording_type == "frame":  # the seed's frame events carry the call instead of a recording type
            call = await call_response(self.session, self.call, await system_access(self.session, self.call))
            event = FRAME_EVENTS[model](created_at=now(), call_cid=self.call.cid, egress_id=job.id, call=call,
                                        **fields)
        else:
            event = model(created_at=now(), call_cid=self.call.cid, egress_id=job.id,
                          recording_type=job.recording_type, **fields)  # type: ignore[arg-type]
        await self.weir.events.emit(self.session, event, call_cid=self.call.cid)


def wake_uploads(weir: Services, session: AsyncSession) -> None:
    """Once the transaction commits, the upload queue looks for the uploads it queued."""
    if weir.uploads is not None:
        wake = weir.uploads.wake

        async def wake_queue() -> None:
            wake()

        after_commit(session, wake_queue)


async def storage_for(session: AsyncSession, call: CallRow, requested: str | None, field: str) -> str | None:
    """The external storage a job's files go to (None: Weir's own): the request's, else the call type's."""
    call_type = await session.get(CallTypeRow, call.type)
    name = select_storage(requested, call_type.external_storage if call_type is not None else None)
    if name is not None and await session.get(ExternalStorageRow, name) is None:
        field = field if requested == name else "external_storage (of the call type)"
        raise input_error(field, f"no external storage named '{name}'")
    return name


async def store_files(weir: Services, session: AsyncSession, call: CallRow, job: EgressJobRow,
                      files: list[FinishedFile]) -> list[RecordingRow]:
    """A finished job's files as ``recordings`` rows; those for an external storage join the upload queue."""
    session_id = job.session_id or call.current_session_id or job.id
    rows = [RecordingRow(
        id=new_id(), call_cid=call.cid, session_id=session_id, egress_id=job.id,
        recording_type=job.recording_type, filename=file.filename, storage=file.storage, key=file.key,
        start_time=file.start_time, end_time=file.end_time, created_at=now()) for file in files]
    session.add_all(rows)
    uploading = [row for row in rows if row.storage != DEFAULT_STORAGE]
    for row in uploading:  # the file stays in the job's folder until its store has it (then: ``uploaded``)
        queue_upload(session, work_dir(weir.settings.data_dir, job.id) / row.filename, row.storage,
                     row.key, content_type(row.filename))
    if uploading:
        wake_uploads(weir, session)
    await session.flush()
    return rows


def job_owner(weir: Services, session: AsyncSession, call: CallRow, job: EgressJobRow) -> Recorder | Transcriber:
    """Who finishes ``job``: the Recorder, or the Transcriber for transcription and caption jobs."""
    from weir.coordinator.transcriber import Transcriber  # it builds on this module

    return Transcriber(weir, session, call) if job.recording_type in AI_KINDS else Recorder(weir, session, call)


async def recording_url(weir: Services, storage: str, key: str) -> str:
    """A signed URL of a recording's file, from the store it is in."""
    store = await weir.stores.resolve(storage)
    return await store.signed_url(key, timedelta(seconds=weir.settings.recording_url_ttl_seconds))


async def uploaded(weir: Services, upload: Upload) -> None:
    """An external storage has a recording's file: announce it (unless the recording was deleted meanwhile; a frame
    capture was announced when it was taken)."""
    async with weir.db.transaction() as session:
        row = await session.scalar(select(RecordingRow).where(RecordingRow.storage == upload.store_name,
                                                              RecordingRow.key == upload.key))
        job = None if row is None else await session.get(EgressJobRow, row.egress_id)
        call = None if row is None else await session.get(CallRow, row.call_cid)
        if row is not None and row.recording_type != FRAME and job is not None and call is not None:
            await job_owner(weir, session, call, job).ready(job, row)
    with contextlib.suppress(OSError):
        upload.local_path.parent.rmdir()  # the job's folder, once its last upload is done (rmdir: only if empty)


async def session_started(weir: Services, session: AsyncSession, call: CallRow, settings: dict[str, Any]) -> None:
    """``auto-on``: the first participant's join starts each recording type set to it."""
    recorder = Recorder(weir, session, call)
    for recording_type, key in SETTINGS_KEY.items():
        if (settings.get(key) or {}).get("mode") == "auto-on" and not await recorder.active(recording_type):
            await recorder.start(recording_type, settings, None, trigger="auto")  # type: ignore[arg-type]


async def session_ended(weir: Services, session: AsyncSession, call: CallRow) -> None:
    """The last participant left or the call ended: every recording and RTMP broadcast of the call stops."""
    await Recorder(weir, session, call).stop(None, required=False, frames=True)
    await RtmpBroadcasts(weir, session, call).stop(None, required=False)


async def finish_job(weir: Services, session: AsyncSession, call: CallRow, job: EgressJobRow,
                     files: list[FinishedFile], error: str | None) -> None:
    """A worker is done with ``job`` (or died: ``error``), whatever its kind."""
    if job.recording_type == RtmpBroadcasts.JOB_TYPE:
        await RtmpBroadcasts(weir, session, call).finish(job, error)
    else:
        await job_owner(weir, session, call, job).finish(job, files, error)


class Reaper:
    """Fails the jobs whose worker stopped renewing its lease, keeping what it had written."""

    def __init__(self, weir: Services) -> None:
        self.weir = weir
        self._task: asyncio.Task[None] | None = None

    async def reap(self) -> int:
        async with self.weir.db.read() as session:
            lapsed = (await session.scalars(select(EgressJobRow.id).where(
                EgressJobRow.status.in_(("running", "stopping")), EgressJobRow.lease_until < now()))).all()
        for job_id in lapsed:
            await self._fail(job_id)
        return len(lapsed)

    async def _fail(self, job_id: str) -> None:
        async with self.weir.db.transaction() as session:
            query = select(EgressJobRow).where(EgressJobRow.id == job_id)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            job = await session.scalar(query)
            lease = None if job is None else utc(job.lease_until)
            if job is None or job.status not in ("running", "stopping") or lease is None or lease >= now():
                return
            call = await session.get(CallRow, job.call_cid)
            if call is None:
                job.status = "failed"
                return
            kept = job.recording_type in SETTINGS_KEY or job.recording_type in AI_KINDS  # (a broadcast: none)
            files = await salvage(self.weir.settings, job, call) if kept else []
            await finish_job(self.weir, session, call, job, files, "the egress worker stopped responding")

    async def _loop(self) -> None:
        while True:
            try:
                await self.reap()
            except Exception:
                log.exception("reaping egress jobs failed")
            await asyncio.sleep(REAP_INTERVAL_SECONDS)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def lease_deadline(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)


async def salvage(settings: Settings, job: EgressJobRow, call: CallRow) -> list[FinishedFile]:
    """What a dead worker wrote so far, stored; the files are written to stay readable when cut off."""
    directory = work_dir(settings.data_dir, job.id)
    files = await asyncio.to_thread(job_files, directory)
    started = job.started_at or job.created_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    session_id = job.session_id or call.current_session_id or job.id
    return await deliver(settings, job.external_storage, call.cid, session_id, files, started)
