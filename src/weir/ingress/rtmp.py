"""RTMP, the server's half, without I/O: the handshake, the chunk stream and the commands of a publisher.

``RtmpConnection.receive(data)`` takes bytes as they arrive and returns what happened (``Connected``,
``PublishRequested``, ``Metadata``, ``MediaMessage``, ``Unpublished``); ``data_to_send()`` is what to write back.
The caller answers a publish with ``accept_publish()`` or ``refuse_publish(reason)``. Bytes that break the
protocol raise ``RtmpError``: the caller closes the connection.

The simple handshake (no digest) is what encoders that publish (OBS, ffmpeg, GStreamer, librtmp) accept.
Sizes are bounded (messages, chunk streams), so a hostile stream costs at most a few megabytes.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Any, Literal

from weir.ingress.amf0 import AmfError, decode_all, encode

__all__ = [
    "Connected", "Event", "MediaMessage", "Metadata", "PublishRequested", "RtmpConnection", "RtmpError",
    "Unpublished",
]

HANDSHAKE_SIZE = 1536
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # a keyframe of a 4K stream fits; more is refused
MAX_CHUNK_STREAMS = 64
WINDOW_BYTES = 2_500_000
OUT_CHUNK_SIZE = 128  # the protocol's default: we never send anything big
STREAM_ID = 1  # the one message stream createStream hands out
SET_CHUNK_SIZE, ABORT, ACK, USER_CONTROL, WINDOW_ACK_SIZE, PEER_BANDWIDTH = 1, 2, 3, 4, 5, 6
AUDIO, VIDEO, DATA_AMF3, COMMAND_AMF3, DATA_AMF0, COMMAND_AMF0 = 8, 9, 15, 17, 18, 20
GOODBYES = frozenset({"FCUnpublish", "deleteStream", "closeStream"})


class RtmpError(ValueError):
    """The peer broke the protocol; the connection cannot go on."""


@dataclass(frozen=True)
class Connected:
    app: str
    tc_url: str
    flash_ver: str


@dataclass(frozen=True)
class PublishRequested:
    name: str


@dataclass(frozen=True)
class Metadata:
    values: dict[str, Any]


@dataclass(frozen=True)
class MediaMessage:
    kind: Literal["audio", "video"]
    timestamp: int  # milliseconds
    payload: bytes


@dataclass(frozen=True)
class Unpublished:
    """The encoder said goodbye (FCUnpublish, deleteStream or closeStream)."""


Event = Connected | PublishRequested | Metadata | MediaMessage | Unpublished


@dataclass
class _ChunkStream:
    """What the last header on one chunk stream id said, and the message being assembled on it."""

    timestamp: int = 0
    stamp_field: int = 0  # the header's timestamp field: absolute (fmt 0) or delta
    length: int = 0
    type_id: int = 0
    stream_id: int = 0
    extended: bool = False
    partial: bytearray = field(default_factory=bytearray)


class RtmpConnection:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._out = bytearray()
        self._stage: Literal["c0c1", "c2", "chunks"] = "c0c1"
        self._chunk_size = 128
        self._streams: dict[int, _ChunkStream] = {}
        self._received = 0
        self._acknowledged = 0
        self._peer_window = 0
        self._connected = False
        self._publishing: Literal["no", "asked", "yes"] = "no"
        self._publish_txn = 0.0

    # --- the caller's side ----------------------------------------------------------------------------------
    def data_to_send(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def accept_publish(self) -> None:
        self._publishing = "yes"
        self._status("status", "NetStream.Publish.Start", "publishing")

    def refuse_publish(self, reason: str, code: str = "NetStream.Publish.BadName") -> None:
        """Tell the encoder why (it shows the description) before the caller closes the connection."""
        self._publishing = "no"
        self._status("error", code, reason)

    def receive(self, data: bytes) -> list[Event]:
        self._buffer += data
        self._received += len(data)
        events: list[Event] = []
        while True:
            if self._stage == "c0c1":
                if self._buffer and self._buffer[0] != 3:
                    raise RtmpError(f"RTMP version {self._buffer[0]} is not 3: not an RTMP client")
                if len(self._buffer) < 1 + HANDSHAKE_SIZE:
                    break
                c1 = bytes(self._buffer[1:1 + HANDSHAKE_SIZE])
                del self._buffer[:1 + HANDSHAKE_SIZE]
                self._out += b"\x03" + bytes(8) + os.urandom(HANDSHAKE_SIZE - 8) + c1
                self._stage = "c2"
            elif self._stage == "c2":
                if len(self._buffer) < HANDSHAKE_SIZE:
                    break
                del self._buffer[:HANDSHAKE_SIZE]
                self._stage = "chunks"
            else:
                message = self._next_chunk()
                if message is None:
                    break
                if message:
                    events.extend(self._handle(*message))
        if self._peer_window and self._received - self._acknowledged >= self._peer_window:
            self._acknowledged = self._received
            self._send(2, ACK, struct.pack(">I", self._received & 0xFFFFFFFF))
        return events

    # --- chunk stream ---------------------------------------------------------------------------------------
    def _next_chunk(self) -> tuple[int, int, bytes] | tuple[()] | None:
        """One chunk off the buffer: a whole message (type, timestamp, payload), () mid-message, or None for
        want of bytes."""
        buf = self._buffer
        if not buf:
            return None
        fmt, csid, at = buf[0] >> 6, buf[0] & 0x3F, 1
        if csid in (0, 1):  # a two- or three-byte basic header
            at = 2 + csid
            if len(buf) < at:
                return None
            csid = 64 + buf[1] + (buf[2] * 256 if csid == 1 else 0)
        stream = self._streams.get(csid)
        if stream is None:
            if fmt != 0:
                raise RtmpError(f"chunk stream {csid} starts without a full header")
            if len(self._streams) >= MAX_CHUNK_STREAMS:
                raise RtmpError("too many chunk streams")
            stream = _ChunkStream()
        size = (11, 7, 3, 0)[fmt]
        if len(buf) < at + size:
            return None
        header = bytes(buf[at:at + size])
        at += size
        extended = stream.extended if fmt == 3 else header[:3] == b"\xff\xff\xff"
        stamp = int.from_bytes(header[:3], "big") if fmt != 3 else stream.stamp_field
        if extended:
            if len(buf) < at + 4:
                return None
            if fmt != 3 or not stream.partial:  # a continuation chunk repeats it: nothing new
                stamp = int.from_bytes(buf[at:at + 4], "big")
            at += 4
        length, type_id = stream.length, stream.type_id
        if fmt <= 1:
            length, type_id = int.from_bytes(header[3:6], "big"), header[6]
            if length > MAX_MESSAGE_BYTES:
                raise RtmpError(f"a message of {length} bytes is more than this server takes")
        if stream.partial and fmt != 3:
            raise RtmpError(f"a new message on chunk stream {csid} before the last one ended")
        take = min(self._chunk_size, length - len(stream.partial))
        if len(buf) < at + take:
            return None
        # the chunk is whole: commit the header, then its data
        self._streams[csid] = stream
        if not stream.partial:
            if fmt == 0:
                stream.timestamp, stream.stream_id = stamp, struct.unpack("<I", header[7:11])[0]
            else:
                stream.timestamp = (stream.timestamp + stamp) & 0xFFFFFFFF
            stream.stamp_field, stream.length, stream.type_id, stream.extended = stamp, length, type_id, extended
        stream.partial += buf[at:at + take]
        del buf[:at + take]
        if len(stream.partial) < stream.length:
            return ()
        payload, stream.partial = bytes(stream.partial), bytearray()
        return stream.type_id, stream.timestamp, payload

    # --- messages -------------------------------------------------------------------------------------------
    def _handle(self, type_id: int, timestamp: int, payload: bytes) -> list[Event]:
        if type_id == SET_CHUNK_SIZE:
            size = self._uint32(payload, "chunk size")
            if not 1 <= size <= MAX_MESSAGE_BYTES:
                raise RtmpError(f"chunk size {size} out of range")
            self._chunk_size = size
        elif type_id == ABORT:
            self._streams.pop(self._uint32(payload, "abort"), None)
        elif type_id == WINDOW_ACK_SIZE:
            self._peer_window = self._uint32(payload, "window size")
        elif type_id in (AUDIO, VIDEO):
            if self._publishing == "yes" and payload:
                return [MediaMessage("audio" if type_id == AUDIO else "video", timestamp, payload)]
        elif type_id == DATA_AMF0:
            return self._data(self._amf(payload))
        elif type_id in (COMMAND_AMF0, COMMAND_AMF3):
            return self._command(self._amf(payload[1:] if type_id == COMMAND_AMF3 else payload))
        return []  # acknowledgements, user control, peer bandwidth, AMF3 data: nothing to do

    @staticmethod
    def _uint32(payload: bytes, what: str) -> int:
        if len(payload) < 4:
            raise RtmpError(f"{what} message too short")
        return int(struct.unpack(">I", payload[:4])[0]) & 0x7FFFFFFF

    @staticmethod
    def _amf(payload: bytes) -> list[Any]:
        try:
            return decode_all(payload)
        except AmfError as error:
            raise RtmpError(f"bad AMF0: {error}") from None

    def _data(self, values: list[Any]) -> list[Event]:
        if values and values[0] == "@setDataFrame":
            values = values[1:]
        if len(values) >= 2 and values[0] == "onMetaData" and isinstance(values[1], dict):
            return [Metadata(values[1])]
        return []

    def _command(self, values: list[Any]) -> list[Event]:
        if len(values) < 2 or not isinstance(values[0], str) or not isinstance(values[1], float):
            raise RtmpError("a command needs a name and a transaction id")
        name, txn, args = values[0], values[1], values[2:]
        if name == "connect":
            if self._connected:
                raise RtmpError("connect sent twice")
            info = args[0] if args and isinstance(args[0], dict) else {}
            self._connected = True
            self._send(2, WINDOW_ACK_SIZE, struct.pack(">I", WINDOW_BYTES))
            self._send(2, PEER_BANDWIDTH, struct.pack(">IB", WINDOW_BYTES, 2))
            self._reply("_result", txn, {"fmsVer": "FMS/3,0,1,123", "capabilities": 31},
                        {"level": "status", "code": "NetConnection.Connect.Success",
                         "description": "Connection succeeded.", "objectEncoding": 0})
            return [Connected(str(info.get("app") or ""), str(info.get("tcUrl") or ""),
                              str(info.get("flashVer") or ""))]
        if not self._connected:
            raise RtmpError(f"{name} before connect")
        if name in ("releaseStream", "FCPublish"):
            self._reply("_result", txn, None)
        elif name == "createStream":
            self._reply("_result", txn, None, STREAM_ID)
        elif name == "publish":
            if self._publishing != "no":
                raise RtmpError("publish sent twice")
            stream_name = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
            self._publishing = "asked"
            return [PublishRequested(stream_name)]
        elif name in GOODBYES:
            return [Unpublished()] if self._publishing == "yes" else []
        elif name == "play":
            raise RtmpError("this server only takes publishers")
        return []

    # --- sending --------------------------------------------------------------------------------------------
    def _reply(self, name: str, txn: float, *values: Any) -> None:
        self._send(3, COMMAND_AMF0, encode(name, txn, *values))

    def _status(self, level: str, code: str, description: str) -> None:
        self._send(5, COMMAND_AMF0, encode("onStatus", 0, None,
                                           {"level": level, "code": code, "description": description}),
                   stream_id=STREAM_ID)

    def _send(self, csid: int, type_id: int, payload: bytes, stream_id: int = 0) -> None:
        self._out += bytes([csid]) + len(payload).to_bytes(3, "big").rjust(6, b"\x00") \
            + bytes([type_id]) + struct.pack("<I", stream_id)
        for at in range(0, len(payload), OUT_CHUNK_SIZE):
            if at:
                self._out.append(0xC0 | csid)
            self._out += payload[at:at + OUT_CHUNK_SIZE]
