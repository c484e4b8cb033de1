"""Call quality over time: many SDK participants in one call, decoded frames counted per sender and receiver.

Runs as root in a network namespace of its own with only ``lo`` (it re-executes itself under ``unshare -n``),
so shaping with nftables (bench/shaping.py) touches nothing else. There it starts a real ``weir serve``
(a fresh data folder, rate limits off, one SFU media worker per core as ``make run`` has, ICE on 127.0.0.1),
creates one call, and starts ``--processes`` client processes (bench/soak_client.py), each with
``--per-process`` SDK participants that publish the synthetic 160x120 camera at 30 fps (and the synthetic
microphone unless ``--no-audio``) and subscribe to everyone (``--noise-pct``: a camera whose layers differ in
bitrate, see bench/soak_client.py). Every receiver counts the video frames it decodes
from every sender; every process reports its resident memory each second, and so does the ``weir serve``
process tree (the coordinator and its workers).

Measuring starts once everyone has joined; the first ``WARMUP_S`` (10) seconds are left out of every figure
(connections, first keyframes, the estimates' start), then it runs ``--minutes``. It prints progress to stderr
and one line to stdout::

    soak participants=<n> minutes=<m> mean_fps=<x> min_pair_fps=<y> frozen_interval_pct=<z> rss_growth_mb_per_min=<w>

- ``mean_fps``: frames per second averaged over every sender→receiver pair; ``min_pair_fps``: the worst pair's;
- ``frozen_interval_pct``: % of (pair, whole 5-s interval) in which the pair decoded no frame;
- ``rss_growth_mb_per_min``: the worst process's least-squares memory slope (clients and the server's).

``--loss-pct N`` drops N % of UDP datagrams at random (every datagram, each way: a sender→SFU→receiver path
crosses two such legs) from ``--loss-start`` seconds after the warm-up for ``--loss-seconds`` (default: to the
end), and adds ``loss_pct``, ``loss_min_pair_fps`` (each pair's mean during the loss, the worst),
``loss_longest_freeze_s`` and ``recovery_s`` (after the loss, until every pair had a second of at least 25
frames; ``none`` if not before the end). ``--cap-kbps K`` adds one subscriber that publishes nothing, in a
process of its own whose ICE uses 127.0.0.2, where nftables polices the UDP to it to K kbps; its pairs are left
out of the figures above and reported as ``capped_min_pair_fps``, ``capped_frozen_interval_pct``,
``capped_max_width`` (the largest of its pairs' median frame widths) and ``others_min_width`` (the smallest of
the other pairs'). ``--json PATH`` writes the per-pair per-second frame counts, gaps and sizes, the memory
samples and the figures.

    make soak                                        # 6 participants in 3 processes, 10 minutes
    .venv/bin/python bench/soak.py --minutes 2 --loss-pct 10 --loss-start 10 --loss-seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict
from pathlib import Path

import shaping
from events import free_port
from join import API_KEY, API_SECRET, LOOPBACK, weir_serve
from soak_client import rss_mb
from soak_metrics import PairSeries, pair_series, quality, rss_slope_mb_per_min

from weir.server import Client

HERE = Path(__file__).resolve().parent
IN_NAMESPACE = "WEIR_SOAK_NAMESPACE"
WARMUP_S = 10
CAPPED_ADDRESS = "127.0.0.2"
CAPPED_USER = "capped"
READY_TIMEOUT_S = 180.0
PROGRESS_EVERY_S = 10
RECENT_S = 5


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10, help="how long to measure, after the warm-up")
    parser.add_argument("--processes", type=int, default=3, help="client processes")
    parser.add_argument("--per-process", type=int, default=2, help="SDK participants in each client process")
    parser.add_argument("--no-audio", action="store_true", help="participants publish the camera only")
    parser.add_argument("--noise-pct", type=float, default=0,
                        help="%% of each camera frame that is noise (layers' bitrates then grow with their size)")
    parser.add_argument("--loss-pct", type=float, default=0, help="random UDP loss, in %%")
    parser.add_argument("--loss-start", type=float, default=0, help="seconds after the warm-up the loss begins")
    parser.add_argument("--loss-seconds", type=float, default=None,
                        help="how long the loss lasts (default: to the end)")
    parser.add_argument("--cap-kbps", type=int, default=0, help="add one subscriber behind this bandwidth cap")
    parser.add_argument("--json", type=Path, default=None, help="write the per-pair per-second figures here")
    args = parser.parse_args()
    if args.minutes <= 0 or args.processes < 1 or args.per_process < 1 or args.processes * args.per_process < 2:
        parser.error("need a positive --minutes and at least two participants")
    if (not 0 <= args.loss_pct <= 100 or args.loss_start < 0
            or (args.loss_seconds is not None and args.loss_seconds <= 0)):
        parser.error("--loss-pct must be 0..100, --loss-start >= 0, --loss-seconds > 0")
    if args.cap_kbps < 0 or not 0 <= args.noise_pct <= 100:
        parser.error("--cap-kbps must be positive, --noise-pct 0..100")
    if (args.loss_pct or args.cap_kbps) and not shaping.nft_available():
        parser.error("shaping needs nftables' nft (scripts/nftables.sh installs it)")
    return args


def enter_namespace() -> None:
    """Re-execute this script in a new network namespace with only ``lo`` (up)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        sys.exit("bench/soak.py runs its call in a network namespace of its own: run it as root, with unshare")
    os.environ[IN_NAMESPACE] = "1"
    os.execvp("unshare", ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                          sys.executable, __file__, *sys.argv[1:]])


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


class Soak:
    """One run: the client processes, what they report, the shaping timetable, the server's memory."""

    def __init__(self, args: argparse.Namespace, base: str, server_pid: int) -> None:
        self.args = args
        self.base = base
        self.server_pid = server_pid
        self.call_id = f"soak-{uuid.uuid4().hex[:8]}"
        count = args.processes * args.per_process
        self.senders = [f"p{i}" for i in range(count)]
        self.lines: list[dict] = []
        self.rss: dict[str, list[tuple[float, float]]] = {}  # process name -> (epoch second, MB)
        self.ready: list[asyncio.Event] = []
        self.failed: list[str] = []
        self.duration = WARMUP_S + round(args.minutes * 60)
        loss_start = WARMUP_S + round(args.loss_start)
        loss_end = (self.duration if args.loss_seconds is None
                    else min(self.duration, loss_start + round(args.loss_seconds)))
        self.loss_window = (loss_start, loss_end) if args.loss_pct else None

    def client_groups(self) -> list[tuple[list[str], list[str], dict[str, str]]]:
        """(users, extra arguments, environment) of each client process."""
        k = self.args.per_process
        extra = (["--no-audio"] if self.args.no_audio else []) + ["--noise-pct", str(self.args.noise_pct)]
        groups = [(self.senders[i * k:(i + 1) * k], extra, {}) for i in range(self.args.processes)]
        if self.args.cap_kbps:
            groups.append(([CAPPED_USER], ["--subscribe-only"], {"WEIR_ICE_HOST_ADDRESSES": CAPPED_ADDRESS}))
        return groups

    async def read(self, name: str, process: asyncio.subprocess.Process, ready: asyncio.Event) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            if not raw.startswith(b"{"):  # not the client's own output
                continue
            line = json.loads(raw)
            if line.get("ready"):
                ready.set()
                continue
            self.lines.append(line)
            self.rss.setdefault(name, []).append((line["t"], line["rss_mb"]))
        if await process.wait() != 0:
            self.failed.append(f"{name} exited with {process.returncode}")
            ready.set()

    async def sample_server(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = time.time()
            for pid in process_tree(self.server_pid):
                self.rss.setdefault(f"serve-{pid}", []).append((now, rss_mb(pid)))
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    def progress(self, t0: int, elapsed: int) -> str:
        # the last second's counts arrive just after its end: the window ends a second back
        recent = pair_series(self.lines, t0 + max(0, elapsed - RECENT_S - 1), RECENT_S, {CAPPED_USER})
        mine = [p for p in recent if not p.capped]
        fps = [p.mean_fps(0, RECENT_S) for p in mine]
        shaped = self.loss_window and self.loss_window[0] <= elapsed < self.loss_window[1]
        return (f"soak {elapsed}/{self.duration} s: last {RECENT_S} s mean_fps={sum(fps) / max(1, len(fps)):.1f} "
                f"min_pair_fps={min(fps, default=0):.1f} pairs={len(fps)}{' (loss on)' if shaped else ''}")

    async def timetable(self, t0: int) -> None:
        """Loss on and off on time, progress lines, until the end."""
        events = []
        if self.loss_window:
            events += [(self.loss_window[0], lambda: shaping.loss(self.args.loss_pct)),
                       (self.loss_window[1], lambda: shaping.unshape(shaping.LOSS_TABLE))]
        events += [(s, None) for s in range(PROGRESS_EVERY_S, self.duration, PROGRESS_EVERY_S)]
        for at, action in sorted(events, key=lambda e: e[0]):
            await asyncio.sleep(max(0.0, t0 + at - time.time()))
            if action is not None:
                action()
            else:
                print(self.progress(t0, at), file=sys.stderr, flush=True)
        await asyncio.sleep(max(0.0, t0 + self.duration + 1.5 - time.time()))  # the last boundary's lines

    async def run(self) -> int:
        """Run the call; returns t0 (the epoch second measuring starts)."""
        groups = self.client_groups()
        processes = []
        for index, (users, extra, env) in enumerate(groups):
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(HERE / "soak_client.py"), "--base", self.base, "--call-id", self.call_id,
                "--users", ",".join(users), "--senders", ",".join(self.senders), *extra,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "WEIR_API_KEY": API_KEY, "WEIR_API_SECRET": API_SECRET,
                     "WEIR_ICE_HOST_ADDRESSES": LOOPBACK, **env})
            self.ready.append(asyncio.Event())
            processes.append((f"client-{index}", process))
        readers = [asyncio.ensure_future(self.read(name, p, ready))
                   for (name, p), ready in zip(processes, self.ready, strict=False)]
        stop = asyncio.Event()
        sampler = asyncio.ensure_future(self.sample_server(stop))
        try:
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in self.ready)), READY_TIMEOUT_S)
            if self.failed:
                raise RuntimeError("; ".join(self.failed))
            t0 = int(time.time()) + 1
            print(f"soak: {len(self.senders)} participants joined call {self.call_id}; measuring "
                  f"{self.duration} s ({WARMUP_S} s warm-up)", file=sys.stderr, flush=True)
            await self.timetable(t0)
        finally:
            stop.set()
            if self.loss_window:
                shaping.unshape(shaping.LOSS_TABLE)
            for _, process in processes:
                if process.stdin is not None:
                    process.stdin.close()
            for _, process in processes:
                try:
                    await asyncio.wait_for(process.wait(), 60)
                except TimeoutError:
                    process.kill()
            await asyncio.gather(*readers, sampler, return_exceptions=True)
        return t0

    def report(self, t0: int) -> tuple[str, dict]:
        pairs = pair_series(self.lines, t0, self.duration, {CAPPED_USER})
        mine = [p for p in pairs if not p.capped]
        capped = [p for p in pairs if p.capped]
        start, end = WARMUP_S, self.duration
        figures: dict[str, object] = {"participants": len(self.senders), "minutes": f"{self.args.minutes:g}",
                                      **quality(mine, start, end)}
        figures["rss_growth_mb_per_min"] = round(max(
            rss_slope_mb_per_min([(t - t0, mb) for t, mb in samples if t >= t0 + start and mb > 0])
            for samples in self.rss.values()), 2)
        if self.loss_window:
            figures.update(loss_figures(mine, *self.loss_window, self.args.loss_pct))
        if capped:
            during = quality(capped, start, end)
            figures.update(cap_kbps=self.args.cap_kbps, capped_min_pair_fps=during["min_pair_fps"],
                           capped_frozen_interval_pct=during["frozen_interval_pct"],
                           capped_max_width=max(p.median_width(start, end) for p in capped),
                           others_min_width=min(p.median_width(start, end) for p in mine))
        line = "soak " + " ".join(f"{k}={'none' if v is None else v}" for k, v in figures.items())
        record = {"line": line, "figures": figures, "t0": t0, "warmup_s": WARMUP_S, "loss_window": self.loss_window,
                  "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(self.args).items()},
                  "pairs": [{**asdict(p), **self.pair_figures(p)} for p in pairs],
                  "rss_mb": {n: [(t - t0, mb) for t, mb in s] for n, s in self.rss.items()}}
        return line, record


    def pair_figures(self, pair: PairSeries) -> dict[str, object]:
        """One pair's figures after the warm-up (and during and after the loss), for the JSON file."""
        start, end = WARMUP_S, self.duration
        figures: dict[str, object] = {"mean_fps": round(pair.mean_fps(start, end), 1),
                                      "frozen_intervals": pair.frozen_intervals(start, end)[0],
                                      "median_width": pair.median_width(start, end)}
        if self.loss_window:
            during, after = self.loss_window
            figures.update(loss_mean_fps=round(pair.mean_fps(during, after), 1),
                           loss_longest_freeze_s=pair.longest_freeze_s(during, after),
                           recovery_s=pair.recovery_s(after))
        return figures


def loss_figures(pairs: list[PairSeries], start: int, end: int, percent: float) -> dict[str, object]:
    recoveries = [p.recovery_s(end) for p in pairs]
    recovery = None if None in recoveries else max(r for r in recoveries if r is not None)
    return {"loss_pct": f"{percent:g}",
            "loss_min_pair_fps": round(min(p.mean_fps(start, end) for p in pairs), 1),
            "loss_longest_freeze_s": round(max(p.longest_freeze_s(start, end) for p in pairs), 1),
            "recovery_s": recovery}


@contextmanager
def capped(args: argparse.Namespace) -> Iterator[None]:
    """The capped subscriber's bandwidth cap, for the whole run."""
    if args.cap_kbps:
        shaping.cap(CAPPED_ADDRESS, args.cap_kbps)
    try:
        yield
    finally:
        if args.cap_kbps:
            shaping.unshape(shaping.CAP_TABLE)


def main() -> None:
    args = options()
    if os.environ.get(IN_NAMESPACE) != "1":
        enter_namespace()
    workers = str(os.cpu_count() or 1)
    with weir_serve(free_port(), WEIR_SFU_WORKERS=workers) as (base, server), capped(args):
        soak = Soak(args, base, server.pid)
        with Client(API_KEY, API_SECRET, base) as backend:
            backend.video.call("default", soak.call_id).get_or_create(data={"created_by_id": soak.senders[0]})
        t0 = asyncio.run(soak.run())
        line, record = soak.report(t0)
    if args.json:
        args.json.write_text(json.dumps(record))
    print(line, flush=True)
    if soak.failed:
        sys.exit("; ".join(soak.failed))


if __name__ == "__main__":
    main()
