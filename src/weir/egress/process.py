"""Entry point of a recording worker process started by ``weir serve`` (``egress.supervisor``)."""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import sys

from weir.config import Settings
from weir.egress.worker import run_worker


async def main() -> None:
    settings = Settings.model_validate_json(sys.stdin.readline())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # The end of stdin means the supervisor is gone or stopping.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 1) else None)
    await run_worker(settings, stop)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="egress %(levelname)s %(name)s: %(message)s")
    faulthandler.enable()  # a crash in native code (PyAV, libvpx) names its Python frame
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main())
