"""Where a composite capture goes. One capture (the layout page on a screen, the call's sound in a sink) feeds
one sink; a sink is the encoders and the muxer at the end of ffmpeg's command line: an MP4 file (recording), an
HLS ladder (broadcasting) or an RTMP URL (pushing to a platform).

A sink sees ffmpeg's inputs as ``0:a`` (the sound) and, unless the capture is audio only, ``1:v`` (the screen).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["AUDIO", "FRAME_RATE", "KEYFRAME_EVERY", "MASTER_PLAYLIST", "VIDEO", "FileSink", "HlsSink", "Rendition",
           "Sink", "aac", "h264"]

FRAME_RATE = 30
KEYFRAME_EVERY = 2 * FRAME_RATE  # a keyframe every 2 s: an MP4 fragment, an HLS segment, an RTMP GOP
# Each MP4 fragment goes to the file as soon as it is complete: ffmpeg buffers 32 KB of a file otherwise, and a calm
# call at 128 kb/s of audio and a few kb/s of video would leave several seconds in a killed capture's buffer.
FLUSHED = ["-flush_packets", "1"]
AUDIO = "0:a"
VIDEO = "1:v"


class Sink(Protocol):
    """The output half of a capture's ffmpeg command."""

    def output_args(self, video: bool) -> list[str]:
        """ffmpeg's arguments after the inputs: maps, encoders, muxer, destination. ``video`` is False for an
        audio-only capture (there is no ``1:v``)."""
        ...


def h264(bitrate_kbps: int | None = None, stream: str = "", keyframe_every: int = KEYFRAME_EVERY) -> list[str]:
    """x264 for live capture: fast, no lookahead (zerolatency), a keyframe every ``keyframe_every`` frames and
    only there, and at most ``bitrate_kbps`` when given. ``stream`` names an output stream (":0") when a sink
    encodes several."""
    args = [f"-c:v{stream}", "libx264", f"-preset:v{stream}", "veryfast", f"-tune:v{stream}", "zerolatency",
            f"-pix_fmt:v{stream}", "yuv420p", f"-g:v{stream}", str(keyframe_every),
            f"-keyint_min:v{stream}", str(keyframe_every), f"-sc_threshold:v{stream}", "0"]
    if bitrate_kbps is not None:
        args += [f"-b:v{stream}", f"{bitrate_kbps}k", f"-maxrate:v{stream}", f"{bitrate_kbps}k",
                 f"-bufsize:v{stream}", f"{2 * bitrate_kbps}k"]
    return args


def aac(bitrate_kbps: int = 128, stream: str = "") -> list[str]:
    return [f"-c:a{stream}", "aac", f"-b:a{stream}", f"{bitrate_kbps}k", f"-ar:a{stream}", "48000",
            f"-ac:a{stream}", "2"]


@dataclass(frozen=True, slots=True)
class FileSink:
    """A fragmented MP4 (an empty ``moov`` first, a fragment every keyframe): a capture that is killed midway
    still plays up to its last fragment. Audio only: an M4A with a fragment every second."""

    path: Path

    def output_args(self, video: bool) -> list[str]:
        if not video:
            return ["-map", AUDIO, *aac(), "-movflags", "+empty_moov+default_base_moof", "-frag_duration", "1000000",
                    *FLUSHED, "-f", "mp4", "-y", str(self.path)]
        return ["-map", VIDEO, "-map", AUDIO, *h264(), *aac(),
                "-movflags", "+frag_keyframe+empty_moov+default_base_moof", *FLUSHED, "-f", "mp4", "-y",
                str(self.path)]


@dataclass(frozen=True, slots=True)
class Rendition:
    """One rung of an HLS ladder."""

    name: str  # its folder and its name in the master playlist: "720p"
    width: int
    height: int
    video_kbps: int


HLS_SEGMENT_S = 1  # a keyframe each second starts a segment: low latency, and well within "2 s or less"
HLS_LIST_SIZE = 6  # segments a live playlist lists; older ones are deleted
MASTER_PLAYLIST = "master.m3u8"


@dataclass(frozen=True, slots=True)
class HlsSink:
    """An adaptive HLS ladder in ``directory``: the screen split and scaled to each rendition, each encoded with
    its own bitrate (and its own AAC), MPEG-TS segments of HLS_SEGMENT_S, a live playlist per rendition
    (``<name>/index.m3u8``, each segment with its wall-clock time) and ``master.m3u8`` listing them. Files are
    written under a temporary name and renamed, so a reader never sees half a segment or half a playlist."""

    directory: Path
    renditions: tuple[Rendition, ...]

    def output_args(self, video: bool) -> list[str]:
        keyframes = HLS_SEGMENT_S * FRAME_RATE
        if not video:
            maps, streams = ["-map", AUDIO, *aac()], "a:0,name:audio"
        else:
            count = len(self.renditions)
            scaled = ";".join(f"[s{i}]scale={r.width}:{r.height}:force_original_aspect_ratio=decrease,"
                              f"pad={r.width}:{r.height}:(ow-iw)/2:(oh-ih)/2[v{i}]"
                              for i, r in enumerate(self.renditions))
            maps = ["-filter_complex", f"[{VIDEO}]split={count}{''.join(f'[s{i}]' for i in range(count))};{scaled}"]
            for i, rendition in enumerate(self.renditions):
                maps += ["-map", f"[v{i}]", "-map", AUDIO, *h264(rendition.video_kbps, f":{i}", keyframes)]
            maps += aac()
            streams = " ".join(f"v:{i},a:{i},name:{r.name}" for i, r in enumerate(self.renditions))
        return [*maps, "-f", "hls", "-hls_time", str(HLS_SEGMENT_S), "-hls_list_size", str(HLS_LIST_SIZE),
                "-hls_flags", "delete_segments+independent_segments+temp_file+program_date_time",
                "-hls_segment_type", "mpegts",
                "-master_pl_name", MASTER_PLAYLIST, "-var_stream_map", streams,
                "-hls_segment_filename", str(self.directory / "%v" / "%05d.ts"),
                str(self.directory / "%v" / "index.m3u8")]
