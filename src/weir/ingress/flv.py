"""The FLV payloads RTMP carries: H.264 (AVC) video and AAC audio, taken apart without decoding.

A video message is the AVC sequence header (``AVCDecoderConfigurationRecord``: SPS, PPS, NAL length size) or a
frame of length-prefixed NAL units; an audio message is the AAC ``AudioSpecificConfig`` or one raw AAC frame.
Other codecs, and enhanced RTMP's extended headers (HEVC, AV1, VP9), are ``UnsupportedCodec``; bytes that are
not what they claim are ``FlvError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AacPacket", "AvcConfig", "AvcFrame", "FlvError", "UnsupportedCodec", "annex_b", "parse_audio", "parse_video",
]

AVC_CODEC_ID = 7
AAC_FORMAT = 10
START_CODE = b"\x00\x00\x00\x01"


class FlvError(ValueError):
    """The payload is not what its header says."""


class UnsupportedCodec(FlvError):
    """A codec Weir does not take in (only H.264 video and AAC audio)."""


@dataclass(frozen=True)
class AvcConfig:
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]
    length_size: int


@dataclass(frozen=True)
class AvcFrame:
    keyframe: bool
    composition_ms: int  # presentation time minus decoding time
    nal_units: tuple[bytes, ...]


@dataclass(frozen=True)
class AacPacket:
    kind: Literal["config", "raw"]
    data: bytes


def _sized_units(data: bytes, at: int, count: int, what: str) -> tuple[tuple[bytes, ...], int]:
    units = []
    for _ in range(count):
        if at + 2 > len(data):
            raise FlvError(f"{what} cut short")
        size = int.from_bytes(data[at:at + 2], "big")
        unit = data[at + 2:at + 2 + size]
        if len(unit) != size or not size:
            raise FlvError(f"{what} of {size} bytes cut short")
        units.append(unit)
        at += 2 + size
    return tuple(units), at


def parse_config(record: bytes) -> AvcConfig:
    """An ``AVCDecoderConfigurationRecord`` (ISO 14496-15 §5.2.4.1)."""
    if len(record) < 7 or record[0] != 1:
        raise FlvError("not an AVCDecoderConfigurationRecord")
    sps, at = _sized_units(record, 6, record[5] & 0x1F, "SPS")
    if at >= len(record):
        raise FlvError("PPS count missing")
    pps, _ = _sized_units(record, at + 1, record[at], "PPS")
    if not sps or not pps:
        raise FlvError("the configuration has no SPS or no PPS")
    return AvcConfig(sps, pps, (record[4] & 0x03) + 1)


def parse_video(payload: bytes, config: AvcConfig | None) -> AvcConfig | AvcFrame | None:
    """A video message: the configuration, a frame (needs the configuration), or None (end of sequence)."""
    if len(payload) < 5:
        raise FlvError("video message shorter than its header")
    if payload[0] & 0x80:
        raise UnsupportedCodec("enhanced RTMP video (HEVC, AV1, VP9): only H.264 is taken in")
    if payload[0] & 0x0F != AVC_CODEC_ID:
        raise UnsupportedCodec(f"video codec id {payload[0] & 0x0F}: only H.264 (7) is taken in")
    packet_type = payload[1]
    if packet_type == 0:
        return parse_config(payload[5:])
    if packet_type == 2:
        return None
    if packet_type != 1:
        raise FlvError(f"AVC packet type {packet_type}")
    if config is None:
        raise FlvError("a video frame before the AVC sequence header")
    composition = int.from_bytes(payload[2:5], "big", signed=True)
    units, at, size_bytes = [], 5, config.length_size
    while at < len(payload):
        if at + size_bytes > len(payload):
            raise FlvError("NAL unit length cut short")
        size = int.from_bytes(payload[at:at + size_bytes], "big")
        unit = payload[at + size_bytes:at + size_bytes + size]
        if len(unit) != size or not size:
            raise FlvError(f"NAL unit of {size} bytes cut short")
        units.append(unit)
        at += size_bytes + size
    return AvcFrame(payload[0] >> 4 == 1, composition, tuple(units))


def parse_audio(payload: bytes) -> AacPacket:
    if len(payload) < 2:
        raise FlvError("audio message shorter than its header")
    if payload[0] >> 4 != AAC_FORMAT:
        raise UnsupportedCodec(f"audio format {payload[0] >> 4}: only AAC (10) is taken in")
    if payload[1] not in (0, 1):
        raise FlvError(f"AAC packet type {payload[1]}")
    return AacPacket("config" if payload[1] == 0 else "raw", payload[2:])


def annex_b(units: tuple[bytes, ...]) -> bytes:
    """NAL units as an H.264 byte stream (start codes), as aiortc's packetiser splits them."""
    return b"".join(START_CODE + unit for unit in units)
