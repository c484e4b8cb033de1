"""Ingress fixtures: one server with the RTMP listener on a free port, shared by the module."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.conftest import clients  # noqa: F401  (the SDK's client fixture)
from tests.conftest import RunningServer, free_port
from tests.sfu.signaling_peers import running_sfu

FFMPEG = shutil.which("ffmpeg", path=os.environ.get("WEIR_EGRESS_TOOLS")) or shutil.which("ffmpeg")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    port = free_port()
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-ingress"), ingress_rtmp_port=port,
                     ingress_srt_port=free_port()) as running:
        wait_for_listener(port)
        yield running


def wait_for_listener(port: int, timeout_s: float = 30) -> None:
    """Until the ingress worker process listens on ``port``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_ICE_HOST_ADDRESSES", "127.0.0.1")


async def encoded_source(directory: Path, seconds: float) -> tuple[Path, Path]:
    """An H.264/AAC test source (testsrc and a sine) encoded as OBS is advised to send it (no B-frames, a
    keyframe a second), in FLV, and its video copied out as an H.264 byte stream: what the encoder sent."""
    assert FFMPEG is not None
    flv, h264 = directory / "sent.flv", directory / "sent.h264"
    code, output = await run(FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
                             "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
                             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
                             "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0", "-g", "30",
                             "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", str(flv))
    assert code == 0, output
    code, output = await run(FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-i", str(flv), "-map", "0:v",
                             "-c", "copy", "-f", "h264", str(h264))
    assert code == 0, output
    return flv, h264


def publish_args(source: Path, url: str, muxer: str = "flv") -> list[str]:
    """ffmpeg sending ``source`` in real time, as it is (no re-encoding), to ``url`` (RTMP: flv; SRT: mpegts)."""
    assert FFMPEG is not None
    return [FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-i", str(source), "-c", "copy", "-f", muxer, url]


async def run(*args: str, timeout: float = 30) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode or 0, output.decode(errors="replace")
