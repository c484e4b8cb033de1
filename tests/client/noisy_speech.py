"""A speech-like test signal mixed with noise, and a measure of how far the speech stands above the noise; the
noise-cancellation test (test_noise_cancellation.py) and bench/noise.py use them.

The voice is a 140 Hz source with formant-shaped harmonics, in syllables of 200 ms with 200 ms pauses, mixed by
numpy with white noise. ``peak_to_floor_db`` compares the loudest and quietest 10 ms windows: the syllables
against the noise left in the pauses, without having to align what was received with what was sent.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from weir.client.media.denoise import RATE, RUN

SYLLABLE = 0.2  # seconds of voice, then as long a pause
SPEECH_PEAK = 0.3  # of full scale
NOISE_RMS = 0.05


def noisy_speech(seconds: float, noise_rms: float = NOISE_RMS, seed: int = 7) -> npt.NDArray[np.int16]:
    """``seconds`` of 48 kHz mono: the syllables at ``SPEECH_PEAK``, white noise of ``noise_rms`` (full scale 1)."""
    rate = RATE
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(140 + 10 * np.sin(2 * np.pi * 3 * t)) / rate
    voice = np.zeros_like(t)
    for k in range(1, 25):  # harmonics under three formants (500, 1500, 2500 Hz)
        f = 140 * k
        gain = (np.exp(-(((f - 500) / 300) ** 2)) + 0.6 * np.exp(-(((f - 1500) / 400) ** 2))
                + 0.3 * np.exp(-(((f - 2500) / 500) ** 2)))
        voice += gain * np.sin(k * phase)
    voiced = (t % (2 * SYLLABLE)) < SYLLABLE
    voice *= voiced * SPEECH_PEAK / np.abs(voice).max()
    noise = np.random.default_rng(seed).normal(0, noise_rms, len(t))
    return np.clip((voice + noise) * 32767, -32768, 32767).astype(np.int16)


def peak_to_floor_db(samples: npt.NDArray[np.float64]) -> float:
    """Energy of the loudest 10 ms windows (90th percentile) over the quietest (10th), in dB; the energy of one
    int16 step is added, so digital silence in the pauses gives a finite figure (about 75 dB for this signal)."""
    windows = samples[: len(samples) // RUN * RUN].reshape(-1, RUN)
    energy = np.mean(windows ** 2, axis=1) + 1.0
    return float(10 * np.log10(np.percentile(energy, 90) / np.percentile(energy, 10)))
