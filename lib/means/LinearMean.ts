import type { Mat } from "../algorithms/matrix";
import { ArgumentError, ShapeError } from "../errors";
import { Parameter } from "../module/Parameter";
import { Mean } from "./Mean";

/** Options of LinearMean. */
export interface LinearMeanOptions {
  /** d, the input dimension. */
  inputSize: number;
  /** Learn an intercept (default true). */
  bias?: boolean;
}

/** m(x) = x w + b, w [inputSize, 1] (GPyTorch's LinearMean: "weights", "bias"). */
export class LinearMean extends Mean {
  /** d, the input dimension. */
  readonly inputSize: number;
  /** w of m(x) = xᵀw + b. shape: [d, 1] */
  readonly weights: Parameter;
  /** b (null when built with `bias: false`). shape: [1] */
  readonly bias: Parameter | null;

  constructor(options: LinearMeanOptions) {
    super();
    if (!options || !Number.isInteger(options.inputSize) || options.inputSize < 1) throw new ArgumentError(`LinearMean needs { inputSize } a positive integer, got ${options?.inputSize}`);
    this.inputSize = options.inputSize;
    this.weights = this.registerParameter("weights", new Parameter([this.inputSize, 1]));
    this.bias = options.bias === false ? null : this.registerParameter("bias", new Parameter([1]));
  }

  forwardF64(x: Mat): Float64Array {
    if (x.cols !== this.inputSize) throw new ShapeError(`LinearMean was built for ${this.inputSize} input columns, got ${x.cols}`);
    const out = new Float64Array(x.rows);
    const w = this.weights.raw, b = this.bias ? this.bias.raw[0] : 0;
    for (let i = 0; i < x.rows; i++) {
      let s = b;
      for (let k = 0; k < x.cols; k++) s += x.data[i * x.cols + k] * w[k];
      out[i] = s;
    }
    return out;
  }

  backward(x: Mat, dmean: Float64Array): void {
    for (let k = 0; k < x.cols; k++) {
      let s = 0;
      for (let i = 0; i < x.rows; i++) s += dmean[i] * x.data[i * x.cols + k];
      this.weights.addValueGrad(k, s);
    }
    if (this.bias) {
      let s = 0;
      for (let i = 0; i < dmean.length; i++) s += dmean[i];
      this.bias.addValueGrad(0, s);
    }
  }
}
