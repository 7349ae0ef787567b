// GPyTorch's spectral mixture kernel. GPyTorch sums the mixtures inside each
// dimension and then multiplies the dimensions:
//   k(x, x') = prod_d sum_q w_q exp(-2 pi^2 tau_d^2 s_qd^2) cos(2 pi tau_d mu_qd),
// tau = x - x' (Wilson's paper has sum_q w_q prod_d instead; the two agree
// only for d = 1). That shape maps onto the formula IR as one term holding d
// one-column factors, each with the spectral-mixture profile of its dimension,
// so the kernel gets the diag path, gradients and executors like any other.

import { type Mat, mat } from "../algorithms/matrix";
import { type Constraint, Positive } from "../constraints/Interval";
import { ArgumentError, ShapeError } from "../errors";
import { Parameter } from "../module/Parameter";
import { globalRandom } from "../random";
import { spectralMixtureProfile } from "../reductions/profiles";
import { type TensorLike, toMat, toVector } from "../tensorLike";
import { Kernel, featureArray } from "./Kernel";
import { KernelFormula } from "./KernelFormula";

/** Options of a SpectralMixtureKernel (GPyTorch's names, camelCased). */
export interface SpectralMixtureOptions {
  /** Q, the number of mixture components (required, as in GPyTorch). */
  numMixtures: number;
  /** d: the input width; GPyTorch's default is 1, and the input must have exactly this many columns. */
  ardNumDims?: number;
  /** Input columns this kernel reads (default: all). */
  activeDims?: number[];
  /** `[b]`: b independent kernels in one module. */
  batchShape?: number[];
  /** Constraint of the mixture weights (default Positive). */
  mixtureWeightsConstraint?: Constraint;
  /** Constraint of the mixture means (default Positive). */
  mixtureMeansConstraint?: Constraint;
  /** Constraint of the mixture scales (default Positive). */
  mixtureScalesConstraint?: Constraint;
}

/**
 * Spectral mixture kernel (Wilson & Adams 2013) with GPyTorch's formula: a
 * product over dimensions of per-dimension mixtures. Parameters:
 * mixtureWeights [Q], mixtureMeans [Q, 1, d] (frequencies, cycles per unit),
 * mixtureScales [Q, 1, d] (frequency-domain standard deviations). Do not wrap
 * it in a ScaleKernel: the weights already set the amplitude.
 */
export class SpectralMixtureKernel extends Kernel {
  /** Q, the number of mixture components. */
  readonly numMixtures: number;
  /** shape: [Q] */
  readonly rawMixtureWeights: Parameter;
  /** shape: [Q, 1, d] */
  readonly rawMixtureMeans: Parameter;
  /** shape: [Q, 1, d] */
  readonly rawMixtureScales: Parameter;

  constructor(options: SpectralMixtureOptions) {
    if (!options || options.numMixtures === undefined) {
      throw new ArgumentError("SpectralMixtureKernel needs numMixtures, e.g. new SpectralMixtureKernel({ numMixtures: 4, ardNumDims: 1 })");
    }
    const Q = options.numMixtures;
    if (!Number.isInteger(Q) || Q < 1) throw new ArgumentError(`SpectralMixtureKernel: numMixtures must be a positive integer, got ${Q}`);
    super({ ardNumDims: options.ardNumDims ?? 1, activeDims: options.activeDims, batchShape: options.batchShape });
    this.numMixtures = Q;
    const d = this.ardNumDims as number;
    this.rawMixtureWeights = this.registerParameter("rawMixtureWeights", new Parameter([Q], options.mixtureWeightsConstraint ?? new Positive()));
    this.rawMixtureMeans = this.registerParameter("rawMixtureMeans", new Parameter([Q, 1, d], options.mixtureMeansConstraint ?? new Positive()));
    this.rawMixtureScales = this.registerParameter("rawMixtureScales", new Parameter([Q, 1, d], options.mixtureScalesConstraint ?? new Positive()));
  }

  /** Constrained weights. shape: [Q] */
  get mixtureWeights(): number[] {
    return Array.from(this.rawMixtureWeights.value());
  }
  /** Sets the constrained weights (a number broadcasts). */
  set mixtureWeights(v: number | number[]) {
    this.rawMixtureWeights.setValue(v);
  }
  /** Constrained means, row-major [Q, d] (GPyTorch's [Q, 1, d]). */
  get mixtureMeans(): number[] {
    return Array.from(this.rawMixtureMeans.value());
  }
  /** Sets the constrained means, [Q, d] values or nested (a number broadcasts). */
  set mixtureMeans(v: number | number[] | number[][] | number[][][]) {
    this.rawMixtureMeans.setValue(v as number[]);
  }
  /** Constrained scales, row-major [Q, d] (GPyTorch's [Q, 1, d]). */
  get mixtureScales(): number[] {
    return Array.from(this.rawMixtureScales.value());
  }
  /** Sets the constrained scales, [Q, d] values or nested (a number broadcasts). */
  set mixtureScales(v: number | number[] | number[][] | number[][][]) {
    this.rawMixtureScales.setValue(v as number[]);
  }

  /**
   * GPyTorch's initialize_from_data: for each mixture and dimension, the
   * scale is 1 / |N(0, 1) * (max - min of x_d)|, the mean is
   * U(0, 1) * 0.5 / (smallest nonzero gap between sorted x_d), and every
   * weight is std(y) / Q (unbiased std). Draws from gp.setSeed's generator.
   * shapes: x [n, d] (or [n] for d = 1), y [n]
   */
  initializeFromData(x: TensorLike, y: TensorLike): this {
    const raw = toMat(x, "x");
    const xs = this.activeDims ? selectColumns(raw, this.activeDims) : raw;
    const d = this.ardNumDims as number;
    if (xs.cols !== d) throw new ShapeError(`SpectralMixtureKernel.initializeFromData: x has ${xs.cols} columns (after activeDims) but ardNumDims is ${d}`);
    const yv = toVector(y, "y");
    if (yv.length !== xs.rows) throw new ShapeError(`SpectralMixtureKernel.initializeFromData: x has ${xs.rows} rows but y has ${yv.length} values`);
    if (xs.rows < 2) throw new ArgumentError("SpectralMixtureKernel.initializeFromData needs at least 2 points");
    const maxDist = new Float64Array(d);
    const minDist = new Float64Array(d);
    for (let k = 0; k < d; k++) {
      const col = Float64Array.from({ length: xs.rows }, (_, i) => xs.data[i * d + k]).sort();
      maxDist[k] = col[col.length - 1] - col[0];
      let min = Infinity;
      for (let i = 1; i < col.length; i++) {
        const gap = col[i] - col[i - 1];
        if (gap > 0 && gap < min) min = gap;
      }
      // GPyTorch replaces zero gaps by 1e10; all-equal inputs leave 1e10.
      minDist[k] = Number.isFinite(min) ? min : 1e10;
    }
    const Q = this.numMixtures;
    const batch = this.batchShape.length ? this.batchShape[0] : 1;
    const scales = new Float64Array(batch * Q * d);
    const means = new Float64Array(batch * Q * d);
    for (let i = 0; i < scales.length; i++) scales[i] = 1 / Math.abs(globalRandom.normal() * maxDist[i % d]);
    for (let i = 0; i < means.length; i++) means[i] = (globalRandom.uniform() * 0.5) / minDist[i % d];
    this.rawMixtureScales.setValue(scales);
    this.rawMixtureMeans.setValue(means);
    this.rawMixtureWeights.setValue(sampleStd(yv) / Q);
    return this;
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    const d = this.ardNumDims as number;
    if (x1.cols !== d) {
      throw new ShapeError(`SpectralMixtureKernel expects inputs with ${d} columns (ardNumDims = ${d}), got ${x1.cols}; set ardNumDims to the input width`);
    }
    const Q = this.numMixtures;
    const profile = spectralMixtureProfile(Q);
    const w = this.rawMixtureWeights.value();
    const mu = this.rawMixtureMeans.value();
    const sc = this.rawMixtureScales.value();
    const factors = Array.from({ length: d }, (_, k) => {
      const params = new Float64Array(3 * Q);
      for (let q = 0; q < Q; q++) {
        params[q] = w[q];
        params[Q + q] = 2 * Math.PI * Math.PI * sc[q * d + k] * sc[q * d + k];
        params[2 * Q + q] = 2 * Math.PI * mu[q * d + k];
      }
      const x = columnFeatures(x1, k);
      const factor = { statistic: "sqdist" as const, dims: 1, x, y: x1 === x2 ? x : columnFeatures(x2, k), profile, params };
      // Chain rule from the profile's params to the constrained values:
      // a = 2 pi^2 s^2 gives da/ds = 4 pi^2 s; b = 2 pi mu gives db/dmu = 2 pi.
      return KernelFormula.of(x1.rows, x2.rows, factor, (acc, slots) => {
        for (let q = 0; q < Q; q++) {
          this.rawMixtureWeights.addValueGrad(q, acc[slots.params + q]);
          this.rawMixtureScales.addValueGrad(q * d + k, acc[slots.params + Q + q] * 4 * Math.PI * Math.PI * sc[q * d + k]);
          this.rawMixtureMeans.addValueGrad(q * d + k, acc[slots.params + 2 * Q + q] * 2 * Math.PI);
        }
      });
    });
    return factors.reduce((acc, f) => acc.product(f));
  }
}

/** Column k of x as one-column features. shape: [n] */
function columnFeatures(x: Mat, k: number): Float64Array {
  const out = featureArray(x.rows);
  for (let i = 0; i < x.rows; i++) out[i] = x.data[i * x.cols + k];
  return out;
}

function selectColumns(x: Mat, dims: number[]): Mat {
  const out = mat(x.rows, dims.length);
  for (let i = 0; i < x.rows; i++) dims.forEach((k, c) => (out.data[i * dims.length + c] = x.data[i * x.cols + k]));
  return out;
}

/** Unbiased standard deviation (torch's Tensor.std default). */
function sampleStd(y: Float64Array): number {
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const ss = y.reduce((a, b) => a + (b - mean) ** 2, 0);
  return Math.sqrt(ss / (y.length - 1));
}
