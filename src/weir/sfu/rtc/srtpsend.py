"""``NativeSender``: a transport's outgoing RTP protected and sent in one C call per packet.

The pure-Python send path costs, per subscriber per packet, pylibsrtp's wrapper (three copies and a cffi call)
and asyncio's ``sendto`` behind two ICE layers (docs/benchmarks.md, "SFU end to end"). ``_srtpsend.Outlet``
(C, built by the package's install) does both in one call: it protects with the libsrtp that pylibsrtp bundles,
through the same ``srtp_t`` as aiortc's session, so the two paths share one keystream state and SRTCP stays
with pylibsrtp; and it sends on a duplicate of the nominated pair's socket descriptor. Which pair is nominated
is read per packet, as the Python path does, and the outlet re-aimed when it changed (ICE renomination or
restart). A datagram the socket would not take now goes to the pair's asyncio transport, which queues it. On a
worker's shared socket (udpmux.py), while an inbound datagram is handled, the protected packet is queued in the
socket's batch instead (the outlet is aimed with it), and the fan-out leaves in one ``sendmmsg``
(``SharedSockets.forward``).

``WEIR_SFU_NATIVE_SEND=0`` switches every new transport to the pure-Python path (for comparison; on by
default). The extension is POSIX-only, as uvloop already is.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

import pylibsrtp
from aioice.ice import CandidatePair

from weir.rtc.aiortc_adapter import nominated_pair
from weir.rtc.ice import COMPONENT, IceLink
from weir.sfu.rtc._srtpsend import MAX_PACKET, Outlet
from weir.sfu.rtc.udpmux import MuxedProtocol

__all__ = ["MAX_PACKET", "NativeSender", "PylibsrtpMismatch", "native_send_enabled"]

WRITTEN_FOR = "1.0.0"  # pylibsrtp: its cffi module's srtp_protect and Session._srtp are used below
SRTP_PROTECT = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"  # libsrtp 2's signature

_binding: Any = importlib.import_module("pylibsrtp._binding")  # cffi's compiled module: no type information


class PylibsrtpMismatch(RuntimeError):
    """pylibsrtp's bundled libsrtp is not what the extension was written for."""


def _protect_address() -> int:
    """The address of the bundled ``srtp_protect``, once its C type is the one ``_srtpsend.c`` calls."""
    pointer = _binding.ffi.addressof(_binding.lib, "srtp_protect")
    found = _binding.ffi.typeof(pointer).cname
    if found != SRTP_PROTECT:
        raise PylibsrtpMismatch(f"pylibsrtp {version('pylibsrtp')}'s srtp_protect is {found}; weir.sfu.rtc.srtpsend "
                                f"was written for pylibsrtp {WRITTEN_FOR}'s {SRTP_PROTECT}")
    return int(_binding.ffi.cast("uintptr_t", pointer))


PROTECT = _protect_address()


def session_address(session: pylibsrtp.Session) -> int:
    """The ``srtp_t`` of a pylibsrtp session (``_srtp``, a cffi ``srtp_t *``)."""
    try:
        handle = session._srtp
    except AttributeError:
        raise PylibsrtpMismatch(f"pylibsrtp {version('pylibsrtp')}'s Session has no _srtp; weir.sfu.rtc.srtpsend "
                                f"was written for pylibsrtp {WRITTEN_FOR}") from None
    return int(_binding.ffi.cast("uintptr_t", handle[0]))


def native_send_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """``WEIR_SFU_NATIVE_SEND``: "0" for the pure-Python path, anything else (or unset) for the native one."""
    return (os.environ if environ is None else environ).get("WEIR_SFU_NATIVE_SEND", "1").strip() != "0"


class NativeSender:
    """Sends one transport's RTP: protected with ``session`` and sent on ``link``'s nominated pair."""

    __slots__ = ("_aimed", "_link", "_outlet")

    def __init__(self, link: IceLink, session: pylibsrtp.Session) -> None:
        self._link = link
        self._outlet = Outlet(PROTECT, session_address(session), session)
        self._aimed: CandidatePair | None = None

    def send(self, packet: bytes | bytearray) -> None:
        """Protect and send ``packet`` now; dropped silently before ICE completes or after close. ValueError when
        libsrtp refuses it or it is longer than ``MAX_PACKET``."""
        pair = nominated_pair(self._link.connection, COMPONENT)
        if pair is None:
            return
        if pair is not self._aimed:
            self._aim(pair)
        unsent = self._outlet.send(packet)
        if unsent is not None:
            self.spill(unsent)

    def spill(self, datagram: bytes) -> None:
        """A protected datagram the socket would not take now: the aimed pair's asyncio transport queues it (also
        called by the native fan-out, weir.sfu.rtc.lanes)."""
        pair = self._aimed
        if pair is not None:
            pair.protocol.transport.sendto(datagram, pair.remote_addr)

    def _aim(self, pair: CandidatePair) -> None:
        socket = pair.protocol.transport.get_extra_info("socket")
        host, port = pair.remote_addr[:2]
        protocol = pair.protocol
        mux = protocol.mux if isinstance(protocol, MuxedProtocol) else None
        self._outlet.aim(socket.fileno(), host, port, None if mux is None else mux.batch)
        self._aimed = pair

    def close(self) -> None:
        self._outlet.close()
        self._aimed = None
