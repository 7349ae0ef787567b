// A Jupyter client over ZeroMQ: what `gplab run`, the tests and the
// benchmarks use to talk to a kernel exactly as Jupyter would.
import * as zmq from "zeromq";
import { randomUUID } from "node:crypto";
import { channelUrl, ConnectionInfo } from "./connection";
import { decodeMessage, encodeMessage, JupyterMessage, MessageSigner, newHeader } from "./wire";
import { SocketSender } from "./socket-sender";

type RequestChannel = "shell" | "control";

export interface ExecuteOptions {
  silent?: boolean;
  storeHistory?: boolean;
  allowStdin?: boolean;
  /** Expressions to evaluate after the cell, by name (execute_request's user_expressions). */
  userExpressions?: Record<string, string>;
  /** Whether cells queued behind a failing one are aborted (Jupyter's default: true). */
  stopOnError?: boolean;
  timeoutMs?: number;
  /** Answers prompt(): called with the prompt text. */
  onInput?: (prompt: string) => string | Promise<string>;
}

export interface ExecuteOutcome {
  reply: JupyterMessage;
  /** iopub messages of this request between busy and idle, excluding status and execute_input. */
  outputs: JupyterMessage[];
  /** Every iopub message of this request, in order. */
  iopub: JupyterMessage[];
}

export class TimeoutError extends Error {
  override name = "TimeoutError";
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface IopubWaiter {
  messages: JupyterMessage[];
  onMessage?: (message: JupyterMessage) => void;
  idle: Promise<void>;
  resolveIdle: () => void;
}

export class KernelClient {
  readonly session = randomUUID();
  readonly signer: MessageSigner;
  private readonly identity = Buffer.from(randomUUID());
  readonly sockets: { shell: zmq.Dealer; control: zmq.Dealer; stdin: zmq.Dealer; iopub: zmq.Subscriber };
  private readonly senders: Record<"shell" | "control" | "stdin", SocketSender>;
  private readonly replyWaiters = new Map<string, (message: JupyterMessage) => void>();
  private readonly iopubWaiters = new Map<string, IopubWaiter>();
  private inputHandler: ((prompt: string) => string | Promise<string>) | null = null;
  /** Every iopub message received, for tests that look at the whole stream. */
  readonly allIopub: JupyterMessage[] = [];
  private closed = false;

  constructor(private readonly connection: ConnectionInfo) {
    this.signer = new MessageSigner(connection.key, connection.signature_scheme);
    // shell and stdin share a routing id: the kernel sends input_request to
    // the identity that sent the execute_request.
    this.sockets = {
      shell: new zmq.Dealer({ routingId: this.identity.toString(), linger: 0 }),
      control: new zmq.Dealer({ linger: 0 }),
      stdin: new zmq.Dealer({ routingId: this.identity.toString(), linger: 0 }),
      iopub: new zmq.Subscriber({ linger: 0 }),
    };
    this.senders = {
      shell: new SocketSender(this.sockets.shell),
      control: new SocketSender(this.sockets.control),
      stdin: new SocketSender(this.sockets.stdin),
    };
    this.sockets.iopub.subscribe();
    for (const channel of ["shell", "control", "stdin", "iopub"] as const) {
      this.sockets[channel].connect(channelUrl(connection, channel));
    }
    void this.readReplies(this.sockets.shell);
    void this.readReplies(this.sockets.control);
    void this.readIopub();
    void this.readStdin();
  }

  /** Decodes, or drops (with a note) a message that fails its signature check. */
  private decode(frames: Buffer[]): JupyterMessage | null {
    try {
      return decodeMessage(frames, this.signer);
    } catch (error) {
      process.stderr.write(`gplab client: dropped a message: ${(error as Error).message}\n`);
      return null;
    }
  }

  private async readReplies(socket: zmq.Dealer): Promise<void> {
    try {
      for await (const frames of socket) {
        const message = this.decode(frames);
        if (!message) continue;
        const waiter = this.replyWaiters.get(message.parent_header.msg_id ?? "");
        if (waiter) {
          this.replyWaiters.delete(message.parent_header.msg_id!);
          waiter(message);
        }
      }
    } catch (error) {
      if (!this.closed) throw error;
    }
  }

  private async readIopub(): Promise<void> {
    try {
      for await (const frames of this.sockets.iopub) {
        const message = this.decode(frames);
        if (!message) continue;
        this.allIopub.push(message);
        const waiter = this.iopubWaiters.get(message.parent_header.msg_id ?? "");
        if (!waiter) continue;
        waiter.messages.push(message);
        waiter.onMessage?.(message);
        if (message.header.msg_type === "status" && message.content.execution_state === "idle") waiter.resolveIdle();
      }
    } catch (error) {
      if (!this.closed) throw error;
    }
  }

  private async readStdin(): Promise<void> {
    try {
      for await (const frames of this.sockets.stdin) {
        const request = this.decode(frames);
        if (!request || request.header.msg_type !== "input_request") continue;
        const value = this.inputHandler ? await this.inputHandler(String(request.content.prompt ?? "")) : "";
        await this.senders.stdin.send(encodeMessage(this.message("input_reply", { value }, request.header), this.signer));
      }
    } catch (error) {
      if (!this.closed) throw error;
    }
  }

  message(msgType: string, content: Record<string, unknown>, parent: Partial<JupyterMessage["header"]> = {}): JupyterMessage {
    return { identities: [], header: newHeader(msgType, this.session), parent_header: parent, metadata: {}, content, buffers: [] };
  }

  /** Sends frames as they are (tests use this to forge messages). */
  sendFrames(channel: RequestChannel, frames: Buffer[]): Promise<void> {
    return this.senders[channel].send(frames);
  }

  private watchIopub(msgId: string, onMessage?: (message: JupyterMessage) => void): IopubWaiter {
    let resolveIdle!: () => void;
    const idle = new Promise<void>((resolve) => (resolveIdle = resolve));
    const waiter = { messages: [], onMessage, idle, resolveIdle };
    this.iopubWaiters.set(msgId, waiter);
    return waiter;
  }

  /** Sends a request and waits for its reply and for the kernel's idle status on iopub. */
  async request(channel: RequestChannel, msgType: string, content: Record<string, unknown>, timeoutMs = 30_000): Promise<{ reply: JupyterMessage; iopub: JupyterMessage[] }> {
    const message = this.message(msgType, content);
    const waiter = this.watchIopub(message.header.msg_id);
    const reply = new Promise<JupyterMessage>((resolve) => this.replyWaiters.set(message.header.msg_id, resolve));
    await this.senders[channel].send(encodeMessage(message, this.signer));
    try {
      const [replied] = await withTimeout(Promise.all([reply, waiter.idle]), timeoutMs, msgType);
      return { reply: replied, iopub: waiter.messages };
    } finally {
      this.iopubWaiters.delete(message.header.msg_id);
      this.replyWaiters.delete(message.header.msg_id);
    }
  }

  /** Sends a message that has no reply (comm_open, comm_msg ...) and waits for the kernel's idle. */
  async notify(channel: RequestChannel, msgType: string, content: Record<string, unknown>, timeoutMs = 30_000): Promise<JupyterMessage[]> {
    const message = this.message(msgType, content);
    const waiter = this.watchIopub(message.header.msg_id);
    await this.senders[channel].send(encodeMessage(message, this.signer));
    try {
      await withTimeout(waiter.idle, timeoutMs, msgType);
      return waiter.messages;
    } finally {
      this.iopubWaiters.delete(message.header.msg_id);
    }
  }

  async execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteOutcome> {
    this.inputHandler = options.onInput ?? null;
    const { reply, iopub } = await this.request("shell", "execute_request", {
      code,
      silent: options.silent ?? false,
      store_history: options.storeHistory ?? true,
      user_expressions: options.userExpressions ?? {},
      allow_stdin: options.allowStdin ?? Boolean(options.onInput),
      stop_on_error: options.stopOnError ?? true,
    }, options.timeoutMs ?? 60_000);
    const outputs = iopub.filter((message) => !["status", "execute_input"].includes(message.header.msg_type));
    return { reply, outputs, iopub };
  }

  /**
   * Waits until the kernel answers kernel_info and our iopub subscription is
   * live (a SUB socket misses what was published before it connected).
   */
  async waitForReady(timeoutMs = 60_000): Promise<JupyterMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`kernel not ready after ${timeoutMs} ms`);
      try {
        const { reply } = await this.request("shell", "kernel_info_request", {}, Math.min(left, 2_000));
        return reply;
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const socket of Object.values(this.sockets)) socket.close();
  }
}
