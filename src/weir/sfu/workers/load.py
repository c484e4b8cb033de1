"""What a worker reports of its load: participants and tracks it carries, its CPU use and its host's traffic.

CPU is this process's (user + system) time per wall second, in percent of one core. Bandwidth is the host's: the
bytes through its network interfaces but loopback (``/proc/net/dev``), in and out, per second; on a node's own
host (or network namespace) that is the traffic its media makes.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel

__all__ = ["Load", "LoadMeter", "interface_bytes"]

NET_DEV = Path("/proc/net/dev")


class Load(BaseModel):
    participants: int = 0
    tracks: int = 0
    cpu_percent: float = 0.0
    bandwidth_bps: int = 0


def interface_bytes(net_dev: str) -> int:
    """Bytes received and sent through every interface but ``lo``, from ``/proc/net/dev``'s text."""
    total = 0
    for line in net_dev.splitlines()[2:]:
        name, _, fields = line.partition(":")
        if name.strip() != "lo" and fields:
            numbers = fields.split()
            total += int(numbers[0]) + int(numbers[8])
    return total


def _host_bytes() -> int:
    try:
        return interface_bytes(NET_DEV.read_text())
    except OSError:
        return 0


class LoadMeter:
    """Samples CPU time and interface bytes; each ``sample`` gives the rates since the previous one."""

    def __init__(self) -> None:
        self._at = time.monotonic()
        self._cpu = time.process_time()
        self._bytes = _host_bytes()

    def sample(self, participants: int, tracks: int) -> Load:
        at, cpu, sent = time.monotonic(), time.process_time(), _host_bytes()
        elapsed = max(at - self._at, 1e-6)
        load = Load(participants=participants, tracks=tracks, cpu_percent=round(100 * (cpu - self._cpu) / elapsed, 1),
                    bandwidth_bps=int(8 * max(sent - self._bytes, 0) / elapsed))
        self._at, self._cpu, self._bytes = at, cpu, sent
        return load
