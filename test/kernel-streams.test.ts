// Stream output is batched (ipykernel's 0.2 s flush) yet complete and in
// order with the cell's other output: displays, errors, stdout vs stderr.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { run, startKernel, streamText, types, LaunchedKernel } from "./kernel/harness";
import { StreamCoalescer } from "../kernel/stream-coalescer";
import type { RunnerEvent } from "../kernel/executor-messages";

describe("stream coalescing (unit)", () => {
  const stream = (requestId: number, name: "stdout" | "stderr", text: string): RunnerEvent => ({ kind: "stream", requestId, name, text });

  test("text of one stream of one cell is merged; a change of stream, cell or a display starts a new message", () => {
    const sent: RunnerEvent[] = [];
    const coalescer = new StreamCoalescer((event) => sent.push(event), 60_000);
    coalescer.push(stream(1, "stdout", "a"));
    coalescer.push(stream(1, "stdout", "b"));
    coalescer.push(stream(1, "stderr", "c"));
    coalescer.push(stream(1, "stdout", "d"));
    coalescer.push(stream(2, "stdout", "e"));
    assert.equal(sent.length, 0, "held until a flush");
    coalescer.push({ kind: "clear_output", requestId: 2, wait: false });
    coalescer.push(stream(2, "stdout", "f"));
    coalescer.flush();
    assert.deepEqual(sent.map((e) => (e.kind === "stream" ? `${e.requestId}:${e.name}:${e.text}` : e.kind)), [
      "1:stdout:ab", "1:stderr:c", "1:stdout:d", "2:stdout:e", "clear_output", "2:stdout:f",
    ]);
  });

  test("held text goes out after the interval, or at once past the size limit", async () => {
    const sent: RunnerEvent[] = [];
    const coalescer = new StreamCoalescer((event) => sent.push(event), 30, 10);
    coalescer.push(stream(1, "stdout", "12345"));
    assert.equal(sent.length, 0);
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(sent.length, 1, "flushed by the timer");
    coalescer.push(stream(1, "stdout", "123456789"));
    coalescer.push(stream(1, "stdout", "0"));
    assert.equal(sent.length, 2, "flushed when 10 characters were held");
    coalescer.flush();
    assert.equal(sent.length, 2, "nothing held, nothing sent");
  });
});

describe("stream coalescing (kernel)", () => {
  let kernel: LaunchedKernel;
  before(async () => {
    kernel = await startKernel();
  });
  after(async () => {
    await kernel.shutdown();
  });

  test("100,000 console.log lines arrive complete, in order, in at most 2,000 messages", async () => {
    const start = Date.now();
    const outcome = await run(kernel, "for (let i = 0; i < 100000; i++) console.log(i)", { timeoutMs: 60_000 });
    const seconds = (Date.now() - start) / 1000;
    assert.equal(outcome.reply.content.status, "ok");
    const streams = outcome.outputs.filter((m) => m.header.msg_type === "stream");
    assert.equal(streams.length, outcome.outputs.length, "nothing but stream output");
    assert.ok(streams.length >= 1 && streams.length <= 2000, `${streams.length} messages`);
    const expected = Array.from({ length: 100000 }, (_, i) => `${i}\n`).join("");
    assert.ok(streamText(outcome) === expected, "every line, in order");
    // Unbatched this took over 80 s; the benchmark (bench kernel-stream) measures it properly.
    assert.ok(seconds < 30, `${seconds} s`);
  });

  test("a cell that prints slowly gets its text every ~0.2 s, not only at the end", async () => {
    const outcome = await run(kernel, 'for (let i = 0; i < 4; i++) { console.log(i); await new Promise((r) => setTimeout(r, 350)); }');
    assert.equal(streamText(outcome), "0\n1\n2\n3\n");
    const streams = outcome.outputs.filter((m) => m.header.msg_type === "stream");
    assert.equal(streams.length, 4, "350 ms apart: one message each");
  });

  test("stdout, stderr, displays and the error keep the order the cell produced them in", async () => {
    const code = [
      'console.log("one"); console.log("two");',
      'console.error("warn");',
      'display({ [Symbol.for("Jupyter.display")]: async () => { await new Promise((r) => setTimeout(r, 50)); return { "text/plain": "slow bundle" }; } });',
      'process.stdout.write("three\\n");',
      'display("fast");',
      'console.log("four");',
      'throw new Error("stop");',
    ].join("\n");
    const outcome = await run(kernel, code);
    const sequence = outcome.outputs.map((m) => {
      const type = m.header.msg_type;
      if (type === "stream") return `${m.content.name}:${m.content.text}`;
      if (type === "display_data") return `display:${m.content.data["text/plain"]}`;
      return `${type}:${m.content.ename ?? ""}`;
    });
    assert.deepEqual(sequence, ["stdout:one\ntwo\n", "stderr:warn\n", "display:slow bundle", "stdout:three\n", "display:'fast'", "stdout:four\n", "error:Error"]);
    assert.deepEqual(types(outcome.iopub).slice(-1), ["status"]);
  });

  test("text printed right before prompt() or process.exit() still arrives first", async () => {
    const prompted = await run(kernel, 'console.log("before the question");\nprompt("name?")', { allowStdin: true, onInput: () => "gp" });
    const order = prompted.outputs.map((m) => m.header.msg_type);
    assert.equal(streamText(prompted), "before the question\n");
    assert.deepEqual(order, ["stream", "execute_result"]);
    const exited = await run(kernel, 'console.log("last words"); process.exit(2)');
    assert.equal(exited.reply.content.ename, "KernelRestarted");
    assert.equal(streamText(exited), "last words\n");
  });
});
