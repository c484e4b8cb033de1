// Quality over time with uPlot: loss (%), jitter and RTT (ms) on two axes, the quality level as a step line, and
// the bit rate (kbps, read from the legend).

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { QualitySample } from "./stats";

const LEVEL: Record<string, number | null> = { good: 3, fair: 2, poor: 1, unknown: null };
const WIDTH = 720;
const HEIGHT = 220;

export function QualityChart({ samples, testId }: { samples: QualitySample[]; testId: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || samples.length === 0) return;
    const times = samples.map((s) => Date.parse(s.at) / 1000);
    const loss = samples.map((s) => (s.packet_loss_pct == null ? null : s.packet_loss_pct * 100));
    const data: uPlot.AlignedData = [
      times,
      loss,
      samples.map((s) => s.jitter_ms),
      samples.map((s) => s.rtt_ms),
      samples.map((s) => LEVEL[s.quality]),
      samples.map((s) => s.bitrate_kbps),
    ];
    const width = Math.min(WIDTH, box.current.clientWidth || WIDTH);
    const plot = new uPlot(
      {
        width,
        height: HEIGHT,
        series: [
          {},
          { label: "loss %", stroke: "#d92f2f", scale: "%" },
          { label: "jitter ms", stroke: "#b7791f", scale: "ms" },
          { label: "RTT ms", stroke: "#005fff", scale: "ms" },
          {
            label: "quality (3 good, 1 poor)",
            stroke: "#1f9d55",
            scale: "q",
            paths: uPlot.paths.stepped!({ align: 1 }),
          },
        ],
        scales: {
          // a lone sample still gets a readable minute of time around it
          x: { time: true, range: (_u, min, max) => (max - min < 60 ? [min - 30, max + 30] : [min, max]) },
          q: { range: [0, 3.5] },
          "%": { range: (_u, _min, max) => [0, Math.max(5, max)] },
        },
        axes: [{}, { scale: "ms", label: "ms" }, { scale: "%", side: 1, label: "loss %", grid: { show: false } }],
      },
      data,
      box.current,
    );
    return () => plot.destroy();
  }, [samples]);
  if (samples.length === 0) return <p class="dash-hint">No samples.</p>;
  return <div class="chart" ref={box} data-testid={testId} />;
}
