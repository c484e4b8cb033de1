"""``LossyPath``: random loss on an aiortc peer connection's path, below SRTP, for the NACK and RTX tests."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from aiortc import RTCPeerConnection
from aiortc.codecs import is_rtx


def _is_rtp(data: bytes) -> bool:
    return 127 < data[0] < 192 and not 192 <= data[1] <= 223


class LossyPath:
    """Drops ``rate`` of the SRTP and SRTCP datagrams crossing a client's connection, both ways, at random
    (seeded). ICE and DTLS pass. Dropped RTP packets are remembered by (SSRC, sequence number), which SRTP
    leaves in the clear, so that a later arrival of one counts as a retransmission. RTX packets are told by
    their payload type (also in the clear), as negotiated on ``pc`` when the path is made."""

    def __init__(self, pc: RTCPeerConnection, rate: float, seed: int) -> None:
        self.rate = rate
        self.lost_rtp = 0  # RTP packets dropped on the way in
        self.dropped_rtp = 0  # RTP packets dropped either way
        self.resent = 0  # of those dropped on the way out, how many the sender sent again (asked by NACK)
        self._unsent: set[bytes] = set()
        self.recovered = 0  # of those dropped on the way in, how many arrived later under the same numbers
        self.rtx_received = 0  # RTX packets that arrived
        self.rtx_sent = 0  # RTX packets that left
        self._random = random.Random(seed)
        self._missing: set[bytes] = set()
        self._rtx_types = {c.payloadType for t in pc.getTransceivers() for c in t._codecs if is_rtx(c)}
        for ice in {id(t.receiver.transport.transport): t.receiver.transport.transport
                    for t in pc.getTransceivers()}.values():
            ice._recv, ice._send = self._receiving(ice._recv), self._sending(ice._send)

    def _drop(self, data: bytes) -> bool:
        return 127 < data[0] < 192 and self._random.random() < self.rate

    def _receiving(self, recv: Callable[[], Awaitable[bytes]]) -> Callable[[], Awaitable[bytes]]:
        async def receive() -> bytes:
            while True:
                data = await recv()
                rtp = _is_rtp(data)
                key = data[8:12] + data[2:4]
                if not self._drop(data):
                    if rtp and key in self._missing:
                        self._missing.discard(key)
                        self.recovered += 1
                    if rtp and data[1] & 0x7F in self._rtx_types:
                        self.rtx_received += 1
                    return data
                if rtp:
                    self.lost_rtp += 1
                    self.dropped_rtp += 1
                    self._missing.add(key)

        return receive

    def _sending(self, send: Callable[[bytes], Awaitable[None]]) -> Callable[[bytes], Awaitable[None]]:
        async def sending(data: bytes) -> None:
            rtp = _is_rtp(data)
            key = data[8:12] + data[2:4]
            if not self._drop(data):
                if rtp and key in self._unsent:
                    self._unsent.discard(key)
                    self.resent += 1
                if rtp and data[1] & 0x7F in self._rtx_types:
                    self.rtx_sent += 1
                await send(data)
            elif rtp:
                self.dropped_rtp += 1
                self._unsent.add(key)

        return sending
