"""``weir serve``'s workers: ``WEIR_EGRESS_WORKERS`` recording processes and ``WEIR_AI_WORKERS`` transcription ones,
restarted when they exit.

Each is ``python -m weir.egress.process`` (``weir.ai.process``) told the settings as one JSON line on stdin; the end
of its stdin (our shutdown, or our death) is its signal to stop, so no worker outlives ``weir serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys

from weir.config import Settings

log = logging.getLogger(__name__)
RESTART_DELAY_SECONDS = 1.0


class EgressWorkers:
    def __init__(self, settings: Settings, module: str = "weir.egress.process", count: int | None = None) -> None:
        self.settings, self.module = settings, module
        self.count = settings.egress_workers if count is None else count
        self.env = dict(os.environ)  # as at start-up (ICE host addresses, for one)
        self.processes: list[asyncio.subprocess.Process] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._keep(i)) for i in range(self.count)]

    async def _keep(self, index: int) -> None:
        while not self._stopping:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, stdin=asyncio.subprocess.PIPE, start_new_session=True,
                env=self.env)
            self.processes.append(process)
            assert process.stdin is not None
            process.stdin.write(self.settings.model_dump_json().encode() + b"\n")
            await process.stdin.drain()
            code = await process.wait()
            self.processes.remove(process)
            if not self._stopping:
                log.warning("%s worker %d exited with %s: restarting", self.module, index, code)
                await asyncio.sleep(RESTART_DELAY_SECONDS)

    async def stop(self) -> None:
        self._stopping = True
        for process in list(self.processes):
            if process.stdin is not None:
                process.stdin.close()
        for process in list(self.processes):
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()  # reaped here: its transport would otherwise outlive the event loop
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
