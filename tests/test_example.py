"""examples/server_side.py runs from start to end against the test server, printing every section."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT, RunningServer

SECTIONS = ["Call types", "Roles and grants", "Users", "Calls", "Members", "Queries", "Moderation", "Clean up"]


def test_server_side_example_runs_every_section(server: RunningServer) -> None:
    env = {**os.environ, "WEIR_URL": server.base_url, "WEIR_API_KEY": server.api_key,
           "WEIR_API_SECRET": server.api_secret}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "server_side.py")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for title in SECTIONS:
        assert f"== {title} ==" in done.stdout
    assert "FAILED" not in done.stdout
    assert f"{len(SECTIONS)} of {len(SECTIONS)} sections succeeded" in done.stdout


def test_ringing_example_runs(server: RunningServer) -> None:
    env = {**os.environ, "WEIR_URL": server.base_url, "WEIR_API_KEY": server.api_key,
           "WEIR_API_SECRET": server.api_secret}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "ringing.py")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "← call.ring" in done.stdout and "← call.accepted" in done.stdout
    assert "← call.rejected decline" in done.stdout
    assert "rejected_by=['bob-" in done.stdout
