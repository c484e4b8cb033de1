"""What composite recording tests publish and look for: solid colours and pure tones, and a decoder that reads
pixels and tone energy out of a recorded file (PyAV, no numpy)."""

from __future__ import annotations

import asyncio
import math
import struct
import time
from array import array
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

RGB = tuple[int, int, int]
RATE = 48_000
SAMPLES = 960  # 20 ms
CYCLE = 4_800  # any multiple of 10 Hz repeats every 4,800 samples (a whole number of frames)


class ColourTrack(VideoStreamTrack):
    """A solid colour, 320×180 (16:9, so a tile shows all of it), at 30 fps."""

    def __init__(self, rgb: RGB) -> None:
        super().__init__()
        r, g, b = rgb
        y = round(0.257 * r + 0.504 * g + 0.098 * b + 16)
        u = round(-0.148 * r - 0.291 * g + 0.439 * b + 128)
        v = round(0.439 * r - 0.368 * g - 0.071 * b + 128)
        self._values = (y, u, v)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=320, height=180, format="yuv420p")
        for plane, value in zip(frame.planes, self._values, strict=True):
            plane.update(bytes((value,)) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


class PureTone(MediaStreamTrack):
    """A sine at ``frequency`` Hz (a multiple of 10), 20 ms frames at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: int, amplitude: float = 0.25) -> None:
        super().__init__()
        self._sent = 0
        self._start = 0.0
        peak = amplitude * 32767
        self._cycle = struct.pack(f"{CYCLE}h", *(int(peak * math.sin(2 * math.pi * frequency * n / RATE))
                                                 for n in range(CYCLE)))

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._sent:
            await asyncio.sleep(self._start + self._sent / RATE - time.time())
        else:
            self._start = time.time()
        start = 2 * (self._sent % CYCLE)
        frame = AudioFrame(format="s16", layout="mono", samples=SAMPLES)
        frame.planes[0].update(self._cycle[start:start + 2 * SAMPLES])
        frame.pts, frame.sample_rate, frame.time_base = self._sent, RATE, Fraction(1, RATE)
        self._sent += SAMPLES
        return frame


@dataclass
class Picture:
    """One video frame as RGB rows; ``at`` reads a pixel by its position as fractions of the width and height."""

    time: float
    width: int
    height: int
    rgb: bytes
    line: int

    @classmethod
    def of(cls, frame: VideoFrame) -> Picture:
        rgb = frame.reformat(format="rgb24")
        return cls(float(frame.time or 0), rgb.width, rgb.height, bytes(rgb.planes[0]), rgb.planes[0].line_size)

    def at(self, x: float, y: float) -> RGB:
        offset = round(y * self.height) * self.line + 3 * round(x * self.width)
        r, g, b = self.rgb[offset:offset + 3]
        return r, g, b


@dataclass
class Recording:
    """A decoded recording: its duration, its video frames from a given time, and the audio's first channel."""

    duration: float
    pictures: list[Picture]
    samples: array[float]
    sample_rate: int

    def tone_energy(self, frequency: float) -> float:
        """Goertzel over blocks of 0.1 s: the power at ``frequency`` relative to the total, averaged. Short
        blocks keep a tone found when the capture's clock drifts from the sender's by a fraction of a hertz, or
        skips (a whole recording's window would be 0.05 Hz narrow and miss it)."""
        block = self.sample_rate // 10
        shares = [self._goertzel(self.samples[i:i + block], frequency)
                  for i in range(0, len(self.samples) - block + 1, block)]
        return sum(shares) / len(shares) if shares else 0.0

    def _goertzel(self, samples: array[float], frequency: float) -> float:
        coefficient = 2 * math.cos(2 * math.pi * frequency / self.sample_rate)
        s1 = s2 = 0.0
        for x in samples:
            s1, s2 = x + coefficient * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
        total = sum(x * x for x in samples) or 1.0
        return power / (total * len(samples) / 2)


def decode(path: Path, frames_from: float, audio_from: float) -> Recording:
    """``path``'s duration, every 3rd video frame from ``frames_from`` s, and its audio from ``audio_from`` s."""
    with av.open(str(path)) as container:
        times: list[float] = []
        pictures: list[Picture] = []
        for frame in container.decode(container.streams.video[0]):
            if frame.time is not None:
                times.append(float(frame.time))
                if frame.time >= frames_from and len(times) % 3 == 0:
                    pictures.append(Picture.of(frame))
        container.seek(0)
        samples: array[float] = array("f")
        rate = container.streams.audio[0].rate
        mono = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for audio in container.decode(container.streams.audio[0]):
            if audio.time is not None and audio.time >= audio_from:
                for out in mono.resample(audio):
                    samples.frombytes(bytes(out.planes[0])[:4 * out.samples])
        return Recording(times[-1] - times[0], pictures, samples, rate)


def last_keyframe(path: Path) -> Picture | None:
    """The last keyframe written so far to a capture in progress (a fragmented MP4 reads while written), if any."""
    try:
        with av.open(str(path), "r") as container:
            stream = container.streams.video[0]
            stream.codec_context.skip_frame = "NONKEY"
            keyframes = list(container.decode(stream))
            return Picture.of(keyframes[-1]) if keyframes else None
    except (av.FFmpegError, IndexError, OSError):  # not created yet, or no fragment yet
        return None
