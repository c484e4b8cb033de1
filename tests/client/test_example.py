"""examples/client_two_users.py runs from start to end against the test server."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT, RunningServer

EXAMPLE = ROOT / "examples" / "client_two_users.py"


def test_two_users_example_runs(server: RunningServer) -> None:
    credentials = {"WEIR_URL": server.base_url, "WEIR_API_KEY": server.api_key, "WEIR_API_SECRET": server.api_secret}
    done = subprocess.run([sys.executable, str(EXAMPLE)], env=os.environ | credentials, cwd=ROOT, text=True,
                          capture_output=True, timeout=60)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "Alice: CallStatusOutgoing(video=True)" in out and "Bob: CallStatusIncoming(video=True)" in out
    assert "Alice sees call.accepted by bob-" in out and "participants: Alice, Bob; Alice: CallStatusConnected()" in out
    assert "Bob sees raise-hand from alice-" in out and "Alice sees custom event wave: hi Alice" in out
    assert "Bob: CallStatusDisconnected(reason=DisconnectReasonEnded())" in out
    assert "Alice: CallStatusDisconnected(reason=DisconnectReasonLastParticipantLeft())" in out
