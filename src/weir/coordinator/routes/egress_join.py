"""A recording worker's join: SFU credentials for a hidden participant, with no participation recorded.

The coordinator adds no session participant, so the worker is never listed, counted, announced or kept in the
session; the SFU admits it on its token alone (``hidden``). The token only works while its job is live.
"""

from __future__ import annotations

from fastapi import Request

from weir.coordinator.auth import Caller, services
from weir.coordinator.call_access import system_access
from weir.coordinator.callview import call_state_response
from weir.coordinator.routes.edges import _sfu_base_url, ice_servers
from weir.coordinator.sfu.placement import SfuPlacement
from weir.domain.sfu_tokens import create_sfu_token
from weir.protocol.calls import MEMBERS_LIMIT_DEFAULT, JoinCallResponse
from weir.protocol.errors import APIError, ErrorCode, not_found
from weir.protocol.sfu_edges import Credentials, SfuServer, StatsOptions
from weir.sfu.signaling.paths import SIGNALING_PATH
from weir.store import calls as store
from weir.store.sessions import new_id
from weir.store.tables import EgressJobRow

EGRESS_ROLE = "egress"


async def egress_join(request: Request, who: Caller, type_: str, id_: str) -> JoinCallResponse:
    weir = services(request)
    cid = f"{type_}:{id_}"
    who.require_call(cid)
    async with weir.db.read() as session:
        call = await store.get_call(session, cid)
        if call is None:
            raise not_found(f"call {cid}")
        job = await session.get(EgressJobRow, str(who.claims.extra["egress_id"]))
        if job is None or job.call_cid != cid or job.status not in ("running", "stopping"):
            raise APIError(ErrorCode.NOT_ALLOWED, "this recording is not running")
        state = await call_state_response(session, call, await system_access(session, call), MEMBERS_LIMIT_DEFAULT)
    placement: SfuPlacement = request.app.state.sfu_placement
    sfu = await placement.place(cid, _sfu_base_url(request))
    user_session_id = new_id()
    token = create_sfu_token(weir.api_secret, call_cid=cid, user_id=str(who.user_id), session_id=user_session_id,
                             role=EGRESS_ROLE, capabilities=[], ttl_seconds=weir.settings.sfu_token_ttl_seconds,
                             hidden=True)
    server = SfuServer(url=sfu.base_url.replace("http", "ws", 1) + SIGNALING_PATH, edge_name=sfu.edge_name)
    credentials = Credentials(server=server, token=token, ice_servers=ice_servers(weir.settings, str(who.user_id)))
    return JoinCallResponse(**{**state.model_dump(), "own_capabilities": []}, created=False,
                            session_id=call.current_session_id or "", user_session_id=user_session_id,
                            credentials=credentials,
                            stats_options=StatsOptions(reporting_interval_ms=weir.settings.stats_reporting_interval_ms))
