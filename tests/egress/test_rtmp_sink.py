"""The RTMP sink's ffmpeg arguments and the failure reason it gives, without running anything."""

from __future__ import annotations

from weir.egress.composite.rtmp import RtmpSink, failure_reason
from weir.protocol.rtmp_broadcasts import rtmp_destination

URL = rtmp_destination("rtmp://127.0.0.1:1935/live/", "s3cret")


def test_the_stream_key_is_the_last_path_segment() -> None:
    assert URL == "rtmp://127.0.0.1:1935/live/s3cret"
    assert rtmp_destination("rtmps://ingest.example/app", None) == "rtmps://ingest.example/app"


def test_the_sink_publishes_flv_with_both_streams_or_sound_only() -> None:
    video = RtmpSink(URL, 1300).output_args(video=True)
    assert video[-1] == URL and video[video.index("-f") + 1] == "flv"
    assert video[video.index("-b:v") + 1] == "1300k" and ["-map", "1:v"] == video[:2] and "0:a" in video
    sound = RtmpSink(URL, 1300).output_args(video=False)
    assert "1:v" not in sound and "libx264" not in sound and sound[-1] == URL


def test_the_failure_names_the_destination_without_its_key() -> None:
    refused = f"ffmpeg exited with 1: [rtmp @ 0x1] Cannot open connection tcp://127.0.0.1:1935 | {URL}: " \
              "Connection refused"
    assert failure_reason(refused, URL, "s3cret") == "rtmp://127.0.0.1:1935/live/***: Connection refused"
    dropped = f"ffmpeg exited with 1: Error closing file {URL}: Broken pipe | frame= 75 | Conversion failed!"
    assert failure_reason(dropped, URL, "s3cret") == "Error closing file rtmp://127.0.0.1:1935/live/***: Broken pipe"
    other = "ffmpeg exited with 1: s3cret somewhere | Conversion failed!"
    assert failure_reason(other, URL, "s3cret") == "ffmpeg exited with 1: *** somewhere | Conversion failed!"
