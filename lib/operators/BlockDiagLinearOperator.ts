import { type Mat, mat } from "../algorithms/matrix";
import type { SolveOptions } from "../algorithms/settings";
import { ArgumentError } from "../errors";
import { LinearOperator, type StructureNode } from "./LinearOperator";

/** diag(A_1, ..., A_k) with square or rectangular blocks, each kept as it is. */
export class BlockDiagLinearOperator extends LinearOperator {
  readonly shape: readonly [number, number];
  /** The diagonal blocks, in order. */
  readonly blocks: readonly LinearOperator[];
  private readonly rowStart: number[] = [];
  private readonly colStart: number[] = [];

  constructor(blocks: LinearOperator[]) {
    super();
    if (blocks.length === 0) throw new ArgumentError("BlockDiagLinearOperator needs at least one block");
    this.blocks = blocks;
    let r = 0, c = 0;
    for (const b of blocks) {
      this.rowStart.push(r);
      this.colStart.push(c);
      r += b.shape[0];
      c += b.shape[1];
    }
    this.shape = [r, c];
  }

  override get symmetric(): boolean {
    return this.blocks.every((b) => b.symmetric);
  }
  protected override get hasStructuredSolves(): boolean {
    return true;
  }

  private perBlock(rhs: Mat, f: (b: LinearOperator, part: Mat) => Mat, rowsOut: (b: LinearOperator) => number): Mat {
    const t = rhs.cols;
    const out = mat(this.blocks.reduce((s, b) => s + rowsOut(b), 0), t);
    let outRow = 0;
    this.blocks.forEach((b, k) => {
      const c0 = this.colStart[k];
      const part = mat(b.shape[1], t, rhs.data.slice(c0 * t, (c0 + b.shape[1]) * t));
      const r = f(b, part);
      out.data.set(r.data, outRow * t);
      outRow += r.rows;
    });
    return out;
  }

  matmulF64(rhs: Mat): Mat {
    this.checkRhs(rhs);
    return this.perBlock(rhs, (b, part) => b.matmulF64(part), (b) => b.shape[0]);
  }

  diagonalF64(): Float64Array {
    if (this.blocks.some((b) => b.shape[0] !== b.shape[1])) {
      // With rectangular blocks the main diagonal crosses block boundaries: read it entry by entry.
      const idx = Int32Array.from({ length: Math.min(...this.shape) }, (_, i) => i);
      return this.entriesF64(idx, idx);
    }
    const out = new Float64Array(this.shape[0]);
    let i = 0;
    for (const b of this.blocks) {
      const d = b.diagonalF64();
      out.set(d, i);
      i += d.length;
    }
    return out;
  }

  private blockOf(index: number, starts: number[]): number {
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  entriesF64(rows: Int32Array, cols: Int32Array): Float64Array {
    return Float64Array.from(rows, (r, p) => {
      const k = this.blockOf(r, this.rowStart);
      const c = cols[p] - this.colStart[k];
      if (c < 0 || c >= this.blocks[k].shape[1]) return 0;
      return this.blocks[k].entriesF64(Int32Array.of(r - this.rowStart[k]), Int32Array.of(c))[0];
    });
  }

  transpose(): LinearOperator {
    return new BlockDiagLinearOperator(this.blocks.map((b) => b.transpose()));
  }

  structure(): StructureNode {
    return { label: `BlockDiag[${this.blocks.length} blocks]`, shape: this.shape, children: this.blocks.slice(0, 3).map((b) => b.structure()) };
  }

  override solveF64(rhs: Mat, options: SolveOptions = {}): Mat {
    this.requireSquare("solve");
    this.checkRhs(rhs);
    this.lastSolveReport = { method: "structured", detail: "each block solved separately" };
    return this.perBlock(rhs, (b, part) => b.solveF64(part, options), (b) => b.shape[0]);
  }

  override logdetF64(options: SolveOptions = {}): number {
    this.requireSquare("logdet");
    return this.blocks.reduce((s, b) => s + b.logdetF64(options), 0);
  }
}
