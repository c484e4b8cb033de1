"""The RTMP sink: the composed call as H.264/AAC in FLV, published to an RTMP(S) server (YouTube, Twitch, an
nginx-rtmp...), and the reason a destination failed, told without its stream key."""

from __future__ import annotations

import re
from dataclasses import dataclass

from weir.egress.composite.sinks import AUDIO, VIDEO, aac, h264

__all__ = ["IO_TIMEOUT_US", "RtmpSink", "failure_reason"]

_EXITED = re.compile(r"^\S+ exited with -?\d+: ")  # how processes.Child.failure starts
IO_TIMEOUT_US = 10_000_000  # a destination that stops reading, without closing, fails the broadcast after 10 s


@dataclass(frozen=True, slots=True)
class RtmpSink:
    """Publish to ``url`` (the stream key is its last path segment) at ``video_kbps`` (constant, as platforms
    ask) with a keyframe every 2 s (their ingest guidance)."""

    url: str
    video_kbps: int

    def output_args(self, video: bool) -> list[str]:
        # x264's closing statistics would push the destination's error out of the log lines a failure quotes
        maps = ["-map", VIDEO, *h264(self.video_kbps), "-x264-params", "log=-1"] if video else []
        return [*maps, "-map", AUDIO, *aac(), "-f", "flv", "-flvflags", "no_duration_filesize",
                "-rw_timeout", str(IO_TIMEOUT_US), self.url]


def failure_reason(failure: str, url: str, stream_key: str | None) -> str:
    """The part of ffmpeg's last lines (``failure``, joined by " | ") that names the destination, such as
    "rtmp://host/app/***: Connection refused"; the whole of it when none does. The stream key becomes ***."""
    about = [part for part in _EXITED.sub("", failure).split(" | ") if url in part]
    reason = about[-1].strip() if about else failure
    return reason.replace(stream_key, "***") if stream_key else reason
