// How long a client waits before trying a lost server again: short, so a restarted server is found within a
// second, and jittered, so its clients don't all come back in the same instant.

const FIRST_MS = 250;
const CAP_MS = 1_000;

/** Milliseconds before attempt `attempt` (1, 2, ...): 250 doubling, capped at 1 s, drawn from the upper half. */
export function backoffMs(attempt: number): number {
  const ceiling = Math.min(FIRST_MS * 2 ** Math.min(attempt - 1, 16), CAP_MS);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
