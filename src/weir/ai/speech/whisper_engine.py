"""faster-whisper (CTranslate2) on the CPU with a model folder the operator put on the machine (the speech-whisper
extra). Accurate, and multilingual unless the model is English-only (``*.en``)."""

from __future__ import annotations

import io
import threading
import wave
from pathlib import Path
from typing import Any

from weir.ai.speech.engine import AUTO


class WhisperEngine:
    name = "faster-whisper"

    def __init__(self, model_path: Path) -> None:
        self._path = model_path
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                # local_files_only: a path that is not a model folder fails here instead of reaching for a hub.
                # One thread a transcription: the worker runs one per speaker, and OpenMP threads that spin
                # while another speaker's thread holds the core made captions seconds late on a busy machine.
                self._model = WhisperModel(str(self._path), device="cpu", compute_type="int8", cpu_threads=1,
                                           local_files_only=True)
            return self._model

    def supports(self, language: str) -> bool:
        model = self._loaded()
        if not model.model.is_multilingual:
            return language == "en"
        return language == AUTO or language in model.supported_languages

    def transcribe(self, pcm: bytes, language: str) -> str:
        segments, _ = self._loaded().transcribe(
            _wav(pcm), language=None if language == AUTO else language, beam_size=1, vad_filter=False,
            condition_on_previous_text=False)
        return " ".join(segment.text.strip() for segment in segments).strip()


def _wav(pcm: bytes) -> io.BytesIO:
    """The PCM as a WAV file in memory: faster-whisper decodes files itself (through PyAV)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(pcm)
    buffer.seek(0)
    return buffer
