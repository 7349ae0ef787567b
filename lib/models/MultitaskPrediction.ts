// Predictions of T tasks at n test inputs: mean and variance [n, T] (of f, or
// of y with observation noise), 2-sigma bounds, and the display data the
// prediction renderer draws one panel per task from.

import type * as tf from "@tensorflow/tfjs-core";
import { type Mat, mat } from "../algorithms/matrix";
import type { PredictionDisplayData } from "../displayData";
import { JUPYTER_DISPLAY, type MimeBundle, renderBundle } from "../displayHooks";
import { matToTensor } from "../tensorLike";

/** A multitask posterior: mean and variance per point and task, as multitask models' `predict` returns. */
export class MultitaskPrediction {
  /** T, the number of tasks. */
  readonly numTasks: number;

  constructor(
    /** Test inputs. shape: [n, d] */
    readonly x: Mat,
    /** shape: [n, T] row-major */
    readonly meanF64: Float64Array,
    /** shape: [n, T] row-major */
    readonly varianceF64: Float64Array,
    numTasks: number,
    /** Whether the variance includes observation noise (y rather than f). */
    readonly noise: boolean,
  ) {
    this.numTasks = numTasks;
  }

  private tensor(v: Float64Array): tf.Tensor2D {
    return matToTensor(mat(this.x.rows, this.numTasks, v));
  }
  /** shape: [n, T] */
  get mean(): tf.Tensor2D {
    return this.tensor(this.meanF64);
  }
  /** shape: [n, T] */
  get variance(): tf.Tensor2D {
    return this.tensor(this.varianceF64);
  }
  /** Standard deviations in f64. shape: [n * T] row-major */
  stddevF64(): Float64Array {
    return this.varianceF64.map((v) => Math.sqrt(Math.max(v, 0)));
  }
  /** Standard deviations. shape: [n, T] */
  get stddev(): tf.Tensor2D {
    return this.tensor(this.stddevF64());
  }
  /** mean - 2 sd. shape: [n, T] */
  get lower(): tf.Tensor2D {
    const sd = this.stddevF64();
    return this.tensor(this.meanF64.map((m, i) => m - 2 * sd[i]));
  }
  /** mean + 2 sd. shape: [n, T] */
  get upper(): tf.Tensor2D {
    const sd = this.stddevF64();
    return this.tensor(this.meanF64.map((m, i) => m + 2 * sd[i]));
  }
  /** mean ∓ 2σ per task. shapes: [n, T], [n, T] */
  confidenceRegion(): [tf.Tensor2D, tf.Tensor2D] {
    return [this.lower, this.upper];
  }

  /**
   * Column t (one task). shape: [n]
   * @internal
   */
  taskF64(t: number): { mean: Float64Array; variance: Float64Array } {
    const n = this.x.rows, T = this.numTasks;
    return {
      mean: Float64Array.from({ length: n }, (_, i) => this.meanF64[i * T + t]),
      variance: Float64Array.from({ length: n }, (_, i) => this.varianceF64[i * T + t]),
    };
  }

  /**
   * The record gp.display draws.
   * @internal
   */
  displayData(): PredictionDisplayData {
    const rows = (v: Float64Array, cols: number) => Array.from({ length: this.x.rows }, (_, i) => Array.from(v.subarray(i * cols, (i + 1) * cols)));
    return {
      kind: "prediction",
      inputDims: this.x.cols,
      x: rows(this.x.data, this.x.cols),
      mean: rows(this.meanF64, this.numTasks),
      variance: rows(this.varianceF64, this.numTasks),
      noise: this.noise,
      taskNames: Array.from({ length: this.numTasks }, (_, t) => `task ${t}`),
    };
  }

  /** One line: tasks and points. */
  toString(): string {
    const n = this.x.rows, T = this.numTasks;
    const show = Math.min(n, 5);
    const lines = Array.from({ length: show }, (_, i) =>
      "  " + Array.from({ length: T }, (_, t) => `${this.meanF64[i * T + t].toPrecision(4)} +/- ${(2 * Math.sqrt(Math.max(this.varianceF64[i * T + t], 0))).toPrecision(3)}`).join(" | "),
    );
    return [`Multitask prediction of ${this.noise ? "y" : "f"} at ${n} points x ${T} tasks (mean +/- 2 sd):`, ...lines, ...(n > show ? ["  ..."] : [])].join("\n");
  }

  /** The notebook display: one panel per task. */
  [JUPYTER_DISPLAY](): MimeBundle | Promise<MimeBundle> {
    return renderBundle("prediction", this.displayData(), () => this.toString());
  }
}
