// gp.algorithms: the public part is the dense f64 matrix type that kernels
// and models take as input, and the solver settings. The solvers themselves
// (Cholesky, CG, Lanczos, pivoted Cholesky, ...) are internal: import them by
// path inside the package.
export { mat } from "./matrix";
export { formatBytes } from "./settings";
export type { Mat } from "./matrix";
export type { SolveOptions } from "./settings";
