"""What join_response asks publishers to send, from the call's settings."""

from __future__ import annotations

from weir.domain.settings import default_settings, merge_settings
from weir.sfu.signaling.publish_options import publish_options


def by_type(settings: dict) -> dict:
    return {o.track_type: o for o in publish_options(settings)}


def test_camera_video_is_three_simulcast_layers_of_the_target_resolution() -> None:
    video = by_type(default_settings())["video"]
    assert (video.codec, video.width, video.height, video.max_bitrate) == ("vp8", 2560, 1440, 5_000_000)
    assert [(x.rid, x.scale_resolution_down_by, x.max_bitrate) for x in video.layers] == [
        ("q", 4.0, 312_500), ("h", 2.0, 1_250_000), ("f", 1.0, 5_000_000)]


def test_audio_follows_dtx_red_and_hifi_settings() -> None:
    audio = by_type(default_settings())["audio"]
    assert (audio.codec, audio.dtx, audio.red, audio.max_bitrate) == ("opus", True, True, 32_000)
    hifi = by_type(merge_settings(default_settings(), {"audio": {"hifi_audio_enabled": True}}))["audio"]
    assert (hifi.dtx, hifi.max_bitrate) == (False, 128_000)


def test_screen_share_is_one_layer_and_switched_off_with_its_settings() -> None:
    options = by_type(default_settings())
    assert [x.rid for x in options["screen_share"].layers] == ["f"]
    assert "screen_share_audio" in options
    off = merge_settings(default_settings(), {"screensharing": {"enabled": False}, "video": {"enabled": False}})
    assert set(by_type(off)) == {"audio"}
