// Minibatches for stochastic training: each epoch visits every training row
// once, in an order drawn from the seeded generator (gp.setSeed makes runs
// repeat), in batches of batchSize (the last one may be smaller).

import { type Mat, mat } from "../algorithms/matrix";
import { ArgumentError, ShapeError } from "../errors";
import { globalRandom } from "../random";

export class Minibatches {
  readonly batchSize: number;
  readonly batchesPerEpoch: number;

  /** shapes: x [N, d], y [N, T] */
  constructor(readonly x: Mat, readonly y: Mat, batchSize: number | undefined, readonly shuffle = true) {
    if (x.rows !== y.rows) throw new ShapeError(`training inputs have ${x.rows} rows but targets have ${y.rows}`);
    const n = x.rows;
    const b = batchSize ?? n;
    if (!Number.isInteger(b) || b < 1) throw new ArgumentError(`batchSize must be a positive integer, got ${batchSize}`);
    this.batchSize = Math.min(b, n);
    this.batchesPerEpoch = Math.ceil(n / this.batchSize);
  }

  /** The batches of one epoch, in a fresh seeded order (or in order without shuffle). */
  *epoch(): Generator<{ x: Mat; y: Mat }> {
    const n = this.x.rows;
    const order = this.shuffle ? globalRandom.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
    for (let s = 0; s < n; s += this.batchSize) {
      const idx = order.subarray(s, Math.min(n, s + this.batchSize));
      yield { x: gatherRows(this.x, idx), y: gatherRows(this.y, idx) };
    }
  }
}

/** Rows idx of m. shape: [idx.length, m.cols] */
export function gatherRows(m: Mat, idx: Int32Array): Mat {
  const c = m.cols;
  const out = mat(idx.length, c);
  for (let a = 0; a < idx.length; a++) out.data.set(m.data.subarray(idx[a] * c, (idx[a] + 1) * c), a * c);
  return out;
}
