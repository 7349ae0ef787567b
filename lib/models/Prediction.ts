// The posterior at test inputs: mean and variance of f (or of y with
// `noise`), 2-sigma bounds, and a picture for notebooks.

import type * as tf from "@tensorflow/tfjs-core";
import type { Mat } from "../algorithms/matrix";
import type { PredictionDisplayData } from "../displayData";
import { JUPYTER_DISPLAY, type MimeBundle, renderBundle } from "../displayHooks";
import { vectorToTensor } from "../tensorLike";

/** A posterior at test points: mean and variance of f (or of y with `noise: true`), as `model.predict` returns. */
export class Prediction {
  constructor(
    /** Test inputs. shape: [t, d] */
    readonly x: Mat,
    /** shape: [t] */
    readonly meanF64: Float64Array,
    /** shape: [t] */
    readonly varianceF64: Float64Array,
    /** Whether the variance includes observation noise (y rather than f). */
    readonly noise: boolean,
    /** The training data, drawn beside the prediction (x shape: [n, d], y shape: [n]). */
    readonly train?: {
      /** Training inputs. shape: [n, d] */
      x: Mat;
      /** Training targets. shape: [n] */
      y: Float64Array;
    },
  ) {}

  /** Posterior mean. shape: [t] */
  get mean(): tf.Tensor1D {
    return vectorToTensor(this.meanF64);
  }
  /** Posterior variance. shape: [t] */
  get variance(): tf.Tensor1D {
    return vectorToTensor(this.varianceF64);
  }
  /** Standard deviation in f64. shape: [t] */
  stddevF64(): Float64Array {
    return this.varianceF64.map((v) => Math.sqrt(Math.max(v, 0)));
  }
  /** Standard deviation. shape: [t] */
  get stddev(): tf.Tensor1D {
    return vectorToTensor(this.stddevF64());
  }
  /** mean - 2 sd */
  get lower(): tf.Tensor1D {
    const sd = this.stddevF64();
    return vectorToTensor(this.meanF64.map((m, i) => m - 2 * sd[i]));
  }
  /** mean + 2 sd */
  get upper(): tf.Tensor1D {
    const sd = this.stddevF64();
    return vectorToTensor(this.meanF64.map((m, i) => m + 2 * sd[i]));
  }
  /** mean ∓ 2σ (GPyTorch's confidence_region). shapes: [t], [t] */
  confidenceRegion(): [tf.Tensor1D, tf.Tensor1D] {
    return [this.lower, this.upper];
  }

  /**
   * The record gp.display draws.
   * @internal
   */
  displayData(): PredictionDisplayData {
    const rows = (m: Mat) => Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
    return {
      kind: "prediction",
      inputDims: this.x.cols,
      x: rows(this.x),
      mean: Array.from(this.meanF64, (v) => [v]),
      variance: Array.from(this.varianceF64, (v) => [v]),
      noise: this.noise,
      train: this.train ? { x: rows(this.train.x), y: Array.from(this.train.y, (v) => [v]) } : undefined,
    };
  }

  /** One line: what was predicted and at how many points. */
  toString(): string {
    const t = this.meanF64.length;
    const show = Math.min(t, 5);
    const lines = Array.from({ length: show }, (_, i) => `  ${this.meanF64[i].toPrecision(5)} +/- ${(2 * Math.sqrt(Math.max(this.varianceF64[i], 0))).toPrecision(3)}`);
    return [`Prediction of ${this.noise ? "y" : "f"} at ${t} points (mean +/- 2 sd):`, ...lines, ...(t > show ? ["  ..."] : [])].join("\n");
  }

  /** The notebook display: mean with a ±2σ band (1-D) or predicted vs observed. */
  [JUPYTER_DISPLAY](): MimeBundle | Promise<MimeBundle> {
    return renderBundle("prediction", this.displayData(), () => this.toString());
  }
}
