// The pairwise formula k(x_i, y_j; theta) that the reduction engine evaluates.
//
// A formula is a sum of products of factors: k = sum_t c_t * prod_{f in t} k_f.
// Each factor reads pre-transformed features (e.g. x / lengthscale), reduces
// them over dimensions to one statistic s (squared distance, dot product,
// weighted sum of sin^2, or a table lookup) and maps s through a profile
// (exp(-s/2) for RBF, the Matern polynomials, ...). Kernels build formulas;
// both executors (fused CPU code generation and tfjs tiles) read the same one,
// and so does the derivative reduction.

import type * as tf from "@tensorflow/tfjs-core";
import { ShapeError } from "../errors";

/** What a factor reduces each pair's features to: squared distance, dot product, weighted Σ sin², or a table lookup. */
export type Statistic = "sqdist" | "dot" | "sinsq" | "table";

/** Names of JS locals a profile's code may use: the statistic and its params. */
export interface ProfileVars {
  /** The statistic s of this pair. */
  s: string;
  /** One local per profile parameter. */
  p: string[];
  /** A unique prefix for temporaries the prelude declares. */
  tmp: string;
}

/** A scalar function of the statistic, with its derivatives, in JS source and tfjs ops. */
export interface Profile {
  /** Identifies the profile in generated code and reports (e.g. "rbf"). */
  readonly name: string;
  /** Number of scalar parameters the profile takes (`Factor.params`). */
  readonly numParams: number;
  /** Statements declaring temporaries (may be ""). */
  prelude(v: ProfileVars): string;
  /** Expression for k(s). */
  value(v: ProfileVars): string;
  /** Expression for dk/ds (finite at s = 0 where the product with ds/dtheta is 0). */
  dValue(v: ProfileVars): string;
  /** Expressions for dk/dp_q, one per parameter. */
  dParams(v: ProfileVars): string[];
  /** The same k(s) on tensors, for the tfjs executor (differentiable). */
  tf(tfjs: typeof tf, s: tf.Tensor, params: tf.Scalar[]): tf.Tensor;
}

/** One factor k_f(x_i, y_j) = profile(statistic(x_i, y_j)) of a formula. */
export interface Factor {
  /** How the pair's features reduce to the statistic s. */
  readonly statistic: Statistic;
  /** Feature width; for "table" it is 1 (the integer index). */
  readonly dims: number;
  /** shape: [n, dims] row-major, pre-transformed row features. */
  readonly x: Float64Array;
  /** shape: [m, dims] row-major, pre-transformed column features. */
  readonly y: Float64Array;
  /** shape: [dims]; per-dimension weights of a "sinsq" statistic. */
  readonly weights?: Float64Array;
  /** shape: [tableSize, tableSize]; the lookup table of a "table" factor. */
  readonly table?: Float64Array;
  /** Side of the lookup table of a "table" factor. */
  readonly tableSize?: number;
  /** The function of s, with its derivatives. */
  readonly profile: Profile;
  /** shape: [profile.numParams] */
  readonly params: Float64Array;
  /**
   * sqdist only, optional: the features are one scalar times shared source
   * inputs, x = scale * source.x and y = scale * source.y (a stationary
   * kernel over one lengthscale, scale = 1 / l). Factors with the same
   * source arrays (the same objects) then have proportional squared
   * distances, s_f = (scale_f / scale_g)^2 s_g, and an executor may compute
   * one of them and scale it (see `proportionalDistances`).
   */
  readonly scaledFrom?: ScaledSource;
}

/** Source inputs of a sqdist factor's features: x = scale * x_source, y = scale * y_source. */
export interface ScaledSource {
  /** shape: [n, dims] row-major, the unscaled row inputs. */
  readonly x: Float64Array;
  /** shape: [m, dims] row-major, the unscaled column inputs. */
  readonly y: Float64Array;
  /** The scalar the features are these inputs times (1 / lengthscale). */
  readonly scale: number;
}

/** One term coef · Π factors of a formula. */
export interface Term {
  /** Its coefficient (parameter values already multiplied in). */
  readonly coef: number;
  /** Indices into Formula.factors; a factor appears at most once per term. */
  readonly factors: readonly number[];
}

/** A kernel as the reduction engine sees it: k(x_i, y_j) = Σ_terms coef · Π_factors k_f. */
export interface Formula {
  /** Short label for reports, e.g. "RBF" or "Scale(RBF)*Periodic". */
  readonly name: string;
  /** Rows (x) and columns (y). */
  readonly n: number;
  /** Columns (points of y). */
  readonly m: number;
  /** The factors terms refer to by index. */
  readonly factors: readonly Factor[];
  /** The terms, summed. */
  readonly terms: readonly Term[];
}

/** Layout of the derivative accumulators a bilinear reduction returns. */
export interface GradientLayout {
  /** Total accumulator length. */
  size: number;
  /** Offset of term t's sum_ij M_ij prod_f k_f (derivative w.r.t. its coef). */
  termOffset: number[];
  /** Per factor: offsets of its slots (-1 where the factor has none). */
  factorSlots: {
    /** sqdist: sum M * g * dk/ds * du_k^2; sinsq: sum M g dk/ds w_k sin(2 du_k) du_k. [dims] */
    perDim: number;
    /** sinsq only: sum M g dk/ds sin^2(du_k). [dims] */
    perDimWeight: number;
    /** sum M g dk/dp_q. [numParams] */
    params: number;
    /** table only: sum M g over pairs with (idx_i, idx_j) = (a, b). [tableSize^2] */
    table: number;
  }[];
}

export function gradientLayout(formula: Formula): GradientLayout {
  let size = 0;
  const termOffset = formula.terms.map(() => size++);
  const factorSlots = formula.factors.map((f) => {
    const slots = { perDim: -1, perDimWeight: -1, params: -1, table: -1 };
    if (f.statistic === "sqdist" || f.statistic === "sinsq") {
      slots.perDim = size;
      size += f.dims;
    }
    if (f.statistic === "sinsq") {
      slots.perDimWeight = size;
      size += f.dims;
    }
    if (f.profile.numParams > 0) {
      slots.params = size;
      size += f.profile.numParams;
    }
    if (f.statistic === "table") {
      slots.table = size;
      size += (f.tableSize ?? 0) ** 2;
    }
    return slots;
  });
  return { size, termOffset, factorSlots };
}

/**
 * Columns of the row-feature gradient a fused dense bilinear pass returns
 * (`pairwiseBilinearRowGradient`): for row i, d/du_f of sum_j M_ij k(x_i, y_j)
 * with u_f factor f's row features x_f[i]. `offset[f]` is where factor f's
 * dims columns start; -1 for table factors (no gradient) and for a factor
 * whose squared distance follows a leader (`proportionalDistances`): its
 * s_f = ratio^2 s_leader is differentiated through the leader's features,
 * so its part is in the leader's columns.
 */
export function rowGradientLayout(formula: Formula): { width: number; offset: number[] } {
  const { leader } = proportionalDistances(formula);
  let width = 0;
  const offset = formula.factors.map((f, fi) => {
    if (f.statistic === "table" || leader[fi] >= 0) return -1;
    const at = width;
    width += f.dims;
    return at;
  });
  return { width, offset };
}

/**
 * Whether k(x_i, x_i) is one value for every i of a formula on (x, x):
 * every factor reads a distance (sqdist, sinsq), exactly 0 on a pair of
 * equal features (the stationary kernels, their sums and products).
 */
export function diagonalIsConstant(formula: Formula): boolean {
  return formula.factors.every((f) => f.statistic === "sqdist" || f.statistic === "sinsq");
}

/**
 * diagonalIsConstant, and every factor's row and column features are the
 * same finite numbers (so each diagonal pair's statistic is exactly 0, not NaN):
 * the diagonal is then its first entry n times.
 */
export function diagonalIsFirstEntry(formula: Formula): boolean {
  if (formula.n !== formula.m || !diagonalIsConstant(formula)) return false;
  return formula.factors.every((f) => {
    if (f.x.length !== f.y.length) return false;
    for (let k = 0; k < f.x.length; k++) if (f.x[k] !== f.y[k] || !Number.isFinite(f.x[k])) return false;
    return true;
  });
}

/** Checks that every factor's arrays agree with the formula's n, m. */
export function validateFormula(formula: Formula): void {
  const { n, m } = formula;
  formula.factors.forEach((f, i) => {
    if (f.x.length !== n * f.dims || f.y.length !== m * f.dims) {
      throw new ShapeError(
        `formula ${formula.name}: factor ${i} has ${f.x.length / f.dims} x-rows and ${f.y.length / f.dims} y-rows, expected ${n} and ${m}`,
      );
    }
    if (f.params.length !== f.profile.numParams) {
      throw new ShapeError(`formula ${formula.name}: profile ${f.profile.name} takes ${f.profile.numParams} params, got ${f.params.length}`);
    }
    if (f.statistic === "sinsq" && f.weights?.length !== f.dims) {
      throw new ShapeError(`formula ${formula.name}: sinsq factor ${i} needs ${f.dims} weights`);
    }
    if (f.statistic === "table" && (!f.table || !f.tableSize || f.table.length !== f.tableSize ** 2)) {
      throw new ShapeError(`formula ${formula.name}: table factor ${i} needs a square table`);
    }
    const src = f.scaledFrom;
    if (src && (f.statistic !== "sqdist" || src.x.length !== n * f.dims || src.y.length !== m * f.dims || !(Number.isFinite(src.scale) && src.scale !== 0))) {
      throw new ShapeError(`formula ${formula.name}: factor ${i}'s scaledFrom needs a sqdist factor, [${n}, ${f.dims}] and [${m}, ${f.dims}] sources and a finite nonzero scale`);
    }
    // A spot check that the features are what scaledFrom says (first and last rows): code that
    // derives a formula with other features must drop or update scaledFrom.
    if (src && !(scaledRowsAgree(f.x, src.x, src.scale, f.dims) && scaledRowsAgree(f.y, src.y, src.scale, f.dims))) {
      throw new ShapeError(`formula ${formula.name}: factor ${i}'s features are not scaledFrom.scale times its source inputs; drop scaledFrom where features change`);
    }
  });
  formula.terms.forEach((t) => {
    for (const fi of t.factors) {
      if (fi < 0 || fi >= formula.factors.length) throw new ShapeError(`formula ${formula.name}: term refers to factor ${fi}`);
    }
  });
}

/**
 * Squared distances one factor can take from another: `leader[f]` is the
 * first earlier sqdist factor with the same `scaledFrom` source arrays
 * (and width), -1 where there is none, and `ratio2[f]` = (scale_f /
 * scale_leader)^2, so s_f = ratio2[f] * s_leader (1 where leader is -1).
 */
export function proportionalDistances(formula: Formula): { leader: number[]; ratio2: number[] } {
  const leader = formula.factors.map(() => -1);
  const ratio2 = formula.factors.map(() => 1);
  formula.factors.forEach((f, fi) => {
    const src = f.scaledFrom;
    if (f.statistic !== "sqdist" || !src) return;
    const g = formula.factors.findIndex((o, gi) => gi < fi && leader[gi] < 0 && o.statistic === "sqdist" && o.dims === f.dims && o.scaledFrom?.x === src.x && o.scaledFrom?.y === src.y);
    if (g < 0) return;
    leader[fi] = g;
    ratio2[fi] = (src.scale / (formula.factors[g].scaledFrom as ScaledSource).scale) ** 2;
  });
  return { leader, ratio2 };
}

/** Whether the first and last rows of `features` are `scale` times those of `source` (to rounding). */
function scaledRowsAgree(features: Float64Array, source: Float64Array, scale: number, dims: number): boolean {
  const rows = features.length / dims;
  for (const r of rows > 0 ? [0, rows - 1] : []) {
    for (let k = r * dims; k < (r + 1) * dims; k++) {
      const want = scale * source[k];
      // (NaN inputs pass: they are the user's, and give NaN either way.)
      if (Math.abs(features[k] - want) > 1e-13 * Math.abs(want)) return false;
    }
  }
  return true;
}

/** Structural key: formulas with equal keys share generated code. */
export function structureKey(formula: Formula): string {
  const factors = formula.factors.map((f) => `${f.statistic}:${f.dims}:${f.profile.name}:${f.tableSize ?? 0}`).join(",");
  const terms = formula.terms.map((t) => t.factors.join("*")).join("+");
  const { leader } = proportionalDistances(formula);
  return `${factors}|${terms}${leader.some((g) => g >= 0) ? `|s=${leader.join(",")}` : ""}`;
}

/**
 * All numeric parameters of a formula packed into one array, in the order the
 * generated code reads them: term coefficients, then each factor's profile
 * params, then sinsq weights, then the distance ratios^2 of the factors that
 * have a leader in `proportionalDistances`.
 */
export function packParams(formula: Formula): Float64Array {
  const values: number[] = formula.terms.map((t) => t.coef);
  for (const f of formula.factors) values.push(...f.params);
  for (const f of formula.factors) if (f.statistic === "sinsq") values.push(...(f.weights as Float64Array));
  const { leader, ratio2 } = proportionalDistances(formula);
  leader.forEach((g, fi) => g >= 0 && values.push(ratio2[fi]));
  return Float64Array.from(values);
}
