// Runs web/src/layout/conditions.ts (compiled by the test into a temporary directory) over the shared cases;
// prints one JSON line per case: {"matches": bool} or {"error": true}.
import { readFileSync } from "node:fs";

const [compiled, cases] = process.argv.slice(2);
const { matches } = await import(compiled);
for (const c of JSON.parse(readFileSync(cases, "utf8"))) {
  try {
    console.log(JSON.stringify({ matches: matches(c.condition, c.subject) }));
  } catch {
    console.log(JSON.stringify({ error: true }));
  }
}
