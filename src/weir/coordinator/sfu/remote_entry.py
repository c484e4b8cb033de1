"""WHIP and WHEP with SFU workers: the coordinator joins the caller, the call's worker sets up the media.

The coordinator's process keeps the public WHIP/WHEP resources (the database, the caller's token and the
join are there); ``RemoteEntry`` hands the offer and the grant to the owning worker's entry routes
(``weir.sfu.workers.entry_routes``) over the internal channel and relays its answer, or its error, unchanged.
With Redis, any coordinator process does so for any worker (the call's worker is its URL in Redis), so a
``DELETE`` answered by another process than the one that took the ``POST`` ends the session too.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from weir.coordinator.sfu.registry import LiveWorker, NoAllowedWorker, NoWorker, WorkerRegistry
from weir.domain.sfu_tokens import SfuGrant
from weir.protocol.errors import APIError, ErrorCode
from weir.sfu.entry import EntryKind
from weir.sfu.workers.channel import ENTRY_PREFIX, ChannelAuth, grant_to_json

__all__ = ["PLACE_WAIT_SECONDS", "RemoteEntry", "no_worker_error"]

PLACE_WAIT_SECONDS = 10.0


def no_worker_error(message: str = "no SFU worker is running: try again in a moment") -> APIError:
    """A 503: no SFU may take the call now (none is live, or none in its geofences)."""
    error = APIError(ErrorCode.INTERNAL, message)
    error.status_code = 503
    return error


def _relayed(response: httpx.Response) -> APIError:
    body = response.json()
    error = APIError(ErrorCode(body["code"]), body["message"], fields=body.get("exception_fields") or {})
    error.status_code = response.status_code
    return error


class RemoteEntry:
    def __init__(self, registry: WorkerRegistry, secret: str) -> None:
        self.registry = registry
        self.http = httpx.AsyncClient(auth=ChannelAuth(secret, None), timeout=30)
        # with cascading (``CallHosts``): the worker the join just placed the session on, and a session's worker
        self.placed: Callable[[str], LiveWorker | None] = lambda call_cid: None
        self.holder: Callable[[str, str], LiveWorker | None] = lambda call_cid, session_id: None

    async def open(self, kind: EntryKind, grant: SfuGrant, sdp: str) -> str:
        try:
            worker = self.placed(grant.call_cid) or await self.registry.place(grant.call_cid, PLACE_WAIT_SECONDS)
        except NoWorker:
            raise no_worker_error() from None
        except NoAllowedWorker as error:
            raise no_worker_error(str(error)) from None
        response = await self.http.post(f"{worker.base_url}{ENTRY_PREFIX}/{kind}",
                                        json={"grant": grant_to_json(grant), "sdp": sdp})
        if response.status_code != 200:
            raise _relayed(response)
        return str(response.json()["sdp"])

    async def close(self, call_cid: str, session_id: str, user_id: str | None) -> bool:
        """Close the session on its worker, whichever process holds that worker's channel: its entry routes
        answer any coordinator process."""
        worker = self.holder(call_cid, session_id) or self.registry.owner(call_cid)
        shared = self.registry.shared
        base_url = worker.base_url if worker else await shared.owner(call_cid) if shared else None
        if base_url is None:
            return False
        try:
            response = await self.http.post(f"{base_url}{ENTRY_PREFIX}/close", json={
                "call_cid": call_cid, "session_id": session_id, "user_id": user_id})
        except httpx.TransportError:  # the worker is gone, and its sessions with it
            return False
        if response.status_code != 200:
            raise _relayed(response)
        return bool(response.json()["closed"])

    async def aclose(self) -> None:
        await self.http.aclose()
