"""HTTP routes, one module per resource; each exposes ``router``."""

from fastapi import APIRouter, Depends, FastAPI, Request

from weir.coordinator.realtime import connect as realtime_connect
from weir.coordinator.routes import (
    app_settings,
    broadcasting,
    call_actions,
    call_lifecycle,
    call_stats,
    calls,
    calltypes,
    dashboard,
    devices,
    edges,
    egress_internal,
    external_storage,
    moderation,
    push_providers,
    queries,
    recordings,
    roles,
    rtmp_broadcasts,
    system,
    tasks,
    transcriptions,
    users,
)
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


def include_api(app: FastAPI) -> None:
    """Each resource's router straight into the app: FastAPI matches a request once per level of included
    routers, so nesting them (API prefix, then body check, then resource) walked the route lists three times."""
    storable = [Depends(storable_body)]
    # queries and call_stats first: their POST /video/call/members, /stats and /feedback must win over calls'
    # POST /video/call/{type}. Then calls, the busiest (no later route shares a path with it): the app tries the
    # routers in this order.
    for module in (system, queries, call_stats, calls, users, moderation, roles, calltypes, call_actions,
                   call_lifecycle, app_settings, devices, push_providers, external_storage, edges, recordings,
                   transcriptions, broadcasting, rtmp_broadcasts, tasks):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=storable)
    app.include_router(recordings.files_router, prefix=API_PREFIX, dependencies=storable)
    app.include_router(dashboard.router, prefix=API_PREFIX, dependencies=storable)
    app.include_router(realtime_connect.router, prefix=API_PREFIX)


def internal_router() -> APIRouter:
    """Routes of Weir's own processes (recording workers), outside the public API prefix."""
    return egress_internal.router
