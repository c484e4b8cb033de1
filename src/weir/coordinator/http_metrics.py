"""HTTP request counts and latencies by route template (``/api/v1/video/call/{type}/{id}``, never the raw path,
so that the label set stays bounded), method and status, for ``/metrics``."""

from __future__ import annotations

import re
import time

from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HttpMetrics", "RouteTemplates"]

UNMATCHED = "other"  # the browser app, HLS files, and paths that match nothing
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # others count as "other"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RouteTemplates:
    """The full template of the route that answered. The router leaves the route in the scope, but a route of
    an included router knows only its own part of the path (``/{type}/{id}/join``): the full one (with the
    prefixes) comes from the app's route list, read once."""

    def __init__(self) -> None:
        self._full: dict[int, list[tuple[re.Pattern[str], str]]] | None = None

    def __call__(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        if self._full is None:
            self._full = {}
            for context in iter_route_contexts(scope["app"].routes):
                if context.path is not None and context.path_format is not None:
                    entry = (compile_path(context.path)[0], context.path_format)
                    self._full.setdefault(id(context.original_route), []).append(entry)
        candidates = self._full.get(id(route), [])
        found = next((template for regex, template in candidates if regex.match(scope["path"])), None)
        return found or str(getattr(route, "path", UNMATCHED))


class HttpMetrics:
    """ASGI middleware counting every HTTP request once its response started (500 if none did)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.template = RouteTemplates()
        self.requests = Counter("weir_http_requests", "HTTP requests answered.", ["method", "route", "status"],
                                registry=registry)
        self.latency = Histogram("weir_http_request_duration_seconds", "Time to the response's start.",
                                 ["method", "route"], buckets=BUCKETS, registry=registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        method = scope["method"] if scope["method"] in METHODS else UNMATCHED

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                self.latency.labels(method, self.template(scope)).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.requests.labels(method, self.template(scope), str(status)).inc()
