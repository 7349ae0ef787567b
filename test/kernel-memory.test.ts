// Cells that create, multiply and display operators leave the number of live
// tensors and the memory flat (40 cells here; the benchmark runs 1,000).
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { measureCellMemory } from "../bench/kernel-memory";
import { startKernel, LaunchedKernel } from "./kernel/harness";

describe("kernel memory", () => {
  let kernel: LaunchedKernel;
  before(async () => {
    kernel = await startKernel();
  });
  after(async () => {
    await kernel.shutdown();
  });

  test("40 operator cells: live tensors unchanged, heap and kernel memory flat", async () => {
    const report = await measureCellMemory(kernel, 40);
    assert.equal(report.after.numTensors, report.before.numTensors, JSON.stringify(report));
    assert.ok(report.after.heapUsedMB - report.before.heapUsedMB < 8, `cell runner heap grew: ${JSON.stringify(report)}`);
    assert.ok(report.kernelRssAfterMB - report.kernelRssBeforeMB < 30, `protocol process grew: ${JSON.stringify(report)}`);
    // The type-checker's garbage must not inflate the committed heap: ~370 MB here with the
    // runner's heap-growing limit, 450-600 MB without it (1,000 cells: bench kernel-memory).
    assert.ok(report.after.rssMB < 450, `cell runner RSS ${report.after.rssMB} MB: ${JSON.stringify(report)}`);
  });

  test("the cell runner runs with the V8 flags that bound its heap growth", async () => {
    const outcome = await kernel.client.execute("process.execArgv");
    const flags = outcome.outputs.find((message) => message.header.msg_type === "execute_result")?.content.data["text/plain"];
    assert.match(String(flags), /--heap-growing-percent=100/);
  });

  test("a leak would be seen: cells that keep a tensor each raise the count", async () => {
    const count = async () => Number((await kernel.client.execute("tf.memory().numTensors")).outputs[0].content.data["text/plain"]);
    const start = await count();
    for (let i = 0; i < 5; i++) await kernel.client.execute(`const kept${i} = tf.ones([2]);`);
    assert.equal(await count(), start + 5);
  });
});
