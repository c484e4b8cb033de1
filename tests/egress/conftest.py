"""Egress tests run against ``weir serve``'s app with ICE on 127.0.0.1, as the SDK media tests do."""

from tests.client.media_helpers import loopback_ice, server

__all__ = ["loopback_ice", "server"]
