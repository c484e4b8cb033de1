"""HLS playlists and segments, served by the coordinator from the egress worker's folder (``<data_dir>/egress/
<egress id>/``: worker and coordinator share the data dir). No credentials: the egress id (128 random bits) in
the URL is the capability, as a CDN URL would be.

Players on other origins may fetch (CORS ``*``). The headers are for a CDN in front: a live playlist changes
every segment, so it may be kept 1 s (an edge then asks Weir at most once a second, however many watch); a
segment never changes once named in a playlist (the worker writes it under a temporary name and renames it),
so it is immutable.

Every viewer fetches a playlist and a segment each second, so this is an ASGI middleware in front of the API,
not a route: no routing through the API's routes and no request model per fetch, and the latest segments stay
in memory. That is what lets one process serve thousands of viewers (docs/benchmarks.md).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from weir.coordinator.broadcaster import HLS_PATH

FILE = re.compile(HLS_PATH + r"/([0-9a-f]{32})/(master\.m3u8|[A-Za-z0-9_-]{1,32}/(?:index\.m3u8|\d{1,10}\.ts))")
CORS = [(b"access-control-allow-origin", b"*")]
PLAYLIST = [*CORS, (b"content-type", b"application/vnd.apple.mpegurl"), (b"cache-control", b"public, max-age=1")]
SEGMENT = [*CORS, (b"content-type", b"video/mp2t"), (b"cache-control", b"public, max-age=31536000, immutable")]
MISSING = [*CORS, (b"cache-control", b"no-store")]  # not written yet, or gone: ask again, never cache the miss
SEGMENTS_KEPT = 256  # ~ the last 40 s of a 3-rung ladder, a few tens of MB


class SegmentCache:
    """The segments read last, by path (a segment's bytes never change)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[Path, bytes] = OrderedDict()

    def read(self, path: Path) -> bytes:
        body = self.entries.get(path)
        if body is None:
            body = path.read_bytes()
            self.entries[path] = body
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)
        else:
            self.entries.move_to_end(path)
        return body


class HlsServing:
    """ASGI middleware: answers GET and HEAD under ``/hls/``, passes everything else to ``app``."""

    def __init__(self, app: ASGIApp, data_dir: Path) -> None:
        self.app, self.root = app, data_dir / "egress"  # egress.delivery.work_dir's folders
        self.segments = SegmentCache(SEGMENTS_KEPT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(HLS_PATH + "/"):
            await self.app(scope, receive, send)
            return
        status, headers, body = self._answer(scope["path"])
        if scope["method"] not in ("GET", "HEAD"):
            status, headers, body = 405, [*MISSING, (b"allow", b"GET, HEAD")], b""
        length = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers + length})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    def _answer(self, path: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        wanted = FILE.fullmatch(path)
        if wanted is None:
            return 404, MISSING, b""
        file = self.root / wanted[1] / wanted[2]
        try:  # small local files: read in place, no thread hop
            if file.suffix == ".ts":
                return 200, SEGMENT, self.segments.read(file)
            return 200, PLAYLIST, file.read_bytes()
        except OSError:
            return 404, MISSING, b""
