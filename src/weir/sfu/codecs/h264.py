"""H.264 RTP payloads (RFC 6184): which NAL units a packet starts, whether it starts a keyframe, and which
``fmtp`` parameters make two H.264 formats the same stream.

WebRTC uses packetization modes 0 and 1, so a packet is one of::

    single NAL unit   |F|NRI| Type 1..23 | NAL unit bytes ...
    STAP-A (24)       |F|NRI| 24 | (size:16, NAL unit) ...
    FU-A (28)         |F|NRI| 28 | |S|E|R| Type | fragment ...

A packet starts a keyframe when it carries a sequence parameter set (7), which encoders send right before an
IDR picture, or the start of an IDR slice (5) itself. Other aggregation types (STAP-B, MTAP, FU-B, modes 2)
start nothing the SFU acts on.
"""

from __future__ import annotations

from collections.abc import Mapping

from weir.sfu.errors import H264Error

__all__ = ["IDR", "SPS", "is_keyframe", "nal_types", "same_format"]

IDR = 5
SPS = 7
STAP_A = 24
FU_A = 28
_KEY_TYPES = (IDR, SPS)
_TYPE_MASK = 0x1F


def nal_types(data: bytes, start: int = 0, end: int = -1) -> tuple[int, ...]:
    """The types of the NAL units that begin in ``data[start:end]`` (empty for an FU-A continuation)."""
    if end < 0:
        end = len(data)
    if start >= end:
        raise H264Error("empty H.264 payload")
    kind = data[start] & _TYPE_MASK
    if kind == STAP_A:
        types = []
        pos = start + 1
        while pos < end:
            if pos + 2 > end:
                raise H264Error("STAP-A unit size is truncated")
            size = data[pos] << 8 | data[pos + 1]
            pos += 2
            if size == 0 or pos + size > end:
                raise H264Error(f"STAP-A unit of {size} bytes overruns the packet")
            types.append(data[pos] & _TYPE_MASK)
            pos += size
        if not types:
            raise H264Error("STAP-A without units")
        return tuple(types)
    if kind == FU_A:
        if start + 2 > end:
            raise H264Error("FU-A without its header")
        header = data[start + 1]
        return (header & _TYPE_MASK,) if header & 0x80 else ()
    return (kind,)


def is_keyframe(data: bytes, start: int, end: int) -> bool:
    """Does this packet start a picture a decoder can start on (SPS, or the first packet of an IDR slice)?"""
    if start >= end:
        raise H264Error("empty H.264 payload")
    kind = data[start] & _TYPE_MASK
    if kind in _KEY_TYPES:
        return True
    if kind == STAP_A or kind == FU_A:
        return any(t in _KEY_TYPES for t in nal_types(data, start, end))
    return False


def same_format(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Do two H.264 ``fmtp`` parameter sets describe one stream format: the same packetization mode (absent means
    0) and the same profile (profile_idc and profile-iop of ``profile-level-id``; the level may differ, RFC 6184
    section 8.2.2)? Without a ``profile-level-id`` the default is 42000a, constrained baseline's parent."""
    if a.get("packetization-mode", "0") != b.get("packetization-mode", "0"):
        return False
    return a.get("profile-level-id", "42000a")[:4].lower() == b.get("profile-level-id", "42000a")[:4].lower()
