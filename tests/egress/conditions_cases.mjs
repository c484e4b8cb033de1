// Runs web/src/layout/conditions.ts over the shared cases; prints one JSON line per case: {"matches": bool} or
// {"error": true}. TypeScript's transpiler strips the types (in milliseconds: `make check` type-checks the file).
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [web, cases, outDir] = process.argv.slice(2);
const ts = createRequire(join(web, "package.json"))("typescript");
const source = readFileSync(join(web, "src/layout/conditions.ts"), "utf8");
const { outputText } = ts.transpileModule(source, {
  compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
});
const compiled = join(outDir, "conditions.mjs");
writeFileSync(compiled, outputText);
const { matches } = await import(pathToFileURL(compiled).href);
for (const c of JSON.parse(readFileSync(cases, "utf8"))) {
  try {
    console.log(JSON.stringify({ matches: matches(c.condition, c.subject) }));
  } catch {
    console.log(JSON.stringify({ error: true }));
  }
}
