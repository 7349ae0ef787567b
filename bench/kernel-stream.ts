// How a flood of stream output travels: a cell prints `lines` lines with
// console.log; reports the stream messages the client received and the
// seconds from execute_request to the reply (medians over `repeats` runs,
// after a warm-up), and checks every line arrived in order.
// Usage: node dist/bench/kernel-stream.js [lines=100000] [repeats=5]
import { launchKernel } from "../kernel/kernel-launcher";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<void> {
  const lines = Number(process.argv[2] ?? 100_000);
  const repeats = Number(process.argv[3] ?? 5);
  const kernel = await launchKernel({ stderr: process.env.GPLAB_KERNEL_LOG ? "inherit" : "ignore" });
  try {
    const expected = Array.from({ length: lines }, (_, i) => `${i}\n`).join("");
    const code = `for (let i = 0; i < ${lines}; i++) console.log(i)`;
    const seconds: number[] = [];
    const messages: number[] = [];
    for (let run = 0; run <= repeats; run++) {
      const start = performance.now();
      const outcome = await kernel.client.execute(code, { timeoutMs: 600_000 });
      const elapsed = (performance.now() - start) / 1000;
      const streams = outcome.outputs.filter((message) => message.header.msg_type === "stream");
      const text = streams.map((message) => String(message.content.text)).join("");
      if (text !== expected) throw new Error(`run ${run}: the ${lines} lines did not arrive complete and in order`);
      if (run === 0) continue; // warm-up: compiles the cell's types once
      seconds.push(elapsed);
      messages.push(streams.length);
    }
    console.log(JSON.stringify({
      bench: "kernel-stream",
      lines,
      repeats,
      messagesMedian: median(messages),
      secondsMedian: Math.round(median(seconds) * 1000) / 1000,
      secondsMin: Math.round(Math.min(...seconds) * 1000) / 1000,
      secondsMax: Math.round(Math.max(...seconds) * 1000) / 1000,
    }));
  } finally {
    await kernel.shutdown();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
