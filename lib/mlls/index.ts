export { ExactMarginalLogLikelihood } from "./ExactMarginalLogLikelihood";
export type { MLLOptions, MLLResult } from "./ExactMarginalLogLikelihood";
export type { SgprBound } from "../models/sgpr";
export { ApproximateMarginalLogLikelihood } from "./ApproximateMarginalLogLikelihood";
export type { ApproximateMLLOptions, ApproximateMLLResult, PointTerm } from "./ApproximateMarginalLogLikelihood";
export { VariationalELBO } from "./VariationalELBO";
export { PredictiveLogLikelihood } from "./PredictiveLogLikelihood";
export { MultitaskExactMarginalLogLikelihood } from "./MultitaskExactMarginalLogLikelihood";
