"""Speech-to-text cost and quality on the fixed 10-sentence set (tests/ai/speech_corpus.py): each configured engine
that speaks English (pocketsphinx always; faster-whisper, Vosk with WEIR_WHISPER_MODEL, WEIR_VOSK_MODEL).

    PYTHONPATH=. .venv/bin/python bench/transcription.py            # or: make bench-transcription

The 10 sentences, in two alternating voices with 1 s of silence between, are one speaker's stream. Prints
``bench transcription engine=<e> realtime_factor=<x> wer=<y> caption_latency_p50_ms=<z>``:
- realtime_factor: seconds of speech in the segments over the engine's CPU seconds (single-threaded, so on one
  core); 4 means one core keeps up with 4 people speaking at once;
- wer: the word error rate of the whole transcript;
- caption_latency_p50_ms: the stream fed in real time, in 20 ms chunks, through the Segmenter (700 ms silence,
  9 s maximum) and the engine in a thread: from a sentence's end in the stream to its caption's text being ready.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from tests.ai.speech_corpus import BYTES_PER_SECOND, SENTENCES, VOICES, silence, speak, word_error_rate
from weir.ai.speech.config import SpeechConfig
from weir.ai.speech.engine import SpeechEngine, configured_engines
from weir.ai.speech.segmenter import Segment, Segmenter
from weir.config import Settings

LEAD_MS = 500
GAP_MS = 1000
CHUNK_MS = 20


def stream() -> tuple[bytes, list[int]]:
    """The speaker's audio and the end of each sentence in it (ms)."""
    audio, ends = silence(LEAD_MS), []
    for i, text in enumerate(SENTENCES):
        audio += speak(text, VOICES[i % 2])
        ends.append(len(audio) * 1000 // BYTES_PER_SECOND)
        audio += silence(GAP_MS)
    return audio, ends


def new_segmenter() -> Segmenter:
    return Segmenter(silence_duration_ms=700, max_speech_caption_ms=9000)


def cost_and_accuracy(engine: SpeechEngine, audio: bytes) -> tuple[float, float]:
    segmenter = new_segmenter()
    segments = segmenter.push(audio, 0) + segmenter.flush()
    engine.transcribe(segments[0].pcm, "en")  # warm-up: model load, first allocations
    started = time.process_time()
    heard = [engine.transcribe(segment.pcm, "en") for segment in segments]
    cpu = time.process_time() - started
    speech_seconds = sum(len(segment.pcm) for segment in segments) / BYTES_PER_SECOND
    return speech_seconds / cpu, word_error_rate([(" ".join(SENTENCES), " ".join(heard))])


def caption_latencies(engine: SpeechEngine, audio: bytes, ends: list[int]) -> list[float]:
    """Feed ``audio`` at real-time pace; each sentence's latency from its end to its caption's text."""
    ready: list[tuple[Segment, float]] = []

    def transcribe(segment: Segment) -> None:
        engine.transcribe(segment.pcm, "en")
        ready.append((segment, time.monotonic()))

    segmenter, workers = new_segmenter(), []
    chunk = CHUNK_MS * BYTES_PER_SECOND // 1000
    start = time.monotonic()
    for offset in range(0, len(audio), chunk):
        at_ms = offset * 1000 // BYTES_PER_SECOND
        time.sleep(max(0.0, start + (at_ms + CHUNK_MS) / 1000 - time.monotonic()))  # the chunk has been spoken
        for segment in segmenter.push(audio[offset : offset + chunk], at_ms):
            workers.append(threading.Thread(target=transcribe, args=(segment,)))
            workers[-1].start()
    for worker in workers:
        worker.join()
    latencies = []
    for end in ends:
        # A sentence's caption is the first one whose segment reaches the sentence's end.
        done = min(t for segment, t in ready if segment.start_ms <= end <= segment.end_ms + GAP_MS // 2)
        latencies.append((done - (start + end / 1000)) * 1000)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-latency", action="store_true", help="skip the real-time pass (about 40 s each)")
    args = parser.parse_args()
    audio, ends = stream()
    for engine in configured_engines(SpeechConfig.from_settings(Settings())):
        if not engine.supports("en"):
            continue
        realtime_factor, wer = cost_and_accuracy(engine, audio)
        latency = "-" if args.no_latency else f"{statistics.median(caption_latencies(engine, audio, ends)):.0f}"
        print(f"bench transcription engine={engine.name} realtime_factor={realtime_factor:.2f} wer={wer:.3f} "
              f"caption_latency_p50_ms={latency}", flush=True)


if __name__ == "__main__":
    main()
