"""Vosk (Kaldi) with a model folder the operator put on the machine (the speech-vosk extra); one language per
model, named by WEIR_VOSK_LANGUAGE."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

SAMPLE_RATE = 16_000


class VoskEngine:
    name = "vosk"

    def __init__(self, model_path: Path, language: str) -> None:
        self._path = model_path
        self._language = language
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                import vosk

                vosk.SetLogLevel(-1)
                if not self._path.is_dir():
                    raise FileNotFoundError(f"WEIR_VOSK_MODEL {self._path} is not a model folder")
                self._model = vosk.Model(str(self._path))
            return self._model

    def supports(self, language: str) -> bool:
        return language == self._language

    def transcribe(self, pcm: bytes, language: str) -> str:
        import vosk

        recognizer = vosk.KaldiRecognizer(self._loaded(), SAMPLE_RATE)
        recognizer.AcceptWaveform(pcm)
        return str(json.loads(recognizer.FinalResult()).get("text", ""))
