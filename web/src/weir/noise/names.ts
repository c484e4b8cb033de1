// What the page and the noise-cancellation worklet share (the worklet bundle must not be imported by the page).

export const PROCESSOR = "weir-rnnoise";

/** The worklet's report to the page, every half second of processed audio. */
export interface NoiseReport {
  runs: number;
}
