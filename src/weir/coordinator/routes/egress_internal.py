"""The recording workers' internal channel: claim a job, renew its lease (learning whether to stop), finish it.

Every request carries a short JWT signed with the API secret (``aud: weir-egress-worker``); the channel is left
out of ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TypeGuard

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import services
from weir.coordinator.frames import frame_ready, frames_dir
from weir.coordinator.recorder import finish_job, lease_deadline
from weir.coordinator.rtmp_broadcasts import worker_options
from weir.coordinator.transcriber import Transcriber, follow_language
from weir.domain.clock import now
from weir.domain.egress_tokens import create_egress_token, verify_worker_token
from weir.egress.delivery import FinishedFile
from weir.protocol.egress_channel import (
    CaptionsRequest,
    ClaimedJob,
    ClaimRequest,
    ClaimResponse,
    FinishRequest,
    FrameRequest,
    HeartbeatResponse,
    WorkerRequest,
)
from weir.protocol.errors import APIError, ErrorCode, input_error, not_found
from weir.protocol.transcriptions import AI_KINDS
from weir.store.tables import CallRow, EgressJobRow

PREFIX = "/internal/egress"


async def worker_only(request: Request) -> None:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip()
    if not token or not verify_worker_token(services(request).api_secret, token):
        raise APIError(ErrorCode.AUTH_FAILED, "egress worker token missing or invalid")


router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(worker_only)])


async def _locked(session: AsyncSession, job_id: str) -> EgressJobRow | None:
    query = select(EgressJobRow).where(EgressJobRow.id == job_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return await session.scalar(query)


CLAIM_WAIT_SECONDS = 5.0  # short enough not to hold up a shutdown


@router.post("/claim", response_model=ClaimResponse)
async def claim(request: Request, body: ClaimRequest) -> ClaimResponse:
    """The oldest pending job, waiting up to ``CLAIM_WAIT_SECONDS`` for one (a long poll: idle workers cost
    one request per wait, not a stream of polls)."""
    weir = services(request)
    async with weir.egress_jobs:
        found = await _claim(request, body)
        if found.job is not None:
            return found
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(weir.egress_jobs.wait(), CLAIM_WAIT_SECONDS)
    return await _claim(request, body)


async def _claim(request: Request, body: ClaimRequest) -> ClaimResponse:
    weir = services(request)
    lease = weir.settings.egress_lease_seconds
    async with weir.db.transaction() as session:
        query = select(EgressJobRow).where(EgressJobRow.status == "pending").order_by(EgressJobRow.created_at)
        kind = EgressJobRow.recording_type
        query = query.where(kind.in_(body.kinds) if body.kinds is not None else kind.not_in(AI_KINDS))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job = await session.scalar(query.limit(1))
        if job is None:
            return ClaimResponse()
        call = await session.get(CallRow, job.call_cid)
        job.status, job.worker_id, job.started_at = "running", body.worker_id, now()
        job.lease_until = lease_deadline(lease)
        if call is not None and job.session_id is None:
            job.session_id = call.current_session_id
        return ClaimResponse(job=ClaimedJob(
            egress_id=job.id, call_cid=job.call_cid, recording_type=job.recording_type,
            options=worker_options(weir.sealer, job),
            token=create_egress_token(weir.api_secret, job.call_cid, job.id), started_at=job.started_at,
            lease_seconds=lease, session_id=job.session_id, external_storage=job.external_storage))


@router.post("/{egress_id}/heartbeat", response_model=HeartbeatResponse)
async def heartbeat(request: Request, egress_id: str, body: WorkerRequest) -> HeartbeatResponse:
    weir = services(request)
    async with weir.db.transaction() as session:
        job = await _locked(session, egress_id)
        if not _held_by(job, body.worker_id):
            return HeartbeatResponse(status="lost")
        job.lease_until = lease_deadline(weir.settings.egress_lease_seconds)
        if job.recording_type in AI_KINDS:
            await follow_language(session, job)
        return HeartbeatResponse(status=job.status, options=worker_options(weir.sealer, job))


@router.post("/{egress_id}/finish", response_model=HeartbeatResponse)
async def finish(request: Request, egress_id: str, body: FinishRequest) -> HeartbeatResponse:
    weir = services(request)
    async with weir.db.transaction() as session:
        job = await _locked(session, egress_id)
        if job is None:
            raise not_found(f"egress job {egress_id}")
        if not _held_by(job, body.worker_id):
            return HeartbeatResponse(status="lost")
        call = await session.get(CallRow, job.call_cid)
        if call is None:
            job.status = "failed"
            return HeartbeatResponse(status="lost")
        files = [FinishedFile(f.filename, f.storage, f.key, f.start_time, f.end_time) for f in body.files]
        await finish_job(weir, session, call, job, files, body.error)
        return HeartbeatResponse(status=job.status)


@router.post("/{egress_id}/captions", response_model=HeartbeatResponse)
async def captions(request: Request, egress_id: str, body: CaptionsRequest) -> HeartbeatResponse:
    """A caption job's finished captions, sent to the call as ``call.closed_caption`` events."""
    weir = services(request)
    async with weir.db.transaction() as session:
        job = await session.get(EgressJobRow, egress_id)
        if not _held_by(job, body.worker_id):
            return HeartbeatResponse(status="lost")
        call = await session.get(CallRow, job.call_cid)
        if call is not None:
            await Transcriber(weir, session, call).caption(job, body.captions)
        return HeartbeatResponse(status=job.status)


@router.post("/{egress_id}/frame", response_model=HeartbeatResponse)
async def frame(request: Request, egress_id: str, body: FrameRequest) -> HeartbeatResponse:
    """A frame recording's image is ready in the job's folder: store it and announce it."""
    weir = services(request)
    async with weir.db.read() as session:
        job = await session.get(EgressJobRow, egress_id)
    if job is None:
        raise not_found(f"egress job {egress_id}")
    if not _held_by(job, body.worker_id) or job.recording_type != "frame":
        return HeartbeatResponse(status="lost")
    if not (frames_dir(weir.settings.data_dir, job.id) / body.filename).is_file():
        raise input_error("filename", f"no frame {body.filename} in the job's folder")
    await frame_ready(weir, job, body)
    return HeartbeatResponse(status=job.status)


def _held_by(job: EgressJobRow | None, worker_id: str) -> TypeGuard[EgressJobRow]:
    """The job is active and this worker holds it (else its report is answered ``lost``)."""
    return job is not None and job.worker_id == worker_id and job.status in ("running", "stopping")
