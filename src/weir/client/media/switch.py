"""``SourceSwitch``: the one track a publisher's sender ever holds for a track type.

aiortc's sender stops for good when the track it reads ends, and a source being replaced (muting, another
device, a flipped camera) ends while the sender may be waiting on it. The switch reads whichever source is
current, waits while there is none (muted), and shifts timestamps so they keep increasing across sources
(and across the restart of a looped file).
"""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import cast

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

__all__ = ["SourceSwitch"]

VIDEO_FRAME = Fraction(1, 30)  # the gap assumed after a video frame when the source changes


class SourceSwitch(MediaStreamTrack):
    def __init__(self, kind: str, source: MediaStreamTrack | None = None) -> None:
        super().__init__()
        self.kind = kind
        self._source = source
        self._changed = asyncio.Event()
        self._shift: Fraction | None = None  # added to the current source's times
        self._next = Fraction(0)  # the earliest time the next frame may have

    @property
    def source(self) -> MediaStreamTrack | None:
        return self._source

    def use(self, source: MediaStreamTrack | None) -> None:
        """Read ``source`` from now on (None: send nothing until a source is given)."""
        if source is not self._source:
            self._source, self._shift = source, None
            self._changed.set()

    async def recv(self) -> AudioFrame | VideoFrame:
        while self.readyState == "live":
            source = self._source
            if source is not None:
                try:
                    frame = await source.recv()
                except MediaStreamError:
                    if source is self._source:  # it ended by itself (a file played out): wait for another
                        self._source = None
                    continue
                if source is self._source:
                    return self._restamp(cast(AudioFrame | VideoFrame, frame))  # sources yield frames, not packets
                continue  # switched while this frame was on its way: drop it
            self._changed.clear()
            await self._changed.wait()
        raise MediaStreamError

    def _restamp(self, frame: AudioFrame | VideoFrame) -> AudioFrame | VideoFrame:
        if frame.pts is None or frame.time_base is None:
            return frame
        time = frame.pts * frame.time_base
        if self._shift is None or time + self._shift < self._next:  # a new source, or one that went back (a loop)
            self._shift = self._next - time
        time += self._shift
        frame.pts = int(time / frame.time_base)
        length = Fraction(frame.samples, frame.sample_rate) if isinstance(frame, AudioFrame) else VIDEO_FRAME
        self._next = time + length
        return frame

    def stop(self) -> None:
        super().stop()
        self._changed.set()
