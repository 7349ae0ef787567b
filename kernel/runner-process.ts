// The protocol process's handle on the cell-runner child: start it, send it
// requests, route its events, interrupt it, and replace it when it dies or
// ignores an interrupt.
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { EventEmitter } from "node:events";
import type { RunnerEvent, RunnerRequest } from "./executor-messages";
import { INTERRUPT_PIPE_FD } from "./interrupt-watch";

/** How long a cell gets to stop through the interrupt flags (reductions stop between tiles) before SIGINT. */
export const SIGNAL_AFTER_MS = 250;
/** After SIGINT, how long a cell may take to stop before its process is replaced. */
export const REPLACE_AFTER_MS = 1000;
/** An interrupted cell still compiling after this long is given up on (the compiler cannot be interrupted). */
export const COMPILE_DEADLINE_MS = 15_000;
const MAX_STARTUP_FAILURES = 3;

/**
 * V8 flags of the cell runner. Type-checking a cell builds a fresh type
 * checker over every declaration in scope, so every cell leaves a lot of
 * garbage while the live heap stays flat (~130 MB); V8 sets the next heap
 * limit at up to 4x the live heap, and those committed pages are what made
 * the runner's RSS climb to ~700 MB over 1,000 cells. Growing the heap at
 * most 2x per collection keeps it flat (bench kernel-memory; figures in
 * kernel/README.md) for a few percent more time per cell.
 */
export const RUNNER_V8_FLAGS: readonly string[] = ["--heap-growing-percent=100"];

/** Node/V8 flags of the cell runner; GPLAB_RUNNER_NODE_FLAGS (space-separated, may be empty) replaces them. */
export function runnerNodeFlags(): string[] {
  const override = process.env.GPLAB_RUNNER_NODE_FLAGS;
  if (override !== undefined) return override.split(/\s+/).filter((flag) => flag.length > 0);
  return [...RUNNER_V8_FLAGS];
}

type DoneEvent = Extract<RunnerEvent, { kind: "execute_done" | "complete_done" | "inspect_done" }>;
type OutputEvent = Exclude<RunnerEvent, DoneEvent | { kind: "ready" | "cell_started" }>;
type RequestBody = RunnerRequest extends infer R ? (R extends unknown ? Omit<R, "requestId" | "interruptsBefore"> : never) : never;

export interface RunnerReady {
  banner: string;
  backendLine: string;
}

export declare interface RunnerProcess {
  on(event: "output", listener: (event: OutputEvent) => void): this;
  on(event: "restarted", listener: (reason: string) => void): this;
}

export class RunnerProcess extends EventEmitter {
  private child!: ChildProcess;
  private nextRequestId = 1;
  private readonly pending = new Map<number, { resolve: (event: DoneEvent) => void; kind: string }>();
  private interruptTimer: NodeJS.Timeout | null = null;
  /** The execute request whose code is running (compiled and started), if any. */
  private runningRequest: number | null = null;
  private escalateWhenStarted = false;
  /** Interrupts written to the current runner's pipe (a fresh runner starts at 0). */
  private interruptsSent = 0;
  private stopping = false;
  private startupFailures = 0;
  /** Set once the runner cannot be started: every request then fails with this. */
  private brokenReason: string | null = null;
  ready!: Promise<RunnerReady>;

  constructor(private readonly cwd: string) {
    super();
    this.launch();
  }

  private launch(): void {
    const script = path.join(__dirname, "cell-runner.js");
    // stdin carries answers to prompt(); stdout/stderr only carry what native
    // code writes directly (JavaScript output travels over IPC, in order);
    // fd 4 carries interrupts to a watcher thread.
    const stdio = ["pipe", "pipe", "pipe", "ipc", "pipe"] as const;
    if (stdio[INTERRUPT_PIPE_FD] !== "pipe") throw new Error("the interrupt pipe must be fd 4");
    const child = spawn(process.execPath, [...runnerNodeFlags(), script], { cwd: this.cwd, stdio: [...stdio], env: process.env });
    this.child = child;
    this.interruptsSent = 0;
    child.stdout!.on("data", (chunk) => process.stderr.write(chunk));
    child.stderr!.on("data", (chunk) => process.stderr.write(chunk));
    child.stdin!.on("error", () => undefined);
    this.interruptPipe().on("error", () => undefined);
    let started = false;
    this.ready = new Promise((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`cell runner exited during startup (code ${code})`)));
      child.on("message", (event: RunnerEvent) => {
        if (event.kind === "ready") {
          started = true;
          this.startupFailures = 0;
          resolve(event);
        } else {
          this.route(event);
        }
      });
    });
    this.ready.catch(() => undefined);
    child.on("exit", (code, signal) => {
      if (this.child !== child || this.stopping) return;
      const how = signal ?? `code ${code}`;
      // A runner that cannot even start would otherwise be relaunched forever.
      if (!started && ++this.startupFailures >= MAX_STARTUP_FAILURES) {
        this.brokenReason = `the cell runner failed to start ${MAX_STARTUP_FAILURES} times (last exit: ${how}); see the kernel log`;
        this.failPending(this.brokenReason);
        return;
      }
      this.replace(`the cell runner exited (${how})`);
    });
  }

  private route(event: RunnerEvent): void {
    if (event.kind === "cell_started") {
      this.runningRequest = event.requestId;
      if (this.escalateWhenStarted) this.escalate();
    } else if (event.kind === "execute_done" || event.kind === "complete_done" || event.kind === "inspect_done") {
      const waiting = this.pending.get(event.requestId);
      this.pending.delete(event.requestId);
      if (event.kind === "execute_done") {
        this.clearInterruptTimer();
        this.runningRequest = null;
        this.escalateWhenStarted = false;
      }
      waiting?.resolve(event);
    } else if (event.kind !== "ready") {
      this.emit("output", event);
    }
  }

  /** Sends a request; resolves with its done event (or a synthetic error one if the runner dies). */
  request(body: RequestBody, onSent?: (requestId: number) => void): Promise<DoneEvent> {
    const requestId = this.nextRequestId++;
    onSent?.(requestId);
    // Interrupts sent before this request were for earlier cells; any sent
    // from now on (also while it waits for a starting runner) are for this one.
    const childAtRequest = this.child;
    const interruptsAtRequest = this.interruptsSent;
    return new Promise((resolve) => {
      this.pending.set(requestId, { resolve, kind: body.kind });
      if (this.brokenReason) return this.failPending(this.brokenReason);
      void this.ready.then(
        () => {
          const interruptsBefore = this.child === childAtRequest ? interruptsAtRequest : 0;
          this.child.send({ ...body, requestId, interruptsBefore } as RunnerRequest);
        },
        () => undefined,
      );
    });
  }

  /** The answer to a prompt() the running cell is blocked on. */
  answerInput(value: string | null): void {
    const line = value === null ? { interrupted: true } : { value };
    this.child.stdin?.write(JSON.stringify(line) + "\n");
  }

  private interruptPipe(): NodeJS.WritableStream {
    return this.child.stdio[INTERRUPT_PIPE_FD] as NodeJS.WritableStream;
  }

  private executing(): boolean {
    return [...this.pending.values()].some((entry) => entry.kind === "execute");
  }

  /**
   * Stops the running cell: first through the shared interrupt flags (a
   * reduction stops cleanly between tiles, an await throws when it resumes),
   * then with SIGINT (which breaks a synchronous loop), and as a last resort
   * by replacing the process (a synchronous loop after an await cannot see SIGINT).
   */
  interrupt(): void {
    if (!this.executing()) return;
    this.interruptPipe().write("!");
    this.interruptsSent += 1;
    this.clearInterruptTimer();
    if (this.runningRequest !== null) {
      this.escalate();
    } else {
      // Still compiling: the runner checks the flag before the code starts,
      // so wait for that rather than kill a kernel that is only type-checking.
      this.escalateWhenStarted = true;
      this.interruptTimer = setTimeout(() => this.replace("the cell was still compiling 15 s after the interrupt"), COMPILE_DEADLINE_MS);
    }
  }

  private escalate(): void {
    this.escalateWhenStarted = false;
    this.clearInterruptTimer();
    this.interruptTimer = setTimeout(() => {
      if (!this.executing()) return;
      this.child.kill("SIGINT");
      this.interruptTimer = setTimeout(() => {
        this.interruptTimer = null;
        this.replace("the cell did not stop within 1.25 s of the interrupt");
      }, REPLACE_AFTER_MS);
    }, SIGNAL_AFTER_MS);
  }

  private clearInterruptTimer(): void {
    if (this.interruptTimer) clearTimeout(this.interruptTimer);
    this.interruptTimer = null;
  }

  /** Kills the runner, fails what it was doing, and starts a fresh one (its variables are lost). */
  private replace(reason: string): void {
    this.clearInterruptTimer();
    this.runningRequest = null;
    this.escalateWhenStarted = false;
    const old = this.child;
    old.removeAllListeners();
    old.kill("SIGKILL");
    const failed = [...this.pending.entries()];
    this.pending.clear();
    this.launch();
    const message = `${reason}; the kernel restarted its cell runner and earlier variables are gone`;
    this.emit("restarted", message);
    this.failRequests(failed, message);
  }

  private failPending(message: string): void {
    const failed = [...this.pending.entries()];
    this.pending.clear();
    this.failRequests(failed, message);
  }

  private failRequests(failed: Array<[number, { resolve: (event: DoneEvent) => void; kind: string }]>, message: string): void {
    for (const [requestId, { resolve, kind }] of failed) {
      if (kind === "execute") {
        resolve({ kind: "execute_done", requestId, error: { ename: "KernelRestarted", evalue: message, traceback: [`KernelRestarted: ${message}`] } });
      } else if (kind === "complete") {
        resolve({ kind: "complete_done", requestId, matches: [], cursorStart: 0, cursorEnd: 0 });
      } else {
        resolve({ kind: "inspect_done", requestId, found: false, data: {} });
      }
    }
  }

  stop(): void {
    this.stopping = true;
    this.clearInterruptTimer();
    this.child.kill("SIGKILL");
  }
}
