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
            await asyncio.wait_for(run_worker(Settings(api_key="k", api_secret="s" * 40, ingress_rtmp_port=port),
                                              stop), 10)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith(f"no RTMP ingress: cannot listen on 127.0.0.1:{port}")
