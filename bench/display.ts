// Display benchmark: the full MIME bundle (text, Vega-Lite, server-side SVG)
// of a lazy RBF operator plus a noise diagonal, N = 1,000,000 by default
// (d = 2). Times every repeat after a first, cold one (which also loads vega);
// prints one JSON line with the median, the numeric part's median (diagonal +
// heatmap entries) and the process's peak RSS.
//
//   npm run bench -- display [--n 1000000] [--repeats 5]

import * as gp from "../lib";
import { summarizeOperator } from "../lib/display/operatorSummary";
import { sharedF64 } from "../lib/reductions/fusedExecutor";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Lazy outputscale * RBF on n seeded points in [0, 100)^d, plus a varying noise diagonal. shape: [n, n] */
function operator(n: number, d: number): gp.operators.LinearOperator {
  let s = 7;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const lengthscale = 3;
  const x = sharedF64(n * d); // shape: [n, d], already divided by the lengthscale
  for (let i = 0; i < n * d; i++) x[i] = (next() * 100) / lengthscale;
  const K = new gp.operators.KernelLinearOperator(
    {
      name: "RBF",
      n,
      m: n,
      factors: [{ statistic: "sqdist", dims: d, x, y: x, profile: gp.reductions.profiles.rbfProfile, params: new Float64Array(0) }],
      terms: [{ coef: 2, factors: [0] }],
    },
    { symmetric: true },
  );
  const noise = new Float64Array(n).map((_, i) => 0.1 + 0.05 * Math.sin(i / 50_000));
  return K.add(new gp.operators.DiagLinearOperator(noise));
}

const median = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function main(): Promise<void> {
  const n = arg("n", 1_000_000);
  const d = 2;
  const repeats = arg("repeats", 5);
  const K = operator(n, d);

  const time = async () => {
    const t0 = performance.now();
    const bundle = await gp.display.bundle(K);
    return { seconds: (performance.now() - t0) / 1000, bundle };
  };
  const first = await time();
  const seconds: number[] = [];
  const summarySeconds: number[] = [];
  for (let r = 0; r < repeats; r++) {
    seconds.push((await time()).seconds);
    summarySeconds.push(summarizeOperator(K).seconds);
  }
  const spec = first.bundle["application/vnd.vegalite.v5+json"] as { usermeta: { gplab: { heatmap: { mode: string } } } };
  const info = gp.backend.info();
  console.log(
    JSON.stringify({
      bench: "display",
      n,
      d,
      repeats,
      medianSeconds: median(seconds),
      minSeconds: Math.min(...seconds),
      maxSeconds: Math.max(...seconds),
      firstSeconds: first.seconds,
      medianNumericSeconds: median(summarySeconds),
      heatmap: spec.usermeta.gplab.heatmap.mode,
      svgBytes: (first.bundle["image/svg+xml"] as string).length,
      vegaLiteBytes: JSON.stringify(first.bundle["application/vnd.vegalite.v5+json"]).length,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      backend: info.backend,
      executor: info.executor,
      threads: info.threads,
    }),
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
