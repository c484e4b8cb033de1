// Types for @jitsi/rnnoise-wasm's synchronous build (the wasm inlined, instantiated without fetching), which the
// package ships untyped.
declare module "@jitsi/rnnoise-wasm/dist/rnnoise-sync.js" {
  export interface RnnoiseModule {
    HEAPF32: Float32Array;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    _rnnoise_create(model: number): number;
    _rnnoise_destroy(state: number): void;
    /** Denoises 480 samples (48 kHz, int16 scale) from `input` into `output`; returns the voice probability. */
    _rnnoise_process_frame(state: number, output: number, input: number): number;
  }
  export default function createRNNWasmModuleSync(options?: object): RnnoiseModule;
}
