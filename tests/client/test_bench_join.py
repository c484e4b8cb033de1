"""bench/join.py runs end to end with 2 joins against its own ``weir serve``, so ``make bench-join`` can't rot."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT

LINE = re.compile(r"bench join joins=2 pause_s=0 p50_ms=(?P<total>[\d.]+) p99_ms=[\d.]+ join_p50_ms=(?P<join>[\d.]+) "
                  r"join_p99_ms=[\d.]+ first_frame_p50_ms=(?P<frame>[\d.]+) first_frame_p99_ms=[\d.]+")


def test_join_bench_prints_its_figures() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "join.py"), "--joins", "2", "--pause", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    found = LINE.fullmatch(done.stdout.strip().splitlines()[-1])
    assert found is not None, done.stdout
    assert 0 < float(found["join"]) < float(found["total"]) and float(found["frame"]) > 0
