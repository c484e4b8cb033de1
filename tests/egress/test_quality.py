"""The size a composite recording renders at follows the recording's quality; the ``audio-only`` quality, like
``audio_only``, records the mix alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

import weir.egress.composite
from weir.config import Settings
from weir.egress.composite import CompositeSpec
from weir.egress.worker import record_composite
from weir.protocol.egress_channel import ClaimedJob


@pytest.mark.parametrize(("options", "size", "audio_only"), [
    ({}, (1280, 720), False),  # the seed's default quality
    ({"quality": "360p"}, (640, 360), False),
    ({"quality": "1080p", "layout": {"name": "grid"}}, (1920, 1080), False),
    ({"quality": "portrait-720x1280"}, (720, 1280), False),
    ({"quality": "audio-only"}, (640, 360), True),
    ({"quality": "720p", "audio_only": True}, (640, 360), True),
])
async def test_the_worker_renders_at_the_recording_s_quality(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, options: dict[str, object], size: tuple[int, int],
        audio_only: bool) -> None:
    rendered: list[CompositeSpec] = []

    async def render(spec: CompositeSpec, output: Path, stop: asyncio.Event) -> None:
        rendered.append(spec)

    monkeypatch.setattr(weir.egress.composite, "record_composite", render)
    job = ClaimedJob(egress_id="e" * 16, call_cid="default:c1", recording_type="composite", options=options,
                     token="t", started_at=datetime.now(UTC), lease_seconds=10)
    await record_composite(Settings(api_key="k", api_secret="s"), job, tmp_path, asyncio.Event())
    (spec,) = rendered
    assert ((spec.width, spec.height), spec.audio_only) == (size, audio_only)
    assert spec.layout == options.get("layout", {})
