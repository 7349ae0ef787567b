// A b x b picture of an n x m operator that never stores n x m numbers.
//
//  - "exact":      n <= b and m <= b: every entry.
//  - "blockMeans": n m pair evaluations fit the budget: exact block means from
//                  ONE product K @ B, B [m, bc] the column-block indicators;
//                  summing rows of K @ B over row block a gives 1_a^T K 1_c, and
//                  mean(a, c) = 1_a^T K 1_c / (|a| |c|).
//  - "subgrid":    otherwise the exact entries K[i_a, j_c] at evenly spaced
//                  rows i_a and columns j_c (one per block): b^2 evaluations.

import type { LinearOperator } from "../operators/LinearOperator";

/** Options of an operator's block-summary heatmap. */
export interface BlockSummaryOptions {
  /** Cells per side, b <= 64 (default 64). */
  size?: number;
  /**
   * Most pair evaluations (n m) for which block means are computed; above it
   * the picture is a subgrid of entries. Default 2^26 ~ 6.7e7 (N ~ 8,192):
   * lazy operators sum each pair once into its column block
   * (columnBlockSumsF64), about 0.5 s on a 2-core CPU.
   */
  pairBudget?: number;
  /** Most bytes for B and K @ B together (default 256 MiB). */
  maxBytes?: number;
}

export type BlockSummaryMode = "exact" | "blockMeans" | "subgrid";

export interface BlockSummary {
  mode: BlockSummaryMode;
  /** Number of row blocks (br) and column blocks (bc). */
  rows: number;
  cols: number;
  /** Block a covers rows rowStarts[a] <= i < rowStarts[a + 1]. shape: [br + 1] */
  rowStarts: Int32Array;
  /** shape: [bc + 1] */
  colStarts: Int32Array;
  /** Subgrid mode: the row / column each cell samples. shape: [br], [bc] */
  rowIndex?: Int32Array;
  colIndex?: Int32Array;
  /** Block means, entries or sampled entries, row-major. shape: [br, bc] */
  values: Float64Array;
  /** Pair evaluations this summary cost (n m for block means, b^2 otherwise). */
  pairs: number;
  /** The budget that decided the mode. */
  pairBudget: number;
}

export const MAX_BLOCKS = 64;
export const DEFAULT_PAIR_BUDGET = 2 ** 26;
const DEFAULT_MAX_BYTES = 256 * 2 ** 20;

/** Starts of `blocks` near-equal contiguous blocks of 0..n-1. shape: [blocks + 1] */
export function blockStarts(n: number, blocks: number): Int32Array {
  return Int32Array.from({ length: blocks + 1 }, (_, a) => Math.floor((a * n) / blocks));
}

export function blockSummary(op: LinearOperator, options: BlockSummaryOptions = {}): BlockSummary {
  const b = Math.max(1, Math.min(MAX_BLOCKS, Math.floor(options.size ?? MAX_BLOCKS)));
  const pairBudget = options.pairBudget ?? DEFAULT_PAIR_BUDGET;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const [n, m] = op.shape;
  const br = Math.min(b, n);
  const bc = Math.min(b, m);
  const rowStarts = blockStarts(n, br);
  const colStarts = blockStarts(m, bc);
  const base = { rows: br, cols: bc, rowStarts, colStarts, pairBudget };

  if (n <= b && m <= b) {
    const rows = new Int32Array(n * m);
    const cols = new Int32Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) (rows[i * m + j] = i), (cols[i * m + j] = j);
    return { ...base, mode: "exact", values: op.entriesF64(rows, cols), pairs: n * m };
  }

  if (n * m <= pairBudget && (m + n) * bc * 8 <= maxBytes) {
    return { ...base, mode: "blockMeans", values: blockMeans(op, rowStarts, colStarts), pairs: n * m };
  }

  const rowIndex = Int32Array.from({ length: br }, (_, a) => Math.floor(((a + 0.5) * n) / br));
  const colIndex = Int32Array.from({ length: bc }, (_, c) => Math.floor(((c + 0.5) * m) / bc));
  const rows = new Int32Array(br * bc);
  const cols = new Int32Array(br * bc);
  for (let a = 0; a < br; a++) for (let c = 0; c < bc; c++) (rows[a * bc + c] = rowIndex[a]), (cols[a * bc + c] = colIndex[c]);
  return { ...base, mode: "subgrid", rowIndex, colIndex, values: op.entriesF64(rows, cols), pairs: br * bc };
}

/** Exact block means from one product with the column-block indicators. shape: [br, bc] */
function blockMeans(op: LinearOperator, rowStarts: Int32Array, colStarts: Int32Array): Float64Array {
  const br = rowStarts.length - 1;
  const bc = colStarts.length - 1;
  // K @ B with B[j, c] = 1 when column j is in block c; lazy operators sum each pair once. shape: [n, bc]
  const KB = op.columnBlockSumsF64(colStarts);
  const out = new Float64Array(br * bc);
  for (let a = 0; a < br; a++) {
    for (let i = rowStarts[a]; i < rowStarts[a + 1]; i++) {
      for (let c = 0; c < bc; c++) out[a * bc + c] += KB.data[i * bc + c];
    }
    const rowsInBlock = rowStarts[a + 1] - rowStarts[a];
    for (let c = 0; c < bc; c++) out[a * bc + c] /= rowsInBlock * (colStarts[c + 1] - colStarts[c]);
  }
  return out;
}
