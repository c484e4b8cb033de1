"""One speaker's audio: their decoded track resampled to 16 kHz mono and cut into speech segments.

Each participant's Opus is decoded on its own (the SDK's per-track frame streams), so every segment is known to
be its speaker's: captions carry the right ``speaker_id`` with no diarisation.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import av
from av import AudioFrame

from weir.ai.speech import Segment, Segmenter
from weir.client.media.sinks import FrameStream

RATE = 16000
BYTES_PER_MS = RATE * 2 // 1000
FRAME_BACKLOG = 1000  # 20 s of 20 ms frames: a slow moment of the worker loses no speech


@dataclass(frozen=True, slots=True)
class Utterance:
    speaker_id: str
    start: datetime
    end: datetime
    pcm: bytes


class Listener:
    """Feeds one speaker's segments to ``out`` from their frame stream until cancelled; ``flush`` ends it."""

    def __init__(self, speaker_id: str, frames: FrameStream, segments: dict[str, int],
                 out: asyncio.Queue[Utterance], epoch: float) -> None:
        self.speaker_id, self.frames, self.out, self.epoch = speaker_id, frames, out, epoch
        self.segmenter = Segmenter(segments["silence_duration_ms"], segments["max_speech_caption_ms"])
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        self.clock_ms: int | None = None  # where the next sample falls, in ms since the epoch

    async def run(self) -> None:
        async for frame in self.frames:
            if isinstance(frame, AudioFrame):
                self.push(frame)

    def push(self, frame: AudioFrame) -> None:
        arrived_ms = int((time.time() - self.epoch) * 1000)
        if self.clock_ms is None or arrived_ms - self.clock_ms > 1000:  # the first frame, or after a pause
            self.clock_ms = arrived_ms
        for out in self.resampler.resample(frame):
            pcm = bytes(out.planes[0])[: out.samples * 2]
            self._emit(self.segmenter.push(pcm, self.clock_ms))
            self.clock_ms += len(pcm) // BYTES_PER_MS

    def flush(self) -> None:
        self.frames.close()
        self._emit(self.segmenter.flush())

    def _emit(self, segments: list[Segment]) -> None:
        origin = datetime.fromtimestamp(self.epoch, UTC)
        for segment in segments:
            self.out.put_nowait(Utterance(self.speaker_id, origin + timedelta(milliseconds=segment.start_ms),
                                          origin + timedelta(milliseconds=segment.end_ms), segment.pcm))
