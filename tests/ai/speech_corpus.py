"""The fixed English test set: 10 sentences spoken by espeak-ng in two voices, as 16 kHz mono s16le, and the word
error rate. The speech tests and bench/transcription.py use it; espeak-ng comes from scripts/speech-tools.sh
(WEIR_ESPEAK), or PATH."""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess

import av

SENTENCES = (
    "Good morning everyone, can you all hear me clearly?",
    "The quarterly report is ready for review.",
    "Please share your screen when you are ready.",
    "We will start the meeting in five minutes.",
    "The weather in the north will be cold and windy tomorrow.",
    "I think the new design looks much better than the old one.",
    "Could you send me the notes after the call?",
    "Our team fixed three bugs in the last week.",
    "Let us take a short break and come back at noon.",
    "Thank you all for joining, have a great day.",
)
# Two speakers: espeak-ng's American English voice, and the same with its third female variant.
VOICES = ("en-us", "en-us+f3")
BYTES_PER_SECOND = 32_000


def espeak() -> str | None:
    return os.environ.get("WEIR_ESPEAK") or shutil.which("espeak-ng")


@functools.lru_cache(maxsize=64)
def speak(text: str, voice: str) -> bytes:
    """``text`` spoken by ``voice``, resampled from espeak-ng's 22.05 kHz to 16 kHz mono s16le."""
    program = espeak()
    if program is None:
        raise RuntimeError("espeak-ng is missing: run scripts/speech-tools.sh (or set WEIR_ESPEAK)")
    wav = subprocess.run([program, "-v", voice, "--stdout", text], capture_output=True, check=True).stdout
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16_000)
    chunks: list[bytes] = []
    with av.open(io.BytesIO(wav)) as container:
        for frame in container.decode(audio=0):
            chunks += [bytes(out.planes[0])[: out.samples * 2] for out in resampler.resample(frame)]
    chunks += [bytes(out.planes[0])[: out.samples * 2] for out in resampler.resample(None)]
    return b"".join(chunks)


def silence(ms: int) -> bytes:
    return bytes(ms * BYTES_PER_SECOND // 1000)


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words): the word-level edit distance."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        previous, row = row, [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
    return row[-1], len(ref)


def word_error_rate(pairs: list[tuple[str, str]]) -> float:
    """WER over a set of (reference, hypothesis) pairs: all errors over all reference words."""
    errors = total = 0
    for reference, hypothesis in pairs:
        e, n = word_errors(reference, hypothesis)
        errors, total = errors + e, total + n
    return errors / total
