"""``WorkerSupervisor``: starts the SFU worker processes, restarts one that dies, drains or stops them all.

A worker that exits ``DRAINED_EXIT`` was drained and is not restarted; ``wait`` returns once every worker is over.

A worker is told its ``WorkerSpec`` on stdin and keeps reading it: the end of its stdin is its signal to stop,
whether the supervisor closes it or this process dies (the kernel closes it then), so no worker outlives the
coordinator.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable

from weir.sfu.workers.spec import DRAIN_LINE, DRAINED_EXIT, WorkerSpec

__all__ = ["WorkerSupervisor"]

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = (0.2, 1.0, 5.0)  # after a first, second, and any further quick crash
STABLE_SECONDS = 30.0  # a worker that ran this long starts the delays over
STOP_TIMEOUT_SECONDS = 10.0


class WorkerSupervisor:
    def __init__(self, specs: list[WorkerSpec], on_lost: Callable[[int], Awaitable[None]]) -> None:
        self.specs = specs
        self.on_lost = on_lost
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._keep(spec), name=f"weir-sfu-worker-{spec.index}")
                       for spec in self.specs]

    async def drain(self) -> None:
        """Ask every worker to drain (each exits once its participants have moved on)."""
        for process in self.processes.values():
            if process.stdin is not None and not process.stdin.is_closing():
                process.stdin.write(DRAIN_LINE)

    async def wait(self) -> None:
        """Until every worker is over (drained, or stopped)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        self._stopping = True
        for process in self.processes.values():
            if process.stdin is not None and not process.stdin.is_closing():
                process.stdin.close()
        if not self._tasks:
            return
        await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_SECONDS)
        for index, process in self.processes.items():
            if process.returncode is None:
                log.warning("SFU worker %d did not stop in time; killing it", index)
                process.kill()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _keep(self, spec: WorkerSpec) -> None:
        crashes = 0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            process = await self._spawn(spec)
            code = await process.wait()
            if self._stopping or code == DRAINED_EXIT:
                return
            crashes = 1 if loop.time() - started > STABLE_SECONDS else crashes + 1
            log.warning("SFU worker %d (pid %d) exited with %s; restarting it", spec.index, process.pid, code)
            try:
                await self.on_lost(spec.index)
            except Exception:
                log.exception("could not clean up after SFU worker %d", spec.index)
            await asyncio.sleep(RESTART_DELAY_SECONDS[min(crashes, len(RESTART_DELAY_SECONDS)) - 1])

    async def _spawn(self, spec: WorkerSpec) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "weir.sfu.workers.process", stdin=asyncio.subprocess.PIPE,
            start_new_session=True)  # a terminal's Ctrl-C reaches the coordinator only, which stops them in order
        assert process.stdin is not None
        process.stdin.write(spec.model_dump_json().encode() + b"\n")
        await process.stdin.drain()
        self.processes[spec.index] = process
        log.info("SFU worker %d started (pid %d)", spec.index, process.pid)
        return process
