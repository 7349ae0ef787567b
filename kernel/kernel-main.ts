// `gplab kernel --connection-file F`: what Jupyter starts.
import { readConnectionFile } from "./connection";
import { KernelServer } from "./kernel-server";

export async function runKernel(connectionFile: string): Promise<void> {
  const server = new KernelServer(readConnectionFile(connectionFile));
  // With interrupt_mode "signal" (or Ctrl-C in a terminal) SIGINT reaches us:
  // interrupt the cell rather than die.
  process.on("SIGINT", () => server.interruptFromSignal());
  process.on("SIGTERM", () => void server.close());
  await server.start();
  await server.closedPromise;
  // Give zeromq a moment to flush the last replies before the caller exits.
  await new Promise((resolve) => setTimeout(resolve, 100));
}
