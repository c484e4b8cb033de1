// The AudioWorklet that cancels noise on the microphone: RNNoise (WebAssembly) on 480-sample runs.
//
// The audio thread hands over 128-sample blocks; RNNoise takes 480. Input gathers in `pending`; each full run is
// denoised (or, switched off, passed through) into `ready`, which starts with a run of silence, so a block is
// always there to play: a constant 10 ms of added latency.

import createRNNWasmModuleSync from "@jitsi/rnnoise-wasm/dist/rnnoise-sync.js";
import { PROCESSOR, type NoiseReport } from "./names";

declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

const RUN = 480;
const BLOCK = 128;
const SCALE = 32768; // RNNoise works on int16-scale floats
const REPORT_EVERY = 50; // runs (half a second) between reports to the page

class RnnoiseProcessor extends AudioWorkletProcessor {
  private readonly wasm = createRNNWasmModuleSync();
  private state = this.wasm._rnnoise_create(0);
  private readonly buffer = this.wasm._malloc(RUN * 4);
  private readonly pending = new Float32Array(RUN + BLOCK);
  private pendingCount = 0;
  private readonly ready = new Float32Array(2 * RUN + BLOCK);
  private readyCount = RUN;
  private runs = 0;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<{ close?: boolean }>) => {
      if (event.data.close) this.close();
    };
  }

  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    if (!this.state) return false;
    const input = inputs[0]?.[0];
    const output = outputs[0][0];
    for (let i = 0; i < BLOCK; i++) this.pending[this.pendingCount + i] = (input?.[i] ?? 0) * SCALE;
    this.pendingCount += BLOCK;
    if (this.pendingCount >= RUN) this.denoiseRun();
    output.set(this.ready.subarray(0, BLOCK));
    for (let channel = 1; channel < outputs[0].length; channel++) outputs[0][channel].set(output);
    this.ready.copyWithin(0, BLOCK, this.readyCount);
    this.readyCount -= BLOCK;
    return true;
  }

  private denoiseRun(): void {
    const run = this.pending.subarray(0, RUN);
    const heap = () => this.wasm.HEAPF32.subarray(this.buffer / 4, this.buffer / 4 + RUN); // (memory may grow)
    heap().set(run);
    this.wasm._rnnoise_process_frame(this.state, this.buffer, this.buffer);
    run.set(heap());
    this.runs++;
    if (this.runs % REPORT_EVERY === 0) this.port.postMessage({ runs: this.runs } satisfies NoiseReport);
    for (let i = 0; i < RUN; i++) this.ready[this.readyCount + i] = run[i] / SCALE;
    this.readyCount += RUN;
    this.pending.copyWithin(0, RUN, this.pendingCount);
    this.pendingCount -= RUN;
  }

  private close(): void {
    if (!this.state) return;
    this.wasm._rnnoise_destroy(this.state);
    this.wasm._free(this.buffer);
    this.state = 0;
  }
}

registerProcessor(PROCESSOR, RnnoiseProcessor);
