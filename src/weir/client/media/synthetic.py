"""Synthetic sources for headless clients (bots, services, tests): a test pattern and a tone.

Both count the frames they produce (``frames``), so a test can compare what was sent with what arrived.
"""

from __future__ import annotations

import asyncio
import math
import struct
import time
from fractions import Fraction

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

__all__ = ["AUDIO_RATE", "AUDIO_SAMPLES", "VIDEO_SIZE", "TestPatternTrack", "ToneTrack"]

VIDEO_SIZE = (160, 120)  # small frames keep VP8 encoding cheap
AUDIO_RATE = 48_000
AUDIO_SAMPLES = 960  # 20 ms
TONE_CYCLE = 4_800  # 440 Hz repeats every 1,200 samples; this is also 5 frames


class TestPatternTrack(VideoStreamTrack):
    """Frames whose brightness changes every frame (so every frame has something to encode), at 30 fps."""

    __test__ = False  # not a pytest test class

    def __init__(self, width: int = VIDEO_SIZE[0], height: int = VIDEO_SIZE[1], shade: int = 0) -> None:
        super().__init__()
        self.width, self.height, self.shade = width, height, shade
        self.frames = 0

    @property
    def count(self) -> int:
        return self.frames

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        self.frames += 1
        for index, plane in enumerate(frame.planes):
            plane.update(bytes(((self.frames * 7 + index * 50 + self.shade) % 256,)) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone at about -10 dBov (``amplitude`` 0 gives silence), 20 ms frames at 48 kHz."""

    kind = "audio"

    def __init__(self, amplitude: float = 0.3) -> None:
        super().__init__()
        self.amplitude = amplitude
        self.frames = 0
        self._sent = 0
        self._start = 0.0
        # the tone repeats every TONE_CYCLE samples, a whole number of frames: computed once, sliced per frame
        peak = amplitude * 32767
        self._cycle = struct.pack(f"{TONE_CYCLE}h", *(int(peak * math.sin(2 * math.pi * 440 * n / AUDIO_RATE))
                                                      for n in range(TONE_CYCLE)))

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._sent:
            await asyncio.sleep(self._start + self._sent / AUDIO_RATE - time.time())
        else:
            self._start = time.time()
        start = 2 * (self._sent % TONE_CYCLE)
        frame = AudioFrame(format="s16", layout="mono", samples=AUDIO_SAMPLES)
        frame.planes[0].update(self._cycle[start:start + 2 * AUDIO_SAMPLES])
        frame.pts, frame.sample_rate, frame.time_base = self._sent, AUDIO_RATE, Fraction(1, AUDIO_RATE)
        self._sent += AUDIO_SAMPLES
        self.frames += 1
        return frame
