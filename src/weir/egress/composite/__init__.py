"""Composite recording: Weir's layout page (``/layout/<type>/<id>``, built with the browser app) rendered by
Chromium on its own Xvfb display, playing into its own PulseAudio sink, and captured by ffmpeg into H.264/AAC.

The MP4 is fragmented (an empty ``moov`` first, a fragment every keyframe), so a capture that is killed midway
still plays up to its last fragment.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from weir.egress.composite.processes import STARTUP_S, Child, EgressToolError, chromium, pulseaudio, spawn, tool, xvfb

log = logging.getLogger(__name__)
__all__ = ["FRAME_RATE", "CompositeSpec", "EgressToolError", "layout_url", "record_composite"]

FRAME_RATE = 30
KEYFRAME_EVERY = 2 * FRAME_RATE  # a fragment every 2 s: what a killed capture can lose at most
# Each fragment goes to the file as soon as it is complete: ffmpeg buffers 32 KB of a file otherwise, and a calm
# call at 128 kb/s of audio and a few kb/s of video would leave several seconds in a killed capture's buffer.
FLUSHED = ["-flush_packets", "1"]


@dataclass(frozen=True, slots=True)
class CompositeSpec:
    base_url: str  # Weir's HTTP base, e.g. http://127.0.0.1:3030
    call_type: str
    call_id: str
    token: str  # a user token for the egress participant
    width: int
    height: int
    audio_only: bool
    layout: dict[str, Any]  # the call type's settings.recording.layout (name, options, external_*_url ...)
    api_key: str  # the app's API key: the page calls the API as a client does


def layout_url(spec: CompositeSpec) -> str:
    """The layout page for ``spec``: the call in the path, credentials in the query, the layout in the fragment."""
    path = f"/layout/{quote(spec.call_type, safe='')}/{quote(spec.call_id, safe='')}"
    query = urlencode({"api_key": spec.api_key, "token": spec.token})
    return f"{spec.base_url.rstrip('/')}{path}?{query}#{quote(json.dumps(spec.layout, separators=(',', ':')))}"


def _capture_argv(spec: CompositeSpec, display: str, output: Path) -> list[str]:
    head = [tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "info", "-nostats"]
    audio = ["-thread_queue_size", "1024", "-f", "pulse", "-i", "weir_mix.monitor"]
    audio_codec = ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"]
    if spec.audio_only:
        return [*head, *audio, "-vn", *audio_codec,
                "-movflags", "+empty_moov+default_base_moof", "-frag_duration", "1000000", *FLUSHED, "-f", "mp4",
                "-y", str(output)]
    video = ["-thread_queue_size", "64", "-f", "x11grab", "-draw_mouse", "0", "-framerate", str(FRAME_RATE),
             "-video_size", f"{spec.width}x{spec.height}", "-i", f"{display}.0"]
    video_codec = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
                   "-g", str(KEYFRAME_EVERY)]
    return [*head, *audio, *video, *video_codec,
            *audio_codec, "-movflags", "+frag_keyframe+empty_moov+default_base_moof", *FLUSHED, "-f", "mp4", "-y",
            str(output)]


async def _capturing(capture: Child) -> None:
    """Until ffmpeg has opened its inputs and started the file (its log shows the output): the page starts on a
    running capture, so nothing of it is lost."""
    deadline = asyncio.get_running_loop().time() + STARTUP_S
    while b"Output #0" not in capture.log.read_bytes():
        if capture.process.returncode is not None:
            raise EgressToolError(capture.failure())
        if asyncio.get_running_loop().time() > deadline:
            raise EgressToolError(f"ffmpeg did not start capturing in {STARTUP_S:.0f} s")
        await asyncio.sleep(0.05)


async def _until_stopped(stop: asyncio.Event, children: list[Child]) -> None:
    """Until ``stop`` is set; a program that exits first fails the recording."""
    stopped = asyncio.create_task(stop.wait())
    exits = {asyncio.create_task(child.process.wait()): child for child in children}
    try:
        done, _ = await asyncio.wait([stopped, *exits], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in [stopped, *exits]:
            task.cancel()
    for task, child in exits.items():
        if task in done:
            raise EgressToolError(child.failure())


async def record_composite(spec: CompositeSpec, output: Path, stop: asyncio.Event) -> None:
    """Render the layout page and capture it into ``output`` (MP4 H.264/AAC; M4A if audio_only) until ``stop``
    is set. Every program it started is gone when it returns, raises or is cancelled."""
    if spec.width <= 0 or spec.height <= 0 or spec.width % 2 or spec.height % 2:
        raise ValueError(f"a composite frame needs a positive, even size, not {spec.width}x{spec.height}")
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="weir-composite-")))
        display = await stack.enter_async_context(xvfb(spec.width, spec.height, workdir))
        audio_env = await stack.enter_async_context(pulseaudio(workdir))
        capture = await stack.enter_async_context(
            spawn("ffmpeg", _capture_argv(spec, display, output), workdir, env=audio_env))
        await _capturing(capture)
        log.info("composite capture of %s:%s started", spec.call_type, spec.call_id)  # the file's time zero
        browser = await stack.enter_async_context(
            chromium(layout_url(spec), display, audio_env, spec.width, spec.height, workdir))
        await _until_stopped(stop, [capture, browser])
        await capture.stop(signal.SIGINT)  # ffmpeg finishes the file on SIGINT
        if capture.process.returncode not in (0, 255):
            raise EgressToolError(capture.failure())
