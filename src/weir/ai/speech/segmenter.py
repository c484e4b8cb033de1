"""Cuts a speaker's audio into caption-sized segments by the seed's finalisation rule.

WebRTC's voice activity detector (webrtcvad-wheels) marks each 30 ms frame as speech or not. A segment starts once 3
of the last 5 frames are speech (a lone click does not start one) and keeps the 300 ms before that, so the first
syllable is not cut. It is finalised when the silence after the last speech frame exceeds ``silence_duration_ms``,
or when it reaches ``max_speech_caption_ms`` of continuous speech; then the next segment starts at once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import webrtcvad

SAMPLE_RATE = 16_000
BYTES_PER_MS = SAMPLE_RATE * 2 // 1000
FRAME_MS = 30
FRAME_BYTES = FRAME_MS * BYTES_PER_MS
PRE_ROLL_FRAMES = 10
START_WINDOW_FRAMES = 5
START_VOICED_FRAMES = 3
# Silence kept after the last speech frame: word endings fade below the detector's threshold.
TAIL_MS = 210
# WebRTC's aggressiveness, 0 (keeps most) to 3 (drops most non-speech).
VAD_MODE = 2


@dataclass(slots=True, frozen=True)
class Segment:
    """One caption's audio: 16 kHz mono s16le from ``start_ms`` to ``end_ms`` on the caller's clock."""

    start_ms: int
    end_ms: int
    pcm: bytes


class Segmenter:
    """Voice activity detection over one speaker's stream; ``push`` returns the segments that finalised."""

    def __init__(self, silence_duration_ms: int, max_speech_caption_ms: int) -> None:
        if silence_duration_ms <= 0 or max_speech_caption_ms < FRAME_MS:
            raise ValueError("silence_duration_ms must be positive and max_speech_caption_ms at least 30")
        self._silence_limit_ms = silence_duration_ms
        self._max_bytes = max_speech_caption_ms * BYTES_PER_MS
        self._vad = webrtcvad.Vad(VAD_MODE)
        self._pending = bytearray()
        self._pending_ms: int | None = None  # the clock at _pending[0]
        self._pre_roll: deque[tuple[bytes, bool]] = deque(maxlen=PRE_ROLL_FRAMES)
        self._speech: bytearray | None = None  # the open segment, from _start_ms
        self._start_ms = 0
        self._voiced_bytes = 0  # the open segment's length up to its last speech frame
        self._silence_ms = 0

    def push(self, pcm: bytes, timestamp_ms: int) -> list[Segment]:
        """Feed audio whose first sample is at ``timestamp_ms``. A jump forward in time (no packets while a
        speaker is muted or sends DTX) counts as silence."""
        if len(pcm) % 2:
            raise ValueError("pcm must be whole 16-bit samples")
        done: list[Segment] = []
        if self._pending_ms is None:
            self._pending_ms = timestamp_ms
        else:
            gap_ms = timestamp_ms - (self._pending_ms + len(self._pending) // BYTES_PER_MS)
            if gap_ms >= FRAME_MS:
                # Zeros up to just past the silence limit finalise an open segment; a longer gap is skipped.
                fill_ms = min(gap_ms, self._silence_limit_ms + 2 * FRAME_MS)
                self._pending.extend(bytes(fill_ms * BYTES_PER_MS))
                self._frames(done)
                if fill_ms < gap_ms:
                    self._pending.clear()
                    self._pending_ms = timestamp_ms
        self._pending.extend(pcm)
        self._frames(done)
        return done

    def flush(self) -> list[Segment]:
        """The open segment, if it holds speech (the stream ended or paused); the segmenter starts afresh."""
        done: list[Segment] = []
        if self._speech is not None and self._voiced_bytes:
            done.append(self._finish(self._voiced_bytes))
        self._speech = None
        self._pending.clear()
        self._pending_ms = None
        self._pre_roll.clear()
        return done

    def _frames(self, done: list[Segment]) -> None:
        assert self._pending_ms is not None
        offset = 0
        while len(self._pending) - offset >= FRAME_BYTES:
            frame = bytes(self._pending[offset : offset + FRAME_BYTES])
            frame_ms = self._pending_ms + offset // BYTES_PER_MS
            self._frame(frame, frame_ms, self._vad.is_speech(frame, SAMPLE_RATE), done)
            offset += FRAME_BYTES
        del self._pending[:offset]
        self._pending_ms += offset // BYTES_PER_MS

    def _frame(self, frame: bytes, frame_ms: int, voiced: bool, done: list[Segment]) -> None:
        if self._speech is None:
            self._pre_roll.append((frame, voiced))
            recent = list(self._pre_roll)[-START_WINDOW_FRAMES:]
            if sum(v for _, v in recent) >= START_VOICED_FRAMES:
                self._speech = bytearray(b"".join(f for f, _ in self._pre_roll))
                self._start_ms = frame_ms + FRAME_MS - len(self._pre_roll) * FRAME_MS
                self._voiced_bytes = len(self._speech)
                self._silence_ms = 0
                self._pre_roll.clear()
            return
        self._speech.extend(frame)
        if voiced:
            self._voiced_bytes = len(self._speech)
            self._silence_ms = 0
        else:
            self._silence_ms += FRAME_MS
        if self._silence_ms > self._silence_limit_ms:
            if self._voiced_bytes:
                done.append(self._finish(self._voiced_bytes))
            self._speech = None
        elif len(self._speech) + FRAME_BYTES > self._max_bytes:
            if self._voiced_bytes:
                done.append(self._finish(len(self._speech)))
            # Speech goes on: the next segment starts right here, with nothing heard in it yet.
            self._start_ms = frame_ms + FRAME_MS
            self._speech = bytearray()
            self._voiced_bytes = 0

    def _finish(self, voiced_bytes: int) -> Segment:
        assert self._speech is not None
        pcm = bytes(self._speech[: min(len(self._speech), voiced_bytes + TAIL_MS * BYTES_PER_MS)])
        return Segment(self._start_ms, self._start_ms + len(pcm) // BYTES_PER_MS, pcm)
