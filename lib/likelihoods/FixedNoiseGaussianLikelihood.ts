import type { Mat } from "../algorithms/matrix";
import { ArgumentError, ShapeError } from "../errors";
import { type TensorLike, toVector } from "../tensorLike";
import { GaussianLikelihoodBase } from "./Likelihood";

/** Options of FixedNoiseGaussianLikelihood. */
export interface FixedNoiseOptions {
  /** Known noise variance of each training target. shape: [n] */
  noise: TensorLike;
}

/**
 * y_i = f_i + eps_i with known, fixed variances (nothing to learn). For
 * predictions of y, pass the test points' noise ({ noise: [...] }); without
 * it the mean training noise is used.
 */
export class FixedNoiseGaussianLikelihood extends GaussianLikelihoodBase {
  /** The known noise variance of each training point. shape: [n] */
  readonly noise: Float64Array;

  constructor(options: FixedNoiseOptions) {
    super();
    if (!options || options.noise === undefined) throw new ArgumentError("FixedNoiseGaussianLikelihood needs { noise }: the variance of each training target");
    this.noise = toVector(options.noise, "noise");
    if (!this.noise.every((v) => v >= 0)) throw new ArgumentError("FixedNoiseGaussianLikelihood: noise variances must be >= 0");
  }

  noiseF64(n: number, _x?: Mat, options: { test?: boolean; noise?: ArrayLike<number> } = {}): Float64Array {
    if (options.noise) {
      if (options.noise.length !== n) throw new ShapeError(`noise has ${options.noise.length} values for ${n} points`);
      return Float64Array.from(options.noise);
    }
    if (options.test) {
      const mean = this.noise.reduce((a, b) => a + b, 0) / this.noise.length;
      return new Float64Array(n).fill(mean);
    }
    if (n !== this.noise.length) throw new ShapeError(`FixedNoiseGaussianLikelihood has ${this.noise.length} noise values but there are ${n} training points`);
    return this.noise;
  }

  backwardNoise(): void {}
}
