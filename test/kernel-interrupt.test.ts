// Interrupts: a 30-second loop, a long gplab reduction, an awaiting cell and
// a prompt all stop within 2 s, and the kernel keeps its state.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resultText, run, startKernel, LaunchedKernel } from "./kernel/harness";
import type { ExecuteOutcome } from "../kernel/kernel-client";

const LONG_REDUCTION_SETUP = `
const n = 200000; // 4e10 kernel pairs: minutes of work on any CPU
const xs = Float64Array.from({ length: n }, (_, i) => i / n);
const formula: gp.reductions.Formula = {
  name: "RBF", n, m: n, terms: [{ coef: 1, factors: [0] }],
  factors: [{ statistic: "sqdist", dims: 1, x: xs, y: xs, profile: gp.reductions.profiles.rbfProfile, params: new Float64Array(0) }],
};
const ones = tf.ones([n, 1]);
const small = { ...formula, n: 100, m: 100, factors: [{ ...formula.factors[0], x: xs.subarray(0, 100), y: xs.subarray(0, 100) }] };
`;

describe("kernel interrupts", () => {
  let kernel: LaunchedKernel;
  before(async () => {
    kernel = await startKernel();
    await run(kernel, "let kept = 7;");
  });
  after(async () => {
    await kernel.shutdown();
  });

  /** Starts `code`, interrupts it after `waitMs`, returns the outcome and how long the interrupt took. */
  async function interruptAfter(code: string, waitMs: number, options = {}): Promise<{ outcome: ExecuteOutcome; stopMs: number }> {
    const running = run(kernel, code, options);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    const start = Date.now();
    const { reply } = await kernel.client.request("control", "interrupt_request", {});
    assert.equal(reply.header.msg_type, "interrupt_reply");
    const outcome = await running;
    return { outcome, stopMs: Date.now() - start };
  }

  test("a synchronous 30-second loop stops within 2 s; state survives; next cell works", async () => {
    const { outcome, stopMs } = await interruptAfter("const t0 = Date.now(); while (Date.now() - t0 < 30_000) {}", 700);
    assert.equal(outcome.reply.content.status, "error");
    assert.equal(outcome.reply.content.ename, "InterruptedError");
    assert.ok(stopMs < 2000, `stopped in ${stopMs} ms`);
    assert.equal(resultText(await run(kernel, "kept")), "7");
  });

  test("a long gplab reduction stops within 2 s with the library's InterruptedError; the next reduction works", async () => {
    const setup = await run(kernel, LONG_REDUCTION_SETUP);
    assert.equal(setup.reply.content.status, "ok", JSON.stringify(setup.reply.content));
    const { outcome, stopMs } = await interruptAfter("new gp.operators.KernelLinearOperator(formula).matmul(ones).shape[0]", 1000);
    assert.equal(outcome.reply.content.ename, "InterruptedError");
    assert.ok(stopMs < 2000, `stopped in ${stopMs} ms`);
    const next = await run(kernel, "new gp.operators.KernelLinearOperator(small).matmul(tf.ones([100, 1])).shape[0]");
    assert.equal(resultText(next), "100");
    assert.equal(resultText(await run(kernel, "kept")), "7");
  });

  test("an awaiting cell stops, and a loop it started in the background stops at its next await", async () => {
    const { outcome, stopMs } = await interruptAfter(`
      (globalThis as any).ticks = 0;
      while (true) { await new Promise((r) => setTimeout(r, 20)); (globalThis as any).ticks++; }`, 500);
    assert.equal(outcome.reply.content.ename, "InterruptedError");
    assert.ok(stopMs < 2000, `stopped in ${stopMs} ms`);
    const ticks = Number(resultText(await run(kernel, "(globalThis as any).ticks")));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const later = Number(resultText(await run(kernel, "(globalThis as any).ticks")));
    assert.equal(later, ticks, "the loop no longer runs");
    assert.equal(resultText(await run(kernel, "kept")), "7");
  });

  test("a cell blocked in prompt() is interrupted", async () => {
    const { outcome, stopMs } = await interruptAfter('prompt("never answered")', 300, { onInput: () => new Promise<string>(() => undefined) });
    assert.equal(outcome.reply.content.ename, "InterruptedError");
    assert.ok(stopMs < 2000, `stopped in ${stopMs} ms`);
    assert.equal(resultText(await run(kernel, "kept")), "7");
  });

  test("a busy loop after an await (which no signal can break) gets a fresh cell runner within 2 s", async () => {
    const { outcome, stopMs } = await interruptAfter("await Promise.resolve(); const t1 = Date.now(); while (Date.now() - t1 < 30_000) {}", 500);
    assert.equal(outcome.reply.content.ename, "KernelRestarted");
    assert.ok(stopMs < 2000, `stopped in ${stopMs} ms`);
    assert.equal(resultText(await run(kernel, "1 + 1")), "2");
    await run(kernel, "let kept = 7;");
  });

  test("an interrupt while the cell is still type-checking stops it before it starts, without a restart", async () => {
    const slowToCompile = Array.from({ length: 5000 }, (_, i) => `const v${i}: number = ${i} * 2;`).join("\n") +
      "\n(globalThis as any).compiledCellRan = true; const t2 = Date.now(); while (Date.now() - t2 < 30_000) {}";
    const { outcome } = await interruptAfter(slowToCompile, 50);
    assert.equal(outcome.reply.content.ename, "InterruptedError");
    assert.equal(resultText(await run(kernel, "(globalThis as any).compiledCellRan === true")), "false");
    assert.equal(resultText(await run(kernel, "kept")), "7", "no restart: state kept");
  });

  test("an interrupt that reaches the runner before the cell it was sent for still stops that cell", async () => {
    // A timer of an earlier cell keeps the runner's main thread busy, so the
    // next request waits in its queue while the interrupt (on its own pipe and
    // thread) is read at once: the interrupt must not be taken for a stale one.
    // Files say when the busy spell starts, so the order is certain.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gplab-interrupt-"));
    const go = path.join(dir, "go"), started = path.join(dir, "started");
    const armed = await run(kernel, `
      import * as fs from "node:fs";
      const watchGo = setInterval(() => {
        if (!fs.existsSync(${JSON.stringify(go)})) return;
        clearInterval(watchGo);
        fs.writeFileSync(${JSON.stringify(started)}, "");
        const t3 = Date.now(); while (Date.now() - t3 < 2000) {}
      }, 10); 1`);
    assert.equal(resultText(armed), "1", JSON.stringify(armed.reply.content));
    fs.writeFileSync(go, "");
    while (!fs.existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 10));
    const { outcome } = await interruptAfter("(globalThis as any).queuedCellRan = true; 5", 50);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(outcome.reply.content.ename, "InterruptedError", JSON.stringify(outcome.reply.content));
    assert.equal(resultText(await run(kernel, "(globalThis as any).queuedCellRan === true")), "false");
    // The interrupt was used up: the cells after it run, with their state.
    assert.equal(resultText(await run(kernel, "kept")), "7", "no restart: state kept");
  });

  test("a cell that ends its own process gets a clear error and a fresh cell runner", async () => {
    const outcome = await run(kernel, "process.exit(3)");
    assert.equal(outcome.reply.content.ename, "KernelRestarted");
    assert.match(outcome.reply.content.evalue, /exited \(code 3\)/);
    assert.equal(resultText(await run(kernel, "2 + 2")), "4");
  });
});
