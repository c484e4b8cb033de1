"""DTLS-SRTP for the media plane: aiortc's ``RTCDtlsTransport`` with raw RTP and RTCP in and out.

aiortc's transport does the DTLS handshake (pyOpenSSL), checks the peer's fingerprint, derives the SRTP keys
(pylibsrtp) and demultiplexes datagrams (RFC 7983). What it does next is for a media endpoint: parse each packet
into aiortc objects and route it to an ``RTCRtpReceiver``, which depacketises and decodes. ``MediaDtls``
overrides the two routing methods, so each packet leaves as the decrypted bytes, untouched, for the SFU's packet
core; no aiortc receiver, sender, decoder or encoder exists on the SFU side. Sending is synchronous: protect
and hand to the ICE link's nominated pair, RTP in one C call (``srtpsend.NativeSender``) unless
``WEIR_SFU_NATIVE_SEND=0`` keeps it on pylibsrtp and asyncio's ``sendto``, as RTCP always is. Once connected,
receiving is too: ``receive_srtp`` is what the link's ``MediaInlet`` calls for each SRTP/SRTCP datagram
(inbound.py); aiortc's reading task then sees only DTLS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pylibsrtp
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsParameters, RTCDtlsTransport, SRTPProtectionProfile, State
from OpenSSL import SSL

from weir.rtc.ice import IceLink
from weir.sfu.rtc.srtpsend import NativeSender, native_send_enabled

__all__ = ["MediaCertificate", "MediaDtls", "PacketHandler"]

logger = logging.getLogger(__name__)

PacketHandler = Callable[[bytes], None]
RTCP_FIRST, RTCP_LAST = 192, 208  # an RTCP packet type in the second byte: SR 200 ... (RFC 5761 section 4)

# aiortc's suites (its certificate is ECDSA), then the ECDHE-RSA ones, so that the SFU as DTLS client can also
# reach a server whose certificate is RSA: GStreamer's webrtcbin has one, and otherwise fails "no shared cipher".
CIPHERS = (
    b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:"
    b"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA"
)


class MediaCertificate(RTCCertificate):
    """aiortc's certificate, whose DTLS context also accepts peers with an RSA certificate."""

    def _create_ssl_context(self, srtp_profiles: list[SRTPProtectionProfile]) -> SSL.Context:
        context = super()._create_ssl_context(srtp_profiles)
        context.set_cipher_list(CIPHERS)
        return context


class MediaDtls(RTCDtlsTransport):
    __slots__ = ("_sender", "rtp_dropped", "rtp_sent")  # slots: the native fan-out (weir.sfu.rtc.lanes) writes them

    def __init__(
        self, link: IceLink, certificate: RTCCertificate, on_rtp: PacketHandler, on_rtcp: PacketHandler,
        *, native_send: bool | None = None,
    ) -> None:
        """``native_send``: RTP through ``NativeSender`` once connected; None reads ``WEIR_SFU_NATIVE_SEND``."""
        super().__init__(link, [certificate])  # type: ignore[arg-type]  # IceLink has what it uses of RTCIceTransport
        self._link = link
        self._native_send = native_send_enabled() if native_send is None else native_send
        self._sender: NativeSender | None = None
        self._on_rtp = on_rtp
        self._on_rtcp = on_rtcp
        self.handler_errors = 0
        self.rtp_sent = 0
        self.rtp_dropped = 0  # not connected, or SRTP refused the packet
        self.srtp_refused = 0  # received datagrams that failed to unprotect (forged, replayed, truncated)

    def receive_srtp(self, data: bytes) -> None:
        """One SRTP or SRTCP datagram from the socket, unprotected and handed on now (``MediaInlet.sink``)."""
        try:
            if len(data) > 1 and RTCP_FIRST <= data[1] <= RTCP_LAST:
                self._on_rtcp(self._rx_srtp.unprotect_rtcp(data))
            else:
                self._on_rtp(self._rx_srtp.unprotect(data))
        except (pylibsrtp.Error, ValueError):
            self.srtp_refused += 1
        except Exception:  # a bug must cost one packet, never the socket's reader
            self.handler_errors += 1
            logger.exception("media handler failed")

    async def _handle_rtp_data(self, data: bytes, arrival_time_ms: int) -> None:
        try:
            self._on_rtp(data)
        except Exception:  # a bug must cost one packet, never the transport (aiortc ends its loop on one)
            self.handler_errors += 1
            logger.exception("RTP handler failed")

    async def _handle_rtcp_data(self, data: bytes) -> None:
        try:
            self._on_rtcp(data)
        except Exception:
            self.handler_errors += 1
            logger.exception("RTCP handler failed")

    @property
    def connected(self) -> bool:
        return self._state is State.CONNECTED

    async def start(self, remoteParameters: RTCDtlsParameters) -> None:
        await super().start(remoteParameters)
        if self._native_send and self.connected:
            self._sender = NativeSender(self._link, self._tx_srtp)

    async def stop(self) -> None:
        await super().stop()
        if self._sender is not None:
            self._sender.close()

    def send_rtp(self, packet: bytes | bytearray) -> None:
        """Protect and send one RTP packet now; dropped unless connected."""
        if self._state is State.CONNECTED:
            try:
                if self._sender is not None:
                    self._sender.send(packet)
                else:
                    self._link.send_now(self._tx_srtp.protect(bytes(packet)))  # pylibsrtp takes bytes only
            except (pylibsrtp.Error, ValueError):
                logger.debug("SRTP protect failed", exc_info=True)
            else:
                self.rtp_sent += 1
                return
        self.rtp_dropped += 1

    def send_rtcp(self, packet: bytes) -> None:
        """Protect and send one compound RTCP packet now; dropped unless connected."""
        if self._state is State.CONNECTED:
            try:
                self._link.send_now(self._tx_srtp.protect_rtcp(packet))
            except (pylibsrtp.Error, ValueError):
                logger.debug("SRTCP protect failed", exc_info=True)
