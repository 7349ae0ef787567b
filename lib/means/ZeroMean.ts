import type { Mat } from "../algorithms/matrix";
import { Mean } from "./Mean";

/** m(x) = 0. */
export class ZeroMean extends Mean {
  /** batchShape is accepted for symmetry with ConstantMean (there is nothing to batch). */
  constructor(options: { batchShape?: number[] } = {}) {
    super();
    this.setBatchShape(options.batchShape);
  }

  forwardF64(x: Mat): Float64Array {
    return new Float64Array(x.rows);
  }
  backward(): void {}
}
