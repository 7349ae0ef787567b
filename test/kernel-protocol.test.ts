// The wire protocol, end to end over ZeroMQ against a real kernel process.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { encodeMessage, MessageSigner } from "../kernel/wire";
import { resultText, run, startKernel, streamText, types, LaunchedKernel } from "./kernel/harness";

describe("kernel protocol", () => {
  let kernel: LaunchedKernel;
  before(async () => {
    kernel = await startKernel();
  });
  after(async () => {
    await kernel.shutdown();
  });

  test("kernel_info_reply has status, language_info and a banner naming the backend", async () => {
    const { reply, iopub } = await kernel.client.request("shell", "kernel_info_request", {});
    assert.equal(reply.header.msg_type, "kernel_info_reply");
    assert.equal(reply.content.status, "ok");
    assert.equal(reply.content.language_info.name, "typescript");
    assert.equal(reply.content.language_info.file_extension, ".ts");
    assert.match(reply.content.banner, /tfjs backend \w+/);
    assert.deepEqual(iopub.map((m) => m.content.execution_state), ["busy", "idle"]);
  });

  test("execute: busy, execute_input, stream, execute_result, idle, in that order", async () => {
    const outcome = await run(kernel, 'console.log("hello"); 6 * 7');
    assert.deepEqual(types(outcome.iopub), ["status", "execute_input", "stream", "execute_result", "status"]);
    assert.equal(outcome.iopub[0].content.execution_state, "busy");
    assert.equal(outcome.iopub[4].content.execution_state, "idle");
    assert.equal(streamText(outcome), "hello\n");
    assert.equal(resultText(outcome), "42");
    assert.equal(outcome.reply.content.status, "ok");
    const result = outcome.outputs.find((m) => m.header.msg_type === "execute_result")!;
    assert.equal(result.content.execution_count, outcome.reply.content.execution_count);
  });

  test("errors carry ename, evalue and traceback, on iopub and in the reply", async () => {
    const outcome = await run(kernel, 'function fail(): never { throw new RangeError("out of range"); }\nfail()');
    assert.deepEqual(types(outcome.outputs), ["error"]);
    for (const content of [outcome.outputs[0].content, outcome.reply.content]) {
      assert.equal(content.ename, "RangeError");
      assert.equal(content.evalue, "out of range");
      assert.ok(Array.isArray(content.traceback) && content.traceback.length >= 2, "traceback has frames");
      assert.match(content.traceback[0], /RangeError: out of range/);
    }
    assert.equal(outcome.reply.content.status, "error");
    const typeError = await run(kernel, 'const s: string = 1;');
    assert.equal(typeError.reply.content.ename, "TSError");
    assert.match(typeError.reply.content.evalue, /not assignable to type 'string'/);
  });

  test("a message with a forged signature is ignored, never executed", async () => {
    await run(kernel, "(globalThis as any).forgedRan = false;");
    const forger = new MessageSigner("not-the-key");
    const forged = kernel.client.message("execute_request", {
      code: "(globalThis as any).forgedRan = true;", silent: false, store_history: true, user_expressions: {}, allow_stdin: false,
    });
    await kernel.client.sendFrames("shell", encodeMessage(forged, forger));
    // Also a message with the right key but a tampered content frame.
    const tampered = encodeMessage(kernel.client.message("execute_request", { code: "1", silent: false }), kernel.client.signer);
    tampered[tampered.length - 1] = Buffer.from(JSON.stringify({ code: "(globalThis as any).forgedRan = true;", silent: false }));
    await kernel.client.sendFrames("shell", tampered);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const check = await run(kernel, "(globalThis as any).forgedRan");
    assert.equal(resultText(check), "false");
    const answeredForged = kernel.client.allIopub.some((m) => m.parent_header.msg_id === forged.header.msg_id);
    assert.equal(answeredForged, false, "no status or output for the forged message");
  });

  test("100 failing cells in a row: every one answered with its error, state intact", async () => {
    await run(kernel, "let survivor = { count: 41 };");
    const before = await run(kernel, "survivor.count");
    const startCount = before.reply.content.execution_count as number;
    for (let i = 0; i < 100; i++) {
      const code = i % 2 === 0 ? `throw new Error("failure ${i}")` : `survivor.count = "not a number";`;
      const outcome = await run(kernel, code);
      assert.equal(outcome.reply.content.status, "error", `cell ${i} answered with an error`);
      assert.equal(outcome.reply.content.execution_count, startCount + 1 + i);
      assert.equal(types(outcome.outputs).join(), "error");
    }
    assert.equal(resultText(await run(kernel, "survivor.count + 1")), "42");
  });

  test("cells sent back to back: behind a failure they are aborted (stop_on_error), or all run without it; none dropped", async () => {
    const burst = (stopOnError: boolean) => Promise.all(
      ["let burst = 1;", 'throw new Error("stop here")', "burst = 2;", "burst = 3;"].map((code) => run(kernel, code, { stopOnError })));
    const stopped = await burst(true);
    assert.deepEqual(stopped.map((o) => o.reply.content.status), ["ok", "error", "aborted", "aborted"]);
    assert.deepEqual(stopped[2].outputs, [], "an aborted cell publishes nothing");
    assert.equal(resultText(await run(kernel, "burst")), "1");
    const unstopped = await burst(false);
    assert.deepEqual(unstopped.map((o) => o.reply.content.status), ["ok", "error", "ok", "ok"]);
    assert.equal(resultText(await run(kernel, "burst")), "3");
  });

  test("silent execution publishes nothing but busy/idle and does not count", async () => {
    const first = await run(kernel, "1");
    const silent = await run(kernel, 'console.log("quiet"); 2', { silent: true });
    assert.deepEqual(types(silent.iopub), ["status", "status"]);
    const next = await run(kernel, "3");
    assert.equal(next.reply.content.execution_count, (first.reply.content.execution_count as number) + 1);
    const notStored = await run(kernel, "4", { storeHistory: false });
    assert.equal(notStored.reply.content.execution_count, next.reply.content.execution_count);
  });

  test("user_expressions are evaluated after the cell, each to a bundle or an error", async () => {
    const outcome = await run(kernel, "const width = 4;", { userExpressions: { area: "width * width", broken: "width.nope()" } });
    const expressions = outcome.reply.content.user_expressions;
    assert.deepEqual(expressions.area, { status: "ok", data: { "text/plain": "16" }, metadata: {} });
    assert.equal(expressions.broken.status, "error");
    assert.equal(expressions.broken.ename, "TSError");
    assert.deepEqual(types(outcome.outputs), [], "no output for user expressions");
  });

  test("display(x) sends display_data; display(x, { id }) again and handle.update send update_display_data", async () => {
    const outcome = await run(kernel, `
      const chart = (n: number) => ({ [Symbol.for("Jupyter.display")]: async () => ({
        "text/plain": "chart " + n,
        "application/vnd.vegalite.v5+json": JSON.stringify({ mark: "line", data: { values: [{ n }] } }),
      }) });
      const handle = display(chart(1), { id: "loss" });
      await handle.update(chart(2));
      display(chart(3), { id: "loss" });
      display("plain text");
    `);
    assert.deepEqual(types(outcome.outputs), ["display_data", "update_display_data", "update_display_data", "display_data"]);
    const [first, second] = outcome.outputs;
    assert.equal(first.content.transient.display_id, "loss");
    assert.equal(second.content.transient.display_id, "loss");
    const vegalite = second.content.data["application/vnd.vegalite.v5+json"];
    assert.equal(typeof vegalite, "object", "vega-lite travels as a JSON object");
    assert.deepEqual(vegalite.data.values, [{ n: 2 }]);
    assert.equal(outcome.outputs[3].content.data["text/plain"], "'plain text'");
  });

  test("a last value with a (sync) display method is the execute_result bundle; a trailing display() is not doubled", async () => {
    const outcome = await run(kernel, `({ [Symbol.for("Jupyter.display")]() { return { "text/plain": "K", "text/html": "<b>K</b>" }; } })`);
    assert.deepEqual(types(outcome.outputs), ["execute_result"]);
    assert.equal(outcome.outputs[0].content.data["text/html"], "<b>K</b>");
    const displayed = await run(kernel, "display(5)");
    assert.deepEqual(types(displayed.outputs), ["display_data"]);
  });

  test("clearOutput() sends clear_output", async () => {
    const outcome = await run(kernel, 'console.log("a"); clearOutput(true); console.log("b")');
    assert.deepEqual(types(outcome.outputs), ["stream", "clear_output", "stream"]);
    assert.equal(outcome.outputs[1].content.wait, true);
  });

  test("prompt() asks the frontend over stdin", async () => {
    const outcome = await run(kernel, 'const answer = prompt("your name?"); "hello " + answer', {
      onInput: (promptText) => (promptText === "your name?" ? "Ada" : "wrong prompt"),
    });
    assert.equal(resultText(outcome), "'hello Ada'");
    const refused = await run(kernel, 'prompt("nobody answers")', { allowStdin: false });
    assert.equal(refused.reply.content.status, "error");
  });

  test("complete, inspect, is_complete, comm_info, history", async () => {
    await run(kernel, "const gaussianWidth = 3;");
    const completion = await kernel.client.request("shell", "complete_request", { code: "gaussianWi", cursor_pos: 10 });
    assert.deepEqual(completion.reply.content.matches, ["gaussianWidth"]);
    assert.equal(completion.reply.content.cursor_start, 0);
    const members = await kernel.client.request("shell", "complete_request", { code: "gp.backend.", cursor_pos: 11 });
    assert.ok(members.reply.content.matches.includes("info"), "completes gplab's API");

    const inspected = await kernel.client.request("shell", "inspect_request", { code: "gaussianWidth", cursor_pos: 13, detail_level: 0 });
    assert.equal(inspected.reply.content.found, true);
    assert.match(inspected.reply.content.data["text/plain"], /gaussianWidth: 3/);

    const statuses: Record<string, string> = {};
    for (const code of ["const a = 1", "function f() {", "const = 2;"]) {
      const { reply } = await kernel.client.request("shell", "is_complete_request", { code });
      statuses[code] = reply.content.status;
    }
    assert.deepEqual(statuses, { "const a = 1": "complete", "function f() {": "incomplete", "const = 2;": "invalid" });

    const comms = await kernel.client.request("shell", "comm_info_request", {});
    assert.equal(comms.reply.header.msg_type, "comm_info_reply");
    assert.deepEqual(comms.reply.content, { status: "ok", comms: {} });

    const history = await kernel.client.request("shell", "history_request", { hist_access_type: "tail", n: 1, output: false, raw: true });
    assert.deepEqual(history.reply.content.history.map((entry: unknown[]) => entry[2]), ["const gaussianWidth = 3;"]);
  });

  test("comm_open to an unknown target is closed", async () => {
    const iopub = await kernel.client.notify("shell", "comm_open", { comm_id: "c1", target_name: "nobody", data: {} });
    assert.deepEqual(types(iopub), ["status", "comm_close", "status"]);
    assert.equal(iopub[1].content.comm_id, "c1");
  });
});
