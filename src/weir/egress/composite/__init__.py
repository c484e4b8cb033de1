"""Composite recording: Weir's layout page (``/layout/<type>/<id>``, built with the browser app) rendered by
Chromium on its own Xvfb display, playing into its own PulseAudio sink, and captured by ffmpeg into H.264/AAC for
a sink (``sinks``: an MP4 file, an HLS ladder, an RTMP URL).
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
from weir.egress.composite.sinks import FRAME_RATE, FileSink, Sink

log = logging.getLogger(__name__)
__all__ = ["FRAME_RATE", "CompositeSpec", "EgressToolError", "capture_composite", "layout_url", "record_composite"]


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


def _capture_argv(spec: CompositeSpec, display: str, sink: Sink) -> list[str]:
    head = [tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "info", "-nostats"]
    audio = ["-thread_queue_size", "1024", "-f", "pulse", "-i", "weir_mix.monitor"]  # input 0: AUDIO
    if spec.audio_only:
        return [*head, *audio, *sink.output_args(video=False)]
    video = ["-thread_queue_size", "64", "-f", "x11grab", "-draw_mouse", "0", "-framerate", str(FRAME_RATE),
             "-video_size", f"{spec.width}x{spec.height}", "-i", f"{display}.0"]  # input 1: VIDEO
    return [*head, *audio, *video, *sink.output_args(video=True)]


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
    """Record the layout page into ``output`` (MP4 H.264/AAC; M4A if audio_only) until ``stop`` is set."""
    await capture_composite(spec, FileSink(output), stop)


async def capture_composite(spec: CompositeSpec, sink: Sink, stop: asyncio.Event) -> None:
    """Render the layout page and capture it into ``sink`` until ``stop`` is set. Every program it started is
    gone when it returns, raises or is cancelled."""
    if spec.width <= 0 or spec.height <= 0 or spec.width % 2 or spec.height % 2:
        raise ValueError(f"a composite frame needs a positive, even size, not {spec.width}x{spec.height}")
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="weir-composite-")))
        display = await stack.enter_async_context(xvfb(spec.width, spec.height, workdir))
        audio_env = await stack.enter_async_context(pulseaudio(workdir))
        capture = await stack.enter_async_context(
            spawn("ffmpeg", _capture_argv(spec, display, sink), workdir, env=audio_env))
        await _capturing(capture)
        log.info("composite capture of %s:%s started", spec.call_type, spec.call_id)  # the output's time zero
        browser = await stack.enter_async_context(
            chromium(layout_url(spec), display, audio_env, spec.width, spec.height, workdir))
        await _until_stopped(stop, [capture, browser])
        await capture.stop(signal.SIGINT)  # ffmpeg finishes its output on SIGINT
        if capture.process.returncode not in (0, 255):
            raise EgressToolError(capture.failure())
