"""What go_live starts and stop_live stops besides the backstage switch (the seed's ``start_hls``,
``start_recording``, ``continue_hls``, ...), inside the route's transaction: a refusal leaves nothing started."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.broadcaster import HLS, Broadcaster
from weir.coordinator.call_access import CallAccess
from weir.coordinator.recorder import Recorder
from weir.coordinator.rtmp_broadcasts import RtmpBroadcasts
from weir.coordinator.services import Services
from weir.domain.capabilities import Capability
from weir.protocol.broadcasting import GoLiveRequest, StopLiveRequest
from weir.protocol.errors import APIError, ErrorCode
from weir.store.tables import CallRow


def _transcription_hook(start_transcription: bool, start_closed_caption: bool) -> None:
    """Transcription and closed captions (issue 15's captions work) start here once Weir has them; until then
    asking for them is refused before anything else starts."""
    if start_transcription or start_closed_caption:
        raise APIError(ErrorCode.NOT_ALLOWED, "transcription and closed captions are not available in Weir yet")


async def _running(jobs: Recorder, job_type: str) -> bool:
    """A job of ``job_type`` runs or waits for a worker (one that is stopping does not count)."""
    return any(job.status != "stopping" for job in await jobs.active(job_type))


async def go_live_egress(weir: Services, session: AsyncSession, call: CallRow, access: CallAccess,
                         body: GoLiveRequest) -> None:
    _transcription_hook(body.start_transcription, body.start_closed_caption)
    broadcaster = Broadcaster(weir, session, call, access)
    if body.start_hls and not await _running(broadcaster.jobs, HLS):
        access.require(Capability.START_BROADCAST_CALL)
        await broadcaster.start_hls(trigger="go_live")
    if body.start_recording and not await _running(broadcaster.jobs, "composite"):
        access.require(Capability.START_RECORD_CALL)
        await Recorder(weir, session, call).start("composite", access.settings.raw, body.recording_storage_name,
                                                  trigger="go_live")


async def stop_live_egress(weir: Services, session: AsyncSession, call: CallRow, access: CallAccess,
                           body: StopLiveRequest) -> None:
    """Stops what is not continued (transcription belongs to its own feature)."""
    if not body.continue_rtmp_broadcasts:
        await RtmpBroadcasts(weir, session, call).stop(None, required=False)
    if not body.continue_hls:
        await Broadcaster(weir, session, call, access).stop_hls(required=False)
    if not body.continue_recording:
        await Recorder(weir, session, call).stop("composite", required=False)
