// The public API is pinned: the surface of dist/lib/index.d.ts must equal the
// reviewed report etc/gplab.public.api.md (API Extractor), and every public
// item needs a doc comment (TypeDoc's notDocumented validation). Both checks
// run in scripts/api-surface.mjs; `npm run api:update` refreshes the report
// after a deliberate change.

import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

const root = join(__dirname, "..", "..");

interface SurfaceResult {
  reportChanged: boolean;
  diff: string[];
  undocumented: string[];
  otherWarnings: string[];
}

function runGate(): SurfaceResult {
  const run = spawnSync(process.execPath, [join(root, "scripts", "api-surface.mjs"), "--json"], { cwd: root, encoding: "utf8" });
  const last = run.stdout.trim().split("\n").pop() ?? "";
  assert.ok(last.startsWith("{"), `scripts/api-surface.mjs did not report (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  return JSON.parse(last) as SurfaceResult;
}

test("the public API matches etc/gplab.public.api.md and every public item is documented", { timeout: 180_000 }, () => {
  const result = runGate();
  assert.equal(
    result.reportChanged,
    false,
    `The public API changed. If that is deliberate, run \`npm run api:update\`, review the diff of etc/gplab.public.api.md and commit it; ` +
      `otherwise keep the name out of the namespace's index.ts (import it by path inside the package).\n${result.diff.slice(0, 80).join("\n")}`,
  );
  assert.deepEqual(result.undocumented, [], `Public items without a /** doc comment */ (give each one; shapes as \`shape: [n, d]\`):\n  ${result.undocumented.join("\n  ")}`);
  assert.deepEqual(result.otherWarnings, [], `TypeDoc warnings (npm run docs treats them as errors):\n  ${result.otherWarnings.join("\n  ")}`);
});
