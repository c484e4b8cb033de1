"""A composite recording's programs end with their worker, even one killed with no chance to clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.sfu.rtc_peers import eventually
from weir.config import Settings
from weir.egress.supervisor import EgressWorkers

# A stand-in worker: spawns a long sleep the way a recording spawns ffmpeg, prints its pid, and waits.
WORKER = """
import asyncio, sys, tempfile
from pathlib import Path
from weir.egress.composite.processes import spawn

async def main() -> None:
    async with spawn("sleeper", ["sleep", "300"], Path(tempfile.mkdtemp())) as child:
        print(child.process.pid, flush=True)
        await asyncio.sleep(300)

asyncio.run(main())
"""


def process_table() -> dict[int, tuple[int, str]]:
    """Every live process: its parent's pid and its command line."""
    table = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        table[int(entry)] = (int(stat[stat.rindex(")") + 2:].split()[1]), cmdline)
    return table


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped yet has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


async def test_a_killed_worker_takes_its_programs_with_it() -> None:
    with subprocess.Popen([sys.executable, "-c", WORKER], stdout=subprocess.PIPE, text=True) as worker:
        assert worker.stdout is not None
        sleeper = int(worker.stdout.readline())
        try:
            assert running(sleeper)
            # setpriv sets the death signal, then execs the program: kill the worker once the program runs
            await eventually(lambda: process_table().get(sleeper, (0, ""))[1].startswith("sleep "), 10,
                             "setpriv to exec the program")
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
            await eventually(lambda: not running(sleeper), 10, "the program ending with its worker")
        finally:
            if running(sleeper):
                os.kill(sleeper, signal.SIGKILL)


# A worker that ignores the end of its stdin, so that EgressWorkers.stop has to kill it.
STUBBORN = "import time\nwhile True:\n    time.sleep(1)\n"


async def test_a_worker_that_will_not_stop_is_killed_and_reaped(tmp_path: Path) -> None:
    (tmp_path / "stubborn_worker.py").write_text(STUBBORN)
    workers = EgressWorkers(Settings(data_dir=tmp_path), module="stubborn_worker", count=1)
    workers.env["PYTHONPATH"] = str(tmp_path)
    workers.start()
    await eventually(lambda: bool(workers.processes), 10, "the worker started")
    process = workers.processes[0]
    await workers.stop()
    assert process.returncode == -signal.SIGKILL  # reaped by stop, not left for the garbage collector
