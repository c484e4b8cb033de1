"""What the client raises: ``WeirAPIError`` for a refused request (the server SDK's), ``VideoError`` for a
misuse the SDK itself detects."""

from __future__ import annotations

from weir.server.response import WeirAPIError


class VideoError(Exception):
    """An SDK-side error: no token, an operation the client's mode doesn't allow, an unknown participant."""


__all__ = ["VideoError", "WeirAPIError"]
