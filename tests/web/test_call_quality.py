"""Call quality in Chromium (issue 11): four pages in one call for a minute, every remote tile keeps decoding."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.web.conftest import Pages
from tests.web.test_media import in_call

pytestmark = [
    pytest.mark.parametrize("web_server", ["sqlite"], indirect=True),  # media, not the database
    pytest.mark.serial,  # four pages' decoding rates: `make test` runs it with the machine to itself
]
SECONDS, INTERVAL_S = 60, 5
START_WAIT_S = 30  # for every remote tile's first frame, before the minute starts
# Each tile's <video>: the frames it has decoded so far (by user id).
DECODED = """tiles => Object.fromEntries(tiles.map((tile) => {
  const video = tile.querySelector('[data-testid="participant-video"]');
  return [tile.dataset.userId, video ? video.getVideoPlaybackQuality().totalVideoFrames : 0];
}))"""


def decoded(page: Page) -> dict[str, int]:
    return page.get_by_test_id("participant-tile").evaluate_all(DECODED)  # type: ignore[no-any-return]


def test_four_pages_keep_decoding_every_remote_tile(pages: Pages, uid: Callable[[str], str]) -> None:
    users = [uid(name) for name in ("ann", "ben", "cat", "dan")]
    opened = in_call(pages, users, uid("c"))
    deadline = time.monotonic() + START_WAIT_S
    while not all(n > 0 for page, viewer in zip(opened, users, strict=True)
                  for u, n in decoded(page).items() if u != viewer):
        assert time.monotonic() < deadline, [decoded(page) for page in opened]
        time.sleep(0.5)
    samples = []  # per 5-s boundary: per page, the frames each tile has decoded
    started = time.monotonic()
    for boundary in range(0, SECONDS + 1, INTERVAL_S):
        time.sleep(max(0.0, started + boundary - time.monotonic()))
        samples.append([decoded(page) for page in opened])
    stalled = [f"{viewer} saw {sender} stall in {INTERVAL_S * i}-{INTERVAL_S * (i + 1)} s"
               for i, (before, after) in enumerate(zip(samples, samples[1:], strict=False))
               for viewer, was, now in zip(users, before, after, strict=True)
               for sender in users if sender != viewer and now.get(sender, 0) <= was.get(sender, 0)]
    fps = [(samples[-1][v].get(s, 0) - samples[0][v].get(s, 0)) / SECONDS for v, viewer in enumerate(users)
           for s in users if s != viewer]
    print(f"chromium pages=4 seconds={SECONDS} mean_tile_fps={sum(fps) / len(fps):.1f} min_tile_fps={min(fps):.1f}")
    assert not stalled, "\n".join(stalled)
