// Kernel start to first idle, first cell, and the `1 + 1` round trip
// (median of many), for gplab and, in the same run, for tslab. Prints one
// JSON line per kernel. Usage: node dist/bench/kernel-startup.js [--rounds N] [--starts N] [--only gplab|tslab]
import * as path from "node:path";
import { launchKernel } from "../kernel/kernel-launcher";

interface KernelUnderTest {
  name: string;
  argv?: string[];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function argValue(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

async function measure(kernel: KernelUnderTest, starts: number, rounds: number): Promise<Record<string, unknown>> {
  const startMs: number[] = [];
  const firstCellMs: number[] = [];
  let roundTrips: number[] = [];
  let unanswered = 0;
  for (let s = 0; s < starts; s++) {
    const began = performance.now();
    // Start to first idle: the kernel answered kernel_info and iopub reported idle.
    const launched = await launchKernel({ argv: kernel.argv, stderr: "ignore", cwd: process.cwd() });
    startMs.push(performance.now() - began);
    try {
      let t = performance.now();
      // A kernel that never answers its first execute_request is retried and counted.
      let first;
      for (let attempt = 0; !first; attempt++) {
        first = await launched.client.execute("1 + 1", { timeoutMs: 20_000 }).catch((error) => {
          if (attempt >= 2) throw error;
          unanswered += 1;
          return undefined;
        });
      }
      firstCellMs.push(performance.now() - t);
      if (first.reply.content.status !== "ok") throw new Error(`${kernel.name}: 1 + 1 failed`);
      if (s === starts - 1) {
        for (let i = 0; i < 5; i++) await launched.client.execute("1 + 1");
        roundTrips = [];
        for (let i = 0; i < rounds; i++) {
          t = performance.now();
          // A request a kernel never answers is counted, not waited for forever.
          const answered = await launched.client.execute("1 + 1", { timeoutMs: 10_000 }).then(() => true, () => false);
          if (answered) roundTrips.push(performance.now() - t);
          else unanswered += 1;
        }
      }
    } finally {
      await launched.shutdown();
    }
  }
  const sortedStarts = [...startMs].sort((a, b) => a - b);
  const sortedTrips = [...roundTrips].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    bench: "kernel-startup",
    kernel: kernel.name,
    starts,
    startToIdleMsMedian: round(percentile(sortedStarts, 0.5)),
    startToIdleMs: startMs.map(round),
    firstCellMsMedian: round(percentile([...firstCellMs].sort((a, b) => a - b), 0.5)),
    roundTrips: rounds,
    roundTripMsMedian: round(percentile(sortedTrips, 0.5)),
    roundTripMsP90: round(percentile(sortedTrips, 0.9)),
    unansweredRequests: unanswered,
    node: process.version,
  };
}

async function main(): Promise<void> {
  const rounds = argValue("--rounds", 200);
  const starts = argValue("--starts", 3);
  const tslabBin = path.join(path.dirname(require.resolve("tslab/package.json")), "bin", "tslab");
  const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : null;
  const kernels: KernelUnderTest[] = [
    { name: "gplab" },
    { name: "tslab 1.0.22", argv: [process.execPath, tslabBin, "kernel", "--config-path", "{connection_file}"] },
  ].filter((kernel) => !only || kernel.name.startsWith(only));
  for (const kernel of kernels) {
    try {
      console.log(JSON.stringify(await measure(kernel, starts, rounds)));
    } catch (error) {
      console.log(JSON.stringify({ bench: "kernel-startup", kernel: kernel.name, error: (error as Error).message }));
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
