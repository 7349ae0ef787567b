// Everything the operator picture shows, computed in O(n + m) memory and
// O(n) + a fixed budget of pair evaluations: the diagonal (its stats and a
// chart series) and a b x b block summary. Nothing here forms n x m.

import { info as backendInfo } from "../backend/backend";
import type { LinearOperator, StructureNode } from "../operators/LinearOperator";
import { type BlockSummary, type BlockSummaryOptions, blockSummary } from "./blockSummary";
import type { ChartOptions } from "./chartBundle";
import { type DiagonalSeries, type DiagonalStats, diagonalSeries, diagonalStats } from "./diagonalSeries";

/** Options of an operator's picture: block summary, diagonal chart, chart output. */
export interface OperatorDisplayOptions extends BlockSummaryOptions, ChartOptions {
  /** Most points in the diagonal chart; a longer diagonal becomes a min / mean / max envelope (default 1000). */
  diagonalPoints?: number;
}

export interface OperatorSummary {
  /** The JS class, e.g. "AddedDiagLinearOperator". */
  className: string;
  /** One line, e.g. "AddedDiag(Kernel[RBF] 1,000 x 1,000, ConstantDiag[0.1] 1,000 x 1,000)". */
  description: string;
  structure: StructureNode;
  shape: readonly [number, number];
  dtype: string;
  /** e.g. "cpu, fused executor, 2 threads". */
  backend: string;
  /** Bytes of the dense matrix as the float32 tf.Tensor toDense() returns, and as float64. */
  denseBytesF32: number;
  denseBytesF64: number;
  diagonal: DiagonalStats;
  series: DiagonalSeries;
  blocks: BlockSummary;
  /** Wall time of the numeric work (diagonal + block summary). */
  seconds: number;
}

export function summarizeOperator(op: LinearOperator, options: OperatorDisplayOptions = {}): OperatorSummary {
  const start = performance.now();
  const diag = op.diagonalF64(); // shape: [min(n, m)]
  const blocks = blockSummary(op, options);
  const seconds = (performance.now() - start) / 1000;
  const [n, m] = op.shape;
  const b = backendInfo();
  return {
    className: op.constructor.name,
    description: op.describe(),
    structure: op.structure(),
    shape: op.shape,
    dtype: op.dtype,
    backend: `${b.backend}${b.gpu ? " (GPU)" : ""}, ${b.executor} executor${b.executor === "fused" ? `, ${b.threads} threads` : ""}`,
    denseBytesF32: n * m * 4,
    denseBytesF64: n * m * 8,
    diagonal: diagonalStats(diag),
    series: diagonalSeries(diag, options.diagonalPoints ?? 1000),
    blocks,
    seconds,
  };
}
