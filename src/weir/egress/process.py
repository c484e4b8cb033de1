"""Entry point of a recording worker process started by ``weir serve`` (``egress.supervisor``)."""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import sys
from collections.abc import Awaitable, Callable

from weir.config import Settings
from weir.egress.worker import run_worker

Worker = Callable[[Settings, asyncio.Event], Awaitable[None]]


async def main(worker: Worker = run_worker) -> None:
    settings = Settings.model_validate_json(sys.stdin.readline())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # The end of stdin means the supervisor is gone or stopping.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 1) else None)
    await worker(settings, stop)


def run_process(name: str, worker: Worker) -> None:
    """A worker process's life: logging, native-crash tracebacks, ``worker`` until stdin ends."""
    logging.basicConfig(level=logging.INFO, format=f"{name} %(levelname)s %(name)s: %(message)s")
    faulthandler.enable()  # a crash in native code (PyAV, libvpx) names its Python frame
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main(worker))


if __name__ == "__main__":
    run_process("egress", run_worker)
