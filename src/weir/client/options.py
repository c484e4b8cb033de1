"""``StreamVideoOptions``: where the coordinator is and how the client behaves.

URLs are the server's base URL as ``make run`` prints it (``http://host:port``, ``ws://host:port``); the SDK adds
``/api/v1`` and ``/api/v1/connect``. Left out, they come from ``WEIR_URL`` (default ``http://127.0.0.1:3030``),
and the WebSocket URL follows the REST one.
"""

from __future__ import annotations

import os
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from weir.client.preferences import CallPreferences

DEFAULT_URL = "http://127.0.0.1:3030"
API_PREFIX = "/api/v1"
CONNECT_PATH = "/connect"


BACKOFF_CAP_SECONDS = 1.0  # a server that comes back is found within a second


def default_backoff(attempt: int) -> float:
    """Seconds before reconnection attempt ``attempt`` (1, 2, …): 0.25 s doubling, capped at 1 s, drawn at random
    from the upper half of that (jitter: the clients of a restarted server don't all come back in step)."""
    ceiling = min(0.25 * 2 ** min(attempt - 1, 16), BACKOFF_CAP_SECONDS)
    return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class RetryPolicy:
    """How the coordinator WebSocket reconnects: at most ``max_retries`` attempts (None: forever)."""

    max_retries: int | None = None
    backoff: Callable[[int], float] = default_backoff


@dataclass(frozen=True)
class StreamVideoOptions:
    """Documented options that apply to a Python client; mobile-only ones (background muting, PiP, log
    handlers, SDP policy) are left out, see docs/python-sdk.md."""

    coordinator_rpc_url: str | None = None
    coordinator_ws_url: str | None = None
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    auto_connect: bool = True
    include_user_details_for_auto_connect: bool = True
    allow_multiple_active_calls: bool = False
    default_call_preferences: CallPreferences = field(default_factory=CallPreferences)
    # Weir's: seconds between the client's health checks (the server closes a socket silent for 30 s).
    health_check_interval: float = 10.0
    # Weir's: seconds an HTTP request may take.
    request_timeout: float = 30.0
    # Weir's: how https/wss certificates are checked (coordinator and SFU); None: the system's CAs. For a
    # private CA: ssl.create_default_context(cafile="ca.pem").
    ssl_context: ssl.SSLContext | None = None

    def rpc_base(self) -> str:
        """The REST base URL, ``…/api/v1``."""
        return _with_suffix(self.coordinator_rpc_url or os.environ.get("WEIR_URL") or DEFAULT_URL, API_PREFIX)

    def ws_url(self) -> str:
        """The coordinator WebSocket URL, ``…/api/v1/connect``."""
        if self.coordinator_ws_url:
            return _with_suffix(self.coordinator_ws_url, API_PREFIX) + CONNECT_PATH
        rpc = self.rpc_base()
        scheme, rest = rpc.split("://", 1)
        return ("wss" if scheme == "https" else "ws") + "://" + rest + CONNECT_PATH


def _with_suffix(url: str, suffix: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith(suffix) else url + suffix
