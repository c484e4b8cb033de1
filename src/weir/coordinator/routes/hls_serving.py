"""HLS playlists and segments, served by the coordinator from the egress worker's folder (``<data_dir>/egress/
<egress id>/``: worker and coordinator share the data dir). No credentials: the egress id (128 random bits) in
the URL is the capability, as a CDN URL would be.

Players on other origins may fetch (CORS ``*``). The headers are for a CDN in front: a live playlist changes
every segment, so it may be kept 1 s (an edge then asks Weir at most once a second, however many watch); a
segment never changes once named in a playlist (the worker writes it under a temporary name and renames it),
so it is immutable. Segments are small and read often by every viewer: the latest ones stay in memory.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

from fastapi import APIRouter, Request, Response

from weir.coordinator.auth import services
from weir.coordinator.broadcaster import HLS_PATH
from weir.egress.delivery import work_dir

router = APIRouter(prefix=HLS_PATH, tags=["broadcasting"], include_in_schema=False)

FILE = re.compile(r"master\.m3u8|[A-Za-z0-9_-]{1,32}/(?:index\.m3u8|\d{1,10}\.ts)")
EGRESS_ID = re.compile(r"[0-9a-f]{32}")
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Content-Length"}
PLAYLIST = {**CORS, "Cache-Control": "public, max-age=1"}
SEGMENT = {**CORS, "Cache-Control": "public, max-age=31536000, immutable"}
MISSING = {**CORS, "Cache-Control": "no-store"}  # not yet written, or gone: ask again, never cache the miss
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


segments = SegmentCache(SEGMENTS_KEPT)


@router.get("/{egress_id}/{name:path}", summary="An HLS playlist or segment of a broadcast")
async def hls_file(request: Request, egress_id: str, name: str) -> Response:
    if not EGRESS_ID.fullmatch(egress_id) or not FILE.fullmatch(name):
        return Response(status_code=404, headers=MISSING)
    path = work_dir(services(request).settings.data_dir, egress_id) / name
    try:  # small local files: read in place, no thread hop (what makes one process serve thousands)
        if name.endswith(".ts"):
            return Response(segments.read(path), media_type="video/mp2t", headers=SEGMENT)
        return Response(path.read_bytes(), media_type="application/vnd.apple.mpegurl", headers=PLAYLIST)
    except OSError:
        return Response(status_code=404, headers=MISSING)
