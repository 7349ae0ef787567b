import { type Mat, mat } from "../algorithms/matrix";
import { ArgumentError, ShapeError } from "../errors";
import type { LinearOperator } from "../operators/LinearOperator";
import { KroneckerProductLinearOperator } from "../operators/KroneckerProductLinearOperator";
import { type CallOptions, Kernel } from "./Kernel";
import type { KernelFormula } from "./KernelFormula";
import { IndexKernel } from "./IndexKernel";

/** Options of MultitaskKernel. */
export interface MultitaskOptions {
  /** Number of tasks T. */
  numTasks: number;
  /** Rank of the task covariance's low-rank part (default 1). */
  rank?: number;
}

/**
 * Covariance of all (point, task) pairs: K_data (x) B, never formed
 * (KroneckerProductLinearOperator). Rows are ordered point-major: row
 * i * numTasks + t is point i, task t (as GPyTorch). shape: [n T, m T]
 */
export class MultitaskKernel<K extends Kernel = Kernel> extends Kernel {
  /** Number of tasks. */
  readonly numTasks: number;
  /** The task covariance (IndexKernel), GPyTorch's task_covar_module. */
  readonly taskCovarModule: IndexKernel;

  constructor(
    /** The kernel over inputs (GPyTorch's data_covar_module). */
    readonly dataCovarModule: K,
    options: MultitaskOptions,
  ) {
    super();
    if (!options || !Number.isInteger(options.numTasks) || options.numTasks < 1) throw new ArgumentError(`MultitaskKernel needs { numTasks } a positive integer, got ${options?.numTasks}`);
    this.numTasks = options.numTasks;
    this.taskCovarModule = this.registerModule("taskCovarModule", new IndexKernel({ numTasks: options.numTasks, rank: options.rank ?? 1 }));
    this.registerModule("dataCovarModule", dataCovarModule);
  }

  override get name(): string {
    return `MultitaskKernel(${this.dataCovarModule.name}, numTasks=${this.numTasks})`;
  }

  override inputDims(): number | null {
    return this.dataCovarModule.inputDims();
  }

  private taskOperator(): LinearOperator {
    const idx = mat(this.numTasks, 1, Float64Array.from({ length: this.numTasks }, (_, t) => t));
    return this.taskCovarModule.operatorF64(idx, idx);
  }

  override operatorF64(x1: Mat, x2: Mat, options: CallOptions = {}): LinearOperator {
    return new KroneckerProductLinearOperator(this.dataCovarModule.operatorF64(x1, x2, options), this.taskOperator());
  }

  /** diag(K_data) (x) diag(B): n T values. */
  override diagF64(x1: Mat, x2: Mat, options: CallOptions = {}): Float64Array {
    const d = this.dataCovarModule.diagF64(x1, x2, options);
    const B = this.taskCovarModule.covarMatrixF64();
    const T = this.numTasks;
    const out = new Float64Array(d.length * T);
    for (let i = 0; i < d.length; i++) for (let t = 0; t < T; t++) out[i * T + t] = d[i] * B[t * T + t];
    return out;
  }

  protected formulaFor(): KernelFormula {
    throw new ShapeError("MultitaskKernel is a Kronecker product over (point, task) pairs; it cannot be added to or multiplied with other kernels (combine the data kernels inside it instead)");
  }
}
