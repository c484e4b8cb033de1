"""Noise cancellation on the microphone before it is encoded: RNNoise, the native library the ``pyrnnoise`` wheel
ships (its model is compiled in, so nothing is fetched at run time). The library is opened directly with ctypes:
importing the ``pyrnnoise`` package loads its file-conversion dependencies, about 3 s, for nothing used here.

RNNoise takes 480-sample frames (10 ms) of 48 kHz mono audio. ``DenoisedTrack`` resamples whatever its source
gives to that, cuts it into 480-sample runs (a 20 ms frame is two; other sizes wait for the rest of a run), and
hands the runs to RNNoise while its ``NoiseCancellation`` switch is on, or through unchanged while it is off. The
switch is read per frame, so turning it on or off needs no renegotiation and keeps the timestamps continuous.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, AudioResampler

__all__ = ["RATE", "RUN", "DenoisedTrack", "NoiseCancellation", "Rnnoise", "rnnoise_library"]

RATE = 48_000
RUN = 480  # RNNoise's frame: 10 ms at 48 kHz
LIBRARY_NAMES = ("librnnoise.so", "rnnoise.dll", "librnnoise.dylib")  # as the pyrnnoise wheels name it
Samples = npt.NDArray[np.int16]


@functools.cache
def rnnoise_library() -> Any:
    """librnnoise from the installed ``pyrnnoise`` wheel, opened on first use (14 MB a call without NC never
    needs)."""
    spec = importlib.util.find_spec("pyrnnoise")
    folder = Path(spec.submodule_search_locations[0]) if spec and spec.submodule_search_locations else None
    found = [folder / name for name in LIBRARY_NAMES if folder is not None and (folder / name).exists()]
    if not found:
        raise RuntimeError("noise cancellation needs the pyrnnoise package (pip install pyrnnoise==0.4.5; its "
                           "wheels are for Linux and Windows)")
    lib = ctypes.CDLL(str(found[0]))
    lib.rnnoise_create.argtypes, lib.rnnoise_create.restype = [ctypes.c_void_p], ctypes.c_void_p
    lib.rnnoise_destroy.argtypes, lib.rnnoise_destroy.restype = [ctypes.c_void_p], None
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                          ctypes.POINTER(ctypes.c_float)]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    if lib.rnnoise_get_frame_size() != RUN:
        raise RuntimeError(f"this RNNoise build takes {lib.rnnoise_get_frame_size()}-sample frames, not {RUN}")
    return lib


class Rnnoise:
    """One RNNoise state (it keeps history between runs: one per audio stream)."""

    def __init__(self) -> None:
        self._lib = rnnoise_library()
        self._state = self._lib.rnnoise_create(None)
        self._run = np.zeros(RUN, np.float32)  # RNNoise works in place on floats at int16 scale
        self._pointer = self._run.ctypes.data_as(ctypes.POINTER(ctypes.c_float))

    def process(self, samples: Samples) -> Samples:
        """Denoise ``samples``, a whole number of 480-sample runs."""
        out = np.empty_like(samples)
        for start in range(0, len(samples), RUN):
            self._run[:] = samples[start:start + RUN]
            self._lib.rnnoise_process_frame(self._state, self._pointer, self._pointer)
            out[start:start + RUN] = np.clip(self._run, -32768, 32767)
        return out

    def close(self) -> None:
        if self._state:
            self._lib.rnnoise_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()


class NoiseCancellation:
    """The switch a call turns (``start_audio_processing`` / ``stop_audio_processing``)."""

    def __init__(self) -> None:
        self.enabled = False


class DenoisedTrack(MediaStreamTrack):
    """``source`` as 48 kHz mono, denoised while ``switch.enabled``; it never stops the source (its owner does)."""

    kind = "audio"

    def __init__(self, source: MediaStreamTrack, switch: NoiseCancellation) -> None:
        super().__init__()
        self.source = source
        self._switch = switch
        self._resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        self._pending: Samples = np.zeros(0, np.int16)
        self._filter: Rnnoise | None = None
        self._pts = 0
        self.denoised_runs = 0  # how many runs went through RNNoise (tests and stats read it)

    async def recv(self) -> AudioFrame:
        while len(self._pending) < RUN:
            if self.readyState != "live":
                raise MediaStreamError
            frame = await self.source.recv()
            for part in self._resampler.resample(frame):  # type: ignore[arg-type]  # audio sources give frames
                self._pending = np.concatenate((self._pending, part.to_ndarray().reshape(-1)))
        size = len(self._pending) // RUN * RUN
        samples, self._pending = self._pending[:size], self._pending[size:]
        if self._switch.enabled:
            if self._filter is None:
                self._filter = Rnnoise()
            samples = self._filter.process(samples)
            self.denoised_runs += size // RUN
        out = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        out.sample_rate, out.pts, out.time_base = RATE, self._pts, Fraction(1, RATE)
        self._pts += size
        return out

    def stop(self) -> None:
        super().stop()
        if self._filter is not None:
            self._filter.close()
            self._filter = None
