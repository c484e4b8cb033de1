"""The speech engines' own process: a model decodes outside the worker's event loop (pocketsphinx holds the
interpreter for seconds while it loads and while it decodes, which would stall the worker's media and lease).

The functions run in the child of ``Engines``' process pool; each language's engine loads there once."""

from __future__ import annotations

import ctypes
import signal
import sys

from weir.ai.speech import SpeechConfig, SpeechEngine, UnsupportedLanguage, engine_for

_loaded: dict[str, SpeechEngine] = {}
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """The pool's initializer: the engine process ends when its worker does, also when the worker is killed
    outright (a lapsed lease, SIGKILL), instead of living on with the worker's output pipes open."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class NoEngine(Exception):
    """``UnsupportedLanguage`` as it crosses back to the worker (its message; the engines stay here)."""


def load(language: str, config: SpeechConfig) -> None:
    """Load the engine for ``language`` (raises ``NoEngine``)."""
    if language not in _loaded:
        try:
            _loaded[language] = engine_for(language, config)
        except UnsupportedLanguage as error:
            raise NoEngine(str(error)) from None


def transcribe(language: str, config: SpeechConfig, pcm: bytes) -> str:
    load(language, config)
    return _loaded[language].transcribe(pcm, language)
