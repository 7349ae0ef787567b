// The protocol side of the kernel: the five ZeroMQ channels, message
// signatures, busy/idle bookkeeping, and the request handlers. Cells run in
// a separate process (RunnerProcess) so this one stays responsive.
import * as zmq from "zeromq";
import { randomUUID } from "node:crypto";
import { channelUrl, ConnectionInfo } from "./connection";
import { decodeMessage, encodeMessage, JupyterMessage, MessageSigner, newHeader, PROTOCOL_VERSION, replyTo } from "./wire";
import { RunnerProcess, RunnerReady } from "./runner-process";
import { History, HistoryRequest } from "./history";
import { checkCompleteness } from "./is-complete";
import { gplabVersion } from "./paths";
import { typescriptVersion } from "./typescript-fork";
import { SocketSender } from "./socket-sender";
import { RequestQueue } from "./request-queue";
import type { RunnerEvent } from "./executor-messages";

type ReplyContent = Record<string, unknown>;


function log(line: string): void {
  process.stderr.write(`[gplab kernel] ${line}\n`);
}

export class KernelServer {
  private readonly session = randomUUID();
  private readonly signer: MessageSigner;
  private readonly shell = new zmq.Router();
  private readonly control = new zmq.Router();
  private readonly stdin = new zmq.Router();
  private readonly iopub = new zmq.Publisher();
  private readonly heartbeat = new zmq.Reply();
  private readonly senders;
  private readonly runner: RunnerProcess;
  private readonly history = new History();
  private executionCount = 0;
  /** The execute request behind each runner request id, to parent its outputs. */
  private readonly executeRequests = new Map<number, { message: JupyterMessage; silent: boolean; line: number }>();
  private pendingInput: JupyterMessage | null = null;
  private shellQueue: RequestQueue | null = null;
  private closed = false;
  private resolveClosed!: () => void;
  readonly closedPromise = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(private readonly connection: ConnectionInfo, cwd = process.cwd()) {
    this.signer = new MessageSigner(connection.key, connection.signature_scheme);
    this.senders = {
      shell: new SocketSender(this.shell),
      control: new SocketSender(this.control),
      stdin: new SocketSender(this.stdin),
      iopub: new SocketSender(this.iopub),
    };
    this.runner = new RunnerProcess(cwd);
    this.runner.on("output", (event) => this.publishRunnerOutput(event));
    this.runner.on("restarted", (message) => log(message));
    void this.runner.ready.then(
      (ready) => log(ready.backendLine),
      (error) => log(`cell runner failed to start: ${(error as Error).message}`),
    );
  }

  async start(): Promise<void> {
    await Promise.all([
      this.shell.bind(channelUrl(this.connection, "shell")),
      this.control.bind(channelUrl(this.connection, "control")),
      this.stdin.bind(channelUrl(this.connection, "stdin")),
      this.iopub.bind(channelUrl(this.connection, "iopub")),
      this.heartbeat.bind(channelUrl(this.connection, "hb")),
    ]);
    void this.serveHeartbeat();
    void this.serve(this.shell, "shell");
    void this.serve(this.control, "control");
    void this.serveStdin();
  }

  private async serveHeartbeat(): Promise<void> {
    try {
      for await (const frames of this.heartbeat) await this.heartbeat.send(frames);
    } catch (error) {
      if (!this.closed) log(`heartbeat stopped: ${(error as Error).message}`);
    }
  }

  /** Reads one channel; requests on it are handled one after another, in order. */
  private async serve(socket: zmq.Router, channel: "shell" | "control"): Promise<void> {
    const queue = new RequestQueue(async (message) => {
      try {
        await this.handle(message, channel);
      } catch (error) {
        log(`${message.header.msg_type} failed: ${(error as Error).stack ?? error}`);
      }
    });
    if (channel === "shell") this.shellQueue = queue;
    try {
      for await (const frames of socket) {
        const message = this.decode(frames, channel);
        if (message) queue.push(message);
      }
    } catch (error) {
      if (!this.closed) log(`${channel} channel stopped: ${(error as Error).message}`);
    } finally {
      queue.stop();
    }
  }

  /**
   * After a cell fails with stop_on_error (the default), the cells already
   * queued behind it (a "run all") are answered "aborted" instead of run,
   * as ipykernel does; requests that arrive later run normally.
   */
  private async abortQueuedCells(): Promise<void> {
    const queued = this.shellQueue?.take((message) => message.header.msg_type === "execute_request") ?? [];
    for (const request of queued) {
      await this.publish(request, "status", { execution_state: "busy" });
      await this.reply(request, "shell", { status: "aborted", execution_count: null }, { status: "aborted" });
      await this.publish(request, "status", { execution_state: "idle" });
    }
  }

  private async serveStdin(): Promise<void> {
    try {
      for await (const frames of this.stdin) {
        const message = this.decode(frames, "stdin");
        if (!message || message.header.msg_type !== "input_reply") continue;
        if (this.pendingInput) {
          this.pendingInput = null;
          this.runner.answerInput(String(message.content.value ?? ""));
        }
      }
    } catch (error) {
      if (!this.closed) log(`stdin channel stopped: ${(error as Error).message}`);
    }
  }

  private decode(frames: Buffer[], channel: string): JupyterMessage | null {
    try {
      return decodeMessage(frames, this.signer);
    } catch (error) {
      // A message we cannot authenticate is never acted upon.
      log(`ignored a message on ${channel}: ${(error as Error).message}`);
      return null;
    }
  }

  private publish(parent: JupyterMessage | null, msgType: string, content: ReplyContent, metadata: ReplyContent = {}): Promise<void> {
    const message: JupyterMessage = {
      identities: [Buffer.from(msgType)],
      header: newHeader(msgType, this.session),
      parent_header: parent?.header ?? {},
      metadata,
      content,
      buffers: [],
    };
    return this.senders.iopub.send(encodeMessage(message, this.signer));
  }

  private reply(request: JupyterMessage, channel: "shell" | "control", content: ReplyContent, metadata: ReplyContent = {}): Promise<void> {
    const msgType = request.header.msg_type.replace(/_request$/, "_reply");
    const message = replyTo(request, msgType, content, this.session);
    message.metadata = metadata;
    return this.senders[channel].send(encodeMessage(message, this.signer));
  }

  private async handle(request: JupyterMessage, channel: "shell" | "control"): Promise<void> {
    const type = request.header.msg_type;
    await this.publish(request, "status", { execution_state: "busy" });
    try {
      switch (type) {
        case "kernel_info_request":
          await this.reply(request, channel, await this.kernelInfo());
          break;
        case "execute_request":
          await this.execute(request, channel);
          break;
        case "complete_request":
          await this.complete(request, channel);
          break;
        case "inspect_request":
          await this.inspect(request, channel);
          break;
        case "is_complete_request":
          await this.reply(request, channel, checkCompleteness(String(request.content.code ?? "")));
          break;
        case "history_request":
          await this.reply(request, channel, { status: "ok", history: this.history.query(request.content as HistoryRequest) });
          break;
        case "comm_info_request":
          // No comm targets are registered yet (no widgets).
          await this.reply(request, channel, { status: "ok", comms: {} });
          break;
        case "comm_open":
          // Nobody is listening on any target: close it, as the spec asks.
          await this.publish(request, "comm_close", { comm_id: request.content.comm_id, data: {} });
          break;
        case "comm_msg":
        case "comm_close":
          break;
        case "interrupt_request":
          this.interrupt();
          await this.reply(request, channel, { status: "ok" });
          break;
        case "shutdown_request":
          await this.reply(request, channel, { status: "ok", restart: Boolean(request.content.restart) });
          await this.publish(request, "status", { execution_state: "idle" });
          await this.close();
          return;
        default:
          log(`unsupported request ${type}`);
      }
    } finally {
      if (!this.closed) await this.publish(request, "status", { execution_state: "idle" });
    }
  }

  private async kernelInfo(): Promise<ReplyContent> {
    const ready: RunnerReady | null = await this.runner.ready.catch(() => null);
    return {
      status: "ok",
      protocol_version: PROTOCOL_VERSION,
      implementation: "gplab",
      implementation_version: gplabVersion,
      language_info: {
        name: "typescript",
        version: typescriptVersion(),
        mimetype: "text/typescript",
        file_extension: ".ts",
        codemirror_mode: { name: "javascript", typescript: true },
        pygments_lexer: "typescript",
      },
      banner: ready?.banner ?? `gplab ${gplabVersion} (the cell runner failed to start)`,
      help_links: [],
      debugger: false,
    };
  }

  private async execute(request: JupyterMessage, channel: "shell" | "control"): Promise<void> {
    const code = String(request.content.code ?? "");
    const silent = Boolean(request.content.silent);
    const storeHistory = !silent && request.content.store_history !== false;
    if (storeHistory) this.executionCount += 1;
    const line = this.executionCount;
    if (!silent) await this.publish(request, "execute_input", { code, execution_count: line });
    if (storeHistory) this.history.record(line, code);

    let requestId = 0;
    const userExpressions = (request.content.user_expressions ?? {}) as Record<string, string>;
    const done = await this.runner.request({ kind: "execute", code, silent, userExpressions }, (id) => {
      requestId = id;
      this.executeRequests.set(id, { message: request, silent, line });
    });
    this.pendingInput = null;
    if (done.kind !== "execute_done") return;

    if (done.result && !silent) {
      await this.publish(request, "execute_result", { execution_count: line, data: done.result.data, metadata: done.result.metadata });
      if (storeHistory) this.history.recordOutput(line, String(done.result.data["text/plain"] ?? ""));
    }
    if (done.error) {
      if (!silent) await this.publish(request, "error", { ...done.error });
      await this.reply(request, channel, { status: "error", execution_count: line, ...done.error }, { status: "error" });
      if (request.content.stop_on_error !== false) await this.abortQueuedCells();
    } else {
      await this.reply(request, channel, { status: "ok", execution_count: line, payload: [], user_expressions: done.userExpressions ?? {} }, { status: "ok" });
    }
    this.forgetOldRequests(requestId);
  }

  /** Output that arrives after its cell finished (timers, handles) still needs a parent; keep the recent ones. */
  private forgetOldRequests(latest: number): void {
    for (const id of this.executeRequests.keys()) if (id < latest - 200) this.executeRequests.delete(id);
  }

  private publishRunnerOutput(event: Exclude<RunnerEvent, { kind: "ready" | "cell_started" | "execute_done" | "complete_done" | "inspect_done" }>): void {
    const origin = this.executeRequests.get(event.requestId);
    if (event.kind === "input_request") {
      void this.requestInput(origin?.message ?? null, event.prompt, event.password);
      return;
    }
    if (!origin || origin.silent) return;
    const parent = origin.message;
    switch (event.kind) {
      case "stream":
        void this.publish(parent, "stream", { name: event.name, text: event.text });
        break;
      case "display":
        void this.publish(parent, event.update ? "update_display_data" : "display_data", {
          data: event.data,
          metadata: event.metadata,
          transient: event.displayId ? { display_id: event.displayId } : {},
        });
        break;
      case "clear_output":
        void this.publish(parent, "clear_output", { wait: event.wait });
        break;
    }
  }

  private async requestInput(origin: JupyterMessage | null, prompt: string, password: boolean): Promise<void> {
    if (!origin || !origin.content.allow_stdin) {
      // The frontend cannot answer; tell the cell so instead of blocking forever.
      this.runner.answerInput(null);
      log("prompt() called but the frontend does not allow stdin");
      return;
    }
    this.pendingInput = origin;
    const message = replyTo(origin, "input_request", { prompt, password }, this.session);
    await this.senders.stdin.send(encodeMessage(message, this.signer));
  }

  interruptFromSignal(): void {
    this.interrupt();
  }

  private interrupt(): void {
    if (this.pendingInput) {
      this.pendingInput = null;
      this.runner.answerInput(null);
    }
    this.runner.interrupt();
  }

  private async complete(request: JupyterMessage, channel: "shell" | "control"): Promise<void> {
    const code = String(request.content.code ?? "");
    const cursorPos = Number(request.content.cursor_pos ?? code.length);
    const done = await this.runner.request({ kind: "complete", code, cursorPos });
    const completion = done.kind === "complete_done" ? done : { matches: [], cursorStart: cursorPos, cursorEnd: cursorPos };
    await this.reply(request, channel, {
      status: "ok",
      matches: completion.matches,
      cursor_start: completion.cursorStart,
      cursor_end: completion.cursorEnd,
      metadata: {},
    });
  }

  private async inspect(request: JupyterMessage, channel: "shell" | "control"): Promise<void> {
    const code = String(request.content.code ?? "");
    const cursorPos = Number(request.content.cursor_pos ?? code.length);
    const done = await this.runner.request({ kind: "inspect", code, cursorPos, detailLevel: Number(request.content.detail_level ?? 0) });
    const found = done.kind === "inspect_done" && done.found;
    await this.reply(request, channel, { status: "ok", found, data: found ? done.data : {}, metadata: {} });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.runner.stop();
    for (const socket of [this.shell, this.control, this.stdin, this.iopub, this.heartbeat]) {
      socket.linger = 200;
      socket.close();
    }
    this.resolveClosed();
  }
}
