"""The fixed 10-sentence set (tests/ai/speech_corpus.py) as two participants' microphones: alice says the even
sentences in the first voice, bob the odd ones in the second, each from a WAV file with a pause after every sentence.
A ``TimedTrack`` notes when each of its frames was handed to the encoder, so a sentence's true send time is known.
Used by tests/client/test_captions.py and bench/captions_call.py."""

from __future__ import annotations

import time
import wave
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer
from av import AudioFrame
from av.frame import Frame

from tests.ai.speech_corpus import BYTES_PER_SECOND, SENTENCES, VOICES, silence, speak

SPEAKERS = ("alice", "bob")
SAID = {speaker: SENTENCES[i::2] for i, speaker in enumerate(SPEAKERS)}
PAUSE_MS = 1200  # after each sentence: more than the 700 ms of silence that ends a caption


@dataclass(frozen=True, slots=True)
class Spoken:
    """A speaker's WAV file and where each of their sentences begins and ends in it (seconds)."""

    path: Path
    sentences: tuple[tuple[float, float], ...]


def write_wav(path: Path, pcm: bytes) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(pcm)
    return path


def spoken(directory: Path) -> dict[str, Spoken]:
    """Each speaker's sentences as one 16 kHz WAV file, a pause after each."""
    files = {}
    for i, speaker in enumerate(SPEAKERS):
        pcm, sentences = b"", []
        for text in SAID[speaker]:
            begins = len(pcm) / BYTES_PER_SECOND
            pcm += speak(text, VOICES[i])
            sentences.append((begins, len(pcm) / BYTES_PER_SECOND))
            pcm += silence(PAUSE_MS)
        files[speaker] = Spoken(write_wav(directory / f"{speaker}.wav", pcm), tuple(sentences))
    return files


class TimedTrack(MediaStreamTrack):
    """A WAV file's audio, sent in real time as a file source is, noting the wall time each frame left for the
    encoder: ``sent_at(offset)`` is when the sample at ``offset`` seconds into the file was sent."""

    kind = "audio"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._player = MediaPlayer(str(path))
        assert self._player.audio is not None
        self._source = self._player.audio
        self._sent: list[tuple[float, float, float]] = []  # (first sample, past the last sample, wall time)

    async def recv(self) -> Frame:
        frame = await self._source.recv()
        assert isinstance(frame, AudioFrame) and frame.pts is not None and frame.time_base is not None
        start = float(frame.pts * frame.time_base)
        self._sent.append((start, start + frame.samples / frame.sample_rate, time.time()))
        return frame

    def sent_at(self, offset: float) -> float | None:
        for start, end, at in self._sent:
            if start <= offset < end:
                return at
        return None

    def stop(self) -> None:
        super().stop()
        self._source.stop()


Caption = dict[str, Any]


def span(caption: Caption) -> tuple[float, float]:
    """A caption's start and end (its speaker's audio timeline, in wall-clock seconds)."""
    return (datetime.fromisoformat(caption["start_time"]).timestamp(),
            datetime.fromisoformat(caption["end_time"]).timestamp())


def sent_span(track: TimedTrack, sentence: tuple[float, float]) -> tuple[float, float] | None:
    """When a sentence's first and last samples were sent, once they have been."""
    begins, ends = track.sent_at(sentence[0]), track.sent_at(sentence[1] - 0.01)
    return None if begins is None or ends is None else (begins, ends)


def covering(captions: list[Caption], sent: tuple[float, float]) -> list[Caption]:
    """The captions whose speech overlaps a sentence's."""
    return [c for c in captions if span(c)[0] < sent[1] and sent[0] < span(c)[1]]


def heard_to_the_end(track: TimedTrack, said: Spoken, captions: list[Caption]) -> bool:
    """A caption ends after the speaker's last sentence began: the rest was captioned before it."""
    last = sent_span(track, said.sentences[-1])
    return last is not None and any(span(c)[1] > last[0] for c in captions)
