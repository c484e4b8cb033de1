"""The browser app at ``/``: the files ``web/`` builds into ``weir/web_dist``, with ``index.html`` for the app's
own paths (``/join/<type>/<id>``). It is the router's fallback, so every API route (and its 405) wins."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

WEB_DIST = Path(__file__).resolve().parent.parent / "web_dist"
# Paths that belong to the API: a miss there is the API's JSON 404, never the app's index.html.
RESERVED = {"api", "sfu", "docs", "openapi.json", "redoc"}
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>Weir</title>
<p>The web app is not built. Run <code>make run</code>, or
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>.
The API is at <a href="/docs">/docs</a>.</p>"""


class WebApp(StaticFiles):
    """Built assets; unknown paths without a file extension get ``index.html`` (the app routes itself)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.split(os.sep, 1)[0] in RESERVED:
            raise HTTPException(status_code=404)
        try:
            response = await super().get_response(path, scope)
        except HTTPException as error:
            if error.status_code != 404 or "." in os.path.basename(path):
                raise
            response = await super().get_response("index.html", scope)
        hashed = path.startswith("assets" + os.sep)
        response.headers["cache-control"] = "public, max-age=31536000, immutable" if hashed else "no-cache"
        return response


async def _not_built(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await WebSocketClose()(scope, receive, send)
        return
    if scope["path"] != "/":
        raise HTTPException(status_code=404)
    await HTMLResponse(NOT_BUILT, status_code=503)(scope, receive, send)


def web_app(directory: Path = WEB_DIST) -> ASGIApp:
    """The app's ASGI handler, or a page that says how to build it."""
    if (directory / "index.html").is_file():
        return WebApp(directory=directory, html=True)
    return _not_built
