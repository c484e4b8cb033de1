"""AMF0 (Adobe's Action Message Format, version 0): the values RTMP commands and ``onMetaData`` carry.

Only what encoders send is decoded: numbers, booleans, strings, objects, ECMA and strict arrays, null and
undefined, dates. Anything else, or a value cut short, is an ``AmfError``; nesting is bounded so a hostile
stream cannot exhaust the stack.
"""

from __future__ import annotations

import struct
from typing import Any

__all__ = ["AmfError", "decode_all", "encode"]

NUMBER, BOOLEAN, STRING, OBJECT, NULL, UNDEFINED, ECMA_ARRAY, OBJECT_END, STRICT_ARRAY, DATE, LONG_STRING = (
    0, 1, 2, 3, 5, 6, 8, 9, 10, 11, 12)
MAX_DEPTH = 16


class AmfError(ValueError):
    """The bytes are not the AMF0 values they claim to be."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise AmfError(f"value cut short at byte {self.at} (needs {size} more)")
        chunk = self.data[self.at:self.at + size]
        self.at += size
        return chunk

    def text(self, long: bool = False) -> str:
        size = struct.unpack(">I" if long else ">H", self.take(4 if long else 2))[0]
        try:
            return self.take(size).decode("utf-8")
        except UnicodeDecodeError as error:
            raise AmfError(f"string is not UTF-8: {error}") from None

    def properties(self, depth: int) -> dict[str, Any]:
        found: dict[str, Any] = {}
        while True:
            key = self.text()
            if not key and self.data[self.at:self.at + 1] == bytes([OBJECT_END]):
                self.at += 1
                return found
            found[key] = self.value(depth + 1)

    def value(self, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise AmfError("values nested too deep")
        marker = self.take(1)[0]
        if marker == NUMBER:
            return struct.unpack(">d", self.take(8))[0]
        if marker == BOOLEAN:
            return self.take(1) != b"\x00"
        if marker == STRING:
            return self.text()
        if marker == LONG_STRING:
            return self.text(long=True)
        if marker == OBJECT:
            return self.properties(depth)
        if marker == ECMA_ARRAY:
            self.take(4)  # the count is a hint; the end marker ends it
            return self.properties(depth)
        if marker == STRICT_ARRAY:
            count = struct.unpack(">I", self.take(4))[0]
            if count > len(self.data) - self.at:  # each value takes at least one byte
                raise AmfError(f"strict array of {count} values in {len(self.data) - self.at} bytes")
            return [self.value(depth + 1) for _ in range(count)]
        if marker == DATE:
            milliseconds = struct.unpack(">d", self.take(8))[0]
            self.take(2)  # time zone, unused
            return milliseconds
        if marker in (NULL, UNDEFINED):
            return None
        raise AmfError(f"unsupported AMF0 type {marker}")


def decode_all(data: bytes) -> list[Any]:
    """Every value in ``data``, in order (a command: name, transaction id, command object, arguments)."""
    reader = _Reader(data)
    values = []
    while reader.at < len(data):
        values.append(reader.value())
    return values


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


def encode(*values: Any) -> bytes:
    """AMF0 of ``values``: None, bool, int/float, str, and dicts of those (as objects)."""
    out = bytearray()
    for value in values:
        if value is None:
            out.append(NULL)
        elif isinstance(value, bool):
            out += bytes([BOOLEAN, int(value)])
        elif isinstance(value, int | float):
            out.append(NUMBER)
            out += struct.pack(">d", float(value))
        elif isinstance(value, str):
            out.append(STRING)
            out += _text(value)
        elif isinstance(value, dict):
            out.append(OBJECT)
            for key, item in value.items():
                out += _text(key) + encode(item)
            out += b"\x00\x00" + bytes([OBJECT_END])
        else:
            raise TypeError(f"cannot encode {type(value).__name__} as AMF0")
    return bytes(out)
