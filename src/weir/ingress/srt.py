"""A listening SRT socket through libsrt (ctypes), for what ffmpeg's ``srt://`` listener cannot give: the
caller's stream id, which carries the token.

Only the calls a listener needs, all blocking (the server runs them in threads): bind, listen, accept, read the
stream id, receive, close. Live mode (the default): each receive returns one message of at most 1316 bytes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import socket
import struct
import threading

__all__ = ["SrtError", "SrtListener", "SrtSocket"]

SRTO_RCVTIMEO = 14
SRTO_STREAMID = 46
MESSAGE_BYTES = 1500
LIBRARIES = ("libsrt-gnutls.so.1.5", "libsrt-openssl.so.1.5", ctypes.util.find_library("srt") or "libsrt.so")


class SrtError(OSError):
    """libsrt refused: the message is its own."""


_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


def _library() -> ctypes.CDLL:
    global _lib
    with _lock:
        if _lib is None:
            for name in LIBRARIES:
                try:
                    lib = ctypes.CDLL(name)
                    break
                except OSError:
                    continue
            else:
                raise SrtError("libsrt is not installed (Debian: libsrt1.5-gnutls, which ffmpeg brings)")
            lib.srt_getlasterror_str.restype = ctypes.c_char_p
            lib.srt_startup()
            _lib = lib
        return _lib


def _check(result: int, what: str) -> int:
    if result < 0:
        message = (_library().srt_getlasterror_str() or b"").decode(errors="replace")
        raise SrtError(f"SRT {what}: {message}")
    return result


class SrtSocket:
    """One accepted caller."""

    def __init__(self, handle: int, peer: str | None) -> None:
        self.handle, self.peer = handle, peer
        self._buffer = ctypes.create_string_buffer(MESSAGE_BYTES)

    @property
    def stream_id(self) -> str:
        value, size = ctypes.create_string_buffer(600), ctypes.c_int(600)
        _check(_library().srt_getsockflag(self.handle, SRTO_STREAMID, value, ctypes.byref(size)), "stream id")
        return value.raw[:size.value].decode(errors="replace")

    def set_timeout(self, seconds: float) -> None:
        """Receiving waits at most this long (then ``SrtError``)."""
        value = ctypes.c_int(int(seconds * 1000))
        _check(_library().srt_setsockflag(self.handle, SRTO_RCVTIMEO, ctypes.byref(value), 4), "timeout")

    def read(self, size: int = MESSAGE_BYTES) -> bytes:
        """One message; b"" once the caller closed the connection."""
        received = _library().srt_recv(self.handle, self._buffer, MESSAGE_BYTES)
        if received < 0:
            message = (_library().srt_getlasterror_str() or b"").decode(errors="replace")
            if "closed" in message.lower() or "broken" in message.lower():
                return b""
            raise SrtError(f"SRT receive: {message}")
        return self._buffer.raw[:received]

    def close(self) -> None:
        _library().srt_close(self.handle)


class SrtListener:
    def __init__(self, host: str, port: int) -> None:
        lib = _library()
        self.handle = _check(lib.srt_create_socket(), "socket")
        address = struct.pack("<H", socket.AF_INET) + struct.pack(">H", port) + socket.inet_aton(host) + bytes(8)
        _check(lib.srt_bind(self.handle, ctypes.create_string_buffer(address, len(address)), len(address)), "bind")
        _check(lib.srt_listen(self.handle, 16), "listen")

    def accept(self) -> SrtSocket:
        """The next caller (blocking); ``SrtError`` once the listener is closed."""
        peer, size = ctypes.create_string_buffer(128), ctypes.c_int(128)
        handle = _check(_library().srt_accept(self.handle, peer, ctypes.byref(size)), "accept")
        family = struct.unpack("<H", peer.raw[:2])[0]
        return SrtSocket(handle, socket.inet_ntoa(peer.raw[4:8]) if family == socket.AF_INET else None)

    def close(self) -> None:
        _library().srt_close(self.handle)
