"""Where received media goes: every remote track is decoded by one pump, which counts its frames and fans them
out to ``FrameStream``s (async iterators of decoded PyAV frames) and recorders.

A track is known by ``"<session id>|<track type>"`` (the SFU's msid). Streams and recorders follow that key, not
one aiortc track, so they carry on across renegotiations and reconnections that bring a new track.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiortc.contrib.media import MediaRecorder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

__all__ = ["FrameStream", "Recording", "RemoteTracks", "start_recording", "track_key"]

Frame = AudioFrame | VideoFrame
_END: Any = object()


def track_key(session_id: str, track_type: str) -> str:
    return f"{session_id}|{track_type}"


class FrameStream:
    """``async for frame in stream`` (or ``await stream.next(timeout)``); keeps the latest ``maxsize`` frames
    when the reader is slower than the track, so a slow reader sees fresh frames."""

    def __init__(self, hub: RemoteTracks, key: str, maxsize: int) -> None:
        self.key = key
        self._hub = hub
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)

    def _put(self, frame: Any) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(frame)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Frame:
        frame = await self._queue.get()
        if frame is _END:
            raise StopAsyncIteration
        return frame  # type: ignore[no-any-return]

    async def next(self, timeout: float | None = None) -> Frame:
        return await asyncio.wait_for(self.__anext__(), timeout)

    def close(self) -> None:
        self._hub._streams[self.key].discard(self)
        self._put(_END)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class _StreamTrack(MediaStreamTrack):
    """A track that replays a ``FrameStream`` (what aiortc's recorder reads)."""

    def __init__(self, kind: str, stream: FrameStream) -> None:
        super().__init__()
        self.kind = kind
        self._stream = stream

    async def recv(self) -> Frame:
        try:
            return await self._stream.__anext__()
        except StopAsyncIteration:
            raise MediaStreamError from None


class Recording:
    """Received tracks written to a file by aiortc's ``MediaRecorder`` (container from the suffix: .mp4,
    .webm, .mkv, .ogg, .wav, ...). ``await recording.stop()`` finishes the file."""

    def __init__(self, hub: RemoteTracks, path: str | Path, keys: list[tuple[str, str]]) -> None:
        self.path = Path(path)
        self._streams = [hub.frames_for(key, maxsize=120) for key, _ in keys]
        self._recorder = MediaRecorder(str(path))
        for (_, kind), stream in zip(keys, self._streams, strict=True):
            self._recorder.addTrack(_StreamTrack(kind, stream))

    async def stop(self) -> None:
        for stream in self._streams:
            stream.close()
        await self._recorder.stop()


async def start_recording(hub: RemoteTracks, path: str | Path, keys: list[tuple[str, str]]) -> Recording:
    """A recording of the tracks ``keys`` ((key, kind) pairs) to ``path``, started."""
    recording = Recording(hub, path, keys)
    await recording._recorder.start()
    return recording


class RemoteTracks:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()  # decoded frames by key
        self.sizes: dict[str, tuple[int, int]] = {}  # the latest video frame's size by key
        self._streams: dict[str, set[FrameStream]] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}

    def add(self, track: MediaStreamTrack) -> None:
        """Start decoding a received track (a newer track with the same key replaces the old one)."""
        key = track.id
        old = self._pumps.get(key)
        if old is not None:
            old.cancel()
        self._pumps[key] = asyncio.ensure_future(self._pump(key, track))

    async def _pump(self, key: str, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.counts[key] += 1
                if isinstance(frame, VideoFrame):
                    self.sizes[key] = (frame.width, frame.height)
                for stream in list(self._streams.get(key, ())):
                    stream._put(frame)

    def frames_for(self, key: str, maxsize: int = 30) -> FrameStream:
        stream = FrameStream(self, key, maxsize)
        self._streams.setdefault(key, set()).add(stream)
        return stream

    async def close(self) -> None:
        for pump in self._pumps.values():
            pump.cancel()
        await asyncio.gather(*self._pumps.values(), return_exceptions=True)
        self._pumps.clear()
        for streams in self._streams.values():
            for stream in list(streams):
                stream.close()
