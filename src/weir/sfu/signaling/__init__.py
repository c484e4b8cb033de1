"""The SFU's signaling server: Weir's protocol (docs/protocol.md) over a WebSocket, in front of the media plane.

``server`` (``SfuServer``: routes, start, stop) → ``endpoint`` (one socket) → ``join`` and ``handlers`` (the
requests) → ``rooms`` (calls, sessions joining, leaving and vanishing) → ``room`` and ``session`` (state, and the
media plane's callbacks). ``coordinator_events`` applies the coordinator's changes; ``link`` is the seam to the
coordinator and ``local`` its in-process implementation. Nothing is imported here, so that the coordinator can
import ``paths`` without the rest.
"""
