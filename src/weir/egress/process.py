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

Run = Callable[[Settings, asyncio.Event], Awaitable[None]]


async def main(run: Run) -> None:
    settings = Settings.model_validate_json(sys.stdin.readline())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # The end of stdin means the supervisor is gone or stopping.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 1) else None)
    await run(settings, stop)


def start(run: Run, label: str) -> None:
    logging.basicConfig(level=logging.INFO, format=f"{label} %(levelname)s %(name)s: %(message)s")
    faulthandler.enable()  # a crash in native code (PyAV, libvpx) names its Python frame
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main(run))


if __name__ == "__main__":
    start(run_worker, "egress")
