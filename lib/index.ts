// gplab: Gaussian processes with lazy, tiled covariance operators.
export * as backend from "./backend";
export * as reductions from "./reductions";
export * as errors from "./errors";
export { setSeed } from "./random";
