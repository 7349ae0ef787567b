// TypeScript cells in a notebook directory that has no node_modules of its
// own: preloaded, typed gp and tf; type-checking against earlier cells; top-
// level await; npm packages from gplab's install and ESM-only ones from the
// notebook's directory.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { resultText, run, startKernel, streamText, tempDir, LaunchedKernel } from "./kernel/harness";

/** A package that only `import` can load: "type": "module" and an exports map without a require condition. */
function writeEsmOnlyPackage(notebookDir: string): void {
  const dir = path.join(notebookDir, "node_modules", "esm-only-answer");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({
    name: "esm-only-answer", version: "1.0.0", type: "module",
    exports: { ".": { types: "./index.d.ts", import: "./index.js" } },
  }));
  // Top-level await: even require(esm) on the newest Node cannot load this.
  fs.writeFileSync(path.join(dir, "index.js"), "export const answer = await Promise.resolve(42);\nexport default function greet(name) { return `hi ${name}`; }\n");
  fs.writeFileSync(path.join(dir, "index.d.ts"), "export declare const answer: number;\nexport default function greet(name: string): string;\n");
}

describe("kernel cells", () => {
  let kernel: LaunchedKernel;
  let notebookDir: string;
  before(async () => {
    notebookDir = tempDir("cells");
    writeEsmOnlyPackage(notebookDir);
    kernel = await startKernel({ cwd: notebookDir });
  });
  after(async () => {
    await kernel.shutdown();
    fs.rmSync(notebookDir, { recursive: true, force: true });
  });

  test("the first cell sees gp and tf, typed, without an import", async () => {
    const outcome = await run(kernel, "const info = gp.backend.info(); const t: tf.Tensor = tf.tensor1d([1, 2]); [typeof info.backend, t.shape[0]]");
    assert.equal(outcome.reply.content.status, "ok", JSON.stringify(outcome.reply.content));
    assert.equal(resultText(outcome), "[ 'string', 2 ]");
    const typo = await run(kernel, "gp.backend.infoo()");
    assert.equal(typo.reply.content.ename, "TSError", "gp is typed, not any");
    assert.match(typo.reply.content.evalue, /infoo/);
    const tfTypo = await run(kernel, "tf.tensr1d([1])");
    assert.equal(tfTypo.reply.content.ename, "TSError", "tf is typed, not any");
  });

  test("shorthand properties refer to earlier cells' variables", async () => {
    await run(kernel, "const earlierValue = 3;");
    const outcome = await run(kernel, "const { earlierValue: copy } = { earlierValue };\n({ earlierValue, copy })");
    assert.equal(outcome.reply.content.status, "ok", JSON.stringify(outcome.reply.content));
    assert.equal(resultText(outcome), "{ earlierValue: 3, copy: 3 }");
  });

  test("chained tensor methods are typed and work; the library picked its best backend before the first cell", async () => {
    const chained = await run(kernel, "tf.tensor1d([1, 2]).add(1).square().arraySync()");
    assert.equal(chained.reply.content.status, "ok", JSON.stringify(chained.reply.content));
    assert.equal(resultText(chained), "[ 4, 9 ]");
    const typo = await run(kernel, "tf.tensor1d([1]).squaer()");
    assert.equal(typo.reply.content.ename, "TSError", "chained methods are typed, not any");
    // wasm is installed with gplab, so backend.ready() prefers it to cpu (no tfjs-node here).
    assert.equal(resultText(await run(kernel, "gp.backend.info().backend")), "'wasm'");
  });

  test("console and Node's modules type-check although the notebook directory has no @types/node", async () => {
    const outcome = await run(kernel, 'import * as os from "node:os";\nconsole.log(typeof os.cpus().length)');
    assert.equal(outcome.reply.content.status, "ok", JSON.stringify(outcome.reply.content));
    assert.equal(streamText(outcome), "number\n");
  });

  test("declarations carry to later cells, with their types; redeclaring is allowed", async () => {
    await run(kernel, "let total: number = 1;\nfunction twice(v: number): number { return 2 * v; }\ninterface Point { x: number }");
    assert.equal(resultText(await run(kernel, "total = twice(total); total")), "2");
    const wrong = await run(kernel, 'total = "two"');
    assert.equal(wrong.reply.content.ename, "TSError");
    assert.match(wrong.reply.content.evalue, /'string' is not assignable to type 'number'/);
    assert.equal(resultText(await run(kernel, "const p: Point = { x: 3 }; p.x")), "3");
    assert.equal(resultText(await run(kernel, 'const total = "redeclared"; total')), "'redeclared'");
  });

  test("top-level await", async () => {
    const outcome = await run(kernel, "const late = await new Promise<number>((r) => setTimeout(() => r(5), 10)); late * 2");
    assert.equal(resultText(outcome), "10");
    assert.equal(resultText(await run(kernel, "late")), "5");
  });

  test("an ESM-only package in the notebook's directory imports, typed", async () => {
    const outcome = await run(kernel, 'import greet, { answer } from "esm-only-answer";\n`${greet("gp")} ${answer + 0}`');
    assert.equal(outcome.reply.content.status, "ok", JSON.stringify(outcome.reply.content));
    assert.equal(resultText(outcome), "'hi gp 42'");
    const typed = await run(kernel, 'const n: string = answer;');
    assert.equal(typed.reply.content.ename, "TSError");
  });

  test("a local .ts module imports, and an edit to it (or a new package) is picked up without breaking the kernel", async () => {
    fs.writeFileSync(path.join(notebookDir, "helper.ts"), "export const version: number = 1;\n");
    assert.equal(resultText(await run(kernel, 'import { version } from "./helper";\nversion')), "1");
    fs.writeFileSync(path.join(notebookDir, "helper.ts"), 'export const version: string = "two";\n');
    fs.mkdirSync(path.join(notebookDir, "node_modules", "installed-later"), { recursive: true });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (let i = 0; i < 3; i++) {
      const outcome = await run(kernel, 'import { version as current } from "./helper";\ncurrent');
      assert.equal(outcome.reply.content.status, "ok", JSON.stringify(outcome.reply.content));
      assert.equal(resultText(outcome), "'two'");
    }
  });

  test("packages that gplab depends on import from gplab's install", async () => {
    const outcome = await run(kernel, 'import * as vl from "vega-lite";\ntypeof vl.compile');
    assert.equal(outcome.reply.content.status, "ok", JSON.stringify(outcome.reply.content));
    assert.equal(resultText(outcome), "'function'");
    const gplab = await run(kernel, 'import * as lib from "gplab";\nlib === gp');
    assert.equal(resultText(gplab), "true", "import of gplab gives the preloaded instance");
  });
});
