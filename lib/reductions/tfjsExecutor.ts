// The tfjs tiled executor: the same formulas as TensorFlow.js ops on row
// tiles, so they run on whatever backend tfjs has (CUDA through
// tfjs-node-gpu, WebGPU, wasm, cpu). Float32. Memory per tile is bounded by a
// byte budget; N x M is never allocated. Derivatives come from tf.grads on
// each tile, with per-dimension scale variables fixed at 1 so the gradient
// equals the fused executor's accumulators.

import * as tf from "@tensorflow/tfjs-core";
import { type Factor, type Formula, gradientLayout } from "./formula";
import { checkInterrupt } from "./interrupt";

export interface TfjsOptions {
  /** Bytes one tile's temporaries may take (default 64 MiB). */
  tileBytes?: number;
  where?: string;
}

const DEFAULT_TILE_BYTES = 64 * 2 ** 20;

/**
 * Squared distances of up to this many dims are taken from differences, not
 * from |u|^2 + |v|^2 - 2 u.v: in float32 the expansion leaves ~1e-7 |u|^2 of
 * noise at r = 0, which sqrt-based profiles (Matern 1/2) turn into ~3e-4.
 */
const DIRECT_SQDIST_MAX_DIMS = 8;

/** tfjs takes Float32Array; the formula holds f64. */
const f32 = (a: Float64Array): Float32Array => Float32Array.from(a);

interface FactorTensors {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
  params: tf.Scalar[];
}

/** Tile rows such that the widest temporary ([rows, m, dims] for sinsq) fits the budget. */
function tileRowsFor(formula: Formula, columns: number, tileBytes: number): number {
  const widest = Math.max(
    1,
    ...formula.factors.map((f) => (f.statistic === "sinsq" || (f.statistic === "sqdist" && f.dims <= DIRECT_SQDIST_MAX_DIMS) ? f.dims : 1)),
  );
  const perRow = columns * 4 * (widest + 4);
  return Math.max(1, Math.min(formula.n, Math.floor(tileBytes / perRow)));
}

function factorInputs(f: Factor, n: number, m: number): FactorTensors {
  return {
    x: tf.tensor2d(f32(f.x), [n, f.dims]),
    y: tf.tensor2d(f32(f.y), [m, f.dims]),
    params: Array.from(f.params, (p) => tf.scalar(p)),
  };
}

/** Differentiable pieces a factor value depends on (only the bilinear path varies them). */
interface FactorVars {
  scale?: tf.Tensor1D;
  weights: tf.Tensor1D | null;
  params: tf.Scalar[];
  table: tf.Tensor1D | null;
}

/**
 * k_f on a tile. `paired` evaluates x[p] with y[p] (entries); otherwise all
 * rows of xs with all rows of ys. shape: [r, m] or [p].
 */
function factorValue(f: Factor, xs: tf.Tensor2D, ys: tf.Tensor2D, paired: boolean, vars: FactorVars): tf.Tensor {
  let s: tf.Tensor;
  if (f.statistic === "table") {
    // An int32 scalar: a plain number would promote the indices to float32.
    const size = tf.scalar(f.tableSize as number, "int32");
    const xi = tf.cast(tf.reshape(xs, [-1]), "int32");
    const yi = tf.cast(tf.reshape(ys, [-1]), "int32");
    const idx = paired ? tf.add(tf.mul(xi, size), yi) : tf.add(tf.mul(tf.expandDims(xi, 1), size), tf.expandDims(yi, 0));
    s = tf.gather(vars.table as tf.Tensor1D, idx);
  } else {
    const u = vars.scale ? tf.mul(xs, vars.scale) : xs;
    const v = vars.scale ? tf.mul(ys, vars.scale) : ys;
    if (f.statistic === "dot") {
      s = paired ? tf.sum(tf.mul(u, v), 1) : tf.matMul(u, v, false, true);
    } else if (f.statistic === "sqdist") {
      if (paired) s = tf.sum(tf.square(tf.sub(u, v)), 1);
      else if (f.dims <= DIRECT_SQDIST_MAX_DIMS) s = tf.sum(tf.square(tf.sub(tf.expandDims(u, 1), tf.expandDims(v, 0))), -1);
      else {
        const uu = tf.sum(tf.square(u), 1, true);
        const vv = tf.reshape(tf.sum(tf.square(v), 1), [1, -1]);
        s = tf.relu(tf.sub(tf.add(uu, vv), tf.mul(tf.matMul(u, v, false, true), 2)));
      }
    } else {
      const diff = paired ? tf.sub(u, v) : tf.sub(tf.expandDims(u, 1), tf.expandDims(v, 0));
      s = tf.sum(tf.mul(tf.square(tf.sin(diff)), vars.weights as tf.Tensor1D), -1);
    }
  }
  return f.profile.tf(tf, s, vars.params);
}

function formulaValue(
  formula: Formula,
  xs: tf.Tensor2D[],
  ys: tf.Tensor2D[],
  paired: boolean,
  coefs: tf.Tensor1D,
  vars: FactorVars[],
): tf.Tensor {
  const values = formula.factors.map((f, fi) => factorValue(f, xs[fi], ys[fi], paired, vars[fi]));
  let total: tf.Tensor | null = null;
  formula.terms.forEach((t, ti) => {
    let prod: tf.Tensor = tf.reshape(tf.slice(coefs, [ti], [1]), []);
    for (const fi of t.factors) prod = tf.mul(prod, values[fi]);
    total = total ? tf.add(total, prod) : prod;
  });
  return total ?? tf.zeros(paired ? [xs[0].shape[0]] : [xs[0].shape[0], ys[0].shape[0]]);
}

function constantVars(formula: Formula, inputs: FactorTensors[]): { coefs: tf.Tensor1D; vars: FactorVars[] } {
  return {
    coefs: tf.tensor1d(formula.terms.map((t) => t.coef)),
    vars: formula.factors.map((f, fi) => ({
      params: inputs[fi].params,
      weights: f.weights ? tf.tensor1d(f32(f.weights)) : null,
      table: f.table ? tf.tensor1d(f32(f.table)) : null,
    })),
  };
}

/** OUT = K @ V. V shape: [m, T] (row-major f64); returns [n, T] f64. */
export function tfjsMatmul(formula: Formula, V: Float64Array, T: number, options: TfjsOptions = {}): Float64Array {
  const where = options.where ?? `matmul of ${formula.name}`;
  const out = new Float64Array(formula.n * T);
  const rows = tileRowsFor(formula, formula.m, options.tileBytes ?? DEFAULT_TILE_BYTES);
  tf.tidy(() => {
    const inputs = formula.factors.map((f) => factorInputs(f, formula.n, formula.m));
    const { coefs, vars } = constantVars(formula, inputs);
    const v = tf.tensor2d(f32(V), [formula.m, T]);
    for (let r0 = 0; r0 < formula.n; r0 += rows) {
      checkInterrupt(where);
      const r = Math.min(rows, formula.n - r0);
      const tile = tf.tidy(() => {
        const xs = inputs.map((t) => tf.slice(t.x, [r0, 0], [r, -1]) as tf.Tensor2D);
        const k = formulaValue(formula, xs, inputs.map((t) => t.y), false, coefs, vars) as tf.Tensor2D;
        return tf.matMul(k, v);
      });
      out.set(tile.dataSync(), r0 * T);
      tile.dispose();
    }
  });
  return out;
}

/** OUT[a, j] = k(x_rows[a], y_j). shape: [rows.length, m] */
export function tfjsBlock(formula: Formula, rowIdx: Int32Array, options: TfjsOptions = {}): Float64Array {
  const out = new Float64Array(rowIdx.length * formula.m);
  const rows = tileRowsFor(formula, formula.m, options.tileBytes ?? DEFAULT_TILE_BYTES);
  tf.tidy(() => {
    const inputs = formula.factors.map((f) => factorInputs(f, formula.n, formula.m));
    const { coefs, vars } = constantVars(formula, inputs);
    for (let a0 = 0; a0 < rowIdx.length; a0 += rows) {
      checkInterrupt(options.where ?? `rows of ${formula.name}`);
      const idx = tf.tensor1d(rowIdx.subarray(a0, Math.min(rowIdx.length, a0 + rows)), "int32");
      const tile = tf.tidy(() => {
        const xs = inputs.map((t) => tf.gather(t.x, idx) as tf.Tensor2D);
        return formulaValue(formula, xs, inputs.map((t) => t.y), false, coefs, vars);
      });
      out.set(tile.dataSync(), a0 * formula.m);
      tile.dispose();
      idx.dispose();
    }
  });
  return out;
}

/** OUT[p] = k(x_{RI[p]}, y_{CI[p]}). */
export function tfjsEntries(formula: Formula, rowIdx: Int32Array, colIdx: Int32Array): Float64Array {
  let out = new Float64Array(0);
  tf.tidy(() => {
    const inputs = formula.factors.map((f) => factorInputs(f, formula.n, formula.m));
    const { coefs, vars } = constantVars(formula, inputs);
    const ri = tf.tensor1d(rowIdx, "int32");
    const ci = tf.tensor1d(colIdx, "int32");
    const xs = inputs.map((t) => tf.gather(t.x, ri) as tf.Tensor2D);
    const ys = inputs.map((t) => tf.gather(t.y, ci) as tf.Tensor2D);
    out = Float64Array.from(formulaValue(formula, xs, ys, true, coefs, vars).dataSync());
  });
  return out;
}

/**
 * Derivative accumulators (same layout as the fused executor) of
 * sum_ij M_ij k_ij, with M given densely [n, m] or as U W^T (U [n, T], W [m, T]).
 */
export function tfjsBilinear(
  formula: Formula,
  weights: { kind: "dense"; M: Float64Array } | { kind: "lowRank"; U: Float64Array; W: Float64Array; T: number },
  options: TfjsOptions = {},
): Float64Array {
  const layout = gradientLayout(formula);
  const acc = new Float64Array(layout.size);
  const rows = tileRowsFor(formula, formula.m, options.tileBytes ?? DEFAULT_TILE_BYTES);
  tf.tidy(() => {
    const inputs = formula.factors.map((f) => factorInputs(f, formula.n, formula.m));
    // The differentiable variables, flattened for tf.grads, with a map back to slots.
    const coefs = tf.tensor1d(formula.terms.map((t) => t.coef));
    const flat: tf.Tensor[] = [coefs];
    const slotOf: { kind: string; fi: number; q?: number }[] = [{ kind: "coefs", fi: -1 }];
    formula.factors.forEach((f, fi) => {
      if (f.statistic === "sqdist" || f.statistic === "sinsq") {
        flat.push(tf.ones([f.dims]));
        slotOf.push({ kind: "scale", fi });
      }
      if (f.statistic === "sinsq") {
        flat.push(tf.tensor1d(f32(f.weights as Float64Array)));
        slotOf.push({ kind: "weights", fi });
      }
      inputs[fi].params.forEach((p, q) => {
        flat.push(p);
        slotOf.push({ kind: "param", fi, q });
      });
      if (f.statistic === "table") {
        flat.push(tf.tensor1d(f32(f.table as Float64Array)));
        slotOf.push({ kind: "table", fi });
      }
    });
    const M = weights.kind === "dense" ? tf.tensor2d(f32(weights.M), [formula.n, formula.m]) : null;
    const U = weights.kind === "lowRank" ? tf.tensor2d(f32(weights.U), [formula.n, weights.T]) : null;
    const W = weights.kind === "lowRank" ? tf.tensor2d(f32(weights.W), [formula.m, weights.T]) : null;
    for (let r0 = 0; r0 < formula.n; r0 += rows) {
      checkInterrupt(options.where ?? `derivative of ${formula.name}`);
      const r = Math.min(rows, formula.n - r0);
      const grads = tf.tidy(() => {
        const xs = inputs.map((t) => tf.slice(t.x, [r0, 0], [r, -1]) as tf.Tensor2D);
        const mTile = M ? tf.slice(M, [r0, 0], [r, -1]) : tf.matMul(tf.slice(U as tf.Tensor2D, [r0, 0], [r, -1]), W as tf.Tensor2D, false, true);
        const f = (...args: tf.Tensor[]): tf.Tensor => {
          const vars: FactorVars[] = formula.factors.map(() => ({ params: [], weights: null, table: null }));
          args.slice(1).forEach((a, k) => {
            const s = slotOf[k + 1];
            if (s.kind === "scale") vars[s.fi].scale = a as tf.Tensor1D;
            else if (s.kind === "weights") vars[s.fi].weights = a as tf.Tensor1D;
            else if (s.kind === "param") vars[s.fi].params[s.q as number] = a as tf.Scalar;
            else vars[s.fi].table = a as tf.Tensor1D;
          });
          return tf.sum(tf.mul(mTile, formulaValue(formula, xs, inputs.map((t) => t.y), false, args[0] as tf.Tensor1D, vars)));
        };
        return tf.grads(f)(flat);
      });
      grads.forEach((g, k) => {
        const values = g.dataSync();
        const s = slotOf[k];
        const slots = s.fi >= 0 ? layout.factorSlots[s.fi] : null;
        if (s.kind === "coefs") values.forEach((v, t) => (acc[layout.termOffset[t]] += v));
        else if (s.kind === "scale") {
          // d/da_k of sum (a_k du_k)^2 at a = 1 is 2 du_k^2: halve to match the fused slot.
          const factor = formula.factors[s.fi].statistic === "sqdist" ? 0.5 : 1;
          values.forEach((v, k2) => (acc[(slots as { perDim: number }).perDim + k2] += factor * v));
        } else if (s.kind === "weights") values.forEach((v, k2) => (acc[(slots as { perDimWeight: number }).perDimWeight + k2] += v));
        else if (s.kind === "param") acc[(slots as { params: number }).params + (s.q as number)] += values[0];
        else values.forEach((v, k2) => (acc[(slots as { table: number }).table + k2] += v));
        g.dispose();
      });
    }
  });
  return acc;
}
