"""HTTP routes, one module per resource; each exposes ``router``."""

from fastapi import APIRouter

from weir.coordinator.realtime import socket as realtime_socket

from weir.coordinator.routes import calls, calltypes, moderation, roles, system, users

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module in (system, users, moderation, roles, calltypes, calls):
        router.include_router(module.router)
    router.include_router(realtime_socket.router)
    return router
