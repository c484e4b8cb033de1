"""The recording worker: claims jobs from the coordinator, records each one, stores the files and reports.

It runs as its own process (``weir worker egress``, or started by ``weir serve``), so recording never slows the
coordinator. Each job joins its call as a hidden participant through Weir's client SDK; a heartbeat renews the
job's lease and brings the request to stop. A worker that dies leaves its lease to lapse: the coordinator then
fails the job and stores what was written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from weir.client import StreamVideo, StreamVideoOptions, User
from weir.config import Settings
from weir.domain.egress_tokens import create_worker_token
from weir.egress.delivery import deliver, job_files, work_dir
from weir.egress.frames import record_frames
from weir.egress.tracks import TrackTaps
from weir.protocol.egress_channel import ClaimedJob as Job
from weir.protocol.egress_channel import ClaimResponse
from weir.protocol.rtmp_broadcasts import rtmp_destination

if TYPE_CHECKING:
    from weir.egress.composite import CompositeSpec

log = logging.getLogger(__name__)
RETRY_SECONDS = 0.5  # after a failed claim (the coordinator is starting)
Record = Callable[[Settings, Job, Path, asyncio.Event], Awaitable[None]]


class JobFailed(Exception):
    """A job that cannot go on, with the reason its events should give (as it is, not as a traceback)."""


class Channel:
    """The coordinator's internal egress routes."""

    def __init__(self, settings: Settings, worker_id: str, kinds: list[str] | None = None) -> None:
        assert settings.api_secret is not None
        self.secret, self.worker_id, self.kinds = settings.api_secret, worker_id, kinds
        # a claim waits up to 5 s for a job (routes/egress_internal.py)
        self.http = httpx.AsyncClient(base_url=settings.public_base_url + "/internal/egress", timeout=30)

    async def post(self, path: str, **body: Any) -> dict[str, Any]:
        response = await self.http.post(path, json={"worker_id": self.worker_id, **body},
                                        headers={"Authorization": f"Bearer {create_worker_token(self.secret)}"})
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    async def claim(self) -> Job | None:
        return ClaimResponse.model_validate(await self.post("/claim", kinds=self.kinds)).job

    async def close(self) -> None:
        await self.http.aclose()


async def record_tracks(settings: Settings, job: Job, directory: Path, stop: asyncio.Event) -> None:
    """Individual or raw recording: join hidden, tap every subscribed track until asked to stop."""
    assert settings.api_key is not None
    call_type, _, call_id = job.call_cid.partition(":")
    client = StreamVideo.create(settings.api_key, user=User.anonymous(), user_token=job.token,
                                options=StreamVideoOptions(coordinator_rpc_url=settings.public_base_url))
    taps = TrackTaps(directory, f"rec_{job.recording_type}_{job.egress_id[:12]}", raw=job.recording_type == "raw")
    try:
        call = client.make_call(call_type, call_id)
        await call.join()
        while not stop.is_set():
            for transceiver in call.subscriber_transceivers():
                taps.attach(transceiver)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        taps.close()
        with contextlib.suppress(Exception):
            await client.disconnect()


def composite_spec(settings: Settings, job: Job, size: tuple[int, int], audio_only: bool) -> CompositeSpec:
    """What the job's capture renders: the call's layout page, as the job's hidden participant."""
    from weir.egress.composite import CompositeSpec

    assert settings.api_key is not None
    call_type, _, call_id = job.call_cid.partition(":")
    return CompositeSpec(base_url=settings.public_base_url, call_type=call_type, call_id=call_id, token=job.token,
                         width=size[0], height=size[1], audio_only=audio_only,
                         layout=dict(job.options.get("layout") or {}), api_key=settings.api_key)


async def record_composite(settings: Settings, job: Job, directory: Path, stop: asyncio.Event) -> None:
    from weir.egress.composite import record_composite as render
    from weir.egress.composite.quality import rendering

    size, audio_only = rendering(str(job.options.get("quality") or "720p"), bool(job.options.get("audio_only")))
    spec = composite_spec(settings, job, size, audio_only)
    await render(spec, directory / f"rec_composite_{job.egress_id[:12]}.mp4", stop)


async def broadcast_rtmp(settings: Settings, job: Job, directory: Path, stop: asyncio.Event) -> None:
    """Push the composed call to the job's RTMP destination until asked to stop. A destination that refuses or
    drops the stream ends the job with ffmpeg's reason, the stream key masked (the key is a credential)."""
    from weir.egress.composite import EgressToolError, capture_composite
    from weir.egress.composite.quality import h264_kbps, rendering
    from weir.egress.composite.rtmp import RtmpSink, failure_reason

    key = job.options.get("stream_key")  # as claimed: a heartbeat may replace ``job.options`` meanwhile
    url = rtmp_destination(str(job.options["stream_url"]), key)
    quality = str(job.options.get("quality") or "720p")
    (width, height), audio_only = rendering(quality, False)
    try:
        await capture_composite(composite_spec(settings, job, (width, height), audio_only),
                                RtmpSink(url, h264_kbps(width, height)), stop)
    except EgressToolError as error:
        raise JobFailed(failure_reason(str(error), url, key)) from error


async def broadcast_hls(settings: Settings, job: Job, directory: Path, stop: asyncio.Event) -> None:
    """The layout page as an HLS ladder in the job's folder, which the coordinator serves (same data_dir)."""
    from weir.egress.composite import capture_composite
    from weir.egress.composite.quality import ladder
    from weir.egress.composite.sinks import HlsSink

    renditions = ladder(job.options.get("quality_tracks") or ["720p"])
    size = (renditions[0].width, renditions[0].height) if renditions else (2, 2)
    await capture_composite(composite_spec(settings, job, size, not renditions), HlsSink(directory, renditions), stop)


CAPTURES = {"composite": record_composite, "hls": broadcast_hls, "rtmp": broadcast_rtmp}
BROADCASTS = ("hls", "rtmp")  # live outputs: nothing to store when they end


def recording_of(channel: Channel, job: Job) -> Record:
    if job.recording_type == "frame":
        return partial(record_frames, report=partial(channel.post, f"/{job.egress_id}/frame"))
    return CAPTURES.get(job.recording_type, record_tracks)


async def run_job(settings: Settings, channel: Channel, job: Job, record: Record) -> None:
    directory = work_dir(settings.data_dir, job.egress_id)
    directory.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    lost = False

    async def heartbeat() -> None:
        nonlocal lost
        while True:
            await asyncio.sleep(job.lease_seconds / 4)
            try:
                answer = await channel.post(f"/{job.egress_id}/heartbeat")
            except httpx.HTTPError as error:
                log.warning("egress heartbeat failed: %s", error)
                continue
            status = answer["status"]
            if answer.get("options") is not None:  # e.g. a new transcription language
                job.options = answer["options"]
            if status != "running":
                lost = status == "lost"
                stop.set()

    beating = asyncio.create_task(heartbeat())
    error = None
    try:
        await record(settings, job, directory, stop)
    except JobFailed as failure:
        log.warning("job %s failed: %s", job.egress_id, failure)
        error = str(failure)
    except Exception as failure:  # noqa: BLE001 (any failure of a recording is reported, not raised)
        log.exception("recording %s failed", job.egress_id)
        error = f"recording failed: {failure!r}"
    try:
        if lost:
            return  # the coordinator already failed the job and stored what was here
        files = [] if job.recording_type in BROADCASTS else await asyncio.to_thread(job_files, directory)
        finished = await deliver(settings, job.external_storage,
                                 job.call_cid, job.session_id or job.egress_id, files, job.started_at)
        await channel.post(f"/{job.egress_id}/finish", error=error, files=[
            {"filename": f.filename, "storage": f.storage, "key": f.key, "start_time": f.start_time.isoformat(),
             "end_time": f.end_time.isoformat()} for f in finished])
        if job.external_storage is None:  # else the coordinator's upload queue takes the files from here
            shutil.rmtree(directory, ignore_errors=True)
    finally:
        beating.cancel()


async def run_worker(settings: Settings, stop: asyncio.Event, kinds: list[str] | None = None,
                     choose: Callable[[Channel, Job], Record] = recording_of) -> None:
    """Claim jobs (of ``kinds``; None: the recording kinds) and run each with what ``choose`` picks, until
    ``stop`` is set."""
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    channel = Channel(settings, worker_id, kinds)
    jobs: set[asyncio.Task[None]] = set()
    try:
        while not stop.is_set():
            claiming = asyncio.create_task(channel.claim())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({claiming, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if stop.is_set():
                claiming.cancel()
                break
            try:
                job = claiming.result()
            except httpx.HTTPError as error:
                log.info("egress claim failed (coordinator not reachable yet?): %s", error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RETRY_SECONDS)
                continue
            if job is not None:
                task = asyncio.create_task(run_job(settings, channel, job, choose(channel, job)))
                jobs.add(task)
                task.add_done_callback(jobs.discard)
    finally:
        for task in jobs:
            task.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await channel.close()
