// Mean functions. `call(x)` returns a tf vector for users; the f64 values and
// the way back to the parameters are remembered for that tensor, so a
// MultivariateNormal built from it (inside a user's forward) keeps f64
// precision and its gradient.

import type * as tf from "@tensorflow/tfjs-core";
import type { Mat } from "../algorithms/matrix";
import { Module } from "../module/Module";
import { type TensorLike, toMat, vectorToTensor } from "../tensorLike";

/** Where a mean tensor came from: its f64 values and its backward pass. */
export interface MeanOrigin {
  values: Float64Array;
  /** Adds sum_i dmean[i] * d mean_i / d raw to the parameters' grads. */
  backward(dmean: Float64Array): void;
}

const origins = new WeakMap<tf.Tensor, MeanOrigin>();

/** The f64 values and backward of a tensor that a Mean returned, if it is one. */
export function meanOrigin(t: tf.Tensor): MeanOrigin | undefined {
  return origins.get(t);
}

export abstract class Mean extends Module {
  /** m(x) in f64. x: [n, d] -> [n] */
  abstract forwardF64(x: Mat): Float64Array;
  /** Adds sum_i dmean[i] d m(x_i) / d raw to the grads. x: [n, d], dmean: [n] */
  abstract backward(x: Mat, dmean: Float64Array): void;

  /** m(x). shape: [n] */
  call(x: TensorLike | Mat): tf.Tensor1D {
    const m = toMat(x, "x");
    const values = this.forwardF64(m);
    const t = vectorToTensor(values);
    origins.set(t, { values, backward: (d) => this.backward(m, d) });
    return t;
  }

  /** f64 values with their backward, without a tensor. */
  originF64(x: Mat): MeanOrigin {
    return { values: this.forwardF64(x), backward: (d) => this.backward(x, d) };
  }
}
