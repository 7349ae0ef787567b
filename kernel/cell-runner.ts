// The child process that runs notebook cells. Keeping user code out of the
// protocol process lets the kernel answer heartbeats, interrupts and
// shutdowns while a cell spins, and survive a cell that kills its process.
import * as vm from "node:vm";
import * as fs from "node:fs";
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { CellCompiler } from "./cell-compiler";
import { CellModuleLoader, requiredSpecifiers } from "./module-loader";
import { toMimeBundle } from "./mime-bundle";
import { describeError, interruptedError } from "./cell-errors";
import { addAwaitCheckpoints, CHECKPOINT_NAME } from "./await-checkpoints";
import { watchInterruptPipe } from "./interrupt-watch";
import { OrderedOutput } from "./ordered-output";
import { StreamCoalescer } from "./stream-coalescer";
import { catchLateErrors, describeLateError, LateErrorKind } from "./late-errors";
import { gplabVersion } from "./paths";
import type { ErrorContent, MimeBundle, RunnerEvent, RunnerRequest, UserExpressionResult } from "./executor-messages";

/** How long a cell awaiting something gets to settle by itself after SIGINT (e.g. a reduction noticing the flag). */
const INTERRUPT_GRACE_MS = 300;

function send(event: RunnerEvent): void {
  process.send?.(event);
}

/** Stream text is batched; every other event sent through it goes after the text held before it. */
const streams = new StreamCoalescer(send);
/** Cell output (streams, displays) in the order the cell produced it. */
const output = new OrderedOutput((event) => streams.push(event));
/** Sends an event after all output emitted before it (use for everything but cell_started). */
const sendAfterOutput = (event: RunnerEvent): void => streams.push(event);
/** Late errors held for the next cell when none runs, at most this many (a throwing setInterval must not fill memory). */
const MAX_HELD_LATE_ERRORS = 20;

/** Which request a piece of output belongs to, also in timers and promises a cell started. */
const requestContext = new AsyncLocalStorage<number>();
let lastRequestId = 0;
const currentRequestId = (): number => requestContext.getStore() ?? lastRequestId;

/** The kernel's log (our real stderr, which the protocol process copies to its own). */
const originalStderrWrite = process.stderr.write.bind(process.stderr);
function logToKernel(line: string): void {
  originalStderrWrite(`[gplab cell runner] ${line}\n`);
}

function routeStdio(): void {
  for (const name of ["stdout", "stderr"] as const) {
    const stream = process[name];
    stream.write = ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown): boolean => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      void output.emit({ kind: "stream", requestId: currentRequestId(), name, text });
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") process.nextTick(done as () => void);
      return true;
    }) as typeof stream.write;
  }
}

/** Blocks until the protocol process writes the user's answer (one JSON line) to our stdin. */
function readReplyLineSync(): { value?: string; interrupted?: boolean } {
  const buffer = Buffer.alloc(65536);
  let text = "";
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (!text.includes("\n")) {
    let count: number;
    try {
      count = fs.readSync(0, buffer, 0, buffer.length, null);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error;
      Atomics.wait(pause, 0, 0, 10);
      continue;
    }
    if (count === 0) throw new Error("stdin closed while waiting for input");
    text += buffer.subarray(0, count).toString("utf8");
  }
  return JSON.parse(text.slice(0, text.indexOf("\n")));
}

interface Preloaded {
  gp: any;
  tf: any;
  backendLine: string;
}

async function preload(loader: CellModuleLoader): Promise<Preloaded> {
  const tf = loader.require("@tensorflow/tfjs-core") as any;
  let gp: any = {};
  let backendLine: string;
  try {
    gp = loader.require("gplab");
    // The library finishes picking its backend (tfjs-node-gpu, tfjs-node, wasm, cpu; GPLAB_BACKEND forces one).
    await (gp.backend?.ready?.() ?? tf.ready?.());
    const info = gp.backend?.info?.() ?? { backend: tf.getBackend?.() };
    const gpu = info.gpu === undefined ? "" : info.gpu ? ", GPU" : ", no GPU";
    const executor = info.executor ? `, executor ${info.executor}` : "";
    backendLine = `gplab ${gplabVersion}: tfjs backend ${info.backend}${gpu}${executor}`;
  } catch (error) {
    backendLine = `gplab ${gplabVersion}: the gplab library failed to load (${(error as Error).message}); only tf is preloaded`;
  }
  return { gp, tf, backendLine };
}

/** What display() returns; a cell ending in display(x) shows x once, not the handle too. */
class DisplayHandle {
  constructor(
    readonly id: string,
    readonly update: (value: unknown) => Promise<void>,
  ) {}
}

class CellRunner {
  private compilerInstance: CellCompiler | null = null;
  private readonly scope: Record<string, unknown>;
  private cellNumber = 0;
  private displayIdsShownBy = new Map<number, Set<string>>();
  private rejectOnInterrupt: ((error: Error) => void) | null = null;
  /** The execute request being answered, if any (late errors go to it). */
  private runningExecute: number | null = null;
  /** Reports of late errors raised while no cell ran, for the next cell; and how many more were dropped. */
  private heldLateErrors: string[] = [];
  private droppedLateErrors = 0;
  /** Set on interrupt, cleared when the next cell starts; read by every await in cell code. */
  private readonly interrupted = new Int32Array(new SharedArrayBuffer(4));
  /** How many interrupts the watcher thread has read from the pipe. */
  private readonly interruptsReceived = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly preloaded: Preloaded,
    private readonly loader: CellModuleLoader,
  ) {
    const target: Record<string, unknown> = {
      gp: preloaded.gp,
      tf: preloaded.tf,
      display: this.display,
      clearOutput: this.clearOutput,
      prompt: this.prompt,
    };
    // TypeScript's CommonJS output defines exports with getters; cells must be
    // able to overwrite them later, so store plain values.
    this.scope = new Proxy(target, {
      defineProperty: (_target, key, attributes) => {
        if (key === "__esModule") return true;
        target[key as string] = attributes.get ? attributes.get() : attributes.value;
        return true;
      },
    });
    (globalThis as any)[Symbol.for("gplab.cell")] = { exports: this.scope, require: this.loader.require };
    (globalThis as any)[CHECKPOINT_NAME] = <T>(value: T): T => {
      if (Atomics.load(this.interrupted, 0) !== 0) throw interruptedError();
      send({ kind: "cell_started", requestId: currentRequestId() });
      return value;
    };
    const reductionFlag = preloaded.gp?.reductions?.interruptFlag;
    watchInterruptPipe(reductionFlag instanceof Int32Array ? [this.interrupted, reductionFlag] : [this.interrupted], this.interruptsReceived);
  }

  /**
   * Created after the kernel reported ready (it takes most of the startup:
   * loading the type declarations), by warmUp() which runs before any request.
   */
  private get compiler(): CellCompiler {
    this.compilerInstance ??= new CellCompiler(process.cwd());
    return this.compilerInstance;
  }

  warmUp(): void {
    this.compiler.compile("gp; tf;");
  }

  readonly display = (value: unknown, options: { id?: string; metadata?: Record<string, unknown> } = {}) => {
    const requestId = currentRequestId();
    const id = options.id ?? randomUUID();
    const shown = this.displayIdsShownBy.get(requestId) ?? new Set<string>();
    this.displayIdsShownBy.set(requestId, shown);
    const metadata = options.metadata ?? {};
    const publish = (shownValue: unknown, update: boolean): Promise<void> => {
      const event = toMimeBundle(shownValue).then(
        (data): RunnerEvent => ({ kind: "display", requestId, update, data, metadata, displayId: id }),
        (error): RunnerEvent => ({ kind: "stream", requestId, name: "stderr", text: `display failed: ${(error as Error).stack ?? error}\n` }),
      );
      return output.emit(event);
    };
    // The same id shown twice by one cell updates the first output in place.
    void publish(value, shown.has(id));
    shown.add(id);
    return new DisplayHandle(id, (newValue) => publish(newValue, true));
  };

  readonly clearOutput = (wait = false): void => {
    void output.emit({ kind: "clear_output", requestId: currentRequestId(), wait });
  };

  readonly prompt = (message = "", defaultValue?: string): string | null => {
    // After the output before it: the cell is blocked until it is answered.
    sendAfterOutput({ kind: "input_request", requestId: currentRequestId(), prompt: message, password: false });
    const reply = readReplyLineSync();
    if (reply.interrupted) throw interruptedError();
    return reply.value ?? defaultValue ?? null;
  };

  /** An error no cell's evaluation caught: stderr of the running cell, or of the next one. */
  reportLateError(kind: LateErrorKind, error: unknown): void {
    const running = this.runningExecute;
    const text = describeLateError(kind, error, running !== null);
    logToKernel(text.trimEnd());
    if (running !== null) void output.emit({ kind: "stream", requestId: running, name: "stderr", text });
    else if (this.heldLateErrors.length < MAX_HELD_LATE_ERRORS) this.heldLateErrors.push(text);
    else this.droppedLateErrors++;
  }

  /** Late errors raised while no cell ran go out first in the next cell that shows output. */
  private deliverHeldLateErrors(requestId: number): void {
    if (this.heldLateErrors.length === 0) return;
    const dropped = this.droppedLateErrors ? `[gplab: ${this.droppedLateErrors} more such errors not shown]\n` : "";
    void output.emit({ kind: "stream", requestId, name: "stderr", text: this.heldLateErrors.join("") + dropped });
    this.heldLateErrors = [];
    this.droppedLateErrors = 0;
  }

  onInterruptSignal(): void {
    Atomics.store(this.interrupted, 0, 1);
    this.preloaded.gp?.reductions?.requestInterrupt?.();
    const reject = this.rejectOnInterrupt;
    if (reject) setTimeout(() => reject(interruptedError()), INTERRUPT_GRACE_MS);
  }

  /** Answers every request, also when answering fails (a request left unanswered would hang the kernel). */
  async handle(request: RunnerRequest): Promise<void> {
    try {
      await this.answer(request);
    } catch (error) {
      console.error(`gplab cell runner: ${request.kind} failed: ${(error as Error).stack ?? error}`);
      if (request.kind === "execute") sendAfterOutput({ kind: "execute_done", requestId: request.requestId, error: describeError(error) });
      else if (request.kind === "complete") send({ kind: "complete_done", requestId: request.requestId, matches: [], cursorStart: request.cursorPos, cursorEnd: request.cursorPos });
      else send({ kind: "inspect_done", requestId: request.requestId, found: false, data: {} });
    }
  }

  private async answer(request: RunnerRequest): Promise<void> {
    if (request.kind === "complete") {
      const completion = this.compiler.complete(request.code, request.cursorPos);
      send({ kind: "complete_done", requestId: request.requestId, ...completion });
    } else if (request.kind === "inspect") {
      const text = this.compiler.inspect(request.code, request.cursorPos);
      send({ kind: "inspect_done", requestId: request.requestId, found: text !== null, data: text ? { "text/plain": text } : {} });
    } else {
      lastRequestId = request.requestId;
      if (!request.silent) this.deliverHeldLateErrors(request.requestId);
      this.runningExecute = request.requestId;
      try {
        const outcome = await requestContext.run(request.requestId, () => this.execute(request.code, request.silent, request.interruptsBefore));
        this.displayIdsShownBy.delete(request.requestId);
        const expressions = Object.entries(request.userExpressions ?? {});
        const userExpressions = outcome.error || expressions.length === 0 ? undefined : await this.evaluateUserExpressions(expressions);
        sendAfterOutput({ kind: "execute_done", requestId: request.requestId, ...outcome, userExpressions });
      } finally {
        this.runningExecute = null;
      }
    }
  }

  private async execute(code: string, silent: boolean, interruptsBefore: number): Promise<{ result?: { data: MimeBundle; metadata: Record<string, unknown> }; error?: ErrorContent }> {
    this.clearStaleInterrupts(interruptsBefore);
    const compiled = this.compiler.compile(code);
    if (!compiled.ok) {
      const [first] = compiled.diagnostics;
      return { error: { ename: "TSError", evalue: first, traceback: compiled.diagnostics } };
    }
    const cell = compiled.cell;
    const filename = `cell-${++this.cellNumber}.js`;
    try {
      this.loader.addLocalModules(cell.localModules);
      await this.loader.prepare(requiredSpecifiers(cell.javascript));
      // An interrupt that arrived while the cell was compiling stops it before it starts.
      if (Atomics.load(this.interrupted, 0) !== 0) throw interruptedError();
      send({ kind: "cell_started", requestId: currentRequestId() });
      const wrapper = cell.hasTopLevelAwait ? "(async function (exports, require) {" : "(function (exports, require) {";
      const holder = "globalThis[Symbol.for('gplab.cell')]";
      const source = `${wrapper}${addAwaitCheckpoints(cell.javascript)}\n})(${holder}.exports, ${holder}.require)`;
      // breakOnSigint makes a synchronous loop in the cell throw on SIGINT.
      const returned = vm.runInThisContext(source, { filename, breakOnSigint: true });
      if (cell.hasTopLevelAwait) await this.untilSettledOrInterrupted(returned as Promise<unknown>);
      // One turn of the event loop, so a promise the cell rejected without a handler is reported in this cell.
      await new Promise((resolve) => setImmediate(resolve));
      await this.flushPendingOutputs();
      cell.commit();
      if (!cell.lastExpressionKey) return {};
      const value = this.scope[cell.lastExpressionKey];
      delete this.scope[cell.lastExpressionKey];
      if (value === undefined || value instanceof DisplayHandle || silent) return {};
      return { result: { data: await toMimeBundle(value), metadata: {} } };
    } catch (error) {
      await this.flushPendingOutputs();
      return { error: describeError(error) };
    }
  }

  /** execute_request's user_expressions: evaluated after the cell, without output, history or new declarations. */
  private async evaluateUserExpressions(expressions: Array<[string, string]>): Promise<Record<string, UserExpressionResult>> {
    const results: Record<string, UserExpressionResult> = {};
    for (const [name, expression] of expressions) {
      const compiled = this.compiler.compile(`(${expression})`);
      if (!compiled.ok) {
        results[name] = { status: "error", ename: "TSError", evalue: compiled.diagnostics[0], traceback: compiled.diagnostics };
        continue;
      }
      try {
        const { javascript, lastExpressionKey } = compiled.cell;
        const holder = "globalThis[Symbol.for('gplab.cell')]";
        vm.runInThisContext(`(function (exports, require) {${javascript}\n})(${holder}.exports, ${holder}.require)`, { breakOnSigint: true });
        const value = lastExpressionKey ? this.scope[lastExpressionKey] : undefined;
        if (lastExpressionKey) delete this.scope[lastExpressionKey];
        results[name] = { status: "ok", data: await toMimeBundle(value), metadata: {} };
      } catch (error) {
        results[name] = { status: "error", ...describeError(error) };
      }
    }
    return results;
  }

  private untilSettledOrInterrupted(running: Promise<unknown>): Promise<unknown> {
    const interrupted = new Promise<never>((_, reject) => (this.rejectOnInterrupt = reject));
    return Promise.race([running, interrupted]).finally(() => (this.rejectOnInterrupt = null));
  }

  private flushPendingOutputs(): Promise<void> {
    return output.drained();
  }

  /**
   * Clears the flags an earlier cell's interrupt left, but not one meant for
   * this cell: the request and the interrupt travel on different channels, so
   * an interrupt sent just after the request (while this process was busy,
   * or still starting) may be read before the request. `interruptsBefore`
   * says how many were sent before the request; waits (at most a second) for
   * the watcher to have read those, so none of them lands on this cell later.
   */
  private clearStaleInterrupts(interruptsBefore: number): void {
    const deadline = Date.now() + 1000;
    let received = Atomics.load(this.interruptsReceived, 0);
    while (received < interruptsBefore && Date.now() < deadline) {
      Atomics.wait(this.interruptsReceived, 0, received, 50);
      received = Atomics.load(this.interruptsReceived, 0);
    }
    if (received <= interruptsBefore) this.clearInterruptFlags();
  }

  private clearInterruptFlags(): void {
    Atomics.store(this.interrupted, 0, 0);
    const flag = this.preloaded.gp?.reductions?.interruptFlag;
    if (flag instanceof Int32Array) Atomics.store(flag, 0, 0);
  }
}

async function main(): Promise<void> {
  routeStdio();
  // The protocol process is our lifeline: without it nobody reads our output.
  process.on("disconnect", () => process.exit(0));
  const loader = new CellModuleLoader(process.cwd());
  const preloaded = await preload(loader);
  const runner = new CellRunner(preloaded, loader);
  process.on("SIGINT", () => runner.onInterruptSignal());
  // Long library runs (gp.train.fit) redraw one chart in place through display handles.
  preloaded.gp.setLiveDisplay?.({
    show: (value: unknown) => {
      const handle = runner.display(value);
      return { update: (next: unknown) => void handle.update(next) };
    },
  });
  // After preload: the wasm backend's Emscripten module has installed its re-throwing handlers by now.
  catchLateErrors((kind, error) => runner.reportLateError(kind, error));
  // Output a cell printed just before process.exit() still goes out.
  process.on("exit", () => streams.flush());

  let queue = Promise.resolve();
  process.on("message", (request: RunnerRequest) => {
    queue = queue.then(() => runner.handle(request)).catch((error) => {
      logToKernel(`${request.kind} failed: ${(error as Error).stack ?? error}`);
    });
  });
  const banner = `gplab ${gplabVersion} — TypeScript notebooks with Gaussian processes\n${preloaded.backendLine}`;
  send({ kind: "ready", banner, backendLine: preloaded.backendLine });
  // A failed warm-up must not block the queue; the first cell reports the problem.
  queue = queue.then(() => runner.warmUp()).catch((error) => {
    logToKernel(`warm-up failed: ${(error as Error).stack ?? error}`);
  });
}

void main();
