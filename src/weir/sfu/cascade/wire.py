"""What both ends of an SFU-to-SFU relay agree on.

A relayed track is described once (``RelayTrackSpec``, sent over the control channel): its codec's payload
types, its layer count and one relay SSRC per layer, chosen by the sending SFU. On the relay itself, RTP keeps
the publisher's sequence numbers and timestamps (so NACKs name the same packets at both ends) under the relay
SSRC of its layer, with the audio level, when the publisher sent one, as the only header extension
(``AUDIO_LEVEL_ID``). Back come NACK, PLI and FIR for those SSRCs, and ``LayerDemand``, an RTCP APP packet
naming the layers the receiving SFU's subscribers want; the sending SFU reports the layers the publisher
sends the same way, so the receiving SFU's subscribers fall back to what really comes.
"""

from __future__ import annotations

import os
import random
import struct
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pylibsrtp

from weir.sfu.errors import RtcpError

__all__ = [
    "ARRIVING_NAME", "AUDIO_LEVEL_ID", "KEY_SIZE", "PROFILE", "LayerDemand", "RelayTrackSpec", "new_key", "new_ssrcs",
]

AUDIO_LEVEL_ID = 1  # the one-byte header extension id of ssrc-audio-level on the relay
PROFILE = pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM
KEY_SIZE = 28  # AES-128-GCM: 16 bytes of key, 12 of salt
PT_APP = 204
DEMAND_NAME = b"WLYR"  # far → origin: the layers wanted
ARRIVING_NAME = b"ALYR"  # origin → far: the layers the publisher is sending
_DEMAND = struct.Struct("!BBHI4sI")


def new_key() -> bytes:
    """A fresh SRTP master key and salt for one direction between two SFUs."""
    return os.urandom(KEY_SIZE)


def new_ssrcs(count: int, taken: set[int]) -> tuple[int, ...]:
    """``count`` relay SSRCs unused in ``taken`` (which they join)."""
    chosen: list[int] = []
    while len(chosen) < count:
        ssrc = random.getrandbits(32)
        if ssrc and ssrc not in taken:
            taken.add(ssrc)
            chosen.append(ssrc)
    return tuple(chosen)


@dataclass(frozen=True, slots=True)
class RelayTrackSpec:
    """One published track as another SFU needs to receive it from the relay."""

    session_id: str
    track_type: str
    kind: Literal["audio", "video"]
    mime: str  # lower case: "vp8", "opus", ...
    clock_rate: int
    payload_type: int
    ssrcs: tuple[int, ...]  # per layer, lowest first
    red_payload_type: int = -1
    dimensions: tuple[tuple[int, int], ...] = field(default=())  # per layer, where the publisher announced them

    @property
    def key(self) -> tuple[str, str]:
        return self.session_id, self.track_type

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RelayTrackSpec:
        kind = data["kind"]
        if kind not in ("audio", "video"):
            raise ValueError(f"unknown track kind {kind!r}")
        return cls(
            session_id=str(data["session_id"]), track_type=str(data["track_type"]), kind=kind,
            mime=str(data["mime"]), clock_rate=int(data["clock_rate"]), payload_type=int(data["payload_type"]),
            ssrcs=tuple(int(s) for s in data["ssrcs"]), red_payload_type=int(data.get("red_payload_type", -1)),
            dimensions=tuple((int(w), int(h)) for w, h in data.get("dimensions", ())),
        )


@dataclass(frozen=True, slots=True)
class LayerDemand:
    """A set of layers (bit i = layer i) of the track whose layer-0 relay SSRC is ``ssrc``: those the receiving
    SFU wants (``name`` WLYR), or those arriving at the sending SFU (ALYR)."""

    ssrc: int
    layers: int
    name: bytes = DEMAND_NAME

    def __bytes__(self) -> bytes:
        return _DEMAND.pack(0x80, PT_APP, _DEMAND.size // 4 - 1, self.ssrc, self.name, self.layers)

    @classmethod
    def parse(cls, data: bytes) -> LayerDemand | None:
        """The layer set in ``data`` if it is one (an APP packet named WLYR or ALYR), else None."""
        if len(data) < _DEMAND.size or data[1] != PT_APP:
            return None
        b0, _, _, ssrc, name, layers = _DEMAND.unpack_from(data)
        if b0 >> 6 != 2:
            raise RtcpError("RTCP version is not 2")
        return cls(ssrc, layers, name) if name in (DEMAND_NAME, ARRIVING_NAME) else None

    @classmethod
    def of(cls, ssrc: int, layers: Iterable[int], name: bytes = DEMAND_NAME) -> LayerDemand:
        return cls(ssrc, sum(1 << layer for layer in set(layers)), name)

    def layer_set(self) -> frozenset[int]:
        return frozenset(layer for layer in range(32) if self.layers >> layer & 1)
