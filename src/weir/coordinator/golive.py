"""What go_live starts and stop_live stops besides the backstage switch (the seed's ``start_hls``,
``start_recording``, ``continue_hls``, ...), inside the route's transaction: a refusal leaves nothing started."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.broadcaster import HLS, Broadcaster
from weir.coordinator.call_access import CallAccess
from weir.coordinator.recorder import Recorder
from weir.coordinator.rtmp_broadcasts import RtmpBroadcasts
from weir.coordinator.services import Services
from weir.coordinator.transcriber import Transcriber
from weir.domain.capabilities import Capability
from weir.protocol.broadcasting import GoLiveRequest, StopLiveRequest
from weir.store.tables import CallRow


async def _running(jobs: Recorder, job_type: str) -> bool:
    """A job of ``job_type`` runs or waits for a worker (one that is stopping does not count)."""
    return any(job.status != "stopping" for job in await jobs.active(job_type))


async def go_live_egress(weir: Services, session: AsyncSession, call: CallRow, access: CallAccess,
                         body: GoLiveRequest) -> None:
    broadcaster = Broadcaster(weir, session, call, access)
    if body.start_hls and not await _running(broadcaster.jobs, HLS):
        access.require(Capability.START_BROADCAST_CALL)
        await broadcaster.start_hls(trigger="go_live")
    if body.start_recording and not await _running(broadcaster.jobs, "composite"):
        access.require(Capability.START_RECORD_CALL)
        await Recorder(weir, session, call).start("composite", access.settings.raw, body.recording_storage_name,
                                                  trigger="go_live")
    transcriber = Transcriber(weir, session, call)
    if body.start_transcription and not await transcriber.running("transcription"):
        access.require(Capability.START_TRANSCRIPTION_CALL)
        await transcriber.start("transcription", access.settings.raw, None,
                                external_storage=body.transcription_storage_name)
    if body.start_closed_caption and not await transcriber.running("closed_captions"):
        access.require(Capability.START_CLOSED_CAPTIONS_CALL)
        await transcriber.start("closed_captions", access.settings.raw, None)


async def stop_live_egress(weir: Services, session: AsyncSession, call: CallRow, access: CallAccess,
                           body: StopLiveRequest) -> None:
    """Stops what is not continued."""
    transcriber = Transcriber(weir, session, call)
    if not body.continue_transcription:
        await transcriber.stop("transcription", required=False)
    if not body.continue_closed_caption:
        await transcriber.stop("closed_captions", required=False)
    if not body.continue_rtmp_broadcasts:
        await RtmpBroadcasts(weir, session, call).stop(None, required=False)
    if not body.continue_hls:
        await Broadcaster(weir, session, call, access).stop_hls(required=False)
    if not body.continue_recording:
        await Recorder(weir, session, call).stop("composite", required=False)
