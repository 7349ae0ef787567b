// Do cells that create, multiply and display operators leak? Runs `count`
// such cells through a kernel and reports live tfjs tensors and the cell
// runner's memory before and after. The test runs a small count; `gplab bench`
// style runs (node dist/bench/kernel-memory.js [count]) the full 1,000.
import * as fs from "node:fs";
import { launchKernel, LaunchedKernel } from "../kernel/kernel-launcher";

export interface MemorySample {
  numTensors: number;
  heapUsedMB: number;
  heapTotalMB: number;
  externalMB: number;
  rssMB: number;
}

export interface MemoryReport {
  cells: number;
  before: MemorySample;
  after: MemorySample;
  kernelRssBeforeMB: number;
  kernelRssAfterMB: number;
  seconds: number;
}

const SETUP_CELL = `
import * as v8 from "node:v8";
import * as vm from "node:vm";
v8.setFlagsFromString("--expose_gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;
// One collection leaves what weak callbacks and finalizers release only on a
// later turn of the event loop (up to ~12 MB, varying from sample to sample);
// four collections with turns between them leave the live heap alone.
async function memorySample() {
  for (let round = 0; round < 4; round++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const usage = process.memoryUsage();
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20 * 10) / 10;
  const sample = { numTensors: tf.memory().numTensors, heapUsedMB: mb(usage.heapUsed), heapTotalMB: mb(usage.heapTotal), externalMB: mb(usage.external), rssMB: mb(usage.rss) };
  return { [Symbol.for("Jupyter.display")]: () => ({ "text/plain": JSON.stringify(sample), "application/json": sample }) };
}
`;

/** What a notebook cell typically does with operators; i varies the data. */
function operatorCell(i: number): string {
  return `
const size = ${24 + (i % 8)};
const data = Array.from({ length: size }, (_, r) => Array.from({ length: size }, (_, c) => Math.exp(-((r - c) ** 2) / ${10 + i % 5})));
const K = new gp.operators.DenseLinearOperator(data).addDiagonal(0.1);
const product = K.matmul(Array.from({ length: size }, (_, r) => [r, 1]));
const total = tf.sum(product);
console.log(total.dataSync()[0].toFixed(3));
tf.dispose([product, total]);
display(K);
K`;
}

async function sample(kernel: LaunchedKernel): Promise<MemorySample> {
  const outcome = await kernel.client.execute("await memorySample()");
  if (outcome.reply.content.status !== "ok") throw new Error(`memorySample failed: ${outcome.reply.content.evalue}`);
  const result = outcome.outputs.find((message) => message.header.msg_type === "execute_result");
  return result?.content.data["application/json"] as MemorySample;
}

function kernelRssMB(kernel: LaunchedKernel): number {
  try {
    const status = fs.readFileSync(`/proc/${kernel.process.pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

export async function measureCellMemory(kernel: LaunchedKernel, count: number, warmup = 10): Promise<MemoryReport> {
  const setup = await kernel.client.execute(SETUP_CELL);
  if (setup.reply.content.status !== "ok") throw new Error(`setup failed: ${setup.reply.content.evalue}`);
  const runCell = async (i: number) => {
    const outcome = await kernel.client.execute(operatorCell(i));
    if (outcome.reply.content.status !== "ok") throw new Error(`cell ${i} failed: ${outcome.reply.content.evalue}`);
  };
  for (let i = 0; i < warmup; i++) await runCell(i);
  const before = await sample(kernel);
  const kernelRssBeforeMB = kernelRssMB(kernel);
  const start = Date.now();
  for (let i = 0; i < count; i++) await runCell(i);
  const seconds = (Date.now() - start) / 1000;
  const after = await sample(kernel);
  return { cells: count, before, after, kernelRssBeforeMB, kernelRssAfterMB: kernelRssMB(kernel), seconds };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 1000);
  const kernel = await launchKernel({ stderr: process.env.GPLAB_KERNEL_LOG ? "inherit" : "ignore" });
  try {
    const report = await measureCellMemory(kernel, count);
    console.log(JSON.stringify({ bench: "kernel-memory", ...report }));
  } finally {
    await kernel.shutdown();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
