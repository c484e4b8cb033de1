import { defineConfig } from "vite";

// The build lands inside the Python package, so `weir serve` serves it at `/`.
export default defineConfig({
  build: {
    outDir: "../src/weir/web_dist",
    emptyOutDir: true,
    sourcemap: true,
  },
  // ES modules for workers too: the noise-cancellation AudioWorklet's RNNoise build reads import.meta.url.
  worker: { format: "es" },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  server: {
    // `npm run dev` next to `make run`: the API, its WebSocket and the SFU stay on `weir serve`.
    proxy: {
      "/api": { target: "http://127.0.0.1:3030", ws: true },
      "/sfu": { target: "http://127.0.0.1:3030", ws: true },
    },
  },
});
