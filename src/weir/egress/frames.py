"""Frame recording in the worker: join hidden, keep each participant's latest decoded video frame, and every
``capture_interval_in_seconds`` write it as a JPEG scaled to the quality's height; each image is reported to the
coordinator, which stores it and announces it (``call.frame_recording_ready``).

The worker's SDK client decodes the tracks it receives (aiortc decodes every frame of a subscribed track), so the
capture only picks the newest frame; a track with no new frame since the last capture (paused, muted) gives none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av import VideoFrame

from weir.client import Call, StreamVideo, StreamVideoOptions, User
from weir.client.media.sinks import FrameStream
from weir.client.state import CallParticipantState, SfuTrackType
from weir.config import Settings
from weir.protocol.egress_channel import ClaimedJob as Job

log = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 2
DEFAULT_QUALITY = "720p"
JPEG_QSCALE = "3"  # the JPEG encoder's quantiser: 2 is best, 31 worst; 3 keeps faces and text sharp
TRACK_TYPES = {SfuTrackType.VIDEO: "TRACK_TYPE_VIDEO", SfuTrackType.SCREEN_SHARE: "TRACK_TYPE_SCREEN_SHARE"}
Report = Callable[..., Awaitable[Any]]


def image_size(width: int, height: int, quality: str) -> tuple[int, int]:
    """The image's size: the quality's height ("720p": 720 lines), the frame's aspect ratio, even dimensions."""
    lines = int(quality.removesuffix("p"))
    return max(2, round(width * lines / height / 2) * 2), lines


def encode_jpeg(frame: VideoFrame, quality: str) -> bytes:
    """``frame`` scaled to ``quality`` as a JPEG (FFmpeg's MJPEG encoder, through PyAV)."""
    width, height = image_size(frame.width, frame.height, quality)
    codec: Any = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuvj420p"
    codec.time_base = Fraction(1, 1)
    codec.options = {"qmin": JPEG_QSCALE, "qmax": JPEG_QSCALE}
    packets = codec.encode(frame.reformat(width=width, height=height, format="yuvj420p")) + codec.encode(None)
    return b"".join(bytes(packet) for packet in packets)


@dataclass
class Latest:
    """One participant track's newest decoded frame, and when it arrived."""

    user_id: str
    stream: FrameStream
    frame: VideoFrame | None = None
    at: datetime | None = None


class FrameCapture:
    """The call's video tracks, each followed by a task that keeps its newest frame."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.tracks: dict[tuple[str, SfuTrackType], Latest] = {}
        self._pumps: list[asyncio.Task[None]] = []

    def follow(self, participants: list[CallParticipantState]) -> None:
        for participant in participants:
            for track_type in TRACK_TYPES:
                key = (participant.session_id, track_type)
                if track_type in participant.published_tracks and key not in self.tracks:
                    latest = Latest(participant.user_id, self.call.frames(participant, track_type, maxsize=1))
                    self.tracks[key] = latest
                    self._pumps.append(asyncio.create_task(self._pump(latest)))

    @staticmethod
    async def _pump(latest: Latest) -> None:
        async for frame in latest.stream:
            if isinstance(frame, VideoFrame):
                latest.frame, latest.at = frame, datetime.now(UTC)

    def take(self) -> list[tuple[str, SfuTrackType, Latest, VideoFrame]]:
        """Every track's frame that arrived since the last take."""
        taken = []
        for (session_id, track_type), latest in self.tracks.items():
            if latest.frame is not None:
                taken.append((session_id, track_type, latest, latest.frame))
                latest.frame = None
        return taken

    async def close(self) -> None:
        for latest in self.tracks.values():
            latest.stream.close()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)


async def record_frames(settings: Settings, job: Job, directory: Path, stop: asyncio.Event,
                        report: Report) -> None:
    """Join hidden and capture every interval until asked to stop; ``report(**frame)`` hands each image over."""
    assert settings.api_key is not None
    interval = float(job.options.get("capture_interval_in_seconds") or DEFAULT_INTERVAL_SECONDS)
    quality = str(job.options.get("quality") or DEFAULT_QUALITY)
    folder = directory / "frames"
    folder.mkdir(parents=True, exist_ok=True)
    call_type, _, call_id = job.call_cid.partition(":")
    client = StreamVideo.create(settings.api_key, user=User.anonymous(), user_token=job.token,
                                options=StreamVideoOptions(coordinator_rpc_url=settings.public_base_url))
    call = client.make_call(call_type, call_id)
    capture = FrameCapture(call)
    try:
        await call.join()
        loop = asyncio.get_running_loop()
        next_at = loop.time() + interval
        while not stop.is_set():
            capture.follow(list(call.state.value.other_participants))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(0.2, max(0.0, next_at - loop.time())))
            if loop.time() >= next_at and not stop.is_set():
                next_at += interval
                for session_id, track_type, latest, frame in capture.take():
                    await _save(folder, session_id, track_type, latest, frame, quality, report)
    finally:
        await capture.close()
        with contextlib.suppress(Exception):
            await client.disconnect()


async def _save(folder: Path, session_id: str, track_type: SfuTrackType, latest: Latest, frame: VideoFrame,
                quality: str, report: Report) -> None:
    captured_at = latest.at or datetime.now(UTC)
    name = f"frame_{session_id[:24]}_{track_type.value}_{captured_at:%Y%m%dT%H%M%S%f}.jpg"
    data = await asyncio.to_thread(encode_jpeg, frame, quality)
    await asyncio.to_thread((folder / name).write_bytes, data)
    try:
        await report(filename=name, user_id=latest.user_id, track_type=TRACK_TYPES[track_type],
                     captured_at=captured_at.isoformat())
    except Exception as error:  # noqa: BLE001 (one lost image must not end the recording)
        log.warning("frame %s not reported: %s", name, error)
