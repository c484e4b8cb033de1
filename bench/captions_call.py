"""Captions through a real call: the fixed 10 sentences (tests/client/spoken_call.py) spoken at once by two SDK
participants into a ``weir serve`` subprocess with auto-on closed captions and its AI worker (the default engine).

    PYTHONPATH=. .venv/bin/python bench/captions_call.py      # or: make bench-transcription

Prints ``bench transcription engine=pocketsphinx mode=call wer=<x> caption_latency_mean_ms=<n>
caption_latency_p50_ms=<n>``:
- wer: each speaker's captions, in order, against the sentences they said;
- caption latency, for each sentence: from when its last sample left for the Opus encoder (the ``TimedTrack``
  notes each frame's send time) to its ``call.closed_caption`` event reaching alice's client (one of the two
  speakers, listening to the call's events). A sentence cut into several captions counts its last.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from events import free_port
from join import API_KEY, API_SECRET, connected, weir_serve

from tests.ai.speech_corpus import silence, word_error_rate
from tests.client.spoken_call import (
    SAID,
    SPEAKERS,
    Caption,
    TimedTrack,
    covering,
    heard_to_the_end,
    sent_span,
    span,
    spoken,
    write_wav,
)
from weir.client import CallConnectOptions, FileSource, TrackOption
from weir.protocol import events as ev
from weir.server import AsyncClient

WAIT_S = 120.0


async def until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {what} in {WAIT_S:.0f} s")
        await asyncio.sleep(0.1)


async def measure(base: str, folder: Path) -> tuple[float, list[float]]:
    """(the word error rate, each sentence's caption latency in ms)."""
    speech = spoken(folder)
    quiet = write_wav(folder / "silence.wav", silence(1000))
    clients = {speaker: await connected(base, speaker) for speaker in SPEAKERS}
    calls = {speaker: client.make_call("default", "captions-bench") for speaker, client in clients.items()}
    arrived: list[tuple[Caption, float]] = []
    calls["alice"].events.listen(lambda event: arrived.append((event.closed_caption, time.time()))
                                 if isinstance(event, ev.ClosedCaptionEvent) else None)
    try:
        async with AsyncClient(API_KEY, API_SECRET, base) as weir:
            await weir.video.call("default", "captions-bench").get_or_create(data={
                "created_by_id": "alice", "settings_override": {"transcription": {"closed_caption_mode": "auto-on"}}})
        for call in calls.values():
            await call.join(connect_options=CallConnectOptions(
                microphone=TrackOption.enabled(), audio_input_device=FileSource(quiet, loop=True)))
        await until(lambda: calls["alice"].state.value.is_captioning, "captions started")
        await asyncio.sleep(5)  # the worker claims the job, joins and subscribes
        tracks = {speaker: TimedTrack(speech[speaker].path) for speaker in SPEAKERS}
        for speaker, call in calls.items():
            await call.set_audio_input_device(tracks[speaker])

        def by(speaker: str) -> list[tuple[Caption, float]]:
            return [(c, at) for c, at in arrived if c["speaker_id"] == speaker]

        await until(lambda: all(heard_to_the_end(tracks[s], speech[s], [c for c, _ in by(s)]) for s in SPEAKERS),
                    "caption of each speaker's last sentence")
        latencies, pairs = [], []
        for speaker in SPEAKERS:
            captions = [c for c, _ in by(speaker)]
            pairs.append((" ".join(SAID[speaker]), " ".join(c["text"] for c in sorted(captions, key=span))))
            for sentence in speech[speaker].sentences:
                sent = sent_span(tracks[speaker], sentence)
                assert sent is not None
                last = max(covering(captions, sent), key=lambda c: span(c)[1], default=None)
                if last is None:
                    raise RuntimeError(f"{speaker}'s sentence at {sentence[0]:.1f} s has no caption")
                latencies.append((next(at for c, at in by(speaker) if c is last) - sent[1]) * 1000)
        for call in calls.values():
            await call.leave()
        return word_error_rate(pairs), latencies
    finally:
        for client in clients.values():
            await client.disconnect()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, weir_serve(free_port(), WEIR_AI_WORKERS="1") as (base, _):
        wer, latencies = asyncio.run(measure(base, Path(folder)))
    print(f"bench transcription engine=pocketsphinx mode=call wer={wer:.3f} "
          f"caption_latency_mean_ms={statistics.mean(latencies):.0f} "
          f"caption_latency_p50_ms={statistics.median(latencies):.0f}", flush=True)


if __name__ == "__main__":
    main()
