"""The downlink's loss: from the subscriber's cumulative counters, across every stream, once per assessment."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from weir.sfu.receiver import MAX_LAYERS
from weir.sfu.rtc.downlink import Downlink
from weir.sfu.rtcp import ReportBlock


def report(lost: int, highest: int, fraction: int = 0) -> ReportBlock:
    return ReportBlock(ssrc=1, fraction_lost=fraction, packets_lost=lost, highest_sequence=highest, jitter=0,
                       last_sr=0, delay_since_last_sr=0)


@dataclass(eq=False)
class ReportedSlot:
    report: ReportBlock


def test_loss_is_what_the_cumulative_counters_say_across_streams_not_a_reports_own_fraction() -> None:
    downlink = Downlink(lambda: 0)
    audio, video = ReportedSlot(report(0, 1000)), ReportedSlot(report(0, 5000))
    assert downlink._lost_since_last([audio, video]) is None  # type: ignore[list-item]  # nothing to compare with yet
    # aiortc's fraction swings to 56 % over a few late packets; the counters say 3 of 150 were lost
    audio.report = report(2, 1050, fraction=143)
    video.report = report(1, 5100, fraction=20)
    assert downlink._lost_since_last([audio, video]) == 3 / 150  # type: ignore[list-item]
    audio.report = report(1, 1100)  # late packets arrived: the count went down
    assert downlink._lost_since_last([audio, video]) == 0.0  # type: ignore[list-item]


@dataclass(eq=False)
class Track:
    kind: str
    rids: tuple[str, ...] = ()
    info: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(muted=False))


@dataclass(eq=False)
class Sending:
    """A slot as ``Downlink.assess`` reads it, sending ``bps`` with ``loss`` of its packets lost."""

    track: Track
    bps: float
    packets_per_s: int
    ssrc: int
    target: int = 0
    cap: int | None = MAX_LAYERS
    active: bool = True
    report: ReportBlock | None = None
    offered: SimpleNamespace = field(default_factory=SimpleNamespace)
    downtrack: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(octets_sent=0))

    def __post_init__(self) -> None:
        self.offered.ssrc = self.ssrc

    def second(self, n: int, loss: float) -> None:
        self.downtrack.octets_sent = int(n * self.bps / 8)
        sent = n * self.packets_per_s
        self.report = report(int(sent * loss), sent)


def test_moderate_random_loss_never_pauses_a_video_whose_lowest_layer_the_floor_carries() -> None:
    """Six people: five Opus streams (about 110 kbit/s each) and five videos whose lowest layers cost 15 kbit/s.
    15 % random loss that sending less does not lower is no reason to pause any of the videos: the floor under
    the ceiling is audio and every video's lowest layer. Heavy loss may still go under it."""
    downlink = Downlink(lambda: 0)
    audio = [Sending(Track("audio"), 110_000, 50, ssrc=n) for n in range(5)]
    video = [Sending(Track("video", ("q", "h", "f")), 17_000, 30, ssrc=10 + n, target=2) for n in range(5)]
    costs = {slot.track: [110_000.0] for slot in audio} | {slot.track: [15_000.0, 16_000.0, 17_000.0]
                                                            for slot in video}
    slots = [*audio, *video]
    ceilings = []
    for n in range(1, 25):
        for slot in slots:
            slot.second(n, 0.15)
        downlink.assess(slots, costs, lambda _: 0, n * 1_000_000_000)  # type: ignore[arg-type]
        ceilings.append(downlink.estimate.ceiling)
        assert all(slot.cap is not None for slot in video), f"a video paused after {n} s"
    assert any(ceiling is not None for ceiling in ceilings), "the loss was cut for"


class AtTheFloor:
    """An estimate held at the floor, as moderate random loss holds it."""

    ceiling: float | None = None

    def on_remb(self, bitrate: int, ssrcs: tuple[int, ...] = ()) -> None: ...

    def on_loss(self, fraction: float) -> None: ...

    def update(self, sent_bps: float, wanted_bps: float, now_s: float, sent_by_ssrc: dict[int, float] | None = None,
               next_bps: float = 0.0, floor_bps: float = 0.0) -> float | None:
        self.ceiling = floor_bps
        return self.ceiling


def test_under_loss_a_video_does_not_flap_between_layers_that_cost_nearly_the_same() -> None:
    """Six people under loss: the ceiling sits at the floor (audio and every lowest layer), and the test
    pattern's layers cost nearly the same, the lowest one's measured cost swinging above the top's with keyframes.
    Each switch costs a keyframe wait: a video changes layers at most once per hold, and not for a small saving."""
    downlink = Downlink(lambda: 0)
    downlink.estimate = AtTheFloor()
    audio = [Sending(Track("audio"), 110_000, 50, ssrc=n) for n in range(5)]
    video = [Sending(Track("video", ("q", "h", "f")), 17_000, 30, ssrc=10 + n, target=2) for n in range(5)]
    slots = [*audio, *video]
    caps: list[list[int | None]] = [[] for _ in video]
    for n in range(1, 41):
        lowest = 18_000.0 if n % 6 < 3 else 15_000.0  # keyframes of the lowest layer
        costs = {slot.track: [110_000.0] for slot in audio} | {slot.track: [lowest, 16_000.0, 17_000.0]
                                                                for slot in video}
        for slot in slots:
            slot.second(n, 0.15)
        downlink.assess(slots, costs, lambda _: 0, n * 1_000_000_000)  # type: ignore[arg-type]
        for seen, slot in zip(caps, video, strict=True):
            seen.append(slot.cap)
    switches = [sum(a != b for a, b in zip(seen, seen[1:], strict=False)) for seen in caps]
    assert max(switches) <= 2, switches


def test_a_loss_report_after_a_client_stall_is_not_read_as_the_paths_loss() -> None:
    """A client whose event loop was blocked for 5 s sends no reports meanwhile; its next reports count the
    stall's packets as lost at once. The report that ends the gap is no loss sample, so one stall does not cut."""
    clock = [0]
    downlink = Downlink(lambda: clock[0])
    audio = Sending(Track("audio"), 110_000, 50, ssrc=1)
    video = Sending(Track("video", ("q", "h", "f")), 500_000, 60, ssrc=2, target=2)
    costs = {audio.track: [110_000.0], video.track: [100_000.0, 250_000.0, 500_000.0]}
    slots = [audio, video]
    for n in range(1, 40):
        clock[0] = n * 1_000_000_000
        stalled = 10 <= n < 15
        if not stalled:
            for slot in slots:
                slot.second(n, 0.6 if n in (15, 16) else 0.0)  # the stall's packets, lost at once, then the rest
                assert slot.report is not None
                downlink.on_report(slot.report, 90_000)
        downlink.assess(slots, costs, lambda _: 0, clock[0])  # type: ignore[arg-type]
        assert downlink.estimate.ceiling is None, f"cut after {n} s"
