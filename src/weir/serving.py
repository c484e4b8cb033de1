"""How Weir's HTTP servers (the coordinator and each SFU worker) run under uvicorn, with the same limits."""

from __future__ import annotations

from typing import Any

import uvicorn

# The largest WebSocket frame the server reads at all (uvicorn's default is 16 MiB, read before the app sees a
# byte, so before any auth). Signaling messages stay far below it; each endpoint checks its own, smaller limit.
WS_MAX_FRAME_BYTES = 1 << 20


def uvicorn_config(app: Any, *, log_level: str, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(app, log_level=log_level, lifespan="on", ws_max_size=WS_MAX_FRAME_BYTES, **options)
