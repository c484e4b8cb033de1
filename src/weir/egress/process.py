"""Entry point of a recording worker process started by ``weir serve`` (``egress.supervisor``); the transcription
worker's (``weir.ai.process``) runs through ``start`` too."""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import sys
from collections.abc import Awaitable, Callable

from weir.config import Settings
from weir.egress.worker import run_worker
from weir.logging_setup import configure_logging

Run = Callable[[Settings, asyncio.Event], Awaitable[None]]


async def main(run: Run, label: str) -> None:
    settings = Settings.model_validate_json(sys.stdin.readline())
    configure_logging(settings.log_format, "info", label)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # The end of stdin means the supervisor is gone or stopping.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 1) else None)
    await run(settings, stop)


def start(run: Run, label: str) -> None:
    faulthandler.enable()  # a crash in native code (PyAV, libvpx) names its Python frame
    asyncio.run(main(run, label))


if __name__ == "__main__":
    start(run_worker, "egress")
