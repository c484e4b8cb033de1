"""`weir serve` serves the built app at `/`, index.html for the app's own paths, and the API still wins."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from starlette.applications import Starlette

from tests.conftest import RunningServer, assert_error
from tests.web.conftest import off_loop
from weir.coordinator.webapp import web_app
from weir.protocol.errors import ErrorCode


def test_app_at_root_and_deep_links(web_server: RunningServer) -> None:
    with httpx.Client(base_url=web_server.base_url) as http:
        index = http.get("/")
        assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
        assert '<div id="app">' in index.text
        assert index.headers["cache-control"] == "no-cache"
        deep = http.get("/join/default/standup")
        assert deep.status_code == 200 and deep.text == index.text

        script = re.search(r'src="(/assets/[^"]+\.js)"', index.text)
        assert script is not None, index.text
        asset = http.get(script.group(1))
        assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
        assert_error(http.get("/assets/missing.js"), 404, ErrorCode.NOT_FOUND)


def test_api_routes_still_win(web_server: RunningServer) -> None:
    with httpx.Client(base_url=web_server.base_url) as http:
        assert http.get("/api/v1/health").json()["status"] == "ok"
        body = assert_error(http.get("/api/v1/no/such/thing"), 404, ErrorCode.NOT_FOUND)
        assert "no route for GET" in body["message"]
        assert_error(http.get("/api/v1/video/call/default"), 405)  # a POST-only route keeps its 405
        assert_error(http.get("/sfu/nothing"), 404, ErrorCode.NOT_FOUND)
        assert "swagger" in http.get("/docs").text.lower()
        assert http.get("/openapi.json").json()["info"]["title"] == "Weir coordinator API"


def test_unbuilt_app_says_how_to_build_it(tmp_path: Path) -> None:
    app = Starlette()
    app.router.default = web_app(tmp_path)

    async def fetch() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://weir") as client:
            return await client.get("/"), await client.get("/join/default/x")

    page, deep = off_loop(lambda: asyncio.run(fetch()))
    assert page.status_code == 503 and "npm run build" in page.text
    assert deep.status_code == 404
