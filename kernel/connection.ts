// The connection file Jupyter writes for a kernel: ports, transport, key.
import * as fs from "node:fs";
import * as net from "node:net";
import * as crypto from "node:crypto";

export interface ConnectionInfo {
  transport: string;
  ip: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

export type Channel = "shell" | "control" | "stdin" | "iopub" | "hb";

export function readConnectionFile(file: string): ConnectionInfo {
  return JSON.parse(fs.readFileSync(file, "utf8")) as ConnectionInfo;
}

export function channelUrl(info: ConnectionInfo, channel: Channel): string {
  const port = info[`${channel}_port`];
  return info.transport === "ipc" ? `ipc://${info.ip}-${port}` : `${info.transport}://${info.ip}:${port}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A fresh loopback connection with a random key, as a launcher would write it. */
export async function newConnectionInfo(): Promise<ConnectionInfo> {
  const ports: number[] = [];
  while (ports.length < 5) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const [shell_port, control_port, stdin_port, iopub_port, hb_port] = ports;
  return {
    transport: "tcp",
    ip: "127.0.0.1",
    shell_port,
    control_port,
    stdin_port,
    iopub_port,
    hb_port,
    key: crypto.randomUUID(),
    signature_scheme: "hmac-sha256",
    kernel_name: "gplab",
  };
}
