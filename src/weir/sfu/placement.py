"""``SfuPlacement``: which SFU a call's participants are sent to, as the base URL of its signaling socket.

``SameServer``: the SFU runs in the coordinator's process. With workers, ``WorkerPlacement``
(``workers/placement.py``) sends each call to the worker that owns it.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["SameServer", "SfuPlacement"]


class SfuPlacement(Protocol):
    async def base_url(self, call_cid: str, public_base: str) -> str:
        """The SFU's base URL for this call, given the public base URL clients reach this server at."""
        ...


class SameServer:
    async def base_url(self, call_cid: str, public_base: str) -> str:
        return public_base
