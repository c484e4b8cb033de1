"""HLS broadcasting end to end: two aiortc participants in a call, HLS started through the server SDK, the egress
worker captures the layout page into an adaptive ladder, Weir serves it, ffprobe reads it; then go_live and
stop_live with their start_*/continue_* options on the same call."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.media_helpers import MEDIA_WAIT
from tests.conftest import RunningServer
from tests.egress.test_composite import ColourCall
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu
from weir.egress.composite.quality import ladder
from weir.egress.composite.sinks import HlsSink, Rendition
from weir.server import AsyncClient
from weir.server.response import WeirAPIError

pytestmark = pytest.mark.usefixtures("loopback_ice")
TRACKS = ["480p", "360p"]  # small renditions: two encodes beside Chromium on a shared 2-core machine


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-hls"), egress_workers=1) as running:
        yield running


def test_ladder_has_one_rendition_per_track_largest_first_with_the_seed_bitrates() -> None:
    assert ladder(["360p", "1080p", "720p", "720p"]) == (
        Rendition("1080p", 1920, 1080, 2900), Rendition("720p", 1280, 720, 1300), Rendition("360p", 640, 360, 320))
    assert ladder(["portrait-720x1280"]) == (Rendition("portrait-720x1280", 720, 1280, 1300),)
    assert ladder(["audio-only"]) == ()
    argv = HlsSink(Path("/x"), ladder(TRACKS)).output_args(video=True)
    assert argv[argv.index("-var_stream_map") + 1] == "v:0,a:0,name:480p v:1,a:1,name:360p"
    assert argv[argv.index("-hls_time") + 1] == "1"


def probe(url: str) -> list[dict[str, Any]]:
    """The streams ffprobe finds behind a master playlist (every rendition's video and audio)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height",
                          "-of", "json", url], check=True, capture_output=True, text=True, timeout=60)
    return list(json.loads(out.stdout)["streams"])


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(url)


async def served(url: str) -> bool:
    return (await fetch(url)).status_code == 200


async def until_served(url: str, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + MEDIA_WAIT + 20
    while not await served(url):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def egress(weir: AsyncClient, call_id: str) -> dict[str, Any]:
    """The call's egress block, without the types that never ran (nor the empty list of RTMP broadcasts)."""
    block = (await weir.video.call("default", call_id).get()).data["call"]["egress"]
    return {name: value for name, value in block.items() if value is not None and value != []}


async def test_hls_ladder_served_and_go_live_stop_live(server: RunningServer, uid: Callable[[str], str]) -> None:
    call = ColourCall(server, uid("hls"))
    try:
        blue, _green = await call.add("Blue"), await call.add("Green")
        async with AsyncClient(server.api_key, server.api_secret, server.base_url) as weir:
            api = weir.video.call("default", call.id)
            await api.update(settings_override={"broadcasting": {"hls": {"quality_tracks": TRACKS}}})
            url = (await api.start_hls_broadcasting()).data["playlist_url"]
            assert re.fullmatch(rf"{server.base_url}/hls/[0-9a-f]{{32}}/master\.m3u8", url), url
            # the participants' SDK learns the URL from call.hls_broadcasting_started
            await eventually(lambda: blue.state.value.egress == url, 10, "the playlist URL in the SDK's state")
            assert blue.state.value.is_broadcasting
            assert await egress(weir, call.id) == {"broadcasting": True, "hls": {"playlist_url": url,
                                                                                 "status": "running"}}
            await until_served(url, "the master playlist")

            master = await fetch(url)
            assert master.headers["access-control-allow-origin"] == "*"
            assert master.headers["cache-control"] == "public, max-age=1"
            assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
            variants = [line for line in master.text.splitlines() if line and not line.startswith("#")]
            assert variants == ["480p/index.m3u8", "360p/index.m3u8"]
            media_url = url.rsplit("/", 1)[0] + "/360p/index.m3u8"
            media = (await fetch(media_url)).text
            assert int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", media)[1]) <= 2  # type: ignore[index]
            segment = await fetch(url.rsplit("/", 1)[0] + "/360p/" + media.strip().splitlines()[-1])
            assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
            assert "immutable" in segment.headers["cache-control"]
            assert (await fetch(url.rsplit("/", 1)[0] + "/ffmpeg.log")).status_code == 404  # only HLS files

            streams = await asyncio.to_thread(probe, url)
            videos = sorted((s["width"], s["height"]) for s in streams if s["codec_type"] == "video")
            assert videos == [(640, 360), (854, 480)], streams
            assert sum(s["codec_type"] == "audio" for s in streams) == len(TRACKS), streams

            # stop_live(continue_hls=True) keeps the broadcast; without it, stop_live stops it
            await api.stop_live(continue_hls=True)
            assert (await egress(weir, call.id))["hls"]["status"] == "running"
            await api.stop_hls_broadcasting()
            assert await egress(weir, call.id) == {"broadcasting": False, "hls": {"playlist_url": url,
                                                                                  "status": "stopped"}}
            await eventually(lambda: blue.state.value.egress is None, 10, "the SDK's state dropping the URL")

            # go_live starts HLS and the composite recording together; stop_live (nothing continued) stops both
            await api.go_live(start_hls=True, start_recording=True)
            live = await egress(weir, call.id)
            assert live["hls"]["status"] == "running" and live["hls"]["playlist_url"] != url
            assert live["composite_recording"] == {"status": "running"}
            await until_served(live["hls"]["playlist_url"], "the second broadcast's playlist")
            await api.stop_live()
            stopped = await egress(weir, call.id)
            assert stopped["hls"]["status"] == "stopped" and stopped["composite_recording"] == {"status": "stopped"}
    finally:
        for client in call.clients:
            await client.disconnect()


async def test_broadcast_refusals_change_nothing(server: RunningServer, uid: Callable[[str], str]) -> None:
    off, idle = uid("hls-off"), uid("hls-idle")
    async with AsyncClient(server.api_key, server.api_secret, server.base_url) as weir:
        await weir.video.call("default", off).get_or_create(data={
            "created_by_id": "host", "settings_override": {"broadcasting": {"enabled": False}}})
        with pytest.raises(WeirAPIError, match="HLS broadcasting is disabled"):
            await weir.video.call("default", off).start_hls_broadcasting()
        await weir.video.call("default", idle).get_or_create(data={
            "created_by_id": "host",
            "settings_override": {"transcription": {"translation": {"enabled": True, "languages": ["fr"]}}}})
        with pytest.raises(WeirAPIError, match="not broadcasting"):
            await weir.video.call("default", idle).stop_hls_broadcasting()
        # a refused part of go_live (translation without an engine) starts nothing of the rest
        with pytest.raises(WeirAPIError, match="no translation engine"):
            await weir.video.call("default", idle).go_live(start_recording=True, start_transcription=True)
        assert await egress(weir, idle) == {"broadcasting": False}
    assert (await fetch(f"{server.base_url}/hls/{'0' * 32}/master.m3u8")).status_code == 404
    assert (await fetch(f"{server.base_url}/hls/{'0' * 32}/../../weir.db")).status_code == 404
