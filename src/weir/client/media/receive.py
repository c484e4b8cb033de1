"""Weir's loss repair in each video receiver of the subscriber connection, in place of aiortc's.

aiortc's video receiver NACKs a packet only when a new gap appears and holds every frame after a hole until 512
more packets have come; both froze video for seconds after a loss (issue 11). ``repair_video_receivers`` gives
each video receiver a ``nack.NackRequester`` (asks again every round trip, a bounded number of times) and a
``framebuffer.FrameBuffer`` (gives up on a hole after a bounded wait and resumes at the next keyframe, asking
for one), through ``weir.rtc.aiortc_adapter.replace_video_repair``. Audio receivers keep aiortc's.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket

from weir.client.media.framebuffer import END, FILLER, FrameBuffer
from weir.client.media.keyframes import PacketFlags, flags_for
from weir.client.media.nack import NackRequester
from weir.rtc.aiortc_adapter import depayloaded, receive_codec_name, replace_video_repair

__all__ = ["ReceiveRepair", "receive_repair", "repair_video_receivers"]


@dataclass(frozen=True)
class ReceiveRepair:
    """One video receiver's NACK requester and frame buffer (their counters tell what they did)."""

    nack: NackRequester
    frames: FrameBuffer


_REPAIRS: weakref.WeakKeyDictionary[RTCRtpReceiver, ReceiveRepair] = weakref.WeakKeyDictionary()


class _Nack:
    """aiortc's NackGenerator interface over a ``NackRequester``."""

    __slots__ = ("_requester",)

    def __init__(self, requester: NackRequester) -> None:
        self._requester = requester

    @property
    def missing(self) -> list[int]:
        return self._requester.due

    def add(self, packet: RtpPacket) -> bool:
        return self._requester.received(packet.sequence_number, time.monotonic())


class _Frames:
    """aiortc's JitterBuffer interface over a ``FrameBuffer``: flags each packet from its codec's payload."""

    __slots__ = ("_buffer", "_flags", "_receiver")

    def __init__(self, buffer: FrameBuffer, receiver: RTCRtpReceiver) -> None:
        self._buffer = buffer
        self._receiver = weakref.ref(receiver)
        self._flags: dict[int, PacketFlags] = {}  # by payload type

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        data = depayloaded(packet)
        payload = packet.payload
        if payload:
            flags_of = self._flags.get(packet.payload_type) or self._learn(packet.payload_type)
            flags = flags_of(payload, data)
        else:
            flags = FILLER
        if packet.marker:
            flags |= END
        buffer = self._buffer
        frame = buffer.insert(packet.sequence_number, packet.timestamp, flags, data, time.monotonic())
        request, buffer.keyframe_request = buffer.keyframe_request, False
        return request, None if frame is None else JitterFrame(frame, buffer.frame_timestamp)

    def _learn(self, payload_type: int) -> PacketFlags:
        receiver = self._receiver()
        codec = None if receiver is None else receive_codec_name(receiver, payload_type)
        self._flags[payload_type] = flags_of = flags_for(codec)
        return flags_of


def repair_video_receivers(pc: RTCPeerConnection) -> None:
    """Give every video receiver of ``pc`` not given one yet Weir's NACK requester and frame buffer. Call after
    each ``setRemoteDescription`` (which creates receivers), before their media flows."""
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        if transceiver.kind != "video" or receiver in _REPAIRS:
            continue
        nack = NackRequester()
        repair = _REPAIRS[receiver] = ReceiveRepair(nack, FrameBuffer(nack))
        replace_video_repair(receiver, _Frames(repair.frames, receiver), _Nack(nack))


def receive_repair(receiver: RTCRtpReceiver) -> ReceiveRepair | None:
    """The NACK requester and frame buffer ``repair_video_receivers`` gave ``receiver``, if any."""
    return _REPAIRS.get(receiver)
