import type { Mat } from "../algorithms/matrix";
import { Mean } from "./Mean";

/** m(x) = 0. */
export class ZeroMean extends Mean {
  forwardF64(x: Mat): Float64Array {
    return new Float64Array(x.rows);
  }
  backward(): void {}
}
