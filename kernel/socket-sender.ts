// zeromq sockets allow one pending send at a time; this queues the rest.
import type * as zmq from "zeromq";

export class SocketSender {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly socket: zmq.Writable) {}

  send(frames: Buffer[]): Promise<void> {
    const sending = this.queue.then(() => this.socket.send(frames));
    this.queue = sending.catch((error) => {
      process.stderr.write(`gplab kernel: send failed: ${(error as Error).message}\n`);
    });
    return this.queue;
  }
}
