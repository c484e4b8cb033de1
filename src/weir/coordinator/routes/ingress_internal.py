"""The ingress worker's internal channel: the events of the streams it takes in.

Authenticated like the recording workers' channel (a short JWT signed with the API secret); left out of
``/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from weir.coordinator.auth import services
from weir.coordinator.routes.egress_internal import worker_only
from weir.domain.clock import now
from weir.protocol.common import Empty
from weir.protocol.errors import input_error, not_found
from weir.protocol.events import IngressErrorEvent, IngressStartedEvent, IngressStoppedEvent
from weir.protocol.ingress import IngressEventReport
from weir.store import calls as store

__all__ = ["router"]

EVENTS: dict[str, Any] = {"ingress.started": IngressStartedEvent, "ingress.stopped": IngressStoppedEvent,
                          "ingress.error": IngressErrorEvent}

router = APIRouter(prefix="/internal/ingress", include_in_schema=False, dependencies=[Depends(worker_only)])


@router.post("/events", response_model=Empty)
async def report(request: Request, body: IngressEventReport) -> Empty:
    model = EVENTS.get(str(body.event.get("type")))
    if model is None:
        raise input_error("event.type", f"not an ingress event: {body.event.get('type')!r}")
    try:
        event = model(**body.event, call_cid=body.call_cid, created_at=now())
    except ValidationError as error:
        raise input_error("event", str(error)) from None
    weir = services(request)
    async with weir.db.transaction() as session:
        if await store.get_call(session, body.call_cid) is None:
            raise not_found(f"call {body.call_cid}")
        await weir.events.emit(session, event, call_cid=body.call_cid)
    return Empty()
