"""HTTP routes, one module per resource; each exposes ``router``."""

from fastapi import APIRouter

from weir.coordinator.realtime import socket as realtime_socket

from weir.coordinator.routes import app_settings, call_actions, call_lifecycle, calls, calltypes, moderation, queries
from weir.coordinator.routes import roles, system
from weir.coordinator.routes import devices, push_providers, users

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    # queries first: its POST /video/call/members must win over calls' POST /video/call/{type}.
    for module in (system, queries, users, moderation, roles, calltypes, call_actions, call_lifecycle, calls, app_settings,
                   devices, push_providers):
        router.include_router(module.router)
    router.include_router(realtime_socket.router)
    return router
