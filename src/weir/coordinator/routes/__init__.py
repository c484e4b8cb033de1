"""HTTP routes, one module per resource; each exposes ``router``."""

from fastapi import APIRouter, Depends, Request

from weir.coordinator.realtime import connect as realtime_connect
from weir.coordinator.routes import app_settings, call_actions, call_lifecycle, calls, calltypes, moderation, queries
from weir.coordinator.routes import devices, edges, push_providers, roles, system, users
from weir.protocol.errors import input_error
from weir.protocol.limits import json_text_problem

API_PREFIX = "/api/v1"


async def storable_body(request: Request) -> None:
    """Every JSON body must be storable: NaN, Infinity, NUL characters and lone surrogates are a 400 naming the
    field, not a database error."""
    if request.method in ("POST", "PUT", "PATCH"):
        problem = json_text_problem(await request.body())
        if problem is not None:
            raise input_error(*problem)


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    http = APIRouter(dependencies=[Depends(storable_body)])
    # queries first: its POST /video/call/members must win over calls' POST /video/call/{type}.
    for module in (system, queries, users, moderation, roles, calltypes, call_actions, call_lifecycle, calls,
                   app_settings, devices, push_providers, edges):
        http.include_router(module.router)
    router.include_router(http)
    router.include_router(realtime_connect.router)
    return router
