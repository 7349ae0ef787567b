// Conversions between what users pass (tf tensors, nested arrays) and the f64
// matrices the algebra works on.

import * as tf from "@tensorflow/tfjs-core";
import { type Mat, assertFinite, mat } from "./algorithms/matrix";
import { ShapeError } from "./errors";

/** tf.Tensor, number[][] (n x d), number[] (n, treated as n x 1), or Float64Array (n x 1). */
export type TensorLike = tf.Tensor | number[][] | number[] | Float64Array | Float32Array;

/** f64 copy of a 1-D or 2-D input as an [n, d] matrix, NaN/Inf rejected. */
export function toMat(x: TensorLike | Mat, what: string): Mat {
  let out: Mat;
  if (isMat(x)) out = x;
  else if (x instanceof tf.Tensor) {
    if (x.rank === 1) out = mat(x.shape[0], 1, Float64Array.from(x.dataSync()));
    else if (x.rank === 2) out = mat(x.shape[0], x.shape[1] as number, Float64Array.from(x.dataSync()));
    else throw new ShapeError(`${what} must be 1-D [n] or 2-D [n, d], got a rank-${x.rank} tensor of shape [${x.shape}]`);
  } else if (x instanceof Float64Array || x instanceof Float32Array) out = mat(x.length, 1, Float64Array.from(x));
  else if (Array.isArray(x)) {
    if (x.length === 0) throw new ShapeError(`${what} is empty; pass at least one row`);
    if (Array.isArray(x[0])) {
      const rows = x as number[][];
      const d = rows[0].length;
      const data = new Float64Array(rows.length * d);
      rows.forEach((r, i) => {
        if (!Array.isArray(r) || r.length !== d) {
          throw new ShapeError(`${what} row ${i} has ${Array.isArray(r) ? r.length : "no"} columns, expected ${d} like row 0`);
        }
        for (let j = 0; j < d; j++) data[i * d + j] = r[j];
      });
      out = mat(rows.length, d, data);
    } else out = mat(x.length, 1, Float64Array.from(x as number[]));
  } else throw new ShapeError(`${what} must be a tf.Tensor, number[][] or number[]`);
  assertFinite(out.data, what, out.cols);
  return out;
}

function isMat(x: unknown): x is Mat {
  return typeof x === "object" && x !== null && "rows" in x && "cols" in x && (x as Mat).data instanceof Float64Array;
}

/** f64 values of a 1-D input (number[], Float64Array, rank-1 tensor or [n, 1]). */
export function toVector(x: TensorLike, what: string): Float64Array {
  const m = toMat(x, what);
  if (m.cols !== 1) throw new ShapeError(`${what} must be a vector [n], got ${m.rows} x ${m.cols}`);
  return m.data;
}

export function matToTensor(m: Mat): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from(m.data), [m.rows, m.cols]);
}

export function vectorToTensor(v: Float64Array): tf.Tensor1D {
  return tf.tensor1d(Float32Array.from(v));
}
