"""The one module that reaches into aiortc's and aioice's private members.

Weir needs a few things neither library offers publicly: host candidates on configured addresses (aioice), its
own ICE connection under aiortc's ICE transport and a restart of it, the voice bit on sent audio levels, RTP
sent and RTCP received beside aiortc's sender (simulcast), and its own NACK requester and jitter buffer in a
video receiver. Each function below names the private member it uses.
They were read against ``WRITTEN_FOR``; a member that is missing raises ``AiortcMismatch`` naming those versions:
at import for methods, at first use for members an instance sets in its ``__init__``. So an upgrade that renames
one fails here, with that message, and in tests/rtc/test_aiortc_adapter.py, not somewhere downstream.

The SFU's DTLS transport (``weir.sfu.rtc.dtls``, ``transport``) still subclasses aiortc's directly; it is being
replaced by Weir's own datagram path (issue 13 §2), and tests/rtc/test_boundaries.py lists it as the one exception.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection, Iterator
from importlib.metadata import version
from typing import Any, Protocol

from aioice import Candidate, Connection
from aioice.ice import CandidatePair, StunProtocol
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtp import AnyRtcpPacket, HeaderExtensions, HeaderExtensionsMap, RtpPacket

__all__ = [
    "WRITTEN_FOR",
    "AiortcMismatch",
    "ExtensionsRewrite",
    "IceSide",
    "NOMINATED_MEMBER",
    "NackGenerator",
    "RtcpHandler",
    "VideoJitterBuffer",
    "add_host_protocol",
    "awaits_response",
    "check_succeeded",
    "check_installed",
    "depayloaded",
    "finish_gathering",
    "ice_connection",
    "ice_monitor_paused",
    "install_ice_side",
    "nominated_pair",
    "on_rtcp_for_ssrc",
    "receive_codec_name",
    "replace_video_repair",
    "request_keyframe",
    "rewrite_header_extensions",
    "send_rtp",
    "set_gathering_connection",
    "start_gathering",
    "swap_ice_connection",
]

WRITTEN_FOR = {"aiortc": "1.16.0", "aioice": "0.13.0"}
_MONITOR_TASK = "_RTCIceTransport__monitor_task"
_EXTENSIONS_MAP = "_RTCRtpSender__rtp_header_extensions_map"
_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_NACK_GENERATOR = "_RTCRtpReceiver__nack_generator"
_RECEIVE_CODECS = "_RTCRtpReceiver__codecs"

RtcpHandler = Callable[[AnyRtcpPacket], Awaitable[None]]
ExtensionsRewrite = Callable[[HeaderExtensions], None]


class AiortcMismatch(RuntimeError):
    """aiortc or aioice lacks a private member this adapter relies on: it was written for other versions."""


def _mismatch(owner: object, name: str) -> AiortcMismatch:
    kind = owner.__name__ if isinstance(owner, type) else type(owner).__name__
    written = ", ".join(f"{package} {pinned}" for package, pinned in WRITTEN_FOR.items())
    installed = ", ".join(f"{package} {version(package)}" for package in WRITTEN_FOR)
    return AiortcMismatch(f"{kind} has no {name!r}: weir.rtc.aiortc_adapter was written for {written} "
                          f"(installed: {installed})")


def _get(owner: object, name: str) -> Any:
    try:
        return getattr(owner, name)
    except AttributeError:
        raise _mismatch(owner, name) from None


def _set(owner: object, name: str, value: object) -> None:
    """Set a private member that must already exist: a renamed one would otherwise be created and never read."""
    _get(owner, name)
    setattr(owner, name, value)


def check_installed() -> None:
    """Raise ``AiortcMismatch`` for the first private method this adapter calls that its class lacks."""
    for owner, names in _METHODS.items():
        for name in names:
            _get(owner, name)


_METHODS: dict[type, tuple[str, ...]] = {Connection: ("check_state",),  # overridden: weir.sfu.rtc.inbound
                                         RTCIceTransport: ("_monitor",), RTCDtlsTransport: ("_send_rtp",),
                                         RTCRtpReceiver: ("_send_rtcp_pli",)}
check_installed()


# aioice: a Connection whose host candidates Weir gathers itself (weir.rtc.ice.HostConnection)

def start_gathering(connection: Connection) -> bool:
    """Mark gathering as begun (``_local_candidates_start``); False when it had begun already."""
    if _get(connection, "_local_candidates_start"):
        return False
    connection._local_candidates_start = True
    return True


def add_host_protocol(connection: Connection, protocol: StunProtocol, candidate: Candidate) -> None:
    """Make ``protocol`` (bound to one host address) and its ``candidate`` part of ``connection``."""
    protocol.local_candidate = candidate
    _get(connection, "_protocols").append(protocol)
    _get(connection, "_local_candidates").append(candidate)


def finish_gathering(connection: Connection) -> None:
    """Mark gathering as complete (``_local_candidates_end``), as ``Connection.gather_candidates`` would."""
    _set(connection, "_local_candidates_end", True)


NOMINATED_MEMBER = "_nominated"  # Connection's nominated pairs by component; the SFU's C fan-out reads it too


def nominated_pair(connection: Connection, component: int) -> CandidatePair | None:
    """The pair ICE nominated for ``component`` (``NOMINATED_MEMBER``), or None before ICE completes. Called per
    packet sent, so the member is read directly, with no check until it is missing (``weir.sfu.rtc.lanes``
    reads the same member in C, by this name)."""
    try:
        return connection._nominated.get(component)
    except AttributeError:
        raise _mismatch(connection, NOMINATED_MEMBER) from None


def check_succeeded(pair: CandidatePair, state: CandidatePair.State) -> bool:
    """Whether ``Connection.check_state(pair, state)`` reports a check of ``pair`` that succeeded: aioice calls
    it so after the response came from the pair's remote address with the right integrity."""
    return state is CandidatePair.State.SUCCEEDED


def awaits_response(protocol: StunProtocol, transaction_id: bytes) -> bool:
    """Whether ``protocol`` has the STUN transaction ``transaction_id`` open (``transactions``)."""
    return transaction_id in _get(protocol, "transactions")


# aiortc's RTCIceTransport with Weir's ICE connection under it (weir.client.media.ice)

class IceSide(Protocol):
    """What aiortc's DTLS transport reads and writes through (``weir.rtc.ice.IceLink``)."""

    @property
    def connection(self) -> Connection: ...

    async def _recv(self) -> bytes: ...

    async def _send(self, data: bytes) -> None: ...


def ice_connection(ice: RTCIceTransport) -> Connection:
    """The aioice connection under ``ice`` (``_connection``)."""
    connection: Connection = _get(ice, "_connection")
    return connection


def install_ice_side(ice: RTCIceTransport, side: IceSide) -> None:
    """Put ``side`` under ``ice`` (not gathered yet): its connection gathers, DTLS reads and writes through it."""
    swap_ice_connection(ice, side.connection)
    _set(ice, "_recv", side._recv)
    _set(ice, "_send", side._send)


def set_gathering_connection(ice: RTCIceTransport, connection: Connection) -> None:
    """The connection whose credentials and candidates ``ice``'s next description carries (an ICE restart)."""
    _set(ice.iceGatherer, "_connection", connection)


def swap_ice_connection(ice: RTCIceTransport, connection: Connection) -> None:
    """``connection`` under both ``ice`` and its gatherer (after an ICE restart's checks succeeded)."""
    set_gathering_connection(ice, connection)
    _set(ice, "_connection", connection)


@contextlib.contextmanager
def ice_monitor_paused(ice: RTCIceTransport) -> Iterator[None]:
    """Stop ``ice``'s monitor across a connection swap (it would read the old connection's close as an ICE
    failure), then start it again on the connection in place on exit."""
    monitor: asyncio.Future[None] | None = _get(ice, _MONITOR_TASK)
    if monitor is not None:
        monitor.cancel()
    try:
        yield
    finally:
        setattr(ice, _MONITOR_TASK, asyncio.ensure_future(ice._monitor()))


# aiortc's RTCRtpSender and RTCDtlsTransport (weir.client.media.voice, simulcast)

class _RewritingSet:
    """``HeaderExtensionsMap.set`` with ``rewrite`` run on the values first."""

    def __init__(self, original: Callable[[HeaderExtensions], tuple[int, bytes]], rewrite: ExtensionsRewrite) -> None:
        self.original = original
        self.rewrite = rewrite

    def __call__(self, values: HeaderExtensions) -> tuple[int, bytes]:
        self.rewrite(values)
        return self.original(values)


def rewrite_header_extensions(sender: RTCRtpSender, rewrite: ExtensionsRewrite) -> None:
    """Have ``rewrite`` edit each packet's header extension values before ``sender`` writes them: the map it
    serialises with (``__rtp_header_extensions_map``) gets a wrapped ``set``. A second call replaces the first."""
    extensions: HeaderExtensionsMap = _get(sender, _EXTENSIONS_MAP)
    original: Callable[[HeaderExtensions], tuple[int, bytes]] = extensions.set
    if isinstance(original, _RewritingSet):
        original = original.original
    extensions.set = _RewritingSet(original, rewrite)  # type: ignore[method-assign]  # this instance's only


class _RtcpRecipient:
    """What aiortc's RTP router calls for RTCP about a sender's SSRC (its ``RtpSender`` protocol)."""

    def __init__(self, ssrc: int, handler: RtcpHandler) -> None:
        self._ssrc = ssrc
        self._handler = handler

    async def _handle_rtcp_packet(self, packet: AnyRtcpPacket) -> None:
        await self._handler(packet)


def on_rtcp_for_ssrc(transport: RTCDtlsTransport, ssrc: int, handler: RtcpHandler) -> None:
    """Have ``transport`` hand RTCP about ``ssrc`` (PLI, FIR, NACK) to ``handler`` (``_rtp_router``)."""
    _get(transport, "_rtp_router").register_sender(_RtcpRecipient(ssrc, handler), ssrc)


async def send_rtp(transport: RTCDtlsTransport, packet: bytes) -> None:
    """Protect and send one RTP packet (``_send_rtp``); ConnectionError unless DTLS is connected."""
    await transport._send_rtp(packet)


async def request_keyframe(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send a PLI for ``media_ssrc`` from ``receiver`` (``_send_rtcp_pli``): aiortc asks for keyframes only
    when its own decoder needs one, and a recorder that does not decode must ask itself."""
    await receiver._send_rtcp_pli(media_ssrc)


# aiortc's RTCRtpReceiver: Weir's loss repair in a video receiver (weir.client.media.receive)

class VideoJitterBuffer(Protocol):
    """What aiortc's receiver calls per RTP packet in place of its ``JitterBuffer``: the packet depayloaded
    (``depayloaded``) in; whether to send a PLI, and a whole encoded frame for the decoder or None, out."""

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]: ...


class NackGenerator(Protocol):
    """What aiortc's receiver calls per RTP packet (RTX unwrapped) in place of its ``NackGenerator``: when ``add``
    returns True it sends a NACK naming ``sorted(missing)``."""

    @property
    def missing(self) -> Collection[int]: ...

    def add(self, packet: RtpPacket) -> bool: ...


def replace_video_repair(receiver: RTCRtpReceiver, jitter_buffer: VideoJitterBuffer,
                         nack_generator: NackGenerator) -> None:
    """Have video ``receiver`` use ``jitter_buffer`` and ``nack_generator`` in place of aiortc's
    (``__jitter_buffer``, ``__nack_generator``); call before its first packet. ValueError for an audio receiver
    (aiortc NACKs no audio)."""
    if _get(receiver, _NACK_GENERATOR) is None:
        raise ValueError("only a video receiver asks for lost packets")
    _set(receiver, _JITTER_BUFFER, jitter_buffer)
    _set(receiver, _NACK_GENERATOR, nack_generator)


def receive_codec_name(receiver: RTCRtpReceiver, payload_type: int) -> str | None:
    """The name (``VP8``, ``H264``) of the codec ``receiver`` was given for ``payload_type`` (``__codecs``, set
    when it starts receiving), or None."""
    codec = _get(receiver, _RECEIVE_CODECS).get(payload_type)
    return None if codec is None else str(codec.name)


def depayloaded(packet: RtpPacket) -> bytes:
    """The payload aiortc's receiver depayloaded before handing ``packet`` to its jitter buffer (``_data``, set
    by ``RTCRtpReceiver._handle_rtp_packet``: the VP8 descriptor stripped, H.264 in Annex B)."""
    data: bytes = _get(packet, "_data")
    return data
