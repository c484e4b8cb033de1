"""RTMP broadcasts at the coordinator: start, stop, and the workers' reports.

Each broadcast is an egress job of type ``rtmp`` (one worker process composes the call and pushes it to one
destination), so a destination that refuses or drops the stream fails only its own job. The call's
``egress_status["rtmps"]`` lists the broadcasts under way for ``CallResponse.egress.rtmps``. Everything happens
inside the caller's transaction, with its events. The stream key, a credential, is stored sealed and handed
only to the worker that claims the job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.egress_jobs import ACTIVE, wake_workers
from weir.coordinator.services import Services
from weir.domain.clock import now
from weir.protocol import events as ev
from weir.protocol.errors import APIError, ErrorCode, input_error, not_found
from weir.protocol.rtmp_broadcasts import RTMPBroadcastRequest
from weir.sealing import Sealer
from weir.store.sessions import new_id
from weir.store.tables import CallRow, EgressJobRow


class RtmpBroadcasts:
    """One call's RTMP broadcasts, inside the caller's transaction."""

    JOB_TYPE = "rtmp"

    def __init__(self, weir: Services, session: AsyncSession, call: CallRow) -> None:
        self.weir, self.session, self.call = weir, session, call

    async def active(self) -> list[EgressJobRow]:
        """The broadcasts not yet asked to stop."""
        jobs = await self.session.scalars(select(EgressJobRow).where(
            EgressJobRow.call_cid == self.call.cid, EgressJobRow.recording_type == self.JOB_TYPE,
            EgressJobRow.status.in_(ACTIVE)).order_by(EgressJobRow.created_at))
        return [job for job in jobs if job.status != "stopping"]

    async def start(self, broadcasts: list[RTMPBroadcastRequest], settings: dict[str, Any]) -> list[EgressJobRow]:
        """A job per destination; all or none (a name in use or repeated refuses the whole request)."""
        if self.call.ended_at is not None:
            raise APIError(ErrorCode.NOT_ALLOWED, "the call has ended: it cannot be broadcast")
        section = (settings.get("broadcasting") or {}).get("rtmp") or {}
        if not section.get("enabled"):
            raise APIError(ErrorCode.NOT_ALLOWED, "RTMP broadcasting is disabled for this call (broadcasting.rtmp)")
        names = [broadcast.name for broadcast in broadcasts]
        if len(set(names)) != len(names):
            raise input_error("broadcasts", "each broadcast needs its own name")
        running = {str(job.options.get("name")) for job in await self.active()}
        if clash := sorted(running.intersection(names)):
            raise APIError(ErrorCode.CONFLICT, f"an RTMP broadcast named {clash[0]!r} is already running")
        jobs = []
        for broadcast in broadcasts:
            layout = broadcast.layout.model_dump(exclude_none=True) if broadcast.layout else section.get("layout")
            key = None if broadcast.stream_key is None else self.weir.sealer.seal(broadcast.stream_key)
            options = {"name": broadcast.name, "stream_url": broadcast.stream_url, "stream_key": key,
                       "quality": broadcast.quality or section.get("quality") or "720p", "layout": layout or {}}
            job = EgressJobRow(id=new_id(), call_cid=self.call.cid, session_id=self.call.current_session_id,
                               recording_type=self.JOB_TYPE, status="pending", trigger="api", external_storage=None,
                               options=options, created_at=now())
            self.session.add(job)
            jobs.append(job)
            self._listed(broadcast.name, {"name": broadcast.name, "started_at": job.created_at.isoformat(),
                                          "stream_url": broadcast.stream_url})
            await self.weir.events.emit(self.session, ev.CallRtmpBroadcastStartedEvent(
                created_at=now(), call_cid=self.call.cid, name=broadcast.name), call_cid=self.call.cid)
        wake_workers(self.weir, self.session)
        return jobs

    async def stop(self, name: str | None, *, required: bool = True) -> list[EgressJobRow]:
        """Ask the workers to stop the broadcast ``name`` (None: all of them)."""
        jobs = [job for job in await self.active() if name is None or job.options.get("name") == name]
        if not jobs and required:
            raise not_found(f"RTMP broadcast {name}")
        for job in jobs:
            if job.status == "pending":  # no worker has it yet: it just ends
                job.status, job.ended_at = "completed", now()
            else:
                job.status = "stopping"
            await self._ended(job, None)
        return jobs

    async def finish(self, job: EgressJobRow, error: str | None) -> None:
        """A worker is done with ``job``: it failed (the destination refused or dropped the stream, the worker
        died) or stopped. A job already asked to stop was announced as stopped then."""
        if job.status not in ACTIVE:
            return
        announced = job.status == "stopping"
        job.status, job.ended_at, job.error = ("failed" if error else "completed"), now(), error
        if not announced:
            await self._ended(job, error)

    async def _ended(self, job: EgressJobRow, error: str | None) -> None:
        name = str(job.options.get("name"))
        self._listed(name, None)
        event: ev.CallEvent
        if error:
            event = ev.CallRtmpBroadcastFailedEvent(created_at=now(), call_cid=self.call.cid, name=name, error=error)
        else:
            event = ev.CallRtmpBroadcastStoppedEvent(created_at=now(), call_cid=self.call.cid, name=name)
        await self.weir.events.emit(self.session, event, call_cid=self.call.cid)

    def _listed(self, name: str, entry: dict[str, str] | None) -> None:
        """Put ``entry`` in the call's list of running broadcasts in place of ``name``'s (None: take it out)."""
        status = dict(self.call.egress_status or {})
        rtmps = [rtmp for rtmp in status.get("rtmps") or [] if rtmp.get("name") != name]
        status["rtmps"] = rtmps + ([entry] if entry else [])
        self.call.egress_status, self.call.updated_at = status, now()


def worker_options(sealer: Sealer, job: EgressJobRow) -> dict[str, Any]:
    """A job's options as the worker that claims it needs them: an RTMP broadcast's stream key unsealed."""
    key = job.options.get("stream_key")
    if job.recording_type != RtmpBroadcasts.JOB_TYPE or not key:
        return job.options
    return {**job.options, "stream_key": sealer.unseal(key)}
