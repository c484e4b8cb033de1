"""The ingress worker with its port taken: one clear error and an idle worker, not a crash its supervisor
restarts in a loop."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from weir.config import Settings
from weir.ingress.worker import run_worker


async def test_a_taken_port_is_logged_once_and_the_worker_idles(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.3, stop.set)
        with caplog.at_level(logging.ERROR, logger="weir.ingress.worker"):
            await asyncio.wait_for(run_worker(Settings(api_key="k", api_secret="s" * 40, ingress_rtmp_port=port,
                                                       ingress_srt_port=0), stop), 10)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith(f"no RTMP ingress: cannot listen on 127.0.0.1:{port}")


async def test_a_taken_srt_port_is_logged_and_the_worker_idles(caplog: pytest.LogCaptureFixture) -> None:
    from weir.ingress.srt import SrtListener

    taken = SrtListener("127.0.0.1", port := free_udp_port())
    try:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.3, stop.set)
        with caplog.at_level(logging.ERROR, logger="weir.ingress.worker"):
            await asyncio.wait_for(run_worker(Settings(api_key="k", api_secret="s" * 40, ingress_rtmp_port=0,
                                                       ingress_srt_port=port), stop), 10)
    finally:
        taken.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "already listening on the same port" in errors[0]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
