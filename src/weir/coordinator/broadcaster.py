"""HLS broadcasting at the coordinator: start, stop, auto-on, and the worker's report.

A broadcast is an ``egress_jobs`` row of type ``hls``, claimed and leased by an egress worker like a recording
(one pipeline: the worker captures the layout page into an ``HlsSink`` instead of a file). Its playlist URL is
known when it starts (the job's id names its folder), so ``call.hls_broadcasting_started`` carries it at once;
the serving route answers 404 until the worker wrote the first segment. The call's ``egress_status`` holds
``hls`` (running, stopped, failed) and ``hls_playlist_url``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.call_access import CallAccess, system_access
from weir.coordinator.callevents import CallEvents
from weir.coordinator.egress_jobs import wake_workers
from weir.coordinator.recorder import Recorder
from weir.coordinator.services import Services
from weir.domain.clock import now
from weir.egress.composite.sinks import MASTER_PLAYLIST
from weir.protocol import events as ev
from weir.protocol.errors import APIError, ErrorCode
from weir.store.sessions import new_id
from weir.store.tables import CallRow, EgressJobRow

HLS = "hls"
HLS_PATH = "/hls"  # + /<egress id>/master.m3u8: hls_serving.py


def playlist_url(weir: Services, egress_id: str) -> str:
    return f"{weir.settings.public_base_url}{HLS_PATH}/{egress_id}/{MASTER_PLAYLIST}"


class Broadcaster:
    """One call's HLS broadcast, inside the caller's transaction."""

    def __init__(self, weir: Services, session: AsyncSession, call: CallRow, access: CallAccess) -> None:
        self.weir, self.session, self.call, self.access = weir, session, call, access
        self.jobs = Recorder(weir, session, call)

    @classmethod
    async def of(cls, weir: Services, session: AsyncSession, call: CallRow) -> Broadcaster:
        """For work no request drives (auto-on, a session's end, a worker's report)."""
        return cls(weir, session, call, await system_access(session, call))

    async def start_hls(self, trigger: str = "api") -> str:
        """Start broadcasting; returns the master playlist's URL."""
        if self.call.ended_at is not None:
            raise APIError(ErrorCode.NOT_ALLOWED, "the call has ended: it cannot be broadcast")
        settings = self.access.settings.raw.get("broadcasting") or {}
        hls: dict[str, Any] = settings.get("hls") or {}
        if not settings.get("enabled", True) or not hls.get("enabled", True):
            raise APIError(ErrorCode.NOT_ALLOWED, "HLS broadcasting is disabled for this call type")
        if any(job.status != "stopping" for job in await self.jobs.active(HLS)):
            raise APIError(ErrorCode.CONFLICT, "this call is already broadcasting to HLS")
        options = {"quality_tracks": list(hls.get("quality_tracks") or ["720p"]), "layout": hls.get("layout") or {}}
        job = EgressJobRow(id=new_id(), call_cid=self.call.cid, session_id=self.call.current_session_id,
                           recording_type=HLS, status="pending", trigger=trigger, options=options, created_at=now())
        self.session.add(job)
        wake_workers(self.weir, self.session)
        url = playlist_url(self.weir, job.id)
        self._set_status("running", url)
        events = CallEvents(self.weir, self.session, self.call, self.access)
        await events.emit(ev.CallHLSBroadcastingStartedEvent(created_at=now(), call_cid=self.call.cid,
                                                             call=await events.call_model(), hls_playlist_url=url))
        return url

    async def stop_hls(self, *, required: bool = True) -> None:
        """Ask the worker to finish (a job no worker claimed yet just ends)."""
        if await self.jobs.stopping(HLS, "this call is not broadcasting to HLS" if required else None):
            self._set_status("stopped")
            await self._emit(ev.CallHLSBroadcastingStoppedEvent)

    async def finish(self, job: EgressJobRow, error: str | None) -> None:
        """The worker is done with ``job`` (or died: ``error``). A stop already announced stays announced."""
        if job.status not in ("pending", "running", "stopping"):
            return
        asked_to_stop = job.status == "stopping"
        job.status, job.ended_at, job.error = ("failed" if error else "completed"), now(), error
        if error:
            self._set_status("failed")
            await self._emit(ev.CallHLSBroadcastingFailedEvent)
        elif not asked_to_stop:
            self._set_status("stopped")
            await self._emit(ev.CallHLSBroadcastingStoppedEvent)

    def _set_status(self, status: str, url: str | None = None) -> None:
        egress = {**(self.call.egress_status or {}), HLS: status}
        if url is not None:
            egress["hls_playlist_url"] = url
        self.call.egress_status = egress
        self.call.broadcasting = status == "running"  # HLS only: RTMP broadcasts are in egress.rtmps
        self.call.updated_at = now()

    async def _emit(self, model: type[ev.CallHLSBroadcastingStoppedEvent | ev.CallHLSBroadcastingFailedEvent]
                    ) -> None:
        await self.weir.events.emit(self.session, model(created_at=now(), call_cid=self.call.cid),
                                    call_cid=self.call.cid)


async def session_started(weir: Services, session: AsyncSession, call: CallRow, settings: dict[str, Any]) -> None:
    """``broadcasting.hls.auto_on``: the first participant's join starts the broadcast."""
    broadcasting = settings.get("broadcasting") or {}
    hls = broadcasting.get("hls") or {}
    if broadcasting.get("enabled") and hls.get("enabled") and hls.get("auto_on"):
        broadcaster = await Broadcaster.of(weir, session, call)
        if not await broadcaster.jobs.active(HLS):
            await broadcaster.start_hls(trigger="auto")


async def session_ended(weir: Services, session: AsyncSession, call: CallRow) -> None:
    """The last participant left or the call ended: the broadcast stops (nothing is left to show)."""
    await (await Broadcaster.of(weir, session, call)).stop_hls(required=False)
