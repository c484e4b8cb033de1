// Noise cancellation on the microphone: its track through the RNNoise AudioWorklet (worklet.ts), at 48 kHz,
// into a new track that is published instead of the microphone's.

import { PROCESSOR, type NoiseReport } from "./names";
import workletUrl from "./worklet.ts?worker&url";

const RATE = 48_000; // RNNoise's rate: the context runs at it, so the browser resamples the microphone once

export class NoiseFilter {
  /** RNNoise runs (10 ms each) the worklet has processed, as it last reported. */
  runs = 0;

  private constructor(
    private readonly context: AudioContext,
    private readonly node: AudioWorkletNode,
    /** The denoised microphone. */
    readonly stream: MediaStream,
  ) {
    node.port.onmessage = (event: MessageEvent<NoiseReport>) => {
      this.runs = event.data.runs;
    };
  }

  static async start(microphone: MediaStreamTrack): Promise<NoiseFilter> {
    const context = new AudioContext({ sampleRate: RATE, latencyHint: "interactive" });
    try {
      await context.audioWorklet.addModule(workletUrl);
      const node = new AudioWorkletNode(context, PROCESSOR, { outputChannelCount: [1] });
      const destination = context.createMediaStreamDestination();
      context
        .createMediaStreamSource(new MediaStream([microphone]))
        .connect(node)
        .connect(destination);
      void context.resume(); // not awaited: without a user gesture yet, it resolves only after one
      return new NoiseFilter(context, node, destination.stream);
    } catch (error) {
      void context.close();
      throw error;
    }
  }

  stop(): void {
    this.node.port.postMessage({ close: true });
    this.node.disconnect();
    for (const track of this.stream.getTracks()) track.stop();
    void this.context.close();
  }
}
