"""Codec payload formats: keyframe and layer detection and in-place id rewrites; never any decoding."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from weir.sfu.codecs import av1, h264, vp9

__all__ = ["KEYFRAME_DETECTORS", "KeyframeDetector"]

KeyframeDetector = Callable[[bytes, int, int], bool]  # (packet, payload start, payload end) → starts a keyframe
# VP8 is not here: the receiver parses its descriptor in full, for the picture ids it rewrites.
KEYFRAME_DETECTORS: Mapping[str, KeyframeDetector] = {
    "h264": h264.is_keyframe,
    "vp9": vp9.is_keyframe,
    "av1": av1.is_keyframe,
}
