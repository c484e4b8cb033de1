"""Call quality end to end (issue 11): SDK participants in one call through a real ``weir serve``, run by the soak
harness (bench/soak.py) in a network namespace of its own with only ``lo``, shaped there with nftables.

Each test runs the harness as a subprocess and reads its JSON: per sender→receiver pair, the decoded frames per
second, the longest gaps between frames and the received frame sizes, after a 10-s warm-up. The synthetic
camera is 160x120 at 30 fps, simulcast in three layers (40x30, 80x60, 160x120). Each test prints the harness's
line (``pytest -s`` shows it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, from_setup_script

SOAK = ROOT / "bench" / "soak.py"
LOWEST_LAYER_WIDTH, HIGHEST_LAYER_WIDTH = 40, 160


def soak(tmp_path: Path, *options: str) -> dict[str, Any]:
    """Run the harness with ``options``; its JSON record (the printed line is under ``line``)."""
    from_setup_script("WEIR_NFT", "nftables.sh")
    out = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, str(SOAK), *options, "--json", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    record: dict[str, Any] = json.loads(out.read_text())
    print(record["line"])
    return record


def no_bad_pairs(record: dict[str, Any], bad: list[dict[str, Any]], *fields: str) -> None:
    """Fail with the harness's line and ``fields`` of each bad pair, if there is one."""
    __tracebackhide__ = True
    if bad:
        pytest.fail("\n".join([record["line"], *(f"{p['sender']}->{p['receiver']}: " +
                                                 " ".join(f"{f}={p[f]}" for f in fields) for p in bad)]))


def test_six_participants_see_each_other_at_full_rate(tmp_path: Path) -> None:
    record = soak(tmp_path, "--processes", "3", "--per-process", "2", "--minutes", "2")
    pairs = record["pairs"]
    assert len(pairs) == 30
    slow = [p for p in pairs if p["mean_fps"] < 20 or p["frozen_intervals"] > 0]
    no_bad_pairs(record, slow, "mean_fps", "frozen_intervals")


def test_video_survives_ten_percent_loss_and_recovers(tmp_path: Path) -> None:
    record = soak(tmp_path, "--processes", "2", "--per-process", "1", "--minutes", "1.2",
                  "--loss-pct", "10", "--loss-seconds", "60")  # then 12 s without
    pairs = record["pairs"]
    assert len(pairs) == 2
    bad = [p for p in pairs if p["loss_mean_fps"] < 10 or p["loss_longest_freeze_s"] > 2
           or p["recovery_s"] is None or p["recovery_s"] > 5]
    no_bad_pairs(record, bad, "loss_mean_fps", "loss_longest_freeze_s", "recovery_s")


def test_a_capped_subscriber_gets_the_lowest_layers_and_the_others_are_unaffected(tmp_path: Path) -> None:
    """Four senders, camera only, 10 % of each frame noise: their lowest layers (about 46 kbps each, 60 with the
    headers) fit in 300 kbps, their middle ones (130) do not. (The flat pattern's layers all take 12-17 kbps, and
    one sender's audio alone about 140 kbps on the wire.)"""
    record = soak(tmp_path, "--processes", "2", "--per-process", "2", "--minutes", "0.5", "--no-audio",
                  "--noise-pct", "10", "--cap-kbps", "300")
    capped = [p for p in record["pairs"] if p["capped"]]
    others = [p for p in record["pairs"] if not p["capped"]]
    assert len(capped) == 4 and len(others) == 12
    starved = [p for p in capped if p["frozen_intervals"] > 0 or p["median_width"] != LOWEST_LAYER_WIDTH]
    no_bad_pairs(record, starved, "mean_fps", "frozen_intervals", "median_width")
    hurt = [p for p in others if p["mean_fps"] < 20 or p["frozen_intervals"] > 0
            or p["median_width"] != HIGHEST_LAYER_WIDTH]
    no_bad_pairs(record, hurt, "mean_fps", "frozen_intervals", "median_width")
