// Plain data that model-layer objects hand to lib/display. Kernels, models,
// predictions and fit runs implement `displayData()` returning one of these,
// and their [Symbol.for("Jupyter.display")]() calls
// renderBundle(data.kind, data, fallback) from ./displayHooks.

/** One hyperparameter as tables and progress events show it (Module.hyperparameterRows()). */
export interface HyperparameterRow {
  /** Dotted camelCase path, e.g. "covarModule.baseKernel.lengthscale". */
  name: string;
  /** Constrained values, flattened. */
  value: number[];
  /** The parameter's shape, e.g. [1, 3] for an ARD lengthscale over 3 dimensions. */
  shape: number[];
  /** e.g. "Positive (softplus)", "GreaterThan(1e-4)". */
  constraint: string;
  /** The attached prior(s), e.g. "GammaPrior(concentration=3, rate=6)"; absent without one. */
  prior?: string;
}

export interface KernelDisplayData {
  kind: "kernel";
  /** e.g. "ScaleKernel(RBFKernel)". */
  name: string;
  hyperparameters: HyperparameterRow[];
  /** k(x0, x) along dimension 0 with the other dimensions at x0 (x0 = 0). */
  slice?: { x: number[]; k: number[] };
}

export interface ModelDisplayData {
  kind: "model";
  name: string;
  /** The covariance module's structure, e.g. "ScaleKernel(RBFKernel)". */
  structure: string;
  numTrainingPoints: number;
  inputDims: number;
  hyperparameters: HyperparameterRow[];
}

export interface PredictionDisplayData {
  kind: "prediction";
  inputDims: number;
  /** Test inputs. shape: [n, d] */
  x: number[][];
  /** shape: [n, tasks] (tasks = 1 for single-output models) */
  mean: number[][];
  variance: number[][];
  /** Whether variance includes observation noise (predictive y rather than f). */
  noise: boolean;
  /** Training data to overlay. x: [nTrain, d], y: [nTrain, tasks] */
  train?: { x: number[][]; y: number[][] };
  /** Observed targets at the test inputs (for predicted-vs-observed plots). shape: [n, tasks] */
  observed?: number[][];
  taskNames?: string[];
}

export interface FitRunDisplayData {
  kind: "fitRun";
  iterations: number[];
  losses: number[];
  /** Constrained hyperparameter values per iteration (scalars; vectors are split as name[0], name[1]). */
  hyperparameters: Record<string, number[]>;
  /** Cumulative seconds at each iteration. */
  seconds: number[];
  done: boolean;
}

export type DisplayData = KernelDisplayData | ModelDisplayData | PredictionDisplayData | FitRunDisplayData;
