// Completion on `gp.kernels.` in the kernel offers the kernels and the
// helpers a custom kernel needs (KernelFormula, scaledFeatures), and nothing
// internal: every match must be a value the pinned public API report
// (etc/gplab.public.api.md) lists in the kernels namespace.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startKernel, LaunchedKernel } from "./kernel/harness";

const REPORT = path.join(__dirname, "..", "..", "etc", "gplab.public.api.md");

/** The values (classes, functions, constants) the report's `declare namespace <ns>` exports; types and interfaces left out. */
function reportedValues(namespace: string): Set<string> {
  const report = fs.readFileSync(REPORT, "utf8");
  const block = new RegExp(`declare namespace ${namespace} \\{\\s*export \\{([^}]*)\\}`).exec(report);
  assert.ok(block, `etc/gplab.public.api.md has no namespace ${namespace}`);
  const values = new Set<string>();
  for (const entry of block[1].split(",").map((s) => s.trim()).filter(Boolean)) {
    const [local, alias] = entry.split(/\s+as\s+/);
    const isValue = new RegExp(`^(export )?(declare )?(abstract )?(class|function|const|let|var) ${local}\\b`, "m").test(report);
    if (isValue) values.add(alias ?? local);
  }
  return values;
}

describe("kernel completion of gp.kernels.", () => {
  let kernel: LaunchedKernel;
  before(async () => {
    kernel = await startKernel();
  });
  after(async () => {
    await kernel.shutdown();
  });

  test("lists the kernels and the custom-kernel helpers, nothing internal", async () => {
    const code = "gp.kernels.";
    const { reply } = await kernel.client.request("shell", "complete_request", { code, cursor_pos: code.length });
    assert.equal(reply.content.status, "ok");
    const matches: string[] = reply.content.matches;
    assert.equal(reply.content.cursor_start, code.length);

    // What a user needs: the kernels of GPyTorch's list and the formula API for their own.
    const needed = ["RBFKernel", "MaternKernel", "RQKernel", "PeriodicKernel", "LinearKernel", "PolynomialKernel", "CosineKernel", "ScaleKernel", "AdditiveKernel", "ProductKernel", "IndexKernel", "MultitaskKernel", "Kernel", "KernelFormula", "scaledFeatures"];
    assert.deepEqual(needed.filter((name) => !matches.includes(name)), [], `completion lacks some public names: ${matches.join(", ")}`);

    // The helpers that were public by accident before the API was pinned.
    const internal = ["diagBackward", "featureArray", "inputGradient", "kernelAlgebra", "KernelOperator"];
    assert.deepEqual(internal.filter((name) => matches.includes(name)), [], "internal helpers are offered");

    // Every match is a value of the pinned public surface; nothing else leaks in.
    const publicValues = reportedValues("kernels");
    assert.deepEqual(matches.filter((m) => !publicValues.has(m)), [], `completion offers names outside the public kernels namespace (${[...publicValues].join(", ")})`);
    assert.deepEqual([...publicValues].filter((v) => !matches.includes(v)), [], "every public kernels value is offered");
  });
});
