// Operator pictures: block means, subgrid entries and small exact matrices
// against values computed here in plain f64 loops; the diagonal envelope;
// text / HTML content; the SVG fallback's marks.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as gp from "../lib";
import { countPathsInMark, points, rbfEntry, rbfOperator, relErr, type RbfCase } from "./helpers/displayFixtures";

const VL = "application/vnd.vegalite.v5+json";
type Spec = { $schema: string; datasets: Record<string, Record<string, number | null>[]>; usermeta: { gplab: Record<string, Record<string, unknown>> } };
const OUT = path.resolve(__dirname, "../../test-output");

test("N = 4,000: block means equal block means computed independently", async () => {
  const c: RbfCase = { n: 4000, d: 2, x: points(4000, 2, 11), lengthscale: 0.7, outputscale: 1.3 };
  const K = rbfOperator(c);
  const bundle = await gp.display.bundle(K, { svg: false });
  const spec = bundle[VL] as Spec;
  assert.equal(spec.usermeta.gplab.heatmap.mode, "blockMeans");
  const cells = spec.datasets.blocks;
  assert.equal(cells.length, 64 * 64);

  // Independent: block a holds indices floor(a n / 64) <= i < floor((a + 1) n / 64), 62 or 63 of them.
  const blockOf = new Int32Array(c.n);
  const size = new Float64Array(64);
  for (let a = 0; a < 64; a++) {
    for (let i = Math.floor((a * c.n) / 64); i < Math.floor(((a + 1) * c.n) / 64); i++) (blockOf[i] = a), size[a]++;
  }
  const sums = new Float64Array(64 * 64);
  for (let i = 0; i < c.n; i++) for (let j = 0; j < c.n; j++) sums[blockOf[i] * 64 + blockOf[j]] += rbfEntry(c, i, j);
  let worst = 0;
  for (const cell of cells) {
    const a = blockOf[cell.r0 as number];
    const b = blockOf[cell.c0 as number];
    assert.equal((cell.r1 as number) - (cell.r0 as number), size[a], "the cell spans exactly its block's rows");
    assert.equal((cell.c1 as number) - (cell.c0 as number), size[b], "and its block's columns");
    worst = Math.max(worst, relErr(cell.value as number, sums[a * 64 + b] / (size[a] * size[b])));
  }
  assert.ok(worst < 1e-10, `block means off by ${worst}`);

  // text/plain facts, each checked against an independent value.
  const text = bundle["text/plain"];
  assert.match(text, /KernelLinearOperator/);
  assert.match(text, /Kernel\[RBF\]\s+4,000 x 4,000/);
  assert.match(text, /dtype:\s+float64/);
  assert.match(text, new RegExp(`backend:\\s+${gp.backend.info().backend}`));
  // 4000^2 entries * 4 bytes = 61.04 MiB; * 8 bytes = 122 MiB.
  assert.match(text, /dense would need 61\.0 MiB as float32 \(122 MiB as float64\)/);
  assert.match(text, /diagonal:\s+min 1\.3\s+mean 1\.3\s+max 1\.3/);
  assert.match(text, /64 x 64 block means/);
});

test("over the pair budget the heatmap holds exact entries on an evenly spaced subgrid, labelled as such", async () => {
  const c: RbfCase = { n: 500, d: 3, x: points(500, 3, 5), lengthscale: 1.1, outputscale: 0.8 };
  const bundle = await gp.display.bundle(rbfOperator(c), { pairBudget: 1000, svg: false });
  const spec = bundle[VL] as Spec;
  assert.equal(spec.usermeta.gplab.heatmap.mode, "subgrid");
  const cells = spec.datasets.blocks;
  assert.equal(cells.length, 64 * 64);
  const sampled = new Set<number>();
  for (const cell of cells) {
    const i = cell.i as number;
    const j = cell.j as number;
    sampled.add(i);
    assert.ok(i >= (cell.r0 as number) && i < (cell.r1 as number), "the sampled row lies in its cell");
    assert.ok(relErr(cell.value as number, rbfEntry(c, i, j)) < 1e-12);
  }
  // Evenly spaced: consecutive sampled rows are 7 or 8 apart (500 / 64 = 7.8).
  const rows = [...sampled].sort((a, b) => a - b);
  assert.equal(rows.length, 64);
  for (let k = 1; k < rows.length; k++) assert.ok(rows[k] - rows[k - 1] === 7 || rows[k] - rows[k - 1] === 8);
  assert.match(bundle["text/plain"], /entries on an evenly spaced 64 x 64 subgrid, not block means/);
  assert.match(JSON.stringify(spec), /subgrid/);
});

test("N <= b shows the exact small matrix, including composed operators", async () => {
  const c: RbfCase = { n: 20, d: 1, x: points(20, 1, 3), lengthscale: 0.5, outputscale: 2 };
  const K = rbfOperator(c).addDiagonal(0.25).mul(3);
  const bundle = await gp.display.bundle(K, { svg: false, html: true });
  const spec = bundle[VL] as Spec;
  assert.equal(spec.usermeta.gplab.heatmap.mode, "exact");
  const cells = spec.datasets.blocks;
  assert.equal(cells.length, 400);
  for (const cell of cells) {
    const i = cell.r0 as number;
    const j = cell.c0 as number;
    const expected = 3 * (rbfEntry(c, i, j) + (i === j ? 0.25 : 0));
    assert.ok(relErr(cell.value as number, expected) < 1e-12, `K[${i}, ${j}]`);
  }
  // The structure tree, one node a line.
  const text = bundle["text/plain"];
  assert.match(text, /ConstantMul\[3\]\s+20 x 20\n\s+└─ AddedDiag\s+20 x 20\n\s+├─ Kernel\[RBF\]\s+20 x 20\n\s+└─ ConstantDiag\[0\.25\]\s+20 x 20/);
  // diag = 3 * (2 + 0.25) = 6.75
  assert.match(text, /min 6\.75\s+mean 6\.75\s+max 6\.75/);
  const html = bundle["text/html"] as string;
  assert.match(html, /<table/);
  assert.match(html, /ConstantDiag\[0\.25\]/);
  assert.match(html, /dense would need 1\.6 KiB as float32/); // 400 * 4 = 1600 B
});

test("non-square operators: row and column blocks are independent", async () => {
  // A [30, 200] dense operator with A[i, j] = i - j / 100.
  const rows = Array.from({ length: 30 }, (_, i) => Array.from({ length: 200 }, (_, j) => i - j / 100));
  const A = new gp.operators.DenseLinearOperator(rows);
  const bundle = await gp.display.bundle(A, { svg: false });
  const spec = bundle[VL] as Spec;
  assert.deepEqual([spec.usermeta.gplab.heatmap.rows, spec.usermeta.gplab.heatmap.cols], [30, 64]);
  for (const cell of spec.datasets.blocks) {
    let sum = 0;
    for (let j = cell.c0 as number; j < (cell.c1 as number); j++) sum += (cell.r0 as number) - j / 100;
    assert.ok(Math.abs((cell.value as number) - sum / ((cell.c1 as number) - (cell.c0 as number))) < 1e-12);
  }
  assert.equal(spec.datasets.diagonal.length, 30); // min(30, 200) diagonal entries, all shown
});

test("a long diagonal becomes a min / mean / max envelope that keeps a single spike visible", async () => {
  const n = 200_000;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = 1 + (i % 7) / 100;
  d[123_456] = 50; // one outlier
  const bundle = await gp.display.bundle(new gp.operators.DiagLinearOperator(d), { svg: false, diagonalPoints: 500 });
  const spec = bundle[VL] as Spec;
  const buckets = spec.datasets.diagonal;
  assert.equal(buckets.length, 500); // 200,000 / 400 per bucket
  const withSpike = buckets.find((b) => (b.start as number) <= 123_456 && 123_456 < (b.end as number));
  assert.equal(withSpike?.max, 50);
  assert.equal(Math.max(...buckets.map((b) => b.max as number)), 50);
  for (const b of buckets) {
    assert.equal((b.end as number) - (b.start as number), 400);
    assert.equal(b.min, 1);
  }
  // mean over the whole diagonal, independently.
  let sum = 0;
  for (let i = 0; i < n; i++) sum += d[i];
  const m = bundle["text/plain"].match(/mean ([0-9.]+)/);
  assert.ok(m && Math.abs(Number(m[1]) - sum / n) < 1e-3 * (sum / n));
  assert.match(bundle["text/plain"], /max 50\b/);
});

test("the operator SVG fallback draws the diagonal envelope and one rect per heatmap cell", async () => {
  const c: RbfCase = { n: 3000, d: 2, x: points(3000, 2, 9), lengthscale: 0.5, outputscale: 1 };
  const noise = new Float64Array(c.n).map((_, i) => 0.1 + 0.05 * Math.sin(i / 200));
  const K = rbfOperator(c).add(new gp.operators.DiagLinearOperator(noise));
  const bundle = await gp.display.bundle(K);
  // JupyterLab prefers text/html (rank 50) over Vega-Lite (57): by default a chart bundle has no HTML.
  assert.deepEqual(Object.keys(bundle).sort(), ["application/vnd.vegalite.v5+json", "image/svg+xml", "text/plain"]);
  const svg = bundle["image/svg+xml"] as string;
  assert.match(svg, /^<svg/);
  assert.equal(countPathsInMark(svg, "mark-area role-mark concat_0_layer_0_marks"), 1, "envelope band");
  assert.equal(countPathsInMark(svg, "mark-line role-mark concat_0_layer_1_marks"), 1, "mean line");
  assert.equal(countPathsInMark(svg, "mark-rect role-mark concat_1_marks"), 64 * 64, "heatmap cells");
  assert.match(svg, /block means \(64 x 64, exact\)/);
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, "display-operator.svg"), svg);
});
