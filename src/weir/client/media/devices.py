"""The machine's cameras and microphones, as PyAV can open them: v4l2 video devices, ALSA capture devices and
PulseAudio sources (where PyAV's FFmpeg has the input format). A headless machine has none, which is normal:
the SDK then falls back to its synthetic sources (sources.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

import av

__all__ = ["RtcMediaDevice", "RtcMediaDeviceKind", "RtcMediaDeviceNotifier", "enumerate_devices"]


class RtcMediaDeviceKind(StrEnum):
    VIDEO_INPUT = "videoinput"
    AUDIO_INPUT = "audioinput"
    AUDIO_OUTPUT = "audiooutput"


@dataclass(frozen=True)
class RtcMediaDevice:
    """A device: ``id`` is what PyAV opens with ``format`` (``/dev/video0`` with v4l2, ``hw:0,0`` with alsa)."""

    id: str
    label: str
    kind: RtcMediaDeviceKind
    format: str


def _has_format(name: str) -> bool:
    return name in av.formats_available


def _v4l2() -> list[RtcMediaDevice]:
    if not _has_format("v4l2"):
        return []
    devices = []
    for path in sorted(Path("/dev").glob("video*")):
        name_file = Path("/sys/class/video4linux") / path.name / "name"
        label = name_file.read_text().strip() if name_file.exists() else path.name
        devices.append(RtcMediaDevice(str(path), label, RtcMediaDeviceKind.VIDEO_INPUT, "v4l2"))
    return devices


def _alsa() -> list[RtcMediaDevice]:
    """ALSA PCM devices from /proc/asound/pcm ("00-00: name : desc : playback 1 : capture 1")."""
    pcm = Path("/proc/asound/pcm")
    if not _has_format("alsa") or not pcm.exists():
        return []
    devices = []
    for line in pcm.read_text().splitlines():
        match = re.match(r"(\d+)-(\d+): ([^:]*):", line)
        if match is None:
            continue
        card, device, label = int(match[1]), int(match[2]), match[3].strip()
        for kind, word in ((RtcMediaDeviceKind.AUDIO_INPUT, "capture"), (RtcMediaDeviceKind.AUDIO_OUTPUT, "playback")):
            if word in line:
                devices.append(RtcMediaDevice(f"hw:{card},{device}", label, kind, "alsa"))
    return devices


def _pulse() -> list[RtcMediaDevice]:
    pactl = shutil.which("pactl")
    if not _has_format("pulse") or pactl is None:
        return []
    try:
        listing = subprocess.run([pactl, "list", "short", "sources"], capture_output=True, text=True, timeout=5,
                                 check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    names = [line.split("\t")[1] for line in listing.splitlines() if "\t" in line]
    return [RtcMediaDevice(name, name, RtcMediaDeviceKind.AUDIO_INPUT, "pulse") for name in names]


def enumerate_devices(kind: RtcMediaDeviceKind | None = None) -> list[RtcMediaDevice]:
    """Every device of ``kind`` (all kinds when None) the machine has and PyAV can open."""
    devices = [*_v4l2(), *_pulse(), *_alsa()]
    return [d for d in devices if kind is None or d.kind is kind]


class RtcMediaDeviceNotifier:
    """The Dart SDK's device entry point: ``RtcMediaDeviceNotifier.instance.enumerate_devices(kind)``."""

    instance: ClassVar[RtcMediaDeviceNotifier]

    def enumerate_devices(self, kind: RtcMediaDeviceKind | None = None) -> list[RtcMediaDevice]:
        return enumerate_devices(kind)

    def video_inputs(self) -> list[RtcMediaDevice]:
        return enumerate_devices(RtcMediaDeviceKind.VIDEO_INPUT)

    def audio_inputs(self) -> list[RtcMediaDevice]:
        return enumerate_devices(RtcMediaDeviceKind.AUDIO_INPUT)

    def audio_outputs(self) -> list[RtcMediaDevice]:
        return enumerate_devices(RtcMediaDeviceKind.AUDIO_OUTPUT)


RtcMediaDeviceNotifier.instance = RtcMediaDeviceNotifier()
