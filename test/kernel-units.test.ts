// Unit tests of the kernel's pieces that need no kernel process.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { decodeMessage, encodeMessage, InvalidMessageError, MessageSigner, newHeader } from "../kernel/wire";
import { History } from "../kernel/history";
import { checkCompleteness } from "../kernel/is-complete";
import { parameterDeclarations } from "../kernel/run-notebook";
import { OutputCollector, Output } from "../kernel/notebook-format";
import { addAwaitCheckpoints, CHECKPOINT_NAME } from "../kernel/await-checkpoints";
import { resolveAsImport } from "../kernel/module-loader";
import { installKernelspec } from "../kernel/kernelspec";
import { toMimeBundle } from "../kernel/mime-bundle";
import { compilerSearchPaths } from "../kernel/cell-compiler";
import type { JupyterMessage } from "../kernel/wire";
import { tempDir } from "./kernel/harness";

function message(content: Record<string, unknown>): JupyterMessage {
  return { identities: [Buffer.from("peer")], header: newHeader("execute_request", "s"), parent_header: {}, metadata: {}, content, buffers: [] };
}

describe("wire format", () => {
  const signer = new MessageSigner("secret-key");

  test("a signed message round-trips, identities and all", () => {
    const original = message({ code: "1 + 1" });
    const decoded = decodeMessage(encodeMessage(original, signer), signer);
    assert.deepEqual(decoded.content, { code: "1 + 1" });
    assert.deepEqual(decoded.identities, [Buffer.from("peer")]);
    assert.equal(decoded.header.msg_id, original.header.msg_id);
  });

  test("a wrong key, a tampered frame or a missing delimiter is rejected", () => {
    const frames = encodeMessage(message({ code: "1" }), new MessageSigner("other-key"));
    assert.throws(() => decodeMessage(frames, signer), InvalidMessageError);
    const tampered = encodeMessage(message({ code: "1" }), signer);
    tampered[tampered.length - 1] = Buffer.from(JSON.stringify({ code: "2" }));
    assert.throws(() => decodeMessage(tampered, signer), /invalid HMAC signature/);
    assert.throws(() => decodeMessage([Buffer.from("x")], signer), /malformed/);
  });

  test("the signature is HMAC-SHA256 over header, parent, metadata, content", () => {
    const frames = encodeMessage(message({}), signer);
    const delimiter = frames.findIndex((f) => f.toString() === "<IDS|MSG>");
    const expected = require("node:crypto").createHmac("sha256", "secret-key").update(Buffer.concat(frames.slice(delimiter + 2, delimiter + 6))).digest("hex");
    assert.equal(frames[delimiter + 1].toString(), expected);
  });
});

describe("history", () => {
  const history = new History();
  ["1 + 1", "const a = 2", "1 + 1", "a * 3"].forEach((input, i) => history.record(i + 1, input));
  history.recordOutput(4, "6");

  test("tail, range and search (glob, unique, n)", () => {
    assert.deepEqual(history.query({ hist_access_type: "tail", n: 2 }).map((h) => h[2]), ["1 + 1", "a * 3"]);
    assert.deepEqual(history.query({ hist_access_type: "tail", n: 1, output: true })[0], [1, 4, ["a * 3", "6"]]);
    assert.deepEqual(history.query({ hist_access_type: "range", session: 0, start: 2, stop: 4 }).map((h) => h[1]), [2, 3]);
    assert.equal(history.query({ hist_access_type: "search", pattern: "1 + *" }).length, 2);
    assert.deepEqual(history.query({ hist_access_type: "search", pattern: "1 + *", unique: true }).map((h) => h[1]), [3]);
    assert.deepEqual(history.query({ hist_access_type: "search", pattern: "*", n: 1 }).map((h) => h[1]), [4]);
  });
});

describe("is_complete", () => {
  test("complete, incomplete (with indent) and invalid", () => {
    for (const code of ["1 + 1", "const x = 1;", "class A { m() { return 1; } }", ""]) assert.equal(checkCompleteness(code).status, "complete", code);
    for (const code of ["function f() {", "const xs = [1,", "/* note", "const s = `abc", "if (x) {\n  y();"]) assert.equal(checkCompleteness(code).status, "incomplete", code);
    for (const code of ["const = 1;", "1 +* 2;", "}", "let 9x = 1;"]) assert.equal(checkCompleteness(code).status, "invalid", code);
    assert.equal(checkCompleteness("function f() {").indent, "  ");
  });
});

describe("gplab run pieces", () => {
  test("parameters become const declarations; non-JSON values become strings", () => {
    assert.equal(parameterDeclarations({ n: "100", lr: "0.1", name: "run-7", flags: "[1,2]", ok: "true" }),
      'const n = 100;\nconst lr = 0.1;\nconst name = "run-7";\nconst flags = [1,2];\nconst ok = true;\n');
    assert.throws(() => parameterDeclarations({ "not valid": "1" }), /not an identifier/);
  });

  test("outputs: streams merge, clear_output(wait) clears before the next output, updates replace by display id", () => {
    const displays = new Map<string, Output[]>();
    const collector = new OutputCollector(displays);
    const msg = (type: string, content: Record<string, unknown>) => ({ ...message(content), header: newHeader(type, "s") });
    collector.add(msg("stream", { name: "stdout", text: "a" }));
    collector.add(msg("stream", { name: "stdout", text: "b" }));
    collector.add(msg("display_data", { data: { "text/plain": "1" }, metadata: {}, transient: { display_id: "d" } }));
    assert.deepEqual(collector.outputs.map((o) => o.output_type), ["stream", "display_data"]);
    assert.equal(collector.outputs[0].text, "ab");
    collector.add(msg("update_display_data", { data: { "text/plain": "2" }, metadata: {}, transient: { display_id: "d" } }));
    assert.deepEqual(collector.outputs[1].data, { "text/plain": "2" });
    collector.add(msg("clear_output", { wait: true }));
    assert.equal(collector.outputs.length, 2);
    collector.add(msg("stream", { name: "stdout", text: "c" }));
    assert.deepEqual(collector.outputs, [{ output_type: "stream", name: "stdout", text: "c" }]);
  });
});

describe("cell machinery", () => {
  test("every await is wrapped in the interrupt checkpoint, nested ones too; strings are untouched", () => {
    const rewritten = addAwaitCheckpoints('const a = await f(await g()); const s = "await x";');
    assert.equal(rewritten, `const a = ${CHECKPOINT_NAME}(await f(${CHECKPOINT_NAME}(await g()))); const s = "await x";`);
    assert.equal(addAwaitCheckpoints("const b = 1;"), "const b = 1;");
  });

  test("an ESM-only package resolves through its exports' import condition (and subpath patterns)", () => {
    const dir = tempDir("resolve");
    const pkg = path.join(dir, "node_modules", "@scope", "esm");
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ exports: { ".": { import: "./main.js" }, "./features/*": { import: "./lib/*.js" } } }));
    const nested = path.join(dir, "a", "b");
    fs.mkdirSync(nested, { recursive: true });
    assert.equal(resolveAsImport("@scope/esm", nested), path.join(pkg, "main.js"));
    assert.equal(resolveAsImport("@scope/esm/features/x", nested), path.join(pkg, "lib", "x.js"));
    assert.equal(resolveAsImport("missing", nested), null);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("types and modules: notebook directory first, then gplab's own dependencies, nested or hoisted beside it", () => {
    const dir = tempDir("layout");
    const project = path.join(dir, "project");
    const gplabInstall = path.join(project, "node_modules", "gplab");
    fs.mkdirSync(path.join(project, "node_modules", "@types", "node"), { recursive: true });
    fs.mkdirSync(path.join(gplabInstall, "node_modules", "@types"), { recursive: true });
    const notebookDir = path.join(dir, "elsewhere", "notebooks");
    fs.mkdirSync(path.join(notebookDir, "node_modules"), { recursive: true });
    const { typeRoots, modulePatterns } = compilerSearchPaths(notebookDir, gplabInstall);
    assert.deepEqual(modulePatterns.filter((p) => p.startsWith(dir)), [
      path.join(notebookDir, "node_modules", "*"),
      path.join(gplabInstall, "node_modules", "*"),
      path.join(project, "node_modules", "*"),
    ]);
    assert.deepEqual(typeRoots.filter((p) => p.startsWith(dir)), [
      path.join(gplabInstall, "node_modules", "@types"),
      path.join(project, "node_modules", "@types"),
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("MIME bundles: async display methods, JSON types as objects, text/plain fallback", async () => {
    const asyncValue = { [Symbol.for("Jupyter.display")]: async () => ({ "application/vnd.vegalite.v5+json": '{"mark":"bar"}', "text/html": "<i>x</i>" }) };
    const bundle = await toMimeBundle(asyncValue);
    assert.deepEqual(bundle["application/vnd.vegalite.v5+json"], { mark: "bar" });
    assert.equal(typeof bundle["text/plain"], "string");
    assert.deepEqual(await toMimeBundle([1, "a"]), { "text/plain": "[ 1, 'a' ]" });
  });
});

describe("kernelspec", () => {
  test("install writes kernel.json (display name, language, interrupt mode) and PNG logos, without Python", () => {
    const dir = tempDir("spec");
    const written = installKernelspec({ prefix: dir });
    assert.equal(written, path.join(dir, "share", "jupyter", "kernels", "gplab"));
    const spec = JSON.parse(fs.readFileSync(path.join(written, "kernel.json"), "utf8"));
    assert.equal(spec.display_name, "TypeScript (gplab)");
    assert.equal(spec.language, "typescript");
    assert.equal(spec.interrupt_mode, "message");
    assert.deepEqual(spec.argv.slice(-3), ["kernel", "--connection-file", "{connection_file}"]);
    assert.ok(fs.existsSync(spec.argv[1]), "argv points at gplab's CLI");
    for (const [file, size] of [["logo-32x32.png", 32], ["logo-64x64.png", 64]] as const) {
      const png = fs.readFileSync(path.join(written, file));
      assert.equal(png.subarray(1, 4).toString(), "PNG");
      assert.equal(png.readUInt32BE(16), size);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
