"""Network shaping for the soak harness and the call-quality tests, with nftables (the kernel here has no netem).

Each shaping is one nftables table with an ``output`` chain, so it applies to every UDP datagram once, where
it leaves its socket, and goes away by deleting its table. Meant for a network namespace of the caller's own
(``unshare -n``, as bench/soak.py runs), never the machine's: there every datagram is media between the SDK
clients and the SFU on loopback (ICE and DTLS included; the WebSockets are TCP and pass).
"""

from __future__ import annotations

import shutil
import subprocess

__all__ = ["cap", "loss", "nft_available", "unshape"]

LOSS_TABLE = "weir_loss"
CAP_TABLE = "weir_cap"
CAP_BURST_S = 0.25  # the policer lets this much of the rate through at once, like a short bottleneck queue


def nft_available() -> bool:
    return shutil.which("nft") is not None


def _table(name: str, rule: str) -> str:
    return (f"table inet {name} {{\n  chain out {{\n    type filter hook output priority 0; policy accept;\n"
            f"    {rule}\n  }}\n}}\n")


def _apply(ruleset: str) -> None:
    subprocess.run(["nft", "-f", "-"], input=ruleset, text=True, check=True, capture_output=True)


def loss(percent: float) -> None:
    """Drop ``percent`` % of UDP datagrams at random (whole percents; each leg of a path loses that much)."""
    if not 0 <= percent <= 100:
        raise ValueError(f"loss must be 0..100 %, not {percent}")
    _apply(_table(LOSS_TABLE, f"meta l4proto udp numgen random mod 100 < {round(percent)} drop"))


def cap(address: str, kbps: int) -> None:
    """Police UDP datagrams to ``address`` to ``kbps`` kilobits per second (over that: dropped)."""
    if kbps <= 0:
        raise ValueError(f"the cap must be a positive number of kbps, not {kbps}")
    rate = kbps * 1000 // 8
    _apply(_table(CAP_TABLE, f"ip daddr {address} meta l4proto udp limit rate over {rate} bytes/second "
                             f"burst {int(rate * CAP_BURST_S)} bytes drop"))


def unshape(table: str) -> None:
    """Remove one shaping (``LOSS_TABLE`` or ``CAP_TABLE``); nothing happens if it is not there."""
    subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True)
