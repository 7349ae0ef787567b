export { ExactMarginalLogLikelihood } from "./ExactMarginalLogLikelihood";
export type { MLLOptions, MLLResult } from "./ExactMarginalLogLikelihood";
export { choleskyInverse } from "./choleskyInverse";
