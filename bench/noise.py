"""Noise cancellation's cost and effect, offline: the SDK's RNNoise (``weir.client.media.denoise.Rnnoise``) on
``--seconds`` of the speech-like test signal mixed with white noise at each ``--noise-rms``.

    PYTHONPATH=. .venv/bin/python bench/noise.py
    PYTHONPATH=. .venv/bin/python bench/noise.py --seconds 30 --noise-rms 0.01 0.1

Prints one ``bench noise noise_rms=<n> peak_to_floor_in_db=<a> peak_to_floor_out_db=<b> cpu_per_audio_second=<c>
realtime_factor=<d>`` line per level: how far the syllables stand above the noise in the pauses before and after
RNNoise (tests/client/noisy_speech.py), the CPU seconds one audio second costs, and audio seconds per CPU second.
The end-to-end figure, through Opus and the SFU, is the test's (tests/client/test_noise_cancellation.py).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tests.client.noisy_speech import noisy_speech, peak_to_floor_db
from weir.client.media.denoise import RATE, RUN, Rnnoise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--noise-rms", type=float, nargs="+", default=[0.01, 0.05, 0.1])
    args = parser.parse_args()
    for level in args.noise_rms:
        mixed = noisy_speech(args.seconds, level)
        mixed = mixed[: len(mixed) // RUN * RUN]
        denoiser = Rnnoise()
        started = time.process_time()
        out = denoiser.process(mixed)
        cpu = time.process_time() - started
        denoiser.close()
        seconds = len(mixed) / RATE
        print(f"bench noise noise_rms={level} peak_to_floor_in_db={peak_to_floor_db(mixed.astype(np.float64)):.1f} "
              f"peak_to_floor_out_db={peak_to_floor_db(out.astype(np.float64)):.1f} "
              f"cpu_per_audio_second={cpu / seconds:.4f} realtime_factor={seconds / cpu:.0f}")


if __name__ == "__main__":
    main()
