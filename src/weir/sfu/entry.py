"""``MediaEntry``: where a WHIP or WHEP session gets its media, once the coordinator let the caller join.

``LocalEntry`` (``local_entry.py``) sets it up on this process's rooms; with SFU workers, ``RemoteEntry``
(``weir.coordinator.sfu.remote_entry``) hands it to the worker that owns the call.
"""

from __future__ import annotations

from typing import Literal, Protocol

from weir.domain.sfu_tokens import SfuGrant

__all__ = ["EntryKind", "MediaEntry"]

EntryKind = Literal["whip", "whep"]


class MediaEntry(Protocol):
    async def open(self, kind: EntryKind, grant: SfuGrant, sdp: str) -> str:
        """Admit the grant's session and answer its offer (publish for WHIP, play for WHEP); APIError if not."""
        ...

    async def close(self, call_cid: str, session_id: str, user_id: str | None) -> bool:
        """End the session (only ``user_id``'s own, unless None: a server token); False if there is none."""
        ...
